// What a worker or server needs to check the typed bindings' lockfile at
// start (bindings.guard): the lockfile's absolute path and the mode. Python
// reads and compares (python/snakebridge/version_guard.py), so the stdio
// worker and the gRPC server apply the same rule.

import { resolve } from 'node:path';
import type { BindingsSettings } from '@snakebridge/core';

/** Both or neither: the guard's lockfile and mode. */
export type VersionGuardOptions =
  | { readonly lockfile?: undefined; readonly versionGuard?: undefined }
  | { readonly lockfile: string; readonly versionGuard: 'warn' | 'error' };

/**
 * The guard's options for a Python process, or none when `bindings.guard` is
 * off. A relative lockfile path is taken from the host's working directory,
 * where the config that names it usually is.
 */
export function versionGuard(bindings: BindingsSettings, cwd: string = process.cwd()): VersionGuardOptions {
  if (bindings.guard === 'off') return {};
  return { lockfile: resolve(cwd, bindings.lockfile), versionGuard: bindings.guard };
}
