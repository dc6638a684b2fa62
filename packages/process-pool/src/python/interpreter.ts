// Finds the Python interpreter to run, once: the configured one, a virtual
// environment, ./.venv, or python3 on PATH. It resolves the real executable
// behind shims (pyenv's `python3` costs ~55 ms a spawn) and checks the version,
// reading a virtual environment's from its pyvenv.cfg rather than running it.
// `explainPython` says which one that is, why, and what kind of installation
// it is, for `snakebridge doctor`; both pick with the same `pickCandidate`.

import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, isAbsolute, join, relative, resolve } from 'node:path';
import { type PythonSettings, WorkerStartError } from '@snakebridge/core';

/** The oldest Python the worker runtime supports. */
export const MIN_PYTHON: readonly [number, number] = [3, 10];

export interface PythonInfo {
  /** The interpreter to spawn: the real binary, not a shim. */
  readonly executable: string;
  /** e.g. `3.11.7` */
  readonly version: string;
}

/** Environment variables, as `process.env` has them. */
type Env = Readonly<Record<string, string | undefined>>;

const cache = new Map<string, Promise<PythonInfo>>();

/**
 * The interpreter the settings call for, probed once per candidate (a virtual
 * environment's is read from its `pyvenv.cfg`, with nothing run).
 *
 * @throws WorkerStartError when none is found or it is too old, saying what to set.
 */
export function findPython(settings: PythonSettings, cwd: string = settings.cwd ?? process.cwd()): Promise<PythonInfo> {
  const candidate = pickCandidate(settings, cwd, process.env);
  let probe = cache.get(candidate.path);
  if (probe === undefined) {
    const described = fromVenvConfig(candidate);
    probe = described === undefined ? probePython(candidate.path, candidate.origin) : Promise.resolve(described);
    cache.set(candidate.path, probe);
    // A failed probe is not cached: the user may install Python and try again.
    probe.catch(() => cache.delete(candidate.path));
  }
  return probe;
}

/** Which setting chose the interpreter. The env vars are told apart from the config they override. */
export type PythonSource =
  | 'python.executable'
  | 'SNAKEBRIDGE_PYTHON'
  | 'python.venv'
  | 'SNAKEBRIDGE_VENV'
  | './.venv'
  | 'PATH';

interface Candidate {
  /** A path, or a name to look up on PATH. */
  readonly path: string;
  readonly source: PythonSource;
  /** Where the choice came from, for messages. */
  readonly origin: string;
}

function pickCandidate(settings: PythonSettings, cwd: string, env: Env): Candidate {
  if (settings.executable !== undefined) {
    const fromEnv = env.SNAKEBRIDGE_PYTHON === settings.executable;
    return {
      path: settings.executable,
      source: fromEnv ? 'SNAKEBRIDGE_PYTHON' : 'python.executable',
      origin: fromEnv ? 'the SNAKEBRIDGE_PYTHON environment variable' : 'python.executable in the config',
    };
  }
  if (settings.venv !== undefined) {
    const fromEnv = env.SNAKEBRIDGE_VENV === settings.venv;
    return {
      path: venvPython(isAbsolute(settings.venv) ? settings.venv : resolve(cwd, settings.venv)),
      source: fromEnv ? 'SNAKEBRIDGE_VENV' : 'python.venv',
      origin: fromEnv ? 'the SNAKEBRIDGE_VENV environment variable' : 'python.venv in the config',
    };
  }
  const local = venvPython(join(cwd, '.venv'));
  if (existsSync(local)) return { path: local, source: './.venv', origin: `the .venv in ${cwd}` };
  return { path: process.platform === 'win32' ? 'python' : 'python3', source: 'PATH', origin: 'the PATH' };
}

/**
 * A virtual environment's interpreter as its `pyvenv.cfg` describes it, with
 * nothing run: its `sys.executable` is the path it is run by, and the file
 * records the version it was made with (`version`, or virtualenv's and uv's
 * `version_info`). A fresh host's first worker then waits for no probe (12 ms
 * on the machine of docs/performance.md). Undefined, so the probe runs and
 * says what is wrong, when the file or the interpreter is missing, or the
 * version is not one we run.
 */
