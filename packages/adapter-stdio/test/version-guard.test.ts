// bindings.guard: a worker compares the typed bindings' lockfile with the
// packages it imports, and warns or refuses to start when they drifted.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkerStartError } from '@snakebridge/core';
import { findPython } from '@snakebridge/process-pool';
import { describe, expect, it } from 'vitest';
import { StdioInvoker } from '../src/index.js';
import { fn, recordingLogger, rejection, testConfig } from './helpers.js';

/** A lockfile as `snakebridge types` writes it, locking msgpack (installed in the test venv) at `version`. */
function lockfile(version: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'sb-lock-')), 'snakebridge.lock.json');
  const modules = { msgpack: { distribution: { name: 'msgpack', version }, signatures: 'sha256:0', file: 'm.d.ts' } };
  writeFileSync(path, JSON.stringify({ format: 1, modules }));
  return path;
}

describe('the version guard', () => {
  it('refuses to start a worker whose packages differ from the lockfile in error mode', async () => {
    const invoker = new StdioInvoker({
      config: testConfig({ bindings: { guard: 'error', lockfile: lockfile('0.0.1') } }),
      logger: recordingLogger(),
    });
    const error = await rejection(invoker.call(fn('math.sqrt', [4])));
    expect(WorkerStartError.is(error)).toBe(true);
    expect(error.message).toMatch(/msgpack is [\d.]+, the declarations were generated from 0\.0\.1/);
    expect(error.message).toMatch(/Run snakebridge types/);
    await invoker.close();
  });

  it('warns through the logger and serves calls in warn mode', async () => {
    const logger = recordingLogger();
    const invoker = new StdioInvoker({
      config: testConfig({ bindings: { guard: 'warn', lockfile: lockfile('0.0.1') } }),
      logger,
    });
    expect(await invoker.call(fn('math.sqrt', [4]))).toBe(2);
    expect(logger.lines.some((line) => line.level === 'warn' && /msgpack is .* 0\.0\.1/.test(line.message))).toBe(true);
    await invoker.close();
  });

  it('starts quietly when the lockfile matches', async () => {
    const { executable } = await findPython(testConfig().python);
    const installed = execFileSync(executable, [
      '-c',
      'from importlib.metadata import version; print(version("msgpack"))',
    ])
      .toString()
      .trim();
    const logger = recordingLogger();
    const invoker = new StdioInvoker({
      config: testConfig({ bindings: { guard: 'error', lockfile: lockfile(installed) } }),
      logger,
    });
    expect(await invoker.call(fn('math.sqrt', [9]))).toBe(3);
    expect(logger.lines.filter((line) => line.level === 'warn')).toEqual([]);
    await invoker.close();
  });
});
