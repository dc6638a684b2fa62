// Whether the Python side matches the npm side: the runtime workers import
// (bundled with @snakebridge/process-pool) against @snakebridge/core's version,
// and a pip-installed `snakebridge` that a hand-started server would run.

import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { runtimePath } from '@snakebridge/process-pool';
import { pipInstallLine } from '../python/commands.js';
import type { PythonDoctorReport } from '../python/doctor-probe.js';
import { type Check, fail, ok, warn } from './checks.js';

/** The version of @snakebridge/core this command line runs with. */
export function coreVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('@snakebridge/core/package.json') as { version: string }).version;
}

export interface RuntimeExpectations {
  /** @snakebridge/core's version. */
  readonly version: string;
  /** The directory the bundled runtime is in (`runtimePath()`). */
  readonly runtimePath: string;
}

/** The runtime the workers import, and a pip-installed one that differs. */
export function runtimeChecks(
  report: PythonDoctorReport,
  expected: RuntimeExpectations = { version: coreVersion(), runtimePath: runtimePath() },
): Check[] {
  const checks = [bundledRuntimeCheck(report, expected)];
  const installed = report.installed_snakebridge;
  if (installed !== null) {
    const id = 'runtime.pip-installed';
    const title = 'pip-installed snakebridge';
    const where = `snakebridge ${installed.version} is pip-installed at ${installed.location}`;
    if (installed.version === expected.version) {
      checks.push(ok(id, title, `${where}, the same version`));
    } else {
      checks.push(
        warn(
          id,
          title,
          `${where}: workers use the bundled runtime regardless, but python -m snakebridge.server ` +
            `started by hand (a gRPC deployment) runs ${installed.version}, not ${expected.version}`,
          pipInstallLine(report.executable, [`snakebridge==${expected.version}`], report.distributions.pip != null),
        ),
      );
    }
  }
  return checks;
}

function bundledRuntimeCheck(report: PythonDoctorReport, expected: RuntimeExpectations): Check {
  const id = 'runtime.version';
  const title = 'Python runtime';
  const { runtime } = report;
  if (realPath(runtime.path) !== realPath(expected.runtimePath)) {
    return fail(
      id,
      title,
      `workers would import snakebridge from ${runtime.path}, not the bundled runtime in ${expected.runtimePath}: ` +
        'a snakebridge package earlier on the path shadows it',
      'rename or remove the snakebridge directory in python.cwd or python.path, or take it off PYTHONPATH',
    );
  }
  if (runtime.version !== expected.version) {
    return fail(
      id,
      title,
      `the bundled runtime is snakebridge ${runtime.version}, @snakebridge/core is ${expected.version}`,
      "pnpm update '@snakebridge/*' --latest (every @snakebridge package at one version; the runtime comes " +
        'with @snakebridge/process-pool)',
    );
  }
  return ok(id, title, `snakebridge ${runtime.version} (protocol ${runtime.protocol}), matching @snakebridge/core`);
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}
