// The container module every invoker adapter exports: INVOKER bound to what
// the adapter makes from the container's config, serializer and logger.

import { ContainerModule } from 'inversify';
import { CONFIG, type ResolvedConfig } from '../config/types.js';
import { INVOKER, type Invoker } from '../invoker/invoker.js';
import { LOGGER, type Logger } from '../logger/logger.js';
import { SERIALIZER, type Serializer } from '../serializer/serializer.js';

/** What the container gives an invoker adapter to build its invoker from. */
export interface InvokerDependencies {
  readonly config: ResolvedConfig;
  readonly serializer: Serializer;
  readonly logger: Logger;
}

/**
 * The module an invoker adapter exports as `containerModule`: binds INVOKER
 * to `create(dependencies)`, built when the container first needs it.
 */
export function invokerModule(create: (dependencies: InvokerDependencies) => Invoker): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<Invoker>(INVOKER).toDynamicValue((context) =>
      create({
        config: context.get<ResolvedConfig>(CONFIG),
        serializer: context.get<Serializer>(SERIALIZER),
        logger: context.get<Logger>(LOGGER),
      }),
    );
  });
}
