// The process pool with real Python workers: parallelism, pinning, health,
// restarts behind a circuit breaker, recycling, retries, limits, and chaos.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  CircuitOpenError,
  type PoolEvent,
  PoolExhaustedError,
  PythonError,
  SnakeBridgeError,
  WorkerCrashedError,
  WorkerStartError,
} from '@snakebridge/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StdioInvoker } from '../src/index.js';
import { alive, fn, LAUNCH_MODES, rejection, testInvoker } from './helpers.js';

const invokers: StdioInvoker[] = [];
/** How this block's pools start their workers: each block runs with the fork server, then without. */
const launch = { forkServer: true };
function pooled(settings: Parameters<typeof testInvoker>[0] = {}): StdioInvoker {
  const invoker = testInvoker({ ...settings, pool: { forkServer: launch.forkServer, ...settings.pool } });
  invokers.push(invoker);
  return invoker;
}
afterEach(async () => {
  await Promise.all(invokers.splice(0).map((invoker) => invoker.close()));
});

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await delay(50);
  }
}
function tempFile(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'sb-pool-')), name);
}

describe.each(LAUNCH_MODES)('pool with real workers $name', ({ forkServer }) => {
  beforeAll(() => {
    launch.forkServer = forkServer;
  });

  it('runs calls on two workers at the same time, in two processes', async () => {
    // Proven by what happened, not by timing: each call waits (holding its worker) until the other has started,
    // which can only happen if both run at once. The speed-up itself is measured by the benchmarks (bench/).
    const invoker = pooled({ pool: { min: 2, max: 2 } });
    await invoker.start();
    const dir = mkdtempSync(join(tmpdir(), 'sb-meet-'));
    const [a, b] = await Promise.all([
      invoker.call<number>(fn('pool_work.meet', [dir, 'a', 'b', 20])),
      invoker.call<number>(fn('pool_work.meet', [dir, 'b', 'a', 20])),
    ]);
    expect(a).not.toBe(b);
    await invoker.close();
  }, 60_000);

  it('refuses calls once every worker is busy and the queue is full', async () => {
    const invoker = pooled({ pool: { min: 1, max: 1, maxConcurrency: 1, queueSize: 1 } });
    await invoker.start();
    const running = invoker.call(fn('pool_work.nap', [0.3]));
    const queued = invoker.call(fn('pool_work.nap', [0]));
    const error = await rejection(invoker.call(fn('pool_work.nap', [0])));
    expect(PoolExhaustedError.is(error)).toBe(true);
    expect(await running).toBe(0.3);
    expect(await queued).toBe(0);
  });

  it('keeps every call of a session on one worker while other calls spread out', async () => {
    const invoker = pooled({ pool: { min: 3, max: 3 } });
    await invoker.start();
    const session = await invoker.openSession();
    const sessionPids = await Promise.all(
      Array.from({ length: 30 }, () => invoker.call(fn('pool_work.pid'), { session })),
    );
    expect(new Set(sessionPids).size).toBe(1);
    const spread = await Promise.all(Array.from({ length: 30 }, () => invoker.call(fn('pool_work.nap', [0.05]))));
    expect(spread).toHaveLength(30);
    expect(invoker.pool.stats().workers.filter((w) => w.callsServed > 0).length).toBe(3);
    await invoker.closeSession(session);
  });

  it('replaces a hung worker (SIGSTOP) after it misses its pings', async () => {
    const invoker = pooled({ pool: { min: 1, max: 1, pingIntervalMs: 200, pingTimeoutMs: 200, maxMissedPings: 2 } });
    const events: PoolEvent[] = [];
    invoker.pool.on((event) => events.push(event));
    const hung = (await invoker.call(fn('pool_work.pid'))) as number;
    process.kill(hung, 'SIGSTOP');
    try {
      await waitFor(() => events.some((e) => e.type === 'unhealthy'), 5_000);
      const replacement = await invoker.call(fn('pool_work.pid'), { timeoutMs: 5_000 });
      expect(replacement).not.toBe(hung);
      await waitFor(() => !alive(hung), 3_000);
    } finally {
      if (alive(hung)) process.kill(hung, 'SIGKILL');
    }
  });

  it('opens the circuit after repeated crashes at start, refuses calls fast, and closes it after a probe', async () => {
    const flag = tempFile('crash-on-import');
    writeFileSync(flag, '');
    const invoker = pooled({
      python: { env: { SNAKEBRIDGE_TEST_FLAG: flag } },
      pool: {
        min: 1,
        max: 1,
        preload: ['flaky_start'],
        restart: { maxRestarts: 2, windowMs: 60_000, backoffMs: 50, maxBackoffMs: 100, probeAfterMs: 1_500 },
      },
    });
    const events: PoolEvent[] = [];
    invoker.pool.on((event) => events.push(event));
    const first = await rejection(invoker.call(fn('pool_work.pid')));
    expect(WorkerStartError.is(first)).toBe(true);
    expect(first.message).toMatch(/exited with code 7/);
    await waitFor(() => events.some((e) => e.type === 'circuit-open'), 10_000);
    const spawnsBefore = events.filter((e) => e.type === 'spawn').length;
    const refused = await rejection(invoker.call(fn('pool_work.pid')));
    expect(CircuitOpenError.is(refused)).toBe(true);
    // Refused at once: no worker was started for it.
    expect(events.filter((e) => e.type === 'spawn')).toHaveLength(spawnsBefore);
    rmSync(flag);
    await waitFor(() => events.some((e) => e.type === 'circuit-close'), 10_000);
    expect(typeof (await invoker.call(fn('pool_work.pid')))).toBe('number');
  }, 30_000);

  it('recycles a worker after maxCallsPerWorker calls', async () => {
    const invoker = pooled({ pool: { min: 1, max: 1, maxCallsPerWorker: 5 } });
    const pids: number[] = [];
    for (let i = 0; i < 12; i++) pids.push((await invoker.call(fn('pool_work.pid'))) as number);
    expect(new Set(pids).size).toBe(3);
    expect(pids.slice(0, 5).every((pid) => pid === pids[0])).toBe(true);
  });

  it('recycles a worker whose Python process passes maxRssBytes', async () => {
    const invoker = pooled({ pool: { min: 1, max: 1, pingIntervalMs: 100, maxRssBytes: 150 * 1024 * 1024 } });
    const events: PoolEvent[] = [];
    invoker.pool.on((event) => events.push(event));
    const bloated = await invoker.call(fn('pool_work.pid'));
    await invoker.call(fn('pool_work.hog', [200]));
    await waitFor(() => events.some((e) => e.type === 'recycle' && e.reason === 'max-rss'), 5_000);
    await waitFor(async () => (await invoker.call(fn('pool_work.pid'))) !== bloated, 5_000);
  });

  it('retries an idempotent call when its worker crashes, but not a call that is not idempotent', async () => {
    const invoker = pooled({ pool: { min: 2, max: 2, retries: 2 } });
    await invoker.start();
    const flag = tempFile('crash-once');
    writeFileSync(flag, '');
    const pid = await invoker.call(fn('pool_work.crash_once', [flag]), { idempotent: true });
    expect(typeof pid).toBe('number');
    expect(existsSync(flag)).toBe(false);
    writeFileSync(flag, '');
    const error = await rejection(invoker.call(fn('pool_work.crash_once', [flag])));
    expect(WorkerCrashedError.is(error)).toBe(true);
    expect((error as WorkerCrashedError).stderrTail).toContain('pool_work: crashing on cue');
  });

  it('applies per-worker resource limits before user code runs', async () => {
    const invoker = pooled({ pool: { min: 1, max: 1, limits: { addressSpaceBytes: 1024 * 1024 * 1024 } } });
    const error = await rejection(invoker.call(fn('pool_work.allocate', [2048])));
    expect(PythonError.is(error, 'PYTHON_MEMORY_ERROR')).toBe(true);
    expect(await invoker.call(fn('pool_work.allocate', [16]))).toBe(16 * 1024 * 1024);
  });

  it('lets the kernel stop a worker that uses more CPU time than limits.cpuSeconds', async () => {
    const invoker = pooled({ pool: { min: 1, max: 1, limits: { cpuSeconds: 1 } } });
    const error = await rejection(invoker.call(fn('pool_work.burn', [500_000_000]), { timeoutMs: 20_000 }));
    expect(WorkerCrashedError.is(error)).toBe(true);
    expect((error as WorkerCrashedError).signal).toBe('SIGXCPU');
  }, 30_000);

  it('reports each worker’s pid, state, load, calls served and memory', async () => {
    const invoker = pooled({ pool: { min: 2, max: 2, pingIntervalMs: 100 } });
    await invoker.start();
    await Promise.all(Array.from({ length: 6 }, () => invoker.call(fn('pool_work.nap', [0.01]))));
    await delay(300);
    const stats = invoker.pool.stats();
    expect(stats.state).toBe('running');
    expect(stats.workers).toHaveLength(2);
    for (const worker of stats.workers) {
      expect(alive(worker.pid as number)).toBe(true);
      expect(worker.state).toBe('ready');
      expect(worker.rssBytes).toBeGreaterThan(1024 * 1024);
      expect(worker.uptimeMs).toBeGreaterThan(0);
    }
    expect(stats.workers.reduce((sum, w) => sum + w.callsServed, 0)).toBe(6);
  });

  it('lets a worker leave by itself when its host stops answering heartbeats', async () => {
    const host = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@snakebridge/source',
        fileURLToPath(new URL('./fixtures/heartbeat-host.ts', import.meta.url)),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], cwd: fileURLToPath(new URL('../../..', import.meta.url)) },
    );
    try {
      const line = await new Promise<string>((resolve) =>
        createInterface({ input: host.stdout }).once('line', resolve),
      );
      const [pid] = JSON.parse(line) as number[];
      await delay(500);
      expect(alive(pid as number)).toBe(true);
      host.kill('SIGSTOP');
      await waitFor(() => !alive(pid as number), 8_000);
    } finally {
      host.kill('SIGKILL');
    }
  }, 30_000);
});

