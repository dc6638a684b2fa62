// bindings.guard over gRPC: a managed server compares the typed bindings'
// lockfile with its packages at start, as a stdio worker does.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkerStartError } from '@snakebridge/core';
import { afterAll, describe, expect, it } from 'vitest';
import { serverArguments } from '../src/index.js';
import { fn, rejection, testConfig, testInvoker } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-grpc-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A lockfile locking grpcio (installed wherever the server runs) at a version nobody has. */
function driftedLockfile(): string {
  const path = join(dir, 'snakebridge.lock.json');
  const modules = {
    grpc: { distribution: { name: 'grpcio', version: '0.0.1' }, signatures: 'sha256:0', file: 'g.d.ts' },
  };
  writeFileSync(path, JSON.stringify({ format: 1, modules }));
  return path;
}

describe('the version guard of managed servers', () => {
  it('passes the lockfile and the mode to the server only when the guard is on', () => {
    expect(serverArguments(testConfig())).not.toContain('--lockfile');
    const args = serverArguments(testConfig({ bindings: { guard: 'warn', lockfile: '/abs/lock.json' } }));
    expect(args.slice(args.indexOf('--lockfile'), args.indexOf('--lockfile') + 4)).toEqual([
      '--lockfile',
      '/abs/lock.json',
      '--version-guard',
      'warn',
    ]);
  });

  it('fails the start of a server whose packages differ from the lockfile in error mode', async () => {
    const invoker = testInvoker({ bindings: { guard: 'error', lockfile: driftedLockfile() } });
    try {
      const error = await rejection(invoker.call(fn('math.sqrt', [4])));
      expect(WorkerStartError.is(error)).toBe(true);
      expect(error.message).toMatch(/grpcio is [\d.]+, the declarations were generated from 0\.0\.1/);
    } finally {
      await invoker.close();
    }
  }, 30_000);
});
