// The OS sandbox a Python process of ours puts itself in at start
// (security.sandbox; python/snakebridge/sandbox.py, docs/security.md): the
// paths it may write, absolute, and whether it may open network sockets.

import { resolve } from 'node:path';
import type { SandboxSettings } from '@snakebridge/core';

export interface SandboxOptions {
  readonly writablePaths: readonly string[];
  readonly network: boolean;
}

/**
 * What the worker or server is told about its sandbox, or null when there is
 * none. Relative paths are taken from the host's working directory.
 */
export function sandboxOptions(sandbox: SandboxSettings, cwd: string = process.cwd()): SandboxOptions | null {
  if (!sandbox.enabled) return null;
  return { writablePaths: sandbox.writablePaths.map((path) => resolve(cwd, path)), network: sandbox.network };
}
