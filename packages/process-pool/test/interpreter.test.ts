// Interpreter discovery: which Python findPython picks, and explainPython's
// account of that choice (the setting behind it, shims, venvs, installers),
// against the repository's interpreter and small fake ones.

import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PythonSettings, resolveConfig, type SnakeBridgeSettings } from '@snakebridge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainPython, findPython } from '../src/index.js';

const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'snakebridge-interpreter-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The repository's own interpreter (./.venv), as findPython resolves it. */
let realPython: string;
beforeAll(async () => {
  realPython = (await findPython(settings(), REPOSITORY)).executable;
});

/** Python settings resolved without reading this process's env vars. */
function settings(python: SnakeBridgeSettings['python'] = {}, env: Record<string, string> = {}): PythonSettings {
  return resolveConfig({ python }, { env }).python;
}

/** A directory with an empty environment: no venv, no PATH, no pyenv or uv. */
function emptyEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: '', HOME: join(dir, 'home'), ...extra };
}

/** An executable shell script. */
function script(path: string, body: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** A fake interpreter that answers the probe with this version and these prefixes. */
function fakePython(name: string, version: [number, number, number], prefix = join(dir, name)): string {
  const answer = JSON.stringify([join(dir, name, 'python'), version, prefix, prefix]);
  return script(join(dir, name, 'python'), `echo '${answer}'`);
}

describe('explainPython', () => {
  it('says python.executable in the config chose the interpreter, and agrees with findPython', async () => {
    const python = settings({ executable: realPython });
    const explained = await explainPython(python, dir, emptyEnv());
    expect(explained.source).toBe('python.executable');
    expect(explained.executable).toBe((await findPython(python, dir)).executable);
    expect(explained.supported).toBe(true);
    expect(explained.version).toMatch(/^3\.\d+\.\d+$/);
  });

  it('tells SNAKEBRIDGE_PYTHON apart from python.executable', async () => {
    const env = emptyEnv({ SNAKEBRIDGE_PYTHON: realPython });
    const explained = await explainPython(settings({ executable: 'python-from-config' }, env), dir, env);
    expect(explained.source).toBe('SNAKEBRIDGE_PYTHON');
    expect(explained.origin).toContain('SNAKEBRIDGE_PYTHON');
    expect(explained.executable).toBe(realPython);
  });

  it('resolves python.venv against the working directory and reports the venv, activated or not', async () => {
    const venv = join(REPOSITORY, '.venv');
    const explained = await explainPython(settings({ venv: '.venv' }), REPOSITORY, emptyEnv());
    expect(explained.source).toBe('python.venv');
    expect(explained.requested).toBe(join(venv, 'bin', 'python'));
    expect(explained.environment).toEqual({ kind: 'venv', path: venv, activated: false });

    const activated = await explainPython(settings({ venv: '.venv' }), REPOSITORY, emptyEnv({ VIRTUAL_ENV: venv }));
    expect(activated.environment.activated).toBe(true);
    expect(activated.ignoredActivation).toBeUndefined();
  });

  it('prefers ./.venv to python3 on PATH, as findPython does, and names an activated venv it does not use', async () => {
    const other = join(dir, 'activated-elsewhere');
    const explained = await explainPython(settings(), REPOSITORY, emptyEnv({ VIRTUAL_ENV: other }));
    expect(explained.source).toBe('./.venv');
    expect(explained.executable).toBe((await findPython(settings(), REPOSITORY)).executable);
    expect(explained.ignoredActivation).toBe(other);
  });

  it('falls back to python3 on PATH, found where the PATH says', async () => {
    const bin = join(dir, 'path-bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(realPython, join(bin, 'python3'));
    const explained = await explainPython(settings(), join(dir, 'no-venv-here'), emptyEnv({ PATH: bin }));
    expect(explained.source).toBe('PATH');
    expect(explained.location).toBe(join(bin, 'python3'));
    expect(explained.error).toBeUndefined();
  });

  it('sees through a pyenv shim to the interpreter behind it', async () => {
    const root = join(dir, 'pyenv');
    const shim = script(join(root, 'shims', 'python3'), `exec '${realPython}' "$@"`);
    const explained = await explainPython(settings({ executable: shim }), dir, emptyEnv({ PYENV_ROOT: root }));
    expect(explained.shim).toEqual({ tool: 'pyenv', path: shim });
    expect(explained.executable).toBe(realPython);
  });

  it('recognises a shim by its hand-over to pyenv exec, wherever it lives', async () => {
    const shim = script(join(dir, 'odd-place', 'python3'), `exit 1 # exec "/opt/pyenv/libexec/pyenv" exec "$program"`);
    const explained = await explainPython(settings({ executable: shim }), dir, emptyEnv());
    expect(explained.shim?.tool).toBe('pyenv');
  });

  it('names uv as the installer of an interpreter under uv’s python directory', async () => {
    const uvDir = join(dir, 'uv-python');
    const managed = join(uvDir, 'cpython-3.12.0-linux-x86_64-gnu', 'bin');
    mkdirSync(managed, { recursive: true });
    symlinkSync(realPython, join(managed, 'python3'));
    const env = emptyEnv({ UV_PYTHON_INSTALL_DIR: uvDir });
    const explained = await explainPython(settings({ executable: join(managed, 'python3') }), dir, env);
    expect(explained.installer).toBe('uv');
  });

  it('reports a conda environment by its conda-meta directory', async () => {
    const prefix = join(dir, 'conda-env');
    mkdirSync(join(prefix, 'conda-meta'), { recursive: true });
    const python = fakePython('conda-python', [3, 11, 4], prefix);
    const env = emptyEnv({ CONDA_PREFIX: prefix, CONDA_DEFAULT_ENV: 'conda-env' });
    const explained = await explainPython(settings({ executable: python }), dir, env);
    expect(explained.environment).toEqual({ kind: 'conda', path: prefix, activated: true });
    expect(explained.installer).toBe('conda');
  });

  it('reports an interpreter that is too old as unsupported, where findPython refuses it', async () => {
    const python = fakePython('old-python', [3, 8, 18]);
    const explained = await explainPython(settings({ executable: python }), dir, emptyEnv());
    expect(explained).toMatchObject({ version: '3.8.18', supported: false, error: undefined });
    await expect(findPython(settings({ executable: python }), dir)).rejects.toThrow(/3\.10\+ is needed.*3\.8\.18/);
  });

  it('reports a missing interpreter with what to set, as findPython does', async () => {
    const missing = join(dir, 'nowhere', 'python');
    const explained = await explainPython(settings({ executable: missing }), dir, emptyEnv());
    expect(explained.location).toBeUndefined();
    expect(explained.executable).toBeUndefined();
    expect(explained.error).toMatch(/No Python interpreter at .*python\.executable in the config/);
    await expect(findPython(settings({ executable: missing }), dir)).rejects.toThrow(explained.error as string);
  });

  it('takes an answer without prefixes, as simple fakes give it, for an interpreter in no environment', async () => {
    const python = script(
      join(dir, 'short-answer', 'python'),
      `echo '["${join(dir, 'short-answer', 'python')}", [3, 12, 1]]'`,
    );
    const explained = await explainPython(settings({ executable: python }), dir, emptyEnv());
    expect(explained).toMatchObject({ version: '3.12.1', supported: true, prefix: undefined });
    expect(explained.environment.kind).toBe('none');
    expect((await findPython(settings({ executable: python }), dir)).version).toBe('3.12.1');
  });

  it('reports something that is not Python without throwing', async () => {
    const notPython = script(join(dir, 'not-python', 'python'), 'echo hello');
    const explained = await explainPython(settings({ executable: notPython }), dir, emptyEnv());
    expect(explained.error).toMatch(/did not answer like a Python interpreter: hello/);
  });
});

describe('findPython and virtual environments', () => {
  /** A venv whose interpreter is a script: `answer` is what it prints when run (the probe's answer, or nothing). */
  function fakeVenv(name: string, config: string | undefined, answer = 'exit 1'): string {
    const venv = join(dir, name);
    script(join(venv, 'bin', 'python'), answer);
    if (config !== undefined) writeFileSync(join(venv, 'pyvenv.cfg'), config);
    return venv;
  }

  it('takes a venv’s interpreter and version from its pyvenv.cfg, running nothing', async () => {
    // Its interpreter fails if run: the answer can only come from the file.
    const venv = fakeVenv('cfg-venv', 'home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.12.1\n');
    expect(await findPython(settings({ venv }), dir)).toEqual({
      executable: join(venv, 'bin', 'python'),
      version: '3.12.1',
    });
  });

  it('reads virtualenv’s and uv’s version_info too', async () => {
    const venv = fakeVenv('uv-venv', 'home = /usr/bin\nimplementation = CPython\nuv = 0.4.0\nversion_info = 3.13.0\n');
    expect((await findPython(settings({ venv }), dir)).version).toBe('3.13.0');
  });

  it('probes a venv without a pyvenv.cfg, or one that records a version too old, and says what is wrong', async () => {
    const answer = (version: string) => `echo '["${join(dir, 'x', 'bin', 'python')}", [${version}]]'`;
    const bare = fakeVenv('bare-venv', undefined, answer('3, 11, 2'));
    expect((await findPython(settings({ venv: bare }), dir)).version).toBe('3.11.2');
    const old = fakeVenv('old-venv', 'version = 3.8.10\n', answer('3, 8, 10'));
    await expect(findPython(settings({ venv: old }), dir)).rejects.toThrow(/3\.10\+ is needed.*3\.8\.10/);
  });
});
