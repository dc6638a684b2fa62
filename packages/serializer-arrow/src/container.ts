// Wires the Arrow serializer into a SnakeBridge container; loaded by
// createBridge when the config says `serializer: 'arrow'`.

import { serializerModule } from '@snakebridge/core';
import { createArrowSerializer } from './arrow-serializer.js';

/** Binds SERIALIZER to an ArrowSerializer with its default options. */
export const containerModule = serializerModule(() => createArrowSerializer());
