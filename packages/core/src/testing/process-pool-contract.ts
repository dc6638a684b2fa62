// The behaviour every ProcessPool must show, as its port states it: routing,
// the bounded queue, pinning, replacing dead workers, retrying idempotent
// tasks, the circuit breaker, and a drain and close that wait for running
// tasks. WorkerPool runs it against fake workers; any other pool can run it
// against its own.
//
// The tests wait on the pool's events and its own timers (settings of a few
// milliseconds), never on sleeps: a test that waits for something that does
// not happen fails by its timeout, not by a clock it guessed.

import assert from 'node:assert/strict';
import { resolveConfig, type SnakeBridgeSettings } from '../config/resolve.js';
import type { PoolSettings } from '../config/types.js';
import {
  CancelledError,
  CircuitOpenError,
  ClosedError,
  PoolExhaustedError,
  UnavailableError,
  WorkerCrashedError,
} from '../errors/index.js';
import type { Lease, PoolEvent, PoolWorker, ProcessPool } from '../process-pool/process-pool.js';
import type { TestRunner } from './runner.js';

/** A pool made for one test, and the hold on its workers the contract needs. */
export interface PoolUnderTest<W extends PoolWorker> {
  readonly pool: ProcessPool<W>;
  /** Every worker the pool has started so far, oldest first. */
  workers(): readonly W[];
  /** Ends `worker`'s process from outside, as a crash would (SIGKILL). */
  crash(worker: W): void;
  /** True once `worker`'s process has exited, whether stopped or crashed. */
  exited(worker: W): boolean;
  /** Makes worker starts fail from now on (`true`), or succeed again (`false`). */
  failStarts(failing: boolean): void;
}

export interface ProcessPoolContractOptions<W extends PoolWorker> {
  /**
   * Makes a fresh, unstarted pool with these settings (`config.pool`,
   * resolved) whose close() lets running tasks finish for `shutdownGraceMs`.
   * Called once per test; the contract closes every pool it made.
   */
  readonly makePool: (settings: PoolSettings, shutdownGraceMs: number) => PoolUnderTest<W> | Promise<PoolUnderTest<W>>;
  /** Per-test timeout. @default 10000 */
  readonly testTimeoutMs?: number;
}

type PoolInput = NonNullable<SnakeBridgeSettings['pool']>;

/** Pool settings the tests start from: small, fast, and no timer that fires unless a test wants it to. */
const BASE: PoolInput = {
  min: 1,
  max: 2,
  maxConcurrency: 4,
  queueSize: 100,
  acquireTimeoutMs: 5_000,
  pingIntervalMs: 0,
  idleTimeoutMs: 0,
  retries: 2,
  restart: { maxRestarts: 100, windowMs: 60_000, backoffMs: 1, maxBackoffMs: 5, probeAfterMs: 60_000 },
};

/** Long enough that a drain resolved by it, rather than by the last lease, fails the test by its timeout. */
const GRACE_MS = 60_000;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection, but it resolved');
}

/** The next event of `pool` that `matches`: subscribe before doing what causes it. */
function nextEvent<W extends PoolWorker>(
  pool: ProcessPool<W>,
  matches: (event: PoolEvent) => boolean,
): Promise<PoolEvent> {
  return new Promise((resolve) => {
    const off = pool.on((event) => {
      if (!matches(event)) return;
      off();
      resolve(event);
    });
  });
}

/** Lets the event loop go round a few times: whatever is due now happens. No clock is involved. */
async function turns(times = 10): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Tracks whether `promise` has settled, to check that something still waits. */
function watch(promise: Promise<unknown>): { readonly settled: boolean } {
  const state = { settled: false };
  promise.then(
    () => {
      state.settled = true;
    },
    () => {
      state.settled = true;
    },
  );
  return state;
}

function releaseAll<W extends PoolWorker>(leases: readonly Lease<W>[]): void {
  for (const lease of leases) lease.release();
}

/**
 * Registers the ProcessPool contract tests with the given runner.
 *
 * @example
 * import * as vitest from 'vitest';
 * describeProcessPoolContract(vitest, 'WorkerPool', { makePool: (settings, graceMs) => ({ pool: new WorkerPool(…), … }) });
 */