function fromVenvConfig(candidate: Candidate): PythonInfo | undefined {
  if (!['python.venv', 'SNAKEBRIDGE_VENV', './.venv'].includes(candidate.source)) return undefined;
  let config: string;
  try {
    config = readFileSync(join(candidate.path, '..', '..', 'pyvenv.cfg'), 'utf8');
  } catch {
    return undefined;
  }
  const recorded = /^\s*version(?:_info)?\s*=\s*(\d+)\.(\d+)\.(\d+)/m.exec(config);
  if (recorded === null || !existsSync(candidate.path)) return undefined;
  const version = [Number(recorded[1]), Number(recorded[2]), Number(recorded[3])];
  return isSupported(version) ? { executable: candidate.path, version: version.join('.') } : undefined;
}

function venvPython(venv: string): string {
  return process.platform === 'win32' ? join(venv, 'Scripts', 'python.exe') : join(venv, 'bin', 'python');
}

// --- running the interpreter ------------------------------------------------------------------

/**
 * Prints what the interpreter is, as a JSON array on its last line of output:
 * `[executable, [major, minor, micro], prefix, base_prefix]`. Fakes in tests
 * may answer with the first two only.
 */
const PROBE =
  'import json, sys; print(json.dumps([sys.executable, list(sys.version_info[:3]), sys.prefix, sys.base_prefix]))';

/**
 * What findPython asks before it spawns workers: the first two fields of the
 * same answer, from an interpreter run without `site` (`-S`) and without
 * importing `json` (whose `re` import doubles the probe's time): about 12 ms
 * instead of 28 on the interpreter start each fresh host pays once.
 * `sys.executable` is the same with `-S`; `_json` is CPython's JSON string
 * quoting, and `json` stands in where it is missing.
 */
const QUICK_PROBE = [
  'import sys',
  'try:',
  '    from _json import encode_basestring_ascii as quote',
  'except ImportError:',
  '    from json import dumps as quote',
  'v = sys.version_info',
  'print("[%s, [%d, %d, %d]]" % (quote(sys.executable), v[0], v[1], v[2]))',
].join('\n');

interface ProbeAnswer {
  readonly executable: string;
  readonly version: readonly [number, number, number];
  readonly prefix: string | undefined;
  readonly basePrefix: string | undefined;
}

/** Runs a probe in the interpreter at `path`; rejects with a WorkerStartError saying what is wrong. */
function runProbe(path: string, origin: string, args: readonly string[] = ['-c', PROBE]): Promise<ProbeAnswer> {
  return new Promise((resolvePromise, reject) => {
    execFile(path, args, { timeout: 15_000, windowsHide: true }, (error, stdout) => {
      if (error) {
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        const message = missing
          ? `No Python interpreter at '${path}' (from ${origin}). Install Python ${MIN_PYTHON.join('.')}+, ` +
            'or point python.executable, python.venv or SNAKEBRIDGE_PYTHON at one.'
          : `Python at '${path}' (from ${origin}) failed to start: ${error.message}`;
        reject(new WorkerStartError(message, undefined, { cause: error }));
        return;
      }
      const answer = parseProbe(stdout);
      if (answer === undefined) {
        reject(
          new WorkerStartError(`'${path}' (from ${origin}) did not answer like a Python interpreter: ${stdout.trim()}`),
        );
        return;
      }
      resolvePromise(answer);
    });
  });
}

/** The probe's answer: the last line, since a sitecustomize may print before it. */
function parseProbe(stdout: string): ProbeAnswer | undefined {
  const last = stdout.trim().split('\n').pop() ?? '';
  let answer: unknown;
  try {
    answer = JSON.parse(last);
  } catch {
    return undefined;
  }
  if (!Array.isArray(answer) || typeof answer[0] !== 'string' || !Array.isArray(answer[1])) return undefined;
  const [executable, version, prefix, basePrefix] = answer as [string, [number, number, number], unknown, unknown];
  return {
    executable,
    version,
    prefix: typeof prefix === 'string' ? prefix : undefined,
    basePrefix: typeof basePrefix === 'string' ? basePrefix : undefined,
  };
}