describe.each(LAUNCH_MODES)('chaos, workers $name', ({ forkServer }) => {
  beforeAll(() => {
    launch.forkServer = forkServer;
  });

  it('settles each of 20,000 calls exactly once while workers are SIGKILLed every 100 ms, then is back to full size', async () => {
    const invoker = pooled({
      pool: {
        min: 4,
        max: 4,
        queueSize: 20_000,
        acquireTimeoutMs: 0,
        restart: { maxRestarts: 10_000, backoffMs: 10, maxBackoffMs: 100 },
      },
    });
    await invoker.start();
    const settled = new Array<number>(20_000).fill(0);
    const outcomes = { ok: 0, crashed: 0, other: [] as unknown[] };
    let killing = true;
    const killer = (async () => {
      while (killing) {
        await delay(100);
        if (!killing) break; // no kill after the calls are done: the checks below need the pool left alone
        const workers = invoker.pool.stats().workers.filter((w) => w.state === 'ready' && w.pid !== undefined);
        const victim = workers[Math.floor(Math.random() * workers.length)];
        if (victim?.pid !== undefined && alive(victim.pid)) process.kill(victim.pid, 'SIGKILL');
      }
    })();
    await Promise.all(
      Array.from({ length: 20_000 }, (_, i) =>
        invoker.call(fn('pool_work.echo', [i])).then(
          (value) => {
            settled[i] = (settled[i] ?? 0) + 1;
            if (value === i) outcomes.ok++;
            else outcomes.other.push(value);
          },
          (error: unknown) => {
            settled[i] = (settled[i] ?? 0) + 1;
            if (WorkerCrashedError.is(error)) outcomes.crashed++;
            else if (!SnakeBridgeError.is(error)) outcomes.other.push(error);
            else outcomes.crashed++;
          },
        ),
      ),
    );
    killing = false;
    await killer;
    expect(settled.every((count) => count === 1)).toBe(true);
    expect(outcomes.other).toEqual([]);
    expect(outcomes.ok + outcomes.crashed).toBe(20_000);
    expect(outcomes.ok).toBeGreaterThan(0);
    await waitFor(() => invoker.pool.stats().workers.filter((w) => w.state === 'ready').length === 4, 10_000);
    expect(await invoker.call(fn('pool_work.echo', ['after']))).toBe('after');
  }, 120_000);
});
