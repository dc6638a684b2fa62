// Finds the Python interpreter to run, once: the configured one, a virtual
// environment, ./.venv, or python3 on PATH. It resolves the real executable
// behind shims (pyenv's `python3` costs ~55 ms a spawn) and checks the version.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { type PythonSettings, WorkerStartError } from '@snakebridge/core';

/** The oldest Python the worker runtime supports. */
export const MIN_PYTHON: readonly [number, number] = [3, 10];

export interface PythonInfo {
  /** The interpreter to spawn: the real binary, not a shim. */
  readonly executable: string;
  /** e.g. `3.11.7` */
  readonly version: string;
}

const cache = new Map<string, Promise<PythonInfo>>();

/**
 * The interpreter the settings call for, probed once per candidate.
 *
 * @throws WorkerStartError when none is found or it is too old, saying what to set.
 */
export function findPython(settings: PythonSettings, cwd: string = settings.cwd ?? process.cwd()): Promise<PythonInfo> {
  const candidate = pickCandidate(settings, cwd);
  let probe = cache.get(candidate.path);
  if (probe === undefined) {
    probe = probePython(candidate.path, candidate.origin);
    cache.set(candidate.path, probe);
    // A failed probe is not cached: the user may install Python and try again.
    probe.catch(() => cache.delete(candidate.path));
  }
  return probe;
}

interface Candidate {
  readonly path: string;
  /** Where the choice came from, for error messages. */
  readonly origin: string;
}

function pickCandidate(settings: PythonSettings, cwd: string): Candidate {
  if (settings.executable !== undefined) {
    return { path: settings.executable, origin: 'python.executable (or SNAKEBRIDGE_PYTHON)' };
  }
  if (settings.venv !== undefined) {
    return {
      path: venvPython(isAbsolute(settings.venv) ? settings.venv : resolve(cwd, settings.venv)),
      origin: 'python.venv',
    };
  }
  const local = venvPython(join(cwd, '.venv'));
  if (existsSync(local)) return { path: local, origin: './.venv' };
  return { path: process.platform === 'win32' ? 'python' : 'python3', origin: 'PATH' };
}

function venvPython(venv: string): string {
  return process.platform === 'win32' ? join(venv, 'Scripts', 'python.exe') : join(venv, 'bin', 'python');
}

const PROBE = 'import json, sys; print(json.dumps([sys.executable, list(sys.version_info[:3])]))';

function probePython(path: string, origin: string): Promise<PythonInfo> {
  return new Promise((resolvePromise, reject) => {
    execFile(path, ['-c', PROBE], { timeout: 15_000, windowsHide: true }, (error, stdout) => {
      if (error) {
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        reject(
          new WorkerStartError(
            missing
              ? `No Python interpreter at '${path}' (from ${origin}). Install Python ${MIN_PYTHON.join('.')}+, ` +
                  'or point python.executable, python.venv or SNAKEBRIDGE_PYTHON at one.'
              : `Python at '${path}' (from ${origin}) failed to start: ${error.message}`,
            undefined,
            { cause: error },
          ),
        );
        return;
      }
      const [executable, [major, minor, patch]] = JSON.parse(stdout) as [string, [number, number, number]];
      const version = `${major}.${minor}.${patch}`;
      if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
        reject(
          new WorkerStartError(
            `Python ${MIN_PYTHON.join('.')}+ is needed; '${path}' (from ${origin}) is ${version}. ` +
              'Point python.executable or SNAKEBRIDGE_PYTHON at a newer interpreter.',
          ),
        );
        return;
      }
      // sys.executable can be empty in embedded interpreters; keep what we ran then.
      resolvePromise({ executable: executable || path, version });
    });
  });
}
