// The pool routes calls only to workers that can take them: a worker that
// paused (a cancelled call has not stopped) gets none until it resumes; one
// that failed gets none ever again and is replaced at once, with no timer;
// a task its worker refused before sending it runs elsewhere; a call
// cancelled while it waits names itself.

import {
  CancelledError,
  type PoolEvent,
  resolveConfig,
  type SnakeBridgeSettings,
  silentLogger,
  UnavailableError,
} from '@snakebridge/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WorkerPool } from '../src/index.js';
import { type FakeWorker, fakeFactory } from './fake-worker.js';

type Pool = WorkerPool<FakeWorker>;
const pools: Pool[] = [];

function makePool(pool: SnakeBridgeSettings['pool'] = {}) {
  const factory = fakeFactory();
  const events: PoolEvent[] = [];
  const settings = resolveConfig(
    { pool: { min: 1, max: 2, pingIntervalMs: 0, idleTimeoutMs: 0, ...pool } },
    { env: {} },
  ).pool;
  const instance: Pool = new WorkerPool({
    factory: factory.factory,
    settings,
    shutdownGraceMs: 100,
    logger: silentLogger,
  });
  instance.on((event) => events.push(event));
  pools.push(instance);
  return { pool: instance, factory, events };
}

/** The worker the factory made as `id`. */
function made(factory: ReturnType<typeof fakeFactory>, id: string): FakeWorker {
  const worker = factory.workers.find((w) => w.id === id);
  if (worker === undefined) throw new Error(`no worker ${id} was made`);
  return worker;
}

/** Lets every pending promise callback run, and nothing else: no timer fires. */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

describe('a paused worker', () => {
  it('gets no new call until it resumes; a call that must run on it waits for it', async () => {
    const { pool, factory } = makePool({ min: 2, max: 2 });
    await pool.start();
    made(factory, 'w1').hooks?.paused("'m.f' was cancelled and has not stopped yet");

    const leases = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
    expect(leases.map((lease) => lease.worker.id)).toEqual(['w2', 'w2', 'w2']);
    expect(pool.health().readyWorkers).toBe(1);
    let pinned: string | undefined;
    const waiting = pool.acquire({ workerId: 'w1' }).then((lease) => {
      pinned = lease.worker.id;
      return lease;
    });
    await settle();
    expect(pinned).toBeUndefined();
    expect(pool.stats().queueDepth).toBe(1);

    made(factory, 'w1').hooks?.resumed();
    expect((await waiting).worker.id).toBe('w1');
    expect(pool.health().readyWorkers).toBe(2);
    for (const lease of [...leases, await waiting]) lease.release();
  });

  it('makes the pool start another worker, up to max, for the calls that come meanwhile', async () => {
    const { pool, factory } = makePool({ min: 1, max: 2 });
    await pool.start();
    made(factory, 'w1').hooks?.paused('stuck');
    const lease = await pool.acquire();
    expect(lease.worker.id).toBe('w2');
    lease.release();
  });
});

describe('a failed worker', () => {
  it('is replaced on the report itself, before its exit and with no timer, and gets no call meanwhile', async () => {
    vi.useFakeTimers();
    const { pool, factory, events } = makePool({
      min: 1,
      max: 1,
      maxConcurrency: 1,
      restart: { backoffMs: 600_000 },
    });
    const started = pool.start();
    await settle();
    await started;
    const w1 = made(factory, 'w1');
    // w1's one slot is taken, and a call waits for w1 itself, when it fails.
    const busy = await pool.acquire();
    const pinned = pool.acquire({ workerId: 'w1', timeoutMs: 0 });
    w1.hooks?.failed('it broke the stdio protocol');
    const next = pool.acquire();
    expect(pool.worker('w1')).toBeUndefined();
    expect(pool.stats().workers.find((w) => w.id === 'w1')?.state).toBe('unhealthy');
    await expect(pinned).rejects.toSatisfy((error) => UnavailableError.is(error));

    await settle(); // microtasks only: a replacement waiting for any timer would not be here
    expect((await next).worker.id).toBe('w2');
    expect(events.filter((e) => e.type === 'spawn').map((e) => e.workerId)).toEqual(['w1', 'w2']);
    expect(events.some((e) => e.type === 'exit')).toBe(false); // w1 has not even exited yet
    busy.release();
  });
});

describe('a task its worker refused before sending it', () => {
  it('runs on another worker, though it is not idempotent', async () => {
    const { pool } = makePool({ min: 2, max: 2 });
    await pool.start();
    const seen: string[] = [];
    const result = await pool.run(async (worker) => {
      seen.push(worker.id);
      if (seen.length === 1) throw new UnavailableError(`Python worker ${worker.id} cannot take 'm.f'`, worker.id);
      return 'done';
    });
    expect(result).toBe('done');
    expect(seen).toHaveLength(2);
  });

  it('fails when it must run on that worker, or when the refusal names another', async () => {
    const { pool } = makePool({ min: 2, max: 2 });
    await pool.start();
    let runs = 0;
    const pinned = await pool
      .run(
        async (worker) => {
          runs++;
          throw new UnavailableError('refused', worker.id);
        },
        { workerId: 'w1' },
      )
      .catch((error: unknown) => error);
    expect(UnavailableError.is(pinned)).toBe(true);
    const elsewhere = await pool
      .run(async () => {
        runs++;
        throw new UnavailableError('some endpoint is down', 'grpc://elsewhere');
      })
      .catch((error: unknown) => error);
    expect(UnavailableError.is(elsewhere)).toBe(true);
    expect(runs).toBe(2);
  });
});

describe('a call cancelled while it waits for a worker', () => {
  it('names itself in its CancelledError, whether it was aborted before or while it waited', async () => {
    const { pool } = makePool({ min: 1, max: 1, maxConcurrency: 1 });
    await pool.start();
    const busy = await pool.acquire();
    const controller = new AbortController();
    const waiting = pool.acquire({ signal: controller.signal, description: 'numpy.linalg.norm' });
    controller.abort();
    const error = await waiting.catch((e: unknown) => e);
    expect(CancelledError.is(error)).toBe(true);
    expect((error as CancelledError).target).toBe('numpy.linalg.norm');
    const early = await pool
      .run(async () => 'never', { signal: controller.signal, description: 'math.hypot' })
      .catch((e: unknown) => e);
    expect((early as CancelledError).target).toBe('math.hypot');
    busy.release();
  });
});
