// Workers never outlive their host, and close() drains before it stops them.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CancelledError, ClosedError } from '@snakebridge/core';
import { describe, expect, it } from 'vitest';
import { alive, fn, LAUNCH_MODES, parentOf, rejection, testInvoker as stdioInvoker } from './helpers.js';

const HOST = fileURLToPath(new URL('./fixtures/host.ts', import.meta.url));

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

describe.each(LAUNCH_MODES)('lifecycle, workers $name', ({ forkServer }) => {
  const testInvoker = (settings: Parameters<typeof stdioInvoker>[0] = {}) =>
    stdioInvoker({ ...settings, pool: { forkServer, ...settings.pool } });

  it('leaves no worker (and no fork server) behind when the host is killed with SIGKILL', async () => {
    const mode = forkServer ? 'forked' : 'spawned';
    const host = spawn(process.execPath, ['--import', 'tsx', '--conditions=@snakebridge/source', HOST, mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
    });
    const line = await new Promise<string>((resolve) => {
      createInterface({ input: host.stdout }).once('line', resolve);
    });
    const workers = JSON.parse(line) as number[];
    expect(workers).toHaveLength(2);
    expect(workers.every(alive)).toBe(true);
    // Forked workers' parent is the fork server: it must not outlive the host either.
    const parents = [...new Set(workers.map(parentOf))];
    expect(parents.length === 1 && (parents[0] === host.pid) === !forkServer).toBe(true);
    const pids = forkServer ? [...workers, ...parents] : workers;
    host.kill('SIGKILL');
    expect(await waitUntil(() => !pids.some(alive), 5_000)).toBe(true);
  }, 30_000);

  it('lets calls in flight finish on close, then stops the worker', async () => {
    const invoker = testInvoker();
    await invoker.start();
    const pid = invoker.pool.stats().workers[0]?.pid as number;
    const inFlight = invoker.call(fn('crashy.sleep', [0.5]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await invoker.close();
    expect(await inFlight).toBe(0.5);
    expect(await waitUntil(() => !alive(pid), 3_000)).toBe(true);
    expect(ClosedError.is(await rejection(invoker.call(fn('crashy.pid'))))).toBe(true);
  });

  it('interrupts a call that outlasts the shutdown grace period, then stops its worker', async () => {
    const invoker = testInvoker({ timeouts: { shutdownGraceMs: 300 } });
    await invoker.start();
    const pid = invoker.pool.stats().workers[0]?.pid as number;
    const stuck = rejection(invoker.call(fn('crashy.sleep', [60])));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await invoker.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    const error = await stuck;
    expect(CancelledError.is(error)).toBe(true);
    expect(error.message).toMatch(/shutting down/);
    expect(await waitUntil(() => !alive(pid), 2_000)).toBe(true);
  });

  it('leaves no worker alive once close(), issued while it starts, resolves', async () => {
    const invoker = testInvoker();
    const pids: number[] = [];
    invoker.pool.on((event) => {
      if (event.type === 'spawn' && event.pid !== undefined) pids.push(event.pid);
    });
    const starting = rejection(invoker.start());
    await invoker.close();
    const spawnedBeforeClose = [...pids];
    const aliveAfterClose = pids.filter(alive);
    // A worker spawned after close() resolved would show up here.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(spawnedBeforeClose).toHaveLength(1);
    expect(pids).toEqual(spawnedBeforeClose);
    expect(aliveAfterClose).toEqual([]);
    expect(ClosedError.is(await starting)).toBe(true);
  });
});
