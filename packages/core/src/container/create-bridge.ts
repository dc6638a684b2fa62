// The composition root: resolves the config, loads the adapter packages it
// names, wires them in an inversify container and hands back a Bridge.

import { Container } from 'inversify';
import { Bridge } from '../bridge/bridge.js';
import { type ResolveOptions, resolveConfig, type SnakeBridgeConfig } from '../config/resolve.js';
import { CONFIG, type ResolvedConfig } from '../config/types.js';
import { INVOKER, type Invoker } from '../invoker/invoker.js';
import { consoleLogger, LOGGER, type Logger, toLogger } from '../logger/logger.js';
import { SERIALIZER, type Serializer } from '../serializer/serializer.js';
import { JsonSerializer } from '../serializer-json/json-serializer.js';
import { INVOKER_PACKAGES, SERIALIZER_PACKAGES } from './adapter-packages.js';
import { type ImportPackage, importPackage, type LoadedAdapter, loadAdapter } from './load-package.js';

export interface CreateBridgeOptions extends ResolveOptions {
  /** Where workers' output and lifecycle notes go. @default console, at the config's logLevel */
  readonly logger?: Logger | undefined;
  /** Use this serializer instead of the one the config names. */
  readonly serializer?: Serializer | undefined;
  /** Use this invoker instead of the one the config names. */
  readonly invoker?: Invoker | undefined;
  /** How adapter packages are imported (for bundlers: a static map). @default dynamic `import()` */
  readonly importPackage?: ImportPackage | undefined;
}

/**
 * Builds the container for a config: CONFIG, LOGGER, SERIALIZER and INVOKER
 * bound, the last two by the packages the config names. Use it to add your
 * own bindings; most users want {@link createBridge}.
 *
 * @throws ConfigError for a bad config; AdapterNotInstalledError for a missing package.
 */
export async function createContainer(
  config?: SnakeBridgeConfig,
  options: CreateBridgeOptions = {},
): Promise<Container> {
  const resolved = resolveConfig(config, options);
  const importer = options.importPackage ?? importPackage;
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind<ResolvedConfig>(CONFIG).toConstantValue(resolved);
  container
    .bind<Logger>(LOGGER)
    .toConstantValue(options.logger ? toLogger(options.logger) : consoleLogger(resolved.logLevel));

  if (options.serializer !== undefined) {
    container.bind<Serializer>(SERIALIZER).toConstantValue(options.serializer);
  } else if (resolved.serializer === 'json') {
    container.bind<Serializer>(SERIALIZER).toDynamicValue(() => new JsonSerializer());
  } else {
    const packageName = SERIALIZER_PACKAGES[resolved.serializer];
    container.load(checked(await loadAdapter('serializer', resolved.serializer, packageName, importer), resolved));
  }

  if (options.invoker !== undefined) {
    container.bind<Invoker>(INVOKER).toConstantValue(options.invoker);
  } else {
    const packageName = INVOKER_PACKAGES[resolved.invoker];
    container.load(checked(await loadAdapter('invoker', resolved.invoker, packageName, importer), resolved));
  }
  return container;
}

/** The adapter's ContainerModule, once its config sections are valid (a ConfigError otherwise). */
function checked(adapter: LoadedAdapter, config: ResolvedConfig): LoadedAdapter['module'] {
  for (const options of adapter.options) options.resolve(config);
  return adapter.module;
}

/**
 * Creates a Bridge wired as the config says, for the current environment
 * (`SNAKEBRIDGE_ENV`, else `NODE_ENV`): e.g. real Python workers in
 * production and the mock invoker in tests, with no change to your code.
 *
 * @example
 * await using bridge = await createBridge(defineConfig({ pool: { max: 2 } }));
 * const np = bridge.module('numpy');
 * console.log(await np.linalg.norm([3, 4])); // 5
 */
export async function createBridge(config?: SnakeBridgeConfig, options: CreateBridgeOptions = {}): Promise<Bridge> {
  const container = await createContainer(config, options);
  const bridge = new Bridge(
    container.get<Invoker>(INVOKER),
    container.get<ResolvedConfig>(CONFIG),
    container.get<Logger>(LOGGER),
  );
  if (bridge.config.pool.start === 'eager') {
    try {
      await bridge.start();
    } catch (error) {
      await bridge.close();
      throw error;
    }
  }
  return bridge;
}
