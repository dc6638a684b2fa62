// What to do after `snakebridge init`: the npm packages for the chosen
// adapters (with the project's package manager), then doctor and types.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { INVOKER_PACKAGES, SERIALIZER_PACKAGES, type SerializerName } from '@snakebridge/core';

export type PackageManager = 'pnpm' | 'yarn' | 'bun' | 'npm';

/** The project's package manager, by its lockfile; npm when there is none. */
export function packageManager(cwd: string): PackageManager {
  if (existsSync(join(cwd, 'pnpm-lock.yaml'))) return 'pnpm';
  if (existsSync(join(cwd, 'yarn.lock'))) return 'yarn';
  if (existsSync(join(cwd, 'bun.lock')) || existsSync(join(cwd, 'bun.lockb'))) return 'bun';
  return 'npm';
}

/** The npm packages a config with this invoker and serializer imports at run time. */
export function runtimePackages(invoker: 'stdio' | 'grpc', serializer: SerializerName): string[] {
  const packages = ['@snakebridge/core', INVOKER_PACKAGES[invoker]];
  if (serializer !== 'json') packages.push(SERIALIZER_PACKAGES[serializer]);
  return packages;
}

export interface NextStepsInputs {
  readonly manager: PackageManager;
  readonly invoker: 'stdio' | 'grpc';
  readonly serializer: SerializerName;
  /** The install command, when `--no-install` skipped it and there is something to install. */
  readonly skippedInstall: string | undefined;
}

/** The commands to run next, in order, each with what it is for. */
export function nextSteps(inputs: NextStepsInputs): string[] {
  const add = inputs.manager === 'npm' ? 'npm install' : `${inputs.manager} add`;
  const devFlag = inputs.manager === 'npm' ? '--save-dev' : '-D';
  return [
    ...(inputs.skippedInstall === undefined
      ? []
      : [`${inputs.skippedInstall}   # the Python packages (skipped by --no-install)`]),
    `${add} ${runtimePackages(inputs.invoker, inputs.serializer).join(' ')}`,
    `${add} ${devFlag} @snakebridge/adapter-mock @snakebridge/cli   # the test environment's mock invoker, and this command line`,
    'snakebridge doctor   # check the setup',
    'snakebridge types    # after listing Python modules in bindings.modules: typed declarations for them',
  ];
}
