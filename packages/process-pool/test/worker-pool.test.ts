import {
  CircuitOpenError,
  ClosedError,
  type PoolEvent,
  PoolExhaustedError,
  type PoolSettings,
  resolveConfig,
  type SnakeBridgeSettings,
  silentLogger,
  WorkerCrashedError,
} from '@snakebridge/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WorkerPool } from '../src/index.js';
import { type FakeWorker, fakeFactory } from './fake-worker.js';

type Pool = WorkerPool<FakeWorker>;
const pools: Pool[] = [];

function settings(pool: SnakeBridgeSettings['pool'] = {}): PoolSettings {
  return resolveConfig({ pool: { min: 1, max: 2, pingIntervalMs: 0, idleTimeoutMs: 0, ...pool } }, { env: {} }).pool;
}

function makePool(pool: SnakeBridgeSettings['pool'] = {}) {
  const factory = fakeFactory();
  const events: PoolEvent[] = [];
  const instance: Pool = new WorkerPool({
    factory: factory.factory,
    settings: settings(pool),
    shutdownGraceMs: 100,
    logger: silentLogger,
  });
  instance.on((event) => events.push(event));
  pools.push(instance);
  return { pool: instance, factory, events };
}

/** Lets the event loop go round a few times (real timers only): what is due now happens; no clock is read. */
async function turns(times = 10): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise((resolve) => setImmediate(resolve));
}
/** What `promise` has settled with, or 'still pending' once the event loop has gone round: a hang fails the test. */
const settled = (promise: Promise<unknown>) =>
  Promise.race([promise.catch((e: unknown) => e), turns().then(() => 'still pending')]);
const crashed = () => new WorkerCrashedError('m.f', { workerId: 'w?', signal: 'SIGKILL' });

/** The `n`th next event of `pool` that `matches`: subscribe before doing what causes it. */
function nextEvent(pool: Pool, matches: (event: PoolEvent) => boolean, n = 1): Promise<PoolEvent> {
  let seen = 0;
  return new Promise((resolve) => {
    const off = pool.on((event) => {
      if (!matches(event) || ++seen < n) return;
      off();
      resolve(event);
    });
  });
}
const readyEvent = (pool: Pool, workerId: string) =>
  nextEvent(pool, (event) => event.type === 'ready' && event.workerId === workerId);
const exitEvent = (pool: Pool, workerId: string) =>
  nextEvent(pool, (event) => event.type === 'exit' && event.workerId === workerId);

/** Fake timers, and backoff delays without jitter, so each is exactly `backoffMs` doubled per failure in a row. */
function fakeClock(): void {
  vi.useFakeTimers();
  vi.spyOn(Math, 'random').mockReturnValue(1);
}
/** Moves the fake clock on by `ms`, running the timers that fall due and the promise callbacks they lead to. */
const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