function isSupported([major, minor]: readonly number[]): boolean {
  return (major ?? 0) > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && (minor ?? 0) >= MIN_PYTHON[1]);
}

async function probePython(path: string, origin: string): Promise<PythonInfo> {
  const answer = await runProbe(path, origin, ['-S', '-c', QUICK_PROBE]);
  const version = answer.version.join('.');
  if (!isSupported(answer.version)) {
    throw new WorkerStartError(
      `Python ${MIN_PYTHON.join('.')}+ is needed; '${path}' (from ${origin}) is ${version}. ` +
        'Point python.executable or SNAKEBRIDGE_PYTHON at a newer interpreter.',
    );
  }
  // sys.executable can be empty in embedded interpreters; keep what we ran then.
  return { executable: answer.executable || path, version };
}

// --- explaining the choice --------------------------------------------------------------------

/** The environment an interpreter runs in: its own prefix, when that is a venv or a conda env. */
export interface PythonEnvironmentInfo {
  readonly kind: 'venv' | 'conda' | 'none';
  /** sys.prefix of the environment; undefined for `none`. */
  readonly path: string | undefined;
  /** It is the one activated in this shell (VIRTUAL_ENV or CONDA_PREFIX). */
  readonly activated: boolean;
}

/** Which interpreter the settings pick, why, and what it is. */
export interface PythonExplanation {
  /** What the settings name: a path, or a name looked up on PATH. */
  readonly requested: string;
  readonly source: PythonSource;
  /** Where the choice came from, in words: `python.venv in the config`. */
  readonly origin: string;
  /** Where `requested` is on disk (found on PATH for a bare name); undefined when nothing is there. */
  readonly location: string | undefined;
  /** A version manager's shim in front of the interpreter; findPython spawns what it resolves to instead. */
  readonly shim: { readonly tool: 'pyenv'; readonly path: string } | undefined;
  /** What workers spawn (its `sys.executable`); undefined when it does not run. */
  readonly executable: string | undefined;
  /** e.g. `3.11.7`; undefined when it does not run. */
  readonly version: string | undefined;
  /** At least MIN_PYTHON; undefined when it does not run. */
  readonly supported: boolean | undefined;
  readonly prefix: string | undefined;
  readonly basePrefix: string | undefined;
  readonly environment: PythonEnvironmentInfo;
  /** An environment activated in this shell that is not the one used (the path), if any. */
  readonly ignoredActivation: string | undefined;
  /** Who installed the base interpreter, when that can be told from its paths. */
  readonly installer: 'uv' | 'pyenv' | 'conda' | undefined;
  /** Why it could not be run. */
  readonly error: string | undefined;
}

/**
 * Which interpreter `findPython` would use for these settings, why (the
 * setting or env var that chose it), and what it is: a venv or conda env,
 * activated or not, a pyenv shim and the interpreter behind it, one installed
 * by uv. Never throws for a missing or old interpreter: that is in `error`
 * and `supported`.
 *
 * @param env the environment variables to read (SNAKEBRIDGE_PYTHON, VIRTUAL_ENV, PATH, …). @default process.env
 */
export async function explainPython(
  settings: PythonSettings,
  cwd: string = settings.cwd ?? process.cwd(),
  env: Env = process.env,
): Promise<PythonExplanation> {
  const candidate = pickCandidate(settings, cwd, env);
  const location = locate(candidate.path, env);
  const base = {
    requested: candidate.path,
    source: candidate.source,
    origin: candidate.origin,
    location,
    shim: location !== undefined && isPyenvShim(location, env) ? { tool: 'pyenv' as const, path: location } : undefined,
  };
  let answer: ProbeAnswer;
  try {
    answer = await runProbe(location ?? candidate.path, candidate.origin);
  } catch (error) {
    return {
      ...base,
      executable: undefined,
      version: undefined,
      supported: undefined,
      prefix: undefined,
      basePrefix: undefined,
      environment: { kind: 'none', path: undefined, activated: false },
      ignoredActivation: activatedEnvironment(env),
      installer: undefined,
      error: (error as Error).message,
    };
  }
  const executable = answer.executable || (location ?? candidate.path);
  const environment = environmentOf(answer, env);
  return {
    ...base,
    executable,
    version: answer.version.join('.'),
    supported: isSupported(answer.version),
    prefix: answer.prefix,
    basePrefix: answer.basePrefix,
    environment,
    ignoredActivation: environment.activated ? undefined : activatedEnvironment(env),
    installer: installerOf([location, executable, answer.basePrefix], env),
    error: undefined,
  };
}