export function describeProcessPoolContract<W extends PoolWorker>(
  runner: TestRunner,
  name: string,
  options: ProcessPoolContractOptions<W>,
): void {
  const { describe, it } = runner;
  const timeout = options.testTimeoutMs ?? 10_000;

  /** Runs `body` on a fresh pool with these settings over the base ones, and closes the pool however it ends. */
  async function withPool(overrides: PoolInput, body: (subject: PoolUnderTest<W>) => Promise<void>): Promise<void> {
    const pool = { ...BASE, ...overrides, restart: { ...BASE.restart, ...overrides.restart } };
    const settings = resolveConfig({ pool }, { env: {} }).pool;
    const subject = await options.makePool(settings, GRACE_MS);
    try {
      await body(subject);
    } finally {
      await subject.pool.close();
    }
  }

  /** The worker the pool started as number `index` (0 for the first). */
  const nth = (subject: PoolUnderTest<W>, index: number): W => {
    const worker = subject.workers()[index];
    assert.ok(worker, `the pool started no worker #${index + 1}`);
    return worker;
  };

  const crashError = (worker: W) =>
    new WorkerCrashedError('contract.task', { workerId: worker.id, pid: worker.pid, signal: 'SIGKILL' });

  describe(`ProcessPool contract: ${name}`, () => {
    describe('routing', () => {
      it(
        'starts min workers, and sends a new task to the least-loaded one',
        () =>
          withPool({ min: 2, max: 2 }, async (subject) => {
            const { pool } = subject;
            await pool.start();
            assert.deepEqual(
              pool.stats().workers.map((w) => w.state),
              ['ready', 'ready'],
            );
            const [a, b] = [nth(subject, 0), nth(subject, 1)];
            const onA = [await pool.acquire({ workerId: a.id }), await pool.acquire({ workerId: a.id })];
            const first = await pool.acquire();
            const second = await pool.acquire();
            assert.equal(first.worker.id, b.id, 'a task went to the busier worker');
            assert.equal(second.worker.id, b.id, 'a task went to the busier worker');
            const third = await pool.acquire({ workerId: b.id });
            const fourth = await pool.acquire();
            assert.equal(fourth.worker.id, a.id, 'a task went to the busier worker');
            releaseAll([...onA, first, second, third, fourth]);
          }),
        timeout,
      );

      it(
        'queues tasks when every slot is taken, and hands a freed slot to the one that waited longest',
        () =>
          withPool({ min: 1, max: 1, maxConcurrency: 1 }, async ({ pool }) => {
            const held = await pool.acquire();
            const order: number[] = [];
            const waiting = [0, 1].map((i) =>
              pool.acquire().then((lease) => {
                order.push(i);
                return lease;
              }),
            );
            assert.equal(pool.stats().queueDepth, 2);
            held.release();
            (await waiting[0])?.release();
            (await waiting[1])?.release();
            assert.deepEqual(order, [0, 1]);
          }),
        timeout,
      );
    });

    describe('the bounded queue', () => {
      it(
        'refuses a task at once with PoolExhaustedError when the queue is full',
        () =>
          withPool({ min: 1, max: 1, maxConcurrency: 1, queueSize: 1 }, async ({ pool }) => {
            const held = await pool.acquire();
            const queued = pool.acquire();
            const refused = await rejection(pool.acquire());
            assert.ok(PoolExhaustedError.is(refused), `expected PoolExhaustedError, got ${String(refused)}`);
            assert.equal(pool.stats().queueDepth, 1);
            held.release();
            (await queued).release();
          }),
        timeout,
      );

      it(
        'rejects a wait with PoolExhaustedError after its timeout, or the acquire timeout setting',
        () =>
          withPool({ min: 1, max: 1, maxConcurrency: 1, acquireTimeoutMs: 20 }, async ({ pool }) => {
            const held = await pool.acquire();
            const own = await rejection(pool.acquire({ timeoutMs: 10 }));
            assert.ok(PoolExhaustedError.is(own), `expected PoolExhaustedError, got ${String(own)}`);
            const setting = await rejection(pool.acquire());
            assert.ok(PoolExhaustedError.is(setting), `expected PoolExhaustedError, got ${String(setting)}`);
            assert.equal(pool.stats().queueDepth, 0, 'a wait that timed out is still queued');
            held.release();
          }),
        timeout,
      );

      it(
        'rejects a wait with CancelledError when its signal aborts, and a task already aborted at once',
        () =>
          withPool({ min: 1, max: 1, maxConcurrency: 1 }, async ({ pool }) => {
            const held = await pool.acquire();
            const controller = new AbortController();
            const waiting = pool.acquire({ signal: controller.signal });
            controller.abort();
            const aborted = await rejection(waiting);
            assert.ok(CancelledError.is(aborted), `expected CancelledError, got ${String(aborted)}`);
            assert.equal(pool.stats().queueDepth, 0, 'an aborted wait is still queued');
            const early = await rejection(pool.acquire({ signal: controller.signal }));
            assert.ok(CancelledError.is(early), `expected CancelledError, got ${String(early)}`);
            let ran = false;
            const run = await rejection(
              pool.run(
                async () => {
                  ran = true;
                },
                { signal: controller.signal },
              ),
            );
            assert.ok(CancelledError.is(run), `expected CancelledError, got ${String(run)}`);
            assert.equal(ran, false, 'an aborted task ran');
            held.release();
            // The freed slot went to nobody: it is free for the next task at once.
            (await pool.acquire({ timeoutMs: 1 })).release();
          }),
        timeout,
      );
    });

    describe('pinning', () => {
      it(
        'runs a task pinned to a worker on it, waiting for it though other workers are free',
        () =>
          withPool({ min: 2, max: 2, maxConcurrency: 1 }, async (subject) => {
            const { pool } = subject;
            await pool.start();
            const a = nth(subject, 0);
            const held = await pool.acquire({ workerId: a.id });
            const pinned = pool.acquire({ workerId: a.id });
            const progress = watch(pinned);
            await turns();
            assert.equal(progress.settled, false, 'a pinned task did not wait for its worker');
            assert.equal(pool.stats().queueDepth, 1);
            held.release();
            const lease = await pinned;
            assert.equal(lease.worker.id, a.id);
            lease.release();
          }),
        timeout,
      );

      it(
        'refuses a task pinned to a worker that is gone with UnavailableError',
        () =>
          withPool({ min: 1, max: 1 }, async (subject) => {
            const { pool } = subject;
            await pool.start();
            const a = nth(subject, 0);
            const gone = nextEvent(pool, (event) => event.type === 'exit' && event.workerId === a.id);
            subject.crash(a);
            await gone;
            assert.equal(pool.worker(a.id), undefined);
            const refused = await rejection(pool.acquire({ workerId: a.id }));
            assert.ok(UnavailableError.is(refused), `expected UnavailableError, got ${String(refused)}`);
          }),
        timeout,
      );

      it(
        'pins sessions to the worker with the fewest, and forgets them when unpinned',
        () =>
          withPool({ min: 2, max: 2 }, async ({ pool }) => {
            await pool.start();
            const first = await pool.pinSession();
            const second = await pool.pinSession();
            assert.notEqual(first.id, second.id);
            const sessions = () => pool.stats().workers.find((w) => w.id === second.id)?.sessions;
            assert.equal(sessions(), 1);
            pool.unpinSession(second.id);
            assert.equal(sessions(), 0);
          }),
        timeout,
      );
    });

    describe('dead workers', () => {
      it(
        'replaces a worker that dies, and counts the restart',
        () =>
          withPool({ min: 1, max: 1 }, async (subject) => {
            const { pool } = subject;
            await pool.start();
            const dead = nth(subject, 0);
            const replaced = nextEvent(pool, (event) => event.type === 'ready' && event.workerId !== dead.id);
            subject.crash(dead);
            const { workerId } = (await replaced) as Extract<PoolEvent, { type: 'ready' }>;
            assert.equal(pool.worker(dead.id), undefined);
            assert.equal(pool.stats().restarts, 1);
            const lease = await pool.acquire();
            assert.equal(lease.worker.id, workerId);
            lease.release();
          }),
        timeout,
      );

      it(
        'runs an idempotent task again, on another worker, when its worker died under it',
        () =>
          withPool({ min: 1, max: 2, retries: 2 }, async (subject) => {
            const seen: string[] = [];
            const result = await subject.pool.run(
              async (worker) => {
                seen.push(worker.id);
                if (seen.length > 1) return 'done';
                subject.crash(worker);
                throw crashError(worker);
              },
              { idempotent: true },
            );
            assert.equal(result, 'done');
            assert.equal(seen.length, 2);
            assert.notEqual(seen[1], seen[0], 'the task ran again on the worker that died');
          }),
        timeout,
      );

      it(
        'does not run a task that is not idempotent again, nor one that failed for its own reasons',
        () =>
          withPool({ min: 1, max: 2, retries: 2 }, async (subject) => {
            let runs = 0;
            const crashed = await rejection(
              subject.pool.run(async (worker) => {
                runs += 1;
                subject.crash(worker);
                throw crashError(worker);
              }),
            );
            assert.ok(WorkerCrashedError.is(crashed), `expected WorkerCrashedError, got ${String(crashed)}`);
            assert.equal(runs, 1, 'a task that is not idempotent ran again');
            const own = await rejection(
              subject.pool.run(
                async () => {
                  runs += 1;
                  throw new Error('bad input');
                },
                { idempotent: true },
              ),
            );
            assert.equal((own as Error).message, 'bad input');
            assert.equal(runs, 2, 'a task that failed for its own reasons ran again');
          }),
        timeout,
      );
    });

    describe('the circuit breaker', () => {
      const breaking = { min: 1, max: 1, restart: { maxRestarts: 1 } };

      it(
        'opens after too many failures in the window, refusing tasks at once with CircuitOpenError',
        () =>
          withPool(breaking, async (subject) => {
            const { pool } = subject;
            subject.failStarts(true);
            const opened = nextEvent(pool, (event) => event.type === 'circuit-open');
            const start = await rejection(pool.start());
            assert.ok(start instanceof Error, 'start() did not reject with the failure');
            await opened;
            const refused = await rejection(pool.acquire());
            assert.ok(CircuitOpenError.is(refused), `expected CircuitOpenError, got ${String(refused)}`);
            assert.equal(pool.stats().state, 'circuit-open');
            assert.equal(pool.health().healthy, false);
          }),
        timeout,
      );

      it(
        'closes once a probe worker starts cleanly, and takes tasks again',
        () =>
          withPool({ ...breaking, restart: { maxRestarts: 1, probeAfterMs: 5 } }, async (subject) => {
            const { pool } = subject;
            subject.failStarts(true);
            // Workers start cleanly again as soon as the circuit opens: the probe, when it comes, succeeds.
            pool.on((event) => {
              if (event.type === 'circuit-open') subject.failStarts(false);
            });
            const closed = nextEvent(pool, (event) => event.type === 'circuit-close');
            await rejection(pool.start());
            await closed;
            const lease = await pool.acquire();
            lease.release();
            assert.equal(pool.stats().state, 'running');
            assert.equal(pool.health().healthy, true);
          }),
        timeout,
      );
    });

    describe('drain and close', () => {
      it(
        'close() rejects start() calls still waiting with ClosedError, stops every worker, and refuses what comes after',
        () =>
          withPool({ min: 2, max: 2 }, async (subject) => {
            const { pool } = subject;
            const starting = pool.start().catch((error: unknown) => error);
            await pool.close();
            const error = await starting;
            assert.ok(ClosedError.is(error), `expected ClosedError, got ${String(error)}`);
            assert.ok(
              subject.workers().every((worker) => subject.exited(worker)),
              'a worker outlived close()',
            );
            assert.equal(pool.stats().state, 'closed');
            assert.ok(ClosedError.is(await rejection(pool.acquire())));
            assert.ok(ClosedError.is(await rejection(pool.start())));
          }),
        timeout,
      );

      it(
        'drain() rejects waiting tasks with ClosedError and resolves when the last running one gives its lease back',
        () =>
          withPool({ min: 2, max: 2, maxConcurrency: 1 }, async ({ pool }) => {
            await pool.start();
            const running = [await pool.acquire(), await pool.acquire()];
            const queued = pool.acquire();
            const draining = pool.drain();
            const drained = watch(draining);
            const refused = await rejection(queued);
            assert.ok(ClosedError.is(refused), `expected ClosedError, got ${String(refused)}`);
            await turns();
            assert.equal(drained.settled, false, 'drain() resolved while two tasks still ran');
            running[0]?.release();
            await turns();
            assert.equal(drained.settled, false, 'drain() resolved while a task still ran');
            running[1]?.release();
            await draining;
          }),
        timeout,
      );

      it(
        'close() stops no worker while a task runs on it, and stops them all once it is back',
        () =>
          withPool({ min: 1, max: 1 }, async (subject) => {
            const { pool } = subject;
            await pool.start();
            const lease = await pool.acquire();
            const closing = pool.close();
            const closed = watch(closing);
            await turns();
            assert.equal(closed.settled, false, 'close() resolved while a task still ran');
            assert.equal(subject.exited(lease.worker), false, 'close() stopped a worker with a task running');
            lease.release();
            await closing;
            assert.ok(subject.workers().every((worker) => subject.exited(worker)));
          }),
        timeout,
      );
    });
  });
}