describe('sizing and dispatch', () => {
  it('takes a Promise.all of 50,000 tasks under the default queue, serving them in order', async () => {
    const { pool } = makePool({ min: 1, max: 1, maxConcurrency: 8 });
    const served: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 50_000 }, (_, i) =>
        pool.run(async () => {
          served.push(i);
          await Promise.resolve();
          return i;
        }),
      ),
    );
    expect(results).toHaveLength(50_000);
    expect(served).toEqual(results);
    expect(pool.stats().queueDepth).toBe(0);
  });

  it('starts min workers in parallel and waits for all of them', async () => {
    const { pool, factory, events } = makePool({ min: 3, max: 3 });
    factory.startDelayMs = 50;
    await pool.start();
    expect(factory.mostStartingAtOnce).toBe(3);
    expect(pool.stats().workers.map((w) => w.state)).toEqual(['ready', 'ready', 'ready']);
    expect(events.filter((e) => e.type === 'spawn')).toHaveLength(3);
  });

  it('starts nothing until the first call when lazy', async () => {
    const { pool, factory } = makePool({ start: 'lazy' });
    expect(factory.workers).toHaveLength(0);
    const lease = await pool.acquire();
    expect(factory.workers).toHaveLength(1);
    lease.release();
  });

  it('starts another worker when calls double up, and sends the next call to the least-loaded one', async () => {
    const { pool } = makePool({ min: 1, max: 2 });
    await pool.start();
    const started = readyEvent(pool, 'w2');
    const first = await pool.acquire();
    // A second call in flight does not wait for a new worker: it doubles up, and one is started.
    const second = await pool.acquire();
    expect(second.worker).toBe(first.worker);
    await started;
    const third = await pool.acquire();
    expect(third.worker.id).not.toBe(first.worker.id);
    for (const lease of [first, second, third]) lease.release();
  });

  it('queues calls when every slot is taken, and hands a freed slot to the oldest', async () => {
    const { pool } = makePool({ min: 1, max: 1, maxConcurrency: 1 });
    const held = await pool.acquire();
    const order: number[] = [];
    const waiting = [pool.acquire(), pool.acquire()].map((p, i) =>
      p.then((lease) => {
        order.push(i);
        return lease;
      }),
    );
    expect(pool.stats().queueDepth).toBe(2);
    held.release();
    (await waiting[0])?.release();
    (await waiting[1])?.release();
    expect(order).toEqual([0, 1]);
  });

  it('refuses a call at once when the queue is full', async () => {
    const { pool } = makePool({ min: 1, max: 1, maxConcurrency: 1, queueSize: 1 });
    const held = await pool.acquire();
    const queued = pool.acquire();
    const error = await pool.acquire().catch((e: unknown) => e);
    expect(PoolExhaustedError.is(error)).toBe(true);
    expect((error as Error).message).toMatch(/pool.queueSize/);
    held.release();
    (await queued).release();
  });

  it('gives up waiting after the acquire timeout', async () => {
    const { pool } = makePool({ min: 1, max: 1, maxConcurrency: 1, acquireTimeoutMs: 50 });
    const held = await pool.acquire();
    const error = await pool.acquire().catch((e: unknown) => e);
    expect(PoolExhaustedError.is(error)).toBe(true);
    expect((error as Error).message).toMatch(/within 50 ms/);
    held.release();
  });

  it('pins a session to the worker with the fewest sessions and only leases that worker for it', async () => {
    const { pool } = makePool({ min: 2, max: 2 });
    await pool.start();
    const a = await pool.pinSession();
    const b = await pool.pinSession();
    expect(a.id).not.toBe(b.id);
    const lease = await pool.acquire({ workerId: b.id });
    expect(lease.worker).toBe(b);
    lease.release();
    expect(pool.stats().workers.find((w) => w.id === b.id)?.sessions).toBe(1);
    pool.unpinSession(b.id);
    expect(pool.stats().workers.find((w) => w.id === b.id)?.sessions).toBe(0);
  });

  it('does not count pinning a session as a call, so the pin cannot recycle the worker it picks', async () => {
    const { pool, factory } = makePool({ min: 1, max: 1, maxCallsPerWorker: 1 });
    await pool.start();
    const worker = await pool.pinSession();
    await turns();
    expect(worker).toBe(factory.workers[0]);
    expect(worker.stopped).toBe(false);
    expect(pool.stats().callsServed).toBe(0);
    // The session's first call goes to its worker, which stays: it holds a session.
    const lease = await pool.acquire({ workerId: worker.id });
    lease.release();
    expect(pool.worker(worker.id)).toBe(worker);
    expect(pool.stats().callsServed).toBe(1);
  });
});

