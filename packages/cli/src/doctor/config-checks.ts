// The config in force: the file read (or none: the defaults), the
// environment it was resolved for, and the invoker and serializer it picks,
// naming the SNAKEBRIDGE_* variables that override it.

import { relative } from 'node:path';
import { ENV_SETTINGS } from '@snakebridge/core';
import type { LoadedConfig } from '../config/load-config.js';
import { type Check, ok } from './checks.js';
import { grpcMode } from './grpc-checks.js';

export function configCheck(
  loaded: LoadedConfig,
  cwd: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Check {
  const { resolved } = loaded;
  const source = loaded.path === undefined ? `no config file in ${cwd}: the defaults` : shortPath(cwd, loaded.path);
  const mode = resolved.invoker === 'grpc' ? ` (grpc.mode ${grpcMode(resolved)})` : '';
  const overrides = ENV_SETTINGS.map((setting) => setting.name).filter((name) => (env[name] ?? '').trim() !== '');
  const overridden = overrides.length === 0 ? '' : `; overridden by ${overrides.join(', ')}`;
  return ok(
    'config',
    'Config',
    `${source}, environment ${resolved.environment}: invoker ${resolved.invoker}${mode}, ` +
      `serializer ${resolved.serializer}${overridden}`,
  );
}

function shortPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}
