// The interpreter, its packages and the security switches, checked at start.

import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ForbiddenError, PythonError, WorkerStartError } from '@snakebridge/core';
import { describe, expect, it } from 'vitest';
import { fn, rejection, testInvoker } from './helpers.js';

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
    expect(error.message).toMatch(/'os' is not in security.allowedModules/);
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