describe('restarts and the circuit breaker', () => {
  it('replaces a worker that crashes and counts the restart', async () => {
    const { pool, factory, events } = makePool({ min: 1, max: 1 });
    await pool.start();
    const replaced = readyEvent(pool, 'w2');
    factory.workers[0]?.crash('SIGKILL');
    await replaced;
    expect(pool.stats().workers).toHaveLength(1);
    expect(pool.stats().workers[0]?.id).toBe('w2');
    expect(pool.stats().workers[0]?.restarts).toBe(1);
    expect(pool.stats().restarts).toBe(1);
    expect(events.map((e) => e.type)).toContain('restart');
  });

  it('waits for the backoff before replacing a crashed worker, and says how long in its restart event', async () => {
    fakeClock();
    const { pool, factory, events } = makePool({ min: 1, max: 1, restart: { backoffMs: 100 } });
    const started = pool.start();
    await tick();
    await started;
    factory.workers[0]?.crash('SIGKILL');
    await tick();
    expect(events).toContainEqual({ type: 'restart', workerId: 'w1', attempt: 1, delayMs: 100 });
    await tick(99);
    expect(factory.workers).toHaveLength(1);
    await tick(1);
    expect(pool.stats().workers.map((w) => w.id)).toEqual(['w2']);
  });

  it('waits longer before each start while starts keep failing, up to maxBackoffMs, and no longer once one starts', async () => {
    fakeClock();
    const { pool, factory, events } = makePool({
      min: 1,
      max: 1,
      restart: { maxRestarts: 100, windowMs: 60_000, backoffMs: 100, maxBackoffMs: 400 },
    });
    const failedStarts: number[] = [];
    pool.on((event) => {
      if (event.type === 'exit' && event.reason?.startsWith('start failed')) failedStarts.push(Date.now());
    });
    factory.failing = true;
    const started = pool.start().catch((e: unknown) => e);
    await tick();
    await started;
    await tick(100 + 200 + 400 + 400);
    const gaps = failedStarts.slice(1).map((time, i) => time - (failedStarts[i] as number));
    expect(gaps).toEqual([100, 200, 400, 400]);

    // A worker that starts cleanly ends the run: the next crash waits the first delay again.
    factory.failing = false;
    await tick(400);
    expect(pool.stats().workers).toHaveLength(1);
    factory.workers[0]?.crash('SIGKILL');
    await tick();
    expect(events.filter((e) => e.type === 'restart')).toEqual([
      { type: 'restart', workerId: factory.workers[0]?.id, attempt: 1, delayMs: 100 },
    ]);
  });

  it('opens the circuit after too many failed starts, refuses calls fast, and closes it after a probe', async () => {
    const { pool, factory, events } = makePool({
      min: 1,
      max: 1,
      restart: { maxRestarts: 2, windowMs: 10_000, backoffMs: 5, maxBackoffMs: 10, probeAfterMs: 200 },
    });
    factory.failing = true;
    const opened = nextEvent(pool, (e) => e.type === 'circuit-open');
    const first = await pool.acquire().catch((e: unknown) => e);
    expect((first as Error).message).toMatch(/could not start/);
    await opened;
    const refused = await pool.acquire().catch((e: unknown) => e);
    expect(CircuitOpenError.is(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/could not start/);
    expect(pool.health().healthy).toBe(false);
    expect(events.some((e) => e.type === 'circuit-open')).toBe(true);
    const closed = nextEvent(pool, (e) => e.type === 'circuit-close');
    factory.failing = false;
    await closed;
    expect(events.some((e) => e.type === 'circuit-close')).toBe(true);
    const lease = await pool.acquire();
    lease.release();
    expect(pool.health()).toMatchObject({ healthy: true, state: 'running' });
  });

  it('opens the circuit again when the probe fails', async () => {
    const { pool, factory, events } = makePool({
      min: 1,
      max: 1,
      restart: { maxRestarts: 1, windowMs: 10_000, backoffMs: 5, maxBackoffMs: 10, probeAfterMs: 100 },
    });
    factory.failing = true;
    const reopened = nextEvent(pool, (e) => e.type === 'circuit-open', 2);
    await pool.acquire().catch(() => undefined);
    await reopened;
    expect(events.filter((e) => e.type === 'circuit-open').length).toBeGreaterThanOrEqual(2);
    expect(pool.stats().state).toBe('circuit-open');
  });
});

describe('health and recycling', () => {
  it('replaces a worker that misses its pings', async () => {
    const { pool, factory, events } = makePool({
      min: 1,
      max: 1,
      pingIntervalMs: 20,
      pingTimeoutMs: 20,
      maxMissedPings: 2,
    });
    await pool.start();
    const hung = factory.workers[0] as FakeWorker;
    const replaced = readyEvent(pool, 'w2');
    hung.health = undefined;
    await replaced;
    expect(hung.killedFor).toMatch(/missed 2 pings/);
    expect(events.some((e) => e.type === 'unhealthy')).toBe(true);
    expect(pool.stats().workers.map((w) => w.id)).toEqual(['w2']);
  });

  it('recycles a worker after maxCallsPerWorker calls, gracefully', async () => {
    const { pool, factory, events } = makePool({ min: 1, max: 1, maxCallsPerWorker: 3 });
    for (let i = 0; i < 3; i++) (await pool.acquire()).release();
    await turns();
    expect(factory.workers[0]?.stopped).toBe(true);
    expect(events).toContainEqual({ type: 'recycle', workerId: 'w1', reason: 'max-calls' });
    const lease = await pool.acquire();
    expect(lease.worker.id).toBe('w2');
    lease.release();
  });

  it('recycles a worker whose Python process grows past maxRssBytes', async () => {
    const { pool, factory, events } = makePool({ min: 1, max: 1, pingIntervalMs: 20, maxRssBytes: 5_000 });
    await pool.start();
    const replaced = Promise.all([exitEvent(pool, 'w1'), readyEvent(pool, 'w2')]);
    (factory.workers[0] as FakeWorker).health = { rssBytes: 10_000 };
    await replaced;
    expect(events).toContainEqual({ type: 'recycle', workerId: 'w1', reason: 'max-rss' });
    expect(pool.stats().workers[0]?.id).toBe('w2');
  });

  it('recycles a worker once it has lived ttlMs, letting its running call finish first', async () => {
    fakeClock();
    const { pool, factory, events } = makePool({ min: 1, max: 1, ttlMs: 2_500 });
    const leased = pool.acquire();
    await tick();
    const running = await leased;
    // Pings are off: the age check runs every second, so the first one past 2.5 s is at 3 s.
    await tick(2_999);
    expect(events.some((e) => e.type === 'recycle')).toBe(false);
    await tick(1);
    expect(events).toContainEqual({ type: 'recycle', workerId: 'w1', reason: 'ttl' });
    expect(factory.workers[0]?.stopped).toBe(false);
    const next = await pool.acquire();
    expect(next.worker.id).toBe('w2');
    running.release();
    await tick();
    expect(factory.workers[0]?.stopped).toBe(true);
    expect(pool.stats().workers.map((w) => w.id)).toEqual(['w2']);
    next.release();
  });

  it('does not recycle for age a worker that holds a session', async () => {
    fakeClock();
    const { pool, factory, events } = makePool({ min: 1, max: 1, pingIntervalMs: 20, ttlMs: 30 });
    const pinned = pool.pinSession();
    await tick();
    await pinned;
    await tick(150);
    expect(factory.workers[0]?.stopped).toBe(false);
    expect(events.some((e) => e.type === 'recycle')).toBe(false);
  });

  it('stops idle workers down to min', async () => {
    const { pool, events } = makePool({ min: 1, max: 2, pingIntervalMs: 20, idleTimeoutMs: 50 });
    await pool.start();
    const started = readyEvent(pool, 'w2');
    const a = await pool.acquire();
    const b = await pool.acquire();
    await started;
    const stopped = nextEvent(pool, (e) => e.type === 'exit');
    a.release();
    b.release();
    await stopped;
    expect(pool.stats().workers).toHaveLength(1);
    expect(events.some((e) => e.type === 'recycle' && e.reason === 'idle')).toBe(true);
  });
});

describe('retries', () => {
  it('retries an idempotent task on another worker when its worker crashed', async () => {
    const { pool } = makePool({ min: 1, max: 2, retries: 2 });
    const seen: string[] = [];
    const result = await pool.run(
      async (worker) => {
        seen.push(worker.id);
        if (seen.length === 1) {
          worker.crash('SIGKILL');
          throw crashed();
        }
        return 'done';
      },
      { idempotent: true },
    );
    expect(result).toBe('done');
    expect(seen).toHaveLength(2);
    expect(seen[1]).not.toBe(seen[0]);
  });

  it('does not retry a task that is not idempotent, nor one that failed for its own reasons', async () => {
    const { pool } = makePool({ min: 1, max: 2, retries: 2 });
    let runs = 0;
    const crash = await pool
      .run(async () => {
        runs++;
        throw crashed();
      })
      .catch((e: unknown) => e);
    expect(WorkerCrashedError.is(crash)).toBe(true);
    const own = await pool
      .run(
        async () => {
          runs++;
          throw new Error('bad input');
        },
        { idempotent: true },
      )
      .catch((e: unknown) => e);
    expect((own as Error).message).toBe('bad input');
    expect(runs).toBe(2);
  });
});

describe('shutdown', () => {
  it('refuses queued and new calls, waits for running ones, and stops every worker', async () => {
    const { pool, factory } = makePool({ min: 2, max: 2, maxConcurrency: 1 });
    await pool.start();
    const running = [await pool.acquire(), await pool.acquire()];
    const queued = pool.acquire().catch((e: unknown) => e);
    const closing = pool.close();
    expect(ClosedError.is(await queued)).toBe(true);
    expect(ClosedError.is(await pool.acquire().catch((e: unknown) => e))).toBe(true);
    expect(await settled(closing)).toBe('still pending');
    for (const lease of running) lease.release();
    await closing;
    expect(factory.workers.every((w) => w.stopped)).toBe(true);
    expect(pool.stats().state).toBe('closed');
  });

  it('rejects a start() still waiting for its workers with ClosedError when the pool closes', async () => {
    const { pool, factory } = makePool({ min: 2, max: 2 });
    factory.startDelayMs = 50;
    const starting = pool.start().catch((e: unknown) => e); // handled now: it rejects before close() resolves
    await pool.close();
    expect(ClosedError.is(await settled(starting))).toBe(true);
  });

  it('rejects a start() still waiting for its workers with ClosedError when the pool drains', async () => {
    const { pool, factory } = makePool({ min: 1, max: 1 });
    factory.startDelayMs = 50;
    const starting = pool.start().catch((e: unknown) => e); // handled now: it rejects before close() resolves
    await pool.drain();
    expect(ClosedError.is(await settled(starting))).toBe(true);
  });

  it('resolves close() only once a worker that was still starting has been stopped', async () => {
    const { pool, factory, events } = makePool({ min: 1, max: 1 });
    factory.startDelayMs = 50;
    factory.stopDelayMs = 50;
    const starting = pool.start().catch((e: unknown) => e); // handled now: it rejects before close() resolves
    await turns();
    await pool.close();
    expect(factory.workers).toHaveLength(1);
    expect(factory.workers[0]?.stopped).toBe(true);
    expect(events).toContainEqual(expect.objectContaining({ type: 'exit', workerId: 'w1' }));
    expect(ClosedError.is(await settled(starting))).toBe(true);
  });

  it('does not open its circuit, nor start a probe worker, when a start fails during close()', async () => {
    fakeClock();
    const { pool, factory, events } = makePool({
      min: 1,
      max: 1,
      restart: { maxRestarts: 0, windowMs: 10_000, backoffMs: 5, maxBackoffMs: 10, probeAfterMs: 50 },
    });
    factory.failing = true;
    factory.startDelayMs = 50;
    const starting = pool.start().catch((e: unknown) => e); // handled now: it rejects before close() resolves
    const closing = pool.close();
    await tick(50);
    await closing;
    factory.failing = false;
    await tick(200);
    expect(pool.stats().state).toBe('closed');
    expect(events.some((e) => e.type === 'circuit-open')).toBe(false);
    expect(factory.workers).toHaveLength(0);
    expect(ClosedError.is(await starting)).toBe(true);
  });

  it('does not start a replacement for a worker recycled while the pool drains', async () => {
    const { pool, factory } = makePool({ min: 1, max: 1, maxCallsPerWorker: 1 });
    await pool.start();
    const lease = await pool.acquire();
    const closing = pool.close();
    lease.release(); // its last call: recycled while the pool drains
    await closing;
    expect(factory.workers).toHaveLength(1);
    expect(factory.workers[0]?.stopped).toBe(true);
  });
});
