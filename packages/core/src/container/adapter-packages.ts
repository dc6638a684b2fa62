// Which npm package provides each adapter and serializer named in a config.

import type { InvokerName, SerializerName } from '../config/schema.js';

/** The package behind each invoker name. */
export const INVOKER_PACKAGES: Readonly<Record<InvokerName, string>> = {
  stdio: '@snakebridge/adapter-stdio',
  grpc: '@snakebridge/adapter-grpc',
  mock: '@snakebridge/adapter-mock',
};

/** The package behind each serializer name; `json` is built into core. */
export const SERIALIZER_PACKAGES: Readonly<Record<Exclude<SerializerName, 'json'>, string>> = {
  msgpack: '@snakebridge/serializer-msgpack',
  arrow: '@snakebridge/serializer-arrow',
  protobuf: '@snakebridge/serializer-protobuf',
};

/**
 * What an adapter or serializer package exports for the container: a
 * ContainerModule named `containerModule` that binds its port (INVOKER or
 * SERIALIZER) with `toDynamicValue`. It also exports a plain factory for use
 * without a container.
 */
export const CONTAINER_MODULE_EXPORT = 'containerModule';

/**
 * What an adapter package exports about its config sections (`grpc`, `mock`,
 * …): an AdapterOptions, or a list of them, named `options`. Core validates
 * them when it loads the package, before the package builds anything.
 */
export const OPTIONS_EXPORT = 'options';