/** The file a command runs: a path as it is, a bare name from PATH. */
function locate(command: string, env: Env): string | undefined {
  if (command.includes('/') || command.includes('\\')) {
    const path = resolve(command);
    return existsSync(path) ? path : undefined;
  }
  const extensions = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    for (const extension of extensions) {
      const path = join(dir, command + extension);
      if (isExecutableFile(path)) return path;
    }
  }
  return undefined;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A pyenv shim: in pyenv's shims directory, or a script that hands over to `pyenv exec`. */
function isPyenvShim(path: string, env: Env): boolean {
  if (isInside(join(pyenvRoot(env), 'shims'), path)) return true;
  try {
    const head = readFileSync(path).subarray(0, 2048).toString('latin1');
    return head.startsWith('#!') && /pyenv"? exec/.test(head);
  } catch {
    return false;
  }
}

function environmentOf(answer: ProbeAnswer, env: Env): PythonEnvironmentInfo {
  const prefix = answer.prefix;
  const conda = prefix !== undefined && existsSync(join(prefix, 'conda-meta'));
  if (prefix === undefined || (!conda && prefix === answer.basePrefix)) {
    return { kind: 'none', path: undefined, activated: false };
  }
  const activated = [env.VIRTUAL_ENV, env.CONDA_PREFIX].some((dir) => dir !== undefined && samePath(dir, prefix));
  return { kind: conda ? 'conda' : 'venv', path: prefix, activated };
}

/** The environment activated in this shell, if any; conda's auto-activated base does not count. */
function activatedEnvironment(env: Env): string | undefined {
  if (env.VIRTUAL_ENV) return env.VIRTUAL_ENV;
  if (env.CONDA_PREFIX && env.CONDA_DEFAULT_ENV !== 'base') return env.CONDA_PREFIX;
  return undefined;
}

function installerOf(paths: readonly (string | undefined)[], env: Env): PythonExplanation['installer'] {
  const known = paths.filter((path): path is string => path !== undefined);
  const resolved = [...known, ...known.map(realPath)];
  if (resolved.some((path) => isInside(uvPythonDir(env), path))) return 'uv';
  if (resolved.some((path) => isInside(join(pyenvRoot(env), 'versions'), path))) return 'pyenv';
  const basePrefix = paths[paths.length - 1];
  if (basePrefix !== undefined && existsSync(join(basePrefix, 'conda-meta'))) return 'conda';
  return undefined;
}

function home(env: Env): string {
  return env.HOME ?? env.USERPROFILE ?? homedir();
}

function pyenvRoot(env: Env): string {
  return env.PYENV_ROOT ?? join(home(env), '.pyenv');
}

/** Where uv installs the interpreters it manages (`uv python dir`). */
function uvPythonDir(env: Env): string {
  if (env.UV_PYTHON_INSTALL_DIR) return env.UV_PYTHON_INSTALL_DIR;
  if (process.platform === 'win32') return join(env.APPDATA ?? home(env), 'uv', 'python');
  return join(env.XDG_DATA_HOME ?? join(home(env), '.local', 'share'), 'uv', 'python');
}

/** `path` is below `dir`, as written (callers pass resolved paths too); `dir` may be reached through a link. */
function isInside(dir: string, path: string): boolean {
  return [resolve(dir), realPath(dir)].some((root) => {
    const rel = relative(root, resolve(path));
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  });
}

function samePath(a: string, b: string): boolean {
  return realPath(a) === realPath(b);
}

function realPath(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return resolve(path);
  }
}
