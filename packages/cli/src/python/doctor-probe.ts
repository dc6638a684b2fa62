// Runs `python -m snakebridge.doctor --json` in an interpreter, with the same
// environment and import path as the workers and a pipe at fd 3 as they get
// theirs, and reads its report (python/snakebridge/doctor.py).

import { spawn } from 'node:child_process';
import type { Duplex } from 'node:stream';
import type { PythonSettings } from '@snakebridge/core';
import { pythonEnvironment } from '@snakebridge/process-pool';

/** The report format this command line reads. */
export const DOCTOR_FORMAT = 1;

/** A platform feature as the probe found it; `ok` is null when it was not checked. */
export interface ProbedFeature {
  readonly ok: boolean | null;
  readonly detail: string;
}

/** What `python -m snakebridge.doctor` prints. */
export interface PythonDoctorReport {
  readonly format: number;
  readonly executable: string;
  readonly version: string;
  readonly version_info: readonly number[];
  readonly implementation: string;
  readonly prefix: string;
  readonly base_prefix: string;
  readonly venv: { readonly kind: 'venv' | 'conda' | null; readonly path: string | null; readonly activated: boolean };
  readonly platform: { readonly system: string; readonly machine: string; readonly release: string };
  /** The runtime the host put on PYTHONPATH, as imported. */
  readonly runtime: { readonly version: string; readonly protocol: number; readonly path: string };
  /** A `snakebridge` distribution pip installed in the interpreter, apart from that runtime. */
  readonly installed_snakebridge: { readonly version: string; readonly location: string } | null;
  /** Packages by serializer id, from the runtime's registry. */
  readonly serializers: Readonly<Record<string, readonly string[]>>;
  /** Installed versions of the distributions asked for; null when not installed. */
  readonly distributions: Readonly<Record<string, string | null>>;
  readonly features: {
    readonly extra_fds: ProbedFeature;
    readonly parent_death_signal: ProbedFeature;
    readonly rlimits: ProbedFeature;
    /** The OS sandbox's kernel support (Landlock); absent from a runtime older than this check. */
    readonly sandbox?: ProbedFeature;
  };
}

export interface PythonProbeOptions {
  /** The interpreter to run. */
  readonly executable: string;
  readonly settings: Pick<PythonSettings, 'env' | 'path'>;
  readonly cwd: string;
  /** Distributions whose installed versions to report. */
  readonly distributions: readonly string[];
}

export type PythonProbeResult =
  | { readonly ok: true; readonly report: PythonDoctorReport }
  | { readonly ok: false; readonly error: string };

/** The fd the probe checks, as the stdio worker's first frame channel. */
const CHECKED_FD = 3;
/** Longest the probe may take; it reads metadata only, so this is generous. */
const TIMEOUT_MS = 30_000;
/** Lines of stderr kept for an error message. */
const STDERR_LINES = 20;

/** Runs the probe; never throws: a failure is `{ ok: false, error }` saying what happened. */
export function runPythonProbe(options: PythonProbeOptions): Promise<PythonProbeResult> {
  return new Promise((resolve) => {
    const args = ['-m', 'snakebridge.doctor', '--json', '--check-fd', String(CHECKED_FD), ...options.distributions];
    const child = spawn(options.executable, args, {
      cwd: options.cwd,
      env: pythonEnvironment(options.settings),
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      timeout: TIMEOUT_MS,
      windowsHide: true,
    });
    // Only its arrival in the child matters: our end is closed at once, so it holds nothing open.
    (child.stdio[CHECKED_FD] as Duplex | null)?.destroy();
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', (error) =>
      resolve({ ok: false, error: `could not run ${options.executable}: ${error.message}` }),
    );
    child.once('close', (code, signal) => {
      if (code !== 0) {
        const how = signal === null ? `exited with ${code}` : `was killed by ${signal}`;
        resolve({ ok: false, error: `python -m snakebridge.doctor ${how}: ${tail(stderr)}` });
        return;
      }
      resolve(parseReport(stdout));
    });
  });
}

/** The report: the last line of stdout, since a sitecustomize may print before the probe runs. */
function parseReport(stdout: string): PythonProbeResult {
  const last = stdout.trim().split('\n').pop() ?? '';
  let report: PythonDoctorReport;
  try {
    report = JSON.parse(last) as PythonDoctorReport;
  } catch {
    return { ok: false, error: `python -m snakebridge.doctor printed no report: ${last.slice(0, 200)}` };
  }
  if (report.format !== DOCTOR_FORMAT) {
    return {
      ok: false,
      error:
        `the Python runtime reports format ${report.format}, this command line reads ${DOCTOR_FORMAT}: ` +
        'install matching versions of @snakebridge/cli and @snakebridge/process-pool',
    };
  }
  return { ok: true, report };
}

function tail(text: string): string {
  const lines = text.trim().split('\n');
  return lines.slice(-STDERR_LINES).join('\n') || '(no output)';
}
