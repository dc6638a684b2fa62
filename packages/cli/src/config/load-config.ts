// The command line reads the same config as `createBridge`: a
// `snakebridge.config.*` file whose default export is the config (what
// `defineConfig` returns), resolved for the current environment.

import { existsSync, readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ConfigError,
  defineConfig,
  type ResolvedConfig,
  resolveConfig,
  type SnakeBridgeConfig,
} from '@snakebridge/core';

/** The names looked for, in this order, in the working directory. */
export const CONFIG_FILES = [
  'snakebridge.config.ts',
  'snakebridge.config.mts',
  'snakebridge.config.js',
  'snakebridge.config.mjs',
  'snakebridge.config.json',
] as const;

export interface LoadedConfig {
  /** The file read, or undefined when there is none (the defaults apply). */
  readonly path: string | undefined;
  readonly config: SnakeBridgeConfig;
  readonly resolved: ResolvedConfig;
}

export interface LoadConfigOptions {
  readonly cwd: string;
  /** A file named on the command line; it must exist. */
  readonly file?: string | undefined;
  /** The environment to resolve for. @default SNAKEBRIDGE_ENV, else NODE_ENV, else 'development' */
  readonly environment?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
}

/**
 * Finds, loads, validates and resolves the config.
 *
 * @throws ConfigError for a missing named file, a file that fails to load, or an invalid config.
 */
export async function loadConfig(options: LoadConfigOptions): Promise<LoadedConfig> {
  const path = findConfigFile(options);
  const config = path === undefined ? {} : await readConfigFile(path);
  const resolved = resolveConfig(config, { environment: options.environment, env: options.env });
  return { path, config, resolved };
}

function findConfigFile(options: LoadConfigOptions): string | undefined {
  if (options.file !== undefined) {
    const path = resolve(options.cwd, options.file);
    if (!existsSync(path)) {
      throw new ConfigError([{ field: '--config', message: `no file at ${path}` }]);
    }
    return path;
  }
  return CONFIG_FILES.map((name) => resolve(options.cwd, name)).find((path) => existsSync(path));
}

async function readConfigFile(path: string): Promise<SnakeBridgeConfig> {
  let exported: unknown;
  try {
    exported = await importConfig(path);
  } catch (error) {
    throw new ConfigError([{ field: path, message: `could not be loaded: ${(error as Error).message}` }]);
  }
  if (typeof exported !== 'object' || exported === null) {
    throw new ConfigError([
      { field: path, message: 'must export the config as its default export: export default defineConfig({ … })' },
    ]);
  }
  try {
    return defineConfig(exported as SnakeBridgeConfig);
  } catch (error) {
    // Name the file: the user has to know where the bad field is.
    if (error instanceof ConfigError) {
      throw new ConfigError(error.issues.map((issue) => ({ ...issue, field: `${path}: ${issue.field}` })));
    }
    throw error;
  }
}

async function importConfig(path: string): Promise<unknown> {
  const extension = extname(path);
  if (extension === '.json') return JSON.parse(readFileSync(path, 'utf8'));
  if (extension === '.ts' || extension === '.mts' || extension === '.cts') {
    // TypeScript configs need a transpiler; jiti is loaded only for them.
    const { createJiti } = await import('jiti');
    const jiti = createJiti(import.meta.url, { moduleCache: false });
    return jiti.import(path, { default: true });
  }
  const module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  return module.default;
}
