// The ProcessPool: keeps between `min` and `max` workers running, spreads
// work to the least-loaded one that can take it, queues what does not fit,
// replaces workers that crash, break or stop answering pings (with backoff,
// behind a circuit breaker), recycles old or bloated ones, and shuts
// everything down on close.
//
// This class holds the pool's state and decides what happens on each event.
// The parts it composes each keep one concern: WorkerSlots (the live workers
// and routing), WaitingQueue (calls waiting for one), RestartBackoff,
// CircuitBreaker, HealthMonitor (pings), RecyclePolicy, StartWaiters (start()
// calls) and PoolEvents (listeners).

import {
  type AcquireOptions,
  CancelledError,
  ClosedError,
  type Lease,
  type Logger,
  type PoolEvent,
  type PoolHealth,
  type PoolSettings,
  type PoolState,
  type PoolStats,
  PoolTelemetry,
  type ProcessPool,
  type RunOptions,
  SnakeBridgeError,
  UnavailableError,
  WorkerCrashedError,
  type WorkerExit,
} from '@snakebridge/core';
import { watchPythonSources } from '../python/source-watcher.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { HealthMonitor } from './health-monitor.js';
import { PoolEvents } from './pool-events.js';
import { RecyclePolicy, type RecycleReason } from './recycle-policy.js';
import { RestartBackoff } from './restart-backoff.js';
import { StartWaiters } from './start-waiters.js';
import type { StartHooks, SupervisedWorker, WorkerFactory } from './supervised-worker.js';
import { WaitingQueue } from './waiting-queue.js';
import { readySlot, type Slot, WorkerSlots } from './worker-slots.js';

/**
 * What a WorkerPool is built from: how to start a worker, the pool settings
 * (`config.pool` from `resolveConfig()`), the shutdown grace period and a logger.
 * Adapters build one per invoker; tests pass a fake factory.
 */
export interface WorkerPoolOptions<W extends SupervisedWorker> {
  /** Starts one worker; resolves when it is ready. */
  readonly factory: WorkerFactory<W>;
  /** Sizes, limits, health checks, recycling and the restart policy (`config.pool`). */
  readonly settings: PoolSettings;
  /** How long `close()` lets running work finish before stopping workers. */
  readonly shutdownGraceMs: number;
  /** Receives worker failures, restarts and circuit changes. */
  readonly logger: Logger;
  /** Shown in messages: `the stdio pool`. @default 'pool' */
  readonly name?: string | undefined;
  /**
   * Live reload: directories whose .py files, when changed, make the pool
   * replace every worker between calls (`reload()`). Watched from `start()`
   * until `close()`.
   */
  readonly watch?: readonly string[] | undefined;
  /** Runs once `close()` has stopped every worker: to stop what started them (a fork server). */
  readonly onClosed?: (() => Promise<void>) | undefined;
}

/** What a call says about itself when it asks for a worker, for the errors that name it. */
export interface CallDescription {
  /** The call, as errors name it (`numpy.linalg.norm(…)`): a call cancelled while it waits says so. */
  readonly description?: string | undefined;
}

/** A supervised pool of workers; see the ProcessPool port for the contract. */
export class WorkerPool<W extends SupervisedWorker> implements ProcessPool<W> {
  readonly #factory: WorkerFactory<W>;
  readonly #settings: PoolSettings;
  readonly #shutdownGraceMs: number;
  readonly #logger: Logger;
  readonly #name: string;
  /** Live reload: the directories to watch, and how to stop watching them once started. */
  readonly #watch: readonly string[];
  #stopWatching: (() => void) | undefined;
  readonly #events: PoolEvents;
  readonly #telemetry: PoolTelemetry;
  readonly #slots: WorkerSlots<W>;
  readonly #queue: WaitingQueue<Slot<W>>;
  readonly #backoff: RestartBackoff;
  readonly #breaker: CircuitBreaker;
  readonly #health: HealthMonitor<W>;
  readonly #recycling: RecyclePolicy;
  #state: PoolState = 'idle';
  /** Workers being started, until they are in a slot or stopped again: close() waits for them. */
  readonly #launches = new Set<Promise<boolean>>();
  #nextId = 0;
  #restarts = 0;
  #served = 0;
  #lastFailure: Error | undefined;
  #closing: Promise<void> | undefined;
  readonly #startWaiters = new StartWaiters();
  readonly #onClosed: (() => Promise<void>) | undefined;

