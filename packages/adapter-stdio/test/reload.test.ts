// Live reload (python.reload): a change to a module under python.path is
// picked up without restarting the host; sessions on a replaced worker are
// told they were lost; production refuses it.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, resolveConfig, SessionError, silentLogger } from '@snakebridge/core';
import { afterEach, describe, expect, it } from 'vitest';
import { StdioInvoker } from '../src/index.js';
import { fn, nextPoolEvent, rejection, testConfig } from './helpers.js';

let invoker: StdioInvoker | undefined;
let dir: string | undefined;
afterEach(async () => {
  await invoker?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function moduleVersion(version: number): void {
  writeFileSync(join(dir as string, 'reloadme.py'), `def version():\n    return ${version}\n`);
}

function reloading(): StdioInvoker {
  dir = mkdtempSync(join(tmpdir(), 'sb-reload-'));
  moduleVersion(1);
  invoker = new StdioInvoker({ config: testConfig({ python: { path: [dir], reload: true } }), logger: silentLogger });
  return invoker;
}

describe('live reload', () => {
  it('replaces the workers when a module under python.path changes, and the next call runs the new code', async () => {
    const calls = reloading();
    expect(await calls.call(fn('reloadme.version'))).toBe(1);
    const recycled = nextPoolEvent(calls, (event) => event.type === 'recycle' && event.reason === 'reload');
    const replaced = nextPoolEvent(calls, (event) => event.type === 'ready' && event.workerId === 'w2');
    moduleVersion(2);
    await recycled;
    await replaced;
    expect(await calls.call(fn('reloadme.version'))).toBe(2);
  });

  it('tells a session on a replaced worker that it was lost', async () => {
    const calls = reloading();
    const session = await calls.openSession();
    await calls.call(fn('snakebridge.testing.contract.remember', ['k', 1]), { session });
    const gone = nextPoolEvent(calls, (event) => event.type === 'exit' && event.workerId === 'w1');
    moduleVersion(2);
    await gone;
    const error = await rejection(calls.call(fn('snakebridge.testing.contract.recall', ['k']), { session }));
    expect(SessionError.is(error), String(error)).toBe(true);
    expect(error.message).toMatch(/was lost/);
  });

  it('is refused in production', () => {
    let error: unknown;
    try {
      resolveConfig({ python: { reload: true } }, { env: {}, environment: 'production' });
    } catch (caught) {
      error = caught;
    }
    expect(ConfigError.is(error) && error.field).toBe('python.reload');
  });
});
