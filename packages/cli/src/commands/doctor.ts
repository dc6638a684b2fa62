// `snakebridge doctor`: checks what the resolved config needs (the
// interpreter, its packages, the runtime, the platform, the lockfile, remote
// gRPC endpoints) and says how to fix what is missing. Exit 1 when something
// would fail at run time; warnings do not fail.

import { dirname, resolve } from 'node:path';
import type { ResolvedConfig } from '@snakebridge/core';
import { explainPython, type PythonExplanation } from '@snakebridge/process-pool';
import { type LoadedConfig, loadConfig } from '../config/load-config.js';
import { type Check, doctorReport, fail, ok } from '../doctor/checks.js';
import { configCheck } from '../doctor/config-checks.js';
import { grpcChecks, grpcEndpoints, grpcMode } from '../doctor/grpc-checks.js';
import { lockfileChecks, readLockfile } from '../doctor/lockfile-checks.js';
import { platformChecks } from '../doctor/platform-checks.js';
import { environmentCheck, interpreterCheck, packageChecks, versionCheck } from '../doctor/python-checks.js';
import { printJson, printReport } from '../doctor/report.js';
import { runtimeChecks } from '../doctor/runtime-checks.js';
import { EXIT, type ExitCode } from '../errors.js';
import type { Progress, Terminal } from '../output/terminal.js';
import { runPythonProbe } from '../python/doctor-probe.js';
import { OTHER_PACKAGES, pythonRequirements, runsPythonHere } from '../python/requirements.js';

export interface DoctorOptions {
  readonly cwd: string;
  readonly config?: string | undefined;
  readonly environment?: string | undefined;
  readonly json: boolean;
}

/** Runs every check that applies to the config, prints the report, and says by the exit code whether one failed. */
export async function doctorCommand(options: DoctorOptions, terminal: Terminal): Promise<ExitCode> {
  const loaded = await loadConfig({ cwd: options.cwd, file: options.config, environment: options.environment });
  const progress = terminal.progress('Checking the SnakeBridge setup');
  let checks: Check[];
  try {
    checks = await allChecks(loaded, options.cwd, progress);
  } finally {
    progress.stop();
  }
  const report = doctorReport(checks);
  if (options.json) printJson(report, terminal);
  else printReport(report, terminal);
  return report.ok ? EXIT.ok : EXIT.failed;
}

async function allChecks(loaded: LoadedConfig, cwd: string, progress: Progress): Promise<Check[]> {
  const config = loaded.resolved;
  const checks: Check[] = [configCheck(loaded, cwd)];
  if (runsPythonHere(config.invoker, grpcMode(config))) {
    checks.push(...(await localPythonChecks(loaded, cwd, progress)));
  } else {
    checks.push(ok('python', 'Python', notRunHere(config)));
  }
  if (config.invoker === 'grpc' && grpcMode(config) === 'remote') {
    progress.update(`Probing ${grpcEndpoints(config).join(', ')}`);
    checks.push(...(await grpcChecks(config)));
  }
  return checks;
}

function notRunHere(config: ResolvedConfig): string {
  return config.invoker === 'mock'
    ? `the mock invoker runs no Python in the ${config.environment} environment: nothing to check here`
    : 'calls run on the remote servers (grpc.mode remote): no Python runs on this machine';
}

/** The interpreter, then (if it runs) what is in it. */
async function localPythonChecks(loaded: LoadedConfig, cwd: string, progress: Progress): Promise<Check[]> {
  const config = loaded.resolved;
  const pythonCwd = config.python.cwd === undefined ? cwd : resolve(cwd, config.python.cwd);
  progress.update('Finding the interpreter');
  const explained = await explainPython(config.python, pythonCwd);
  const version = versionCheck(explained);
  const checks = [interpreterCheck(explained), ...(version === undefined ? [] : [version])];
  if (explained.executable === undefined) return checks;
  progress.update(`Inspecting ${explained.executable}`);
  return [
    ...checks,
    ...(await contentsChecks(loaded, cwd, { ...explained, executable: explained.executable }, pythonCwd)),
  ];
}

/** What the interpreter has: its environment, packages, runtime, platform features, and the lockfile's versions. */
async function contentsChecks(
  loaded: LoadedConfig,
  cwd: string,
  explained: PythonExplanation & { executable: string },
  pythonCwd: string,
): Promise<Check[]> {
  const config = loaded.resolved;
  const root = loaded.path === undefined ? cwd : dirname(loaded.path);
  const lockfile = readLockfile(resolve(root, config.bindings.lockfile));
  const locked = lockfile.kind === 'read' ? lockfile.distributions.map((d) => d.name) : [];
  const probe = await runPythonProbe({
    executable: explained.executable,
    settings: config.python,
    cwd: pythonCwd,
    distributions: ['pip', ...OTHER_PACKAGES, ...locked],
  });
  if (!probe.ok) {
    const detail = `could not be inspected: ${probe.error}`;
    return [fail('python.probe', 'Interpreter contents', detail, probeFix(explained.supported))];
  }
  const report = probe.report;
  const requirements = pythonRequirements({
    serializer: config.serializer,
    invoker: config.invoker,
    grpcMode: grpcMode(config),
    serializerPackages: report.serializers,
  });
  return [
    environmentCheck(report),
    ...packageChecks(requirements, report),
    ...runtimeChecks(report),
    ...platformChecks(report, config),
    ...lockfileChecks(lockfile, report, config),
  ];
}

function probeFix(supported: boolean | undefined): string {
  return supported === false
    ? 'use a newer Python (see the Python version check)'
    : 'reinstall @snakebridge/process-pool, which carries the Python runtime';
}
