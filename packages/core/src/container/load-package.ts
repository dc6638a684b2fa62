// Loads an adapter package by name, lazily, so an unused adapter costs nothing
// and a missing one is reported with the command that installs it.

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ContainerModule } from 'inversify';
import { type AdapterOptions, isAdapterOptions } from '../config/adapter-options.js';
import { AdapterNotInstalledError, ConfigError } from '../errors/errors.js';
import { CONTAINER_MODULE_EXPORT, OPTIONS_EXPORT } from './adapter-packages.js';

/** Imports a package by name. Replaceable for bundlers (a static map) and tests. */
export type ImportPackage = (packageName: string) => Promise<unknown>;

/**
 * Imports from core's own location (where pnpm links optional peers), then
 * from the application's working directory (where npm and yarn hoist them).
 */
export const importPackage: ImportPackage = async (packageName) => {
  try {
    return await import(packageName);
  } catch (error) {
    if (!isMissing(error, packageName)) throw error;
    const fromApp = createRequire(join(process.cwd(), 'package.json'));
    let resolved: string;
    try {
      resolved = fromApp.resolve(packageName);
    } catch {
      throw error;
    }
    return import(pathToFileURL(resolved).href);
  }
};

/** What core takes from an adapter package: its ContainerModule, and how it reads its config sections. */
export interface LoadedAdapter {
  readonly module: ContainerModule;
  /** The package's `options` export: its config sections, to validate before anything is built. */
  readonly options: readonly AdapterOptions<unknown>[];
}

/** The ContainerModule and the options an adapter package exports. */
export async function loadAdapter(
  role: 'invoker' | 'serializer',
  name: string,
  packageName: string,
  importer: ImportPackage,
): Promise<LoadedAdapter> {
  let exports: unknown;
  try {
    exports = await importer(packageName);
  } catch (error) {
    if (isMissing(error, packageName)) throw new AdapterNotInstalledError(role, name, packageName, { cause: error });
    throw error;
  }
  const module = (exports as Record<string, unknown> | null)?.[CONTAINER_MODULE_EXPORT];
  // Duck-typed rather than instanceof: an adapter bundled with its own copy of inversify still fits.
  if (!isContainerModule(module)) {
    throw new ConfigError([
      {
        field: role,
        message:
          `${packageName} does not export a ContainerModule named '${CONTAINER_MODULE_EXPORT}'; ` +
          'is it a SnakeBridge adapter of the same version as @snakebridge/core?',
      },
    ]);
  }
  const declared = (exports as Record<string, unknown>)[OPTIONS_EXPORT];
  const options = (Array.isArray(declared) ? declared : [declared]).filter(isAdapterOptions);
  return { module, options };
}

function isContainerModule(value: unknown): value is ContainerModule {
  return (
    typeof (value as ContainerModule | null)?.load === 'function' && typeof (value as ContainerModule).id === 'number'
  );
}

/** True if the error says this package (not one of its own dependencies) is missing. */
function isMissing(error: unknown, packageName: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = String((error as { message?: unknown } | null)?.message ?? '');
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    (message.includes(`'${packageName}'`) || message.includes(`"${packageName}"`))
  );
}