  constructor(options: WorkerPoolOptions<W>) {
    const settings = options.settings;
    this.#factory = options.factory;
    this.#settings = settings;
    this.#shutdownGraceMs = options.shutdownGraceMs;
    this.#logger = options.logger;
    this.#name = options.name ?? 'pool';
    this.#watch = options.watch ?? [];
    this.#onClosed = options.onClosed;
    this.#events = new PoolEvents(options.logger);
    // Every lifecycle event is a metric too, and the stats are gauges, for dashboards (docs/observability.md).
    this.#telemetry = new PoolTelemetry(this.#name, () => this.stats());
    this.#events.on((event) => this.#telemetry.event(event));
    this.#slots = new WorkerSlots(settings.maxConcurrency);
    this.#queue = new WaitingQueue({
      name: this.#name,
      capacity: settings.queueSize,
      timeoutMs: settings.acquireTimeoutMs,
      workers: () => this.#slots.size,
    });
    this.#backoff = new RestartBackoff(settings.restart);
    this.#breaker = new CircuitBreaker({
      settings: settings.restart,
      name: this.#name,
      logger: options.logger,
      events: this.#events,
      probe: () => void this.#probe(),
    });
    this.#recycling = new RecyclePolicy(settings);
    this.#health = new HealthMonitor({
      settings,
      events: this.#events,
      slots: () => this.#slots,
      checked: (slot, now) => this.#recycleIf(slot, this.#recycling.onCheck(slot, now, this.#slots.ready().length)),
      measured: (slot) => this.#recycleIf(slot, this.#recycling.afterPing(slot)),
    });
  }

  // --- the port ------------------------------------------------------------------

  /**
   * Replaces every ready worker gracefully, sessions and handles or not: each
   * finishes its calls, takes no new ones, and a fresh one starts (a `recycle`
   * event with reason `reload`). For live reload, or to pick up new code by hand.
   */
  reload(): void {
    for (const slot of this.#slots.ready()) this.#recycle(slot, 'reload');
  }

  start(): Promise<void> {
    const refusal = this.#refusal({});
    if (refusal !== undefined) return Promise.reject(refusal);
    this.#ensureRunning();
    // Wait for `min` workers; the first failure fails start() itself, so a broken environment shows at once.
    const started = this.#startWaiters.wait(Math.max(1, this.#settings.min));
    this.#checkReady(undefined);
    return started;
  }

  acquire(options: AcquireOptions & CallDescription = {}): Promise<Lease<W>> {
    return this.#acquireSlot(options).then((slot) => this.#lease(slot));
  }

  /**
   * Runs `task` on a leased worker. A task its worker refused before starting
   * it (an UnavailableError naming that worker: it broke or died between the
   * lease and the send) runs on another worker, idempotent or not, since it
   * never reached Python. Idempotent tasks are also retried after a crash.
   */
  async run<T>(task: (worker: W) => Promise<T>, options: RunOptions & CallDescription = {}): Promise<T> {
    let retries = 0;
    let reroutes = 0;
    for (;;) {
      const lease = await this.acquire(options);
      try {
        return await task(lease.worker);
      } catch (error) {
        if (reroutes < this.#settings.max && this.#neverStarted(error, lease.worker, options)) {
          reroutes += 1;
          options.onRetry?.(error as Error);
          continue;
        }
        if (!this.#shouldRetry(error, options, retries)) throw error;
        retries += 1;
        options.onRetry?.(error as Error);
        this.#logger.debug(`retrying an idempotent call after its worker failed: ${(error as Error).message}`);
        await delay(this.#backoff.delayFor(retries));
      } finally {
        lease.release();
      }
    }
  }

  worker(id: string): W | undefined {
    const slot = this.#slots.get(id);
    return slot === undefined || slot.state === 'exited' || slot.failed !== undefined ? undefined : slot.worker;
  }

  async pinSession(): Promise<W> {
    for (;;) {
      // Taking a slot, as a call would, waits for a ready worker (starting one if needed).
      const held = await this.#acquireSlot({});
      // No call ran on it: giving it back must not count as one, which could recycle the worker.
      this.#giveBack(held);
      const slot = this.#slots.fewestSessions();
      if (slot === undefined) continue; // it went away before we got here: wait for another
      slot.sessions += 1;
      return slot.worker;
    }
  }

  unpinSession(workerId: string): void {
    const slot = this.#slots.get(workerId);
    if (slot !== undefined && slot.sessions > 0) slot.sessions -= 1;
  }

  stats(): PoolStats {
    const now = Date.now();
    return {
      state: this.#state,
      queueDepth: this.#queue.length,
      restarts: this.#restarts,
      callsServed: this.#served,
      workers: [...this.#slots].map((slot) => ({
        id: slot.worker.id,
        pid: slot.worker.pid,
        state: slot.state,
        inFlight: slot.leases,
        callsServed: slot.served,
        restarts: slot.restarts,
        rssBytes: slot.rssBytes,
        handles: slot.handles,
        uptimeMs: now - slot.startedAt,
        sessions: slot.sessions,
      })),
    };
  }

  health(): PoolHealth {
    const readyWorkers = this.#slots.ready().length;
    const usable = this.#state === 'running' || this.#state === 'idle';
    return {
      healthy: usable && (readyWorkers > 0 || this.#state === 'idle' || this.#slots.starting > 0),
      state: this.#state,
      readyWorkers,
      lastFailure: this.#lastFailure?.message,
    };
  }

  on(listener: (event: PoolEvent) => void): () => void {
    return this.#events.on(listener);
  }

  async drain(): Promise<void> {
    if (this.#state !== 'closed') this.#state = 'draining';
    // No worker is added from here on, so calls and start() calls still waiting would wait forever.
    this.#queue.reject(() => new ClosedError(`The ${this.#name}`));
    this.#checkReady(new ClosedError(`The ${this.#name}`));
    await this.#slots.whenUnleased(this.#shutdownGraceMs);
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  // --- leasing ---------------------------------------------------------------------

  #refusal(options: AcquireOptions & CallDescription): Error | undefined {
    if (options.signal?.aborted) return new CancelledError(options.description ?? 'acquire', options.signal.reason);
    if (this.#state === 'draining' || this.#state === 'closed') return new ClosedError(`The ${this.#name}`);
    if (this.#state === 'circuit-open') return this.#breaker.refusal(this.#lastFailure);
    if (options.workerId !== undefined && this.worker(options.workerId) === undefined) {
      return new UnavailableError(`Worker ${options.workerId} of the ${this.#name} is gone.`, options.workerId);
    }
    return undefined;
  }

  /** Takes a slot on a worker, waiting in the queue if none is free; the caller must give it back. */
  #acquireSlot(options: AcquireOptions & CallDescription): Promise<Slot<W>> {
    const refusal = this.#refusal(options);
    if (refusal !== undefined) return Promise.reject(refusal);
    this.#ensureRunning();
    const slot = this.#slots.take(options.workerId);
    if (slot !== undefined) {
      // Every worker is now busy: start another (up to max) for the calls to come.
      if (options.workerId === undefined && this.#slots.occupied() < this.#settings.max && this.#slots.allBusy()) {
        this.#scheduleLaunches();
      }
      return Promise.resolve(slot);
    }
    const full = this.#queue.refusal(options);
    if (full !== undefined) return Promise.reject(full);
    const waiting = this.#queue.wait(options);
    this.#scheduleLaunches();
    return waiting;
  }

  /** Hands a taken slot to a caller; releasing it counts one call served. */
  #lease(slot: Slot<W>): Lease<W> {
    let released = false;
    return {
      worker: slot.worker,
      release: () => {
        if (released) return;
        released = true;
        this.#returned(slot);
      },
    };
  }

  /** A call is over: count it, recycle a worker that has served its share, and free its slot. */
  #returned(slot: Slot<W>): void {
    slot.served += 1;
    this.#served += 1;
    this.#recycleIf(slot, this.#recycling.afterCall(slot));
    this.#giveBack(slot);
  }

  /** Frees a slot for the next caller; a draining worker stops once its last slot is back. */
  #giveBack(slot: Slot<W>): void {
    this.#slots.giveBack(slot);
    if (slot.state === 'draining' && slot.leases === 0) this.#stopSlot(slot);
    this.#dispatch();
  }

  /** Hands free slots to the calls waiting for them, oldest first. */
  #dispatch(): void {
    this.#queue.serve((workerId) => this.#slots.take(workerId));
  }

  /** The task's own worker refused it before sending it anywhere: it can run on another, if it may. */
  #neverStarted(error: unknown, worker: W, options: RunOptions): boolean {
    return (
      options.workerId === undefined &&
      UnavailableError.is(error) &&
      error.endpoint === worker.id &&
      this.#state === 'running'
    );
  }

  #shouldRetry(error: unknown, options: RunOptions, attempt: number): boolean {
    return (
      options.idempotent === true &&
      options.workerId === undefined &&
      attempt < this.#settings.retries &&
      WorkerCrashedError.is(error) &&
      this.#state === 'running'
    );
  }

  // --- starting workers ------------------------------------------------------------------

  #ensureRunning(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'running';
    this.#health.start();
    this.#scheduleLaunches();
    if (this.#watch.length > 0) {
      this.#stopWatching = watchPythonSources(
        this.#watch,
        (file) => {
          this.#logger.info(`${file} changed: replacing the workers of the ${this.#name} (python.reload)`);
          this.reload();
        },
        this.#logger,
      );
    }
  }

  /** Starts workers up to `min`, and more (up to `max`) while calls wait; after the backoff if starts have failed. */
  #scheduleLaunches(): void {
    if (this.#state !== 'running') return;
    this.#backoff.schedule(() => this.#launchNeeded());
  }

  #launchNeeded(): void {
    if (this.#state !== 'running') return;
    const { min, max } = this.#settings;
    // One worker per call in flight, up to `max`: a Python worker runs one sync call at a
    // time, so spreading calls is what makes them parallel. Idle ones are stopped later.
    const demand = this.#queue.unpinned() + this.#slots.leases();
    const wanted = Math.min(max, Math.max(min, 1, demand));
    let total = this.#slots.occupied();
    // After a failure start one at a time, so a broken environment is not hammered.
    const burst = this.#backoff.failing ? 1 : Number.POSITIVE_INFINITY;
    for (let launched = 0; this.#slots.capacity() < wanted && total < max && launched < burst; launched++, total++) {
      void this.#launch(undefined);
    }
  }

  /** Starts a worker; resolves true once it takes calls, false if it failed or the pool closed meanwhile. */
  #launch(replacing: Slot<W> | undefined): Promise<boolean> {
    // close() only waits for launches already under way: it must not be handed new ones.
    if (this.#state === 'draining' || this.#state === 'closed') return Promise.resolve(false);
    const launch: Promise<boolean> = this.#startWorker(replacing).finally(() => this.#launches.delete(launch));
    this.#launches.add(launch);
    return launch;
  }

  async #startWorker(replacing: Slot<W> | undefined): Promise<boolean> {
    const id = `w${++this.#nextId}`;
    this.#slots.starting += 1;
    const startedAt = Date.now();
    let worker: W;
    try {
      worker = await this.#factory(id, this.#hooks(id));
    } catch (error) {
      this.#slots.starting -= 1;
      this.#startFailed(id, error as Error);
      return false;
    }
    this.#slots.starting -= 1;
    if (this.#state === 'closed' || this.#state === 'draining') {
      // The pool closed while it was starting. close() waits for this stop, so the process does not outlive it.
      await this.#stopUnused(worker);
      // drain() has rejected them already; this keeps any start() from waiting on a pool that will not start.
      this.#checkReady(new ClosedError(`The ${this.#name}`));
      return false;
    }
    const slot = readySlot(worker, replacing === undefined ? 0 : replacing.restarts + 1);
    this.#slots.add(slot);
    this.#backoff.reset();
    this.#events.emit({ type: 'ready', workerId: id, pid: worker.pid, startupMs: Date.now() - startedAt });
    void worker.exited.then((exit) => this.#exited(slot, exit));
    this.#checkReady(undefined);
    this.#dispatch();
    return true;
  }

  /** What worker `id` reports through: its spawn, then whether it can take calls. */
  #hooks(id: string): StartHooks {
    return {
      spawned: (pid) => this.#events.emit({ type: 'spawn', workerId: id, pid }),
      paused: (reason) => this.#paused(id, reason),
      resumed: () => this.#resumed(id),
      failed: (reason) => this.#failed(id, reason),
    };
  }

  /** Worker `id` takes no new call for now; calls that need it wait, others go elsewhere. */
  #paused(id: string, reason: string): void {
    const slot = this.#slots.get(id);
    if (slot === undefined) return;
    slot.paused = reason;
    this.#logger.debug(`worker ${id} of the ${this.#name} takes no new calls for now: ${reason}`, { workerId: id });
  }

  #resumed(id: string): void {
    const slot = this.#slots.get(id);
    if (slot === undefined || slot.paused === undefined) return;
    slot.paused = undefined;
    this.#dispatch();
  }

  /**
   * Worker `id` can never take a call again: nothing more is routed to it,
   * calls that must run on it fail now, and its replacement starts at once
   * (after the backoff only if workers have been failing): its exit, which
   * counts the failure, may come later.
   */
  #failed(id: string, reason: string): void {
    const slot = this.#slots.get(id);
    if (slot === undefined || slot.failed !== undefined || slot.state === 'exited') return;
    slot.failed = reason;
    slot.paused = undefined;
    if (slot.state === 'ready' || slot.state === 'draining') slot.state = 'unhealthy';
    this.#queue.reject(
      () => new UnavailableError(`Worker ${id} of the ${this.#name} is gone: ${reason}.`, id),
      (workerId) => workerId === id,
    );
    this.#replace(slot, this.#backoff.wait());
  }

  /** Settles `start()` calls: resolved once enough workers are ready, rejected by a failure. */
  #checkReady(failure: Error | undefined): void {
    this.#startWaiters.settle(this.#slots.ready().length, failure);
  }

  #startFailed(id: string, error: Error): void {
    this.#logger.error(`worker ${id} of the ${this.#name} failed to start: ${error.message}`, { workerId: id });
    this.#lastFailure = error;
    this.#backoff.failed();
    this.#events.emit({
      type: 'exit',
      workerId: id,
      pid: undefined,
      exitCode: null,
      signal: null,
      reason: `start failed: ${error.message}`,
    });
    this.#checkReady(error);
    // A pool shutting down neither retries nor opens its circuit: the probe would start a worker after close().
    if (this.#state === 'draining' || this.#state === 'closed') return;
    // Nobody can serve the waiting calls: give them the reason now rather than a timeout later.
    if (this.#slots.ready().length === 0 && this.#slots.starting === 0) {
      this.#queue.reject(
        () => error,
        (workerId) => workerId === undefined,
      );
    }
    if (this.#breaker.recordStartFailure()) {
      this.#openCircuit();
      return;
    }
    this.#scheduleLaunches();
  }

  // --- exits, restarts and the circuit breaker -------------------------------------------

  #exited(slot: Slot<W>, exit: WorkerExit): void {
    const planned = slot.stopReason !== undefined;
    slot.state = 'exited';
    this.#slots.delete(slot);
    this.#events.emit({
      type: 'exit',
      workerId: slot.worker.id,
      pid: slot.worker.pid,
      exitCode: exit.exitCode ?? null,
      signal: exit.signal ?? null,
      reason: slot.stopReason ?? exit.reason,
    });
    this.#queue.reject(
      () => new UnavailableError(`Worker ${slot.worker.id} of the ${this.#name} is gone.`, slot.worker.id),
      (workerId) => workerId === slot.worker.id,
    );
    if (this.#state !== 'running') return;
    if (planned) {
      this.#replace(slot, this.#backoff.wait());
      return;
    }
    this.#lastFailure = new WorkerCrashedError('(no call)', exit);
    this.#restarts += 1;
    this.#backoff.failed();
    if (this.#breaker.recordFailure()) {
      this.#openCircuit();
      return;
    }
    const delayMs = this.#backoff.wait();
    this.#events.emit({ type: 'restart', workerId: slot.worker.id, attempt: this.#backoff.failures, delayMs });
    this.#replace(slot, delayMs);
  }

  /** Starts the replacement of `slot` after `waitMs`, if the pool still needs it then. */
  #replace(slot: Slot<W>, waitMs: number): void {
    if (this.#state !== 'running') return;
    const needed = this.#slots.capacity() < Math.max(this.#settings.min, 1) || this.#queue.length > 0;
    if (!needed) return;
    // No backoff owed: start it now, not on a timer, so a broken worker is replaced on the event that broke it.
    if (waitMs === 0) {
      this.#launchReplacement(slot);
      return;
    }
    setTimeout(() => this.#launchReplacement(slot), waitMs).unref();
  }

  #launchReplacement(slot: Slot<W>): void {
    if (this.#state === 'running' && this.#slots.occupied() < this.#settings.max) void this.#launch(slot);
  }

  /** Refuses calls, now and those waiting, until a probe worker starts cleanly. */
  #openCircuit(): void {
    this.#state = 'circuit-open';
    this.#breaker.open();
    const refusal = this.#refusal({}) as Error;
    this.#queue.reject(() => refusal);
    this.#checkReady(refusal);
  }

  /** Half-open: one worker is started; calls wait for it; if it fails the circuit opens again. */
  async #probe(): Promise<void> {
    if (this.#state !== 'circuit-open') return;
    this.#state = 'running';
    this.#backoff.reset();
    const ok = await this.#breaker.halfOpen(() => this.#launch(undefined));
    if (!ok || this.#state !== 'running') return;
    this.#breaker.close();
    this.#scheduleLaunches();
  }

  // --- recycling and stopping ---------------------------------------------------------

  #recycleIf(slot: Slot<W>, reason: RecycleReason | undefined): void {
    if (reason !== undefined) this.#recycle(slot, reason);
  }

  /** Replaces a worker gracefully: it takes no new calls, finishes its own, then stops. */
  #recycle(slot: Slot<W>, reason: RecycleReason): void {
    if (slot.state !== 'ready' || !this.#recycling.allows(slot, reason)) return;
    slot.state = 'draining';
    slot.stopReason = `recycled (${reason})`;
    this.#events.emit({ type: 'recycle', workerId: slot.worker.id, reason });
    if (reason !== 'idle') void this.#launch(slot);
    if (slot.leases === 0) this.#stopSlot(slot);
  }

  #stopSlot(slot: Slot<W>): void {
    slot.state = 'stopping';
    slot.stopReason ??= 'stopped by the pool';
    slot.worker.stop(this.#shutdownGraceMs).catch((error: unknown) => {
      this.#logger.warn(`stopping worker ${slot.worker.id} failed: ${String(error)}`, { workerId: slot.worker.id });
    });
  }

  /** Stops a worker that came up after the pool closed and never took a call. */
  async #stopUnused(worker: W): Promise<void> {
    try {
      await worker.stop(0);
      const exit = await worker.exited;
      this.#events.emit({
        type: 'exit',
        workerId: worker.id,
        pid: worker.pid,
        exitCode: exit.exitCode ?? null,
        signal: exit.signal ?? null,
        reason: 'the pool closed while it was starting',
      });
    } catch (error) {
      this.#logger.warn(`stopping worker ${worker.id} failed: ${String(error)}`, { workerId: worker.id });
    }
  }

  // --- shutdown ---------------------------------------------------------------------------

  async #shutdown(): Promise<void> {
    this.#stopWatching?.();
    await this.drain();
    this.#state = 'closed';
    this.#health.stop();
    this.#backoff.stop();
    this.#breaker.stop();
    // Workers still starting are stopped as soon as they are up (see #startWorker); no new launch begins now.
    await Promise.all(this.#launches);
    await Promise.all(
      [...this.#slots].map(async (slot) => {
        slot.stopReason ??= 'the pool closed';
        slot.state = 'stopping';
        // Drained already: the worker only needs a moment to exit on its own before SIGTERM.
        await slot.worker.stop(Math.min(1_000, this.#shutdownGraceMs));
        await slot.worker.exited;
      }),
    );
    // After the last exit is counted: a closed pool's gauges are no longer read.
    this.#telemetry.close();
    await this.#onClosed?.();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True for errors that mean the worker, not the call, failed. */
export function isWorkerFailure(error: unknown): boolean {
  return WorkerCrashedError.is(error) || SnakeBridgeError.is(error, 'UNAVAILABLE');
}
