// Wires the Arrow serializer into a SnakeBridge container; loaded by
// createBridge when the config says `serializer: 'arrow'`.

import { SERIALIZER, type Serializer } from '@snakebridge/core';
import { ContainerModule } from 'inversify';
import { createArrowSerializer } from './arrow-serializer.js';

/** Binds SERIALIZER to an ArrowSerializer with its default options. */
export const containerModule = new ContainerModule(({ bind }) => {
  bind<Serializer>(SERIALIZER).toDynamicValue(() => createArrowSerializer());
});
