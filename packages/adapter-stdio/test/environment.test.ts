// The interpreter, its packages and the security switches, checked at start.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ForbiddenError, PythonError, silentLogger, WorkerStartError } from '@snakebridge/core';
import { findPython } from '@snakebridge/process-pool';
import { MsgpackSerializer } from '@snakebridge/serializer-msgpack';
import { describe, expect, it } from 'vitest';
import { StdioInvoker } from '../src/index.js';
import { fn, rejection, testConfig, testInvoker } from './helpers.js';

/** The real interpreter behind the test venv, to make a bare venv from. */
async function realPython(): Promise<string> {
  const { executable } = await findPython(testConfig().python);
  return execFileSync(executable, ['-c', 'import sys; print(sys.base_prefix + "/bin/python3")']).toString().trim();
}

function fakePython(version: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-python-'));
  const path = join(dir, 'python');
  writeFileSync(path, `#!/bin/sh\necho '["${path}", [${version.split('.').join(', ')}]]'\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('environment', () => {
  it('names the interpreter it could not find and what to set', async () => {
    const invoker = testInvoker({ python: { executable: '/nowhere/python3' } });
    const error = await rejection(invoker.call(fn('math.sqrt', [4])));
    expect(WorkerStartError.is(error)).toBe(true);
    expect(error.message).toMatch(/No Python interpreter at '\/nowhere\/python3'/);
    expect(error.message).toMatch(/SNAKEBRIDGE_PYTHON/);
    await invoker.close();
  });

  it('refuses a Python older than 3.10', async () => {
    const invoker = testInvoker({ python: { executable: fakePython('3.8.10') } });
    const error = await rejection(invoker.start());
    expect(WorkerStartError.is(error)).toBe(true);
    expect(error.message).toMatch(/Python 3\.10\+ is needed; .* is 3\.8\.10/);
    await invoker.close();
  });

  it('fails the start, naming the package to install, when the serializer’s Python package is missing', async () => {
    // A bare virtual environment: Python without msgpack (the runtime itself comes on PYTHONPATH).
    const venv = join(mkdtempSync(join(tmpdir(), 'sb-bare-venv-')), 'venv');
    execFileSync(await realPython(), ['-m', 'venv', '--without-pip', venv]);
    const invoker = new StdioInvoker({
      config: testConfig({ python: { venv } }),
      serializer: new MsgpackSerializer(),
      logger: silentLogger,
    });
    try {
      const error = await rejection(invoker.start());
      expect(WorkerStartError.is(error)).toBe(true);
      expect(error.message).toMatch(/needs the Python package msgpack/);
      // The interpreter it checked, and the command for that one.
      expect(error.message).toContain(`installed in ${join(venv, 'bin', 'python')}`);
      expect(error.message).toMatch(/-m pip install .*msgpack/);
    } finally {
      await invoker.close();
      rmSync(dirname(venv), { recursive: true, force: true });
    }
  }, 60_000);

  it('fails the start, naming the module, when a preload import fails', async () => {
    const invoker = testInvoker({ pool: { preload: ['json', 'no_such_module_for_preload'] } });
    const error = await rejection(invoker.start());
    expect(WorkerStartError.is(error)).toBe(true);
    expect(error.message).toMatch(/ModuleNotFoundError: No module named 'no_such_module_for_preload'/);
    await invoker.close();
  });

  it('uses the virtual environment named in the config', async () => {
    const invoker = testInvoker({ python: { venv: '.venv' } });
    const prefix = await invoker.call<string>({ op: 'eval', target: '__import__("sys").prefix' });
    expect(prefix).toMatch(/\.venv$/);
    await invoker.close();
  });

  it('refuses eval and exec when security.allowEval is false', async () => {
    const invoker = testInvoker({ security: { allowEval: false } });
    const error = await rejection(invoker.call({ op: 'eval', target: '1 + 1' }));
    expect(ForbiddenError.is(error)).toBe(true);
    expect(error.message).toMatch(/allowEval/);
    await invoker.close();
  });

  it('only calls modules on the allowlist when one is set', async () => {
    const invoker = testInvoker({ security: { allowedModules: ['math'] } });
    expect(await invoker.call(fn('math.sqrt', [9]))).toBe(3);
    const error = await rejection(invoker.call(fn('os.getcwd')));
    expect(ForbiddenError.is(error)).toBe(true);
    expect(error.message).toMatch(/'os.getcwd' is not in security.allowedModules \(math\)/);
    expect(ForbiddenError.is(await rejection(invoker.call(fn('open', ['/etc/passwd']))))).toBe(true);
    await invoker.close();
  });

  it('resolves builtins by bare name and imports submodules on demand', async () => {
    const invoker = testInvoker();
    expect(await invoker.call(fn('len', [[1, 2, 3]]))).toBe(3);
    expect(await invoker.call(fn('os.path.join', ['a', 'b']))).toBe('a/b');
    expect(await invoker.call({ op: 'getattr', target: 'xml.etree.ElementTree.VERSION' })).toMatch(/^\d+\.\d+/);
    const missing = await rejection(invoker.call(fn('json.no_such_thing')));
    expect(PythonError.is(missing, 'PYTHON_ATTRIBUTE_ERROR')).toBe(true);
    await invoker.close();
  });
});
