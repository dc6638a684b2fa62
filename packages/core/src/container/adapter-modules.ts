// The container modules adapter packages export: INVOKER or SERIALIZER bound
// to what the package makes from the container's config (and serializer and
// logger). Made here, so that no adapter imports inversify itself: core's
// copy is the only one loaded.

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

/** What the container gives a serializer package to build its serializer from. */
export interface SerializerDependencies {
  readonly config: ResolvedConfig;
}

/**
 * The module a serializer package exports as `containerModule`: binds
 * SERIALIZER to `create(dependencies)`, built when the container first needs it.
 */
export function serializerModule(create: (dependencies: SerializerDependencies) => Serializer): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<Serializer>(SERIALIZER).toDynamicValue((context) =>
      // Read when asked: a serializer that needs no settings works in a container without CONFIG.
      create({
        get config() {
          return context.get<ResolvedConfig>(CONFIG);
        },
      }),
    );
  });
}
