// The ProcessPool: keeps between `min` and `max` workers running, spreads
// work to the least-loaded one that can take it, queues what does not fit,
// replaces workers that crash, break or stop answering pings (with backoff,
// behind a circuit breaker), recycles old or bloated ones, and shuts
// everything down on close.

import {
  type AcquireOptions,
  CancelledError,
  CircuitOpenError,
  ClosedError,
  type Lease,
  type Logger,
  type PoolEvent,
  PoolExhaustedError,
  type PoolHealth,
  type PoolSettings,
  type PoolState,
  type PoolStats,
  type ProcessPool,
  type RunOptions,
  SnakeBridgeError,
  UnavailableError,
  WorkerCrashedError,
  type WorkerExit,
  type WorkerState,
} from '@snakebridge/core';
import type { StartHooks, SupervisedWorker, WorkerFactory } from './supervised-worker.js';

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
}

type RecycleReason = 'max-calls' | 'max-rss' | 'ttl' | 'idle';

/** What a call says about itself when it asks for a worker, for the errors that name it. */
export interface CallDescription {
  /** The call, as errors name it (`numpy.linalg.norm(…)`): a call cancelled while it waits says so. */
  readonly description?: string | undefined;
}

interface Slot<W extends SupervisedWorker> {
  readonly worker: W;
  state: WorkerState;
  leases: number;
  served: number;
  sessions: number;
  handles: number;
  rssBytes: number | undefined;
  missedPings: number;
  pinging: boolean;
  /** Why the pool is stopping it, if it is; an exit without one is a crash. */
  stopReason: string | undefined;
  /** Why it takes no new call for now (a cancelled call has not stopped), if it does not. */
  paused: string | undefined;
  /** Why it can never take a call again (it reported itself failed), if it cannot: it is being replaced. */
  failed: string | undefined;
  readonly restarts: number;
  readonly startedAt: number;
  lastActive: number;
}

interface Waiter<W extends SupervisedWorker> {
  readonly workerId: string | undefined;
  /** Called with a slot already taken on its behalf. */
  readonly resolve: (slot: Slot<W>) => void;
  readonly reject: (error: Error) => void;
  cleanup: () => void;
}

/** A supervised pool of workers; see the ProcessPool port for the contract. */
export class WorkerPool<W extends SupervisedWorker> implements ProcessPool<W> {
  readonly #factory: WorkerFactory<W>;
  readonly #settings: PoolSettings;
  readonly #shutdownGraceMs: number;
  readonly #logger: Logger;
  readonly #name: string;
  readonly #slots = new Map<string, Slot<W>>();
  readonly #waiters: Waiter<W>[] = [];
  readonly #listeners = new Set<(event: PoolEvent) => void>();
  #state: PoolState = 'idle';
  #starting = 0;
  /** Workers being started, until they are in a slot or stopped again: close() waits for them. */
  readonly #launches = new Set<Promise<boolean>>();
  #nextId = 0;
  #restarts = 0;
  #served = 0;
  /** Times of recent unplanned exits and failed starts, for the circuit breaker. */
  #failures: number[] = [];
  #consecutiveFailures = 0;
  #lastFailure: Error | undefined;
  #retryAt = 0;
  #launchTimer: NodeJS.Timeout | undefined;
  #healthTimer: NodeJS.Timeout | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  /** A probe worker is starting while the circuit is half-open. */
  #probing = false;
  /** `start()` calls waiting for enough ready workers. */
  readonly #readyWaiters: { count: number; resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(options: WorkerPoolOptions<W>) {
    this.#factory = options.factory;
    this.#settings = options.settings;
    this.#shutdownGraceMs = options.shutdownGraceMs;
    this.#logger = options.logger;
    this.#name = options.name ?? 'pool';
  }

  // --- the port ------------------------------------------------------------------

  start(): Promise<void> {
    const refusal = this.#refusal({});
    if (refusal !== undefined) return Promise.reject(refusal);
    this.#ensureRunning();
    // Wait for `min` workers; the first failure fails start() itself, so a broken environment shows at once.
    return new Promise<void>((resolve, reject) => {
      this.#readyWaiters.push({ count: Math.max(1, this.#settings.min), resolve, reject });
      this.#checkReady(undefined);
    });
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
          continue;
        }
        if (!this.#shouldRetry(error, options, retries)) throw error;
        retries += 1;
        this.#logger.debug(`retrying an idempotent call after its worker failed: ${(error as Error).message}`);
        await delay(this.#backoff(retries));
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
      const slot = this.#fewestSessions();
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
      queueDepth: this.#waiters.length,
      restarts: this.#restarts,
      callsServed: this.#served,
      workers: [...this.#slots.values()].map((slot) => ({
        id: slot.worker.id,
        pid: slot.worker.pid,
        state: slot.state,
        inFlight: slot.leases,
        callsServed: slot.served,
        restarts: slot.restarts,
        rssBytes: slot.rssBytes,
        uptimeMs: now - slot.startedAt,
        sessions: slot.sessions,
      })),
    };
  }

  health(): PoolHealth {
    const readyWorkers = this.#readySlots().length;
    const usable = this.#state === 'running' || this.#state === 'idle' || this.#state === 'starting';
    return {
      healthy: usable && (readyWorkers > 0 || this.#state === 'idle' || this.#starting > 0),
      state: this.#state,
      readyWorkers,
      lastFailure: this.#lastFailure?.message,
    };
  }

  on(listener: (event: PoolEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async drain(): Promise<void> {
    if (this.#state !== 'closed') this.#state = 'draining';
    // No worker is added from here on, so calls and start() calls still waiting would wait forever.
    this.#rejectWaiters(() => new ClosedError(`The ${this.#name}`));
    this.#checkReady(new ClosedError(`The ${this.#name}`));
    await this.#leasesReturned(this.#shutdownGraceMs);
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  // --- leasing ---------------------------------------------------------------------

  #refusal(options: AcquireOptions & CallDescription): Error | undefined {
    if (options.signal?.aborted) return new CancelledError(options.description ?? 'acquire', options.signal.reason);
    if (this.#state === 'draining' || this.#state === 'closed') return new ClosedError(`The ${this.#name}`);
    if (this.#state === 'circuit-open') {
      return new CircuitOpenError(
        `Workers of the ${this.#name} failed ${this.#failures.length} times within ${this.#settings.restart.windowMs} ms` +
          `${this.#lastFailure ? ` (last: ${this.#lastFailure.message})` : ''}.`,
        this.#retryAt,
        { cause: this.#lastFailure },
      );
    }
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
    const slot = this.#take(options.workerId);
    if (slot !== undefined) {
      // Every worker is now busy: start another (up to max) for the calls to come.
      if (options.workerId === undefined && this.#occupied() < this.#settings.max && this.#allBusy()) {
        this.#scheduleLaunches();
      }
      return Promise.resolve(slot);
    }
    if (options.workerId === undefined && this.#waiters.length >= this.#settings.queueSize) {
      return Promise.reject(
        new PoolExhaustedError(
          `All ${this.#slots.size} workers of the ${this.#name} are busy and ${this.#waiters.length} calls are already waiting (pool.queueSize).`,
          this.#waiters.length,
        ),
      );
    }
    const waiting = this.#enqueue(options);
    this.#scheduleLaunches();
    return waiting;
  }

  /** Takes a slot on the least-loaded worker that can take calls (or on `workerId`), if one is free now. */
  #take(workerId: string | undefined): Slot<W> | undefined {
    const slot = workerId === undefined ? this.#leastLoaded() : this.#slots.get(workerId);
    if (slot === undefined || slot.leases >= this.#settings.maxConcurrency || slot.paused !== undefined)
      return undefined;
    if (slot.state !== 'ready' && !(workerId !== undefined && slot.state === 'draining')) return undefined;
    slot.leases += 1;
    slot.lastActive = Date.now();
    return slot;
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

  #allBusy(): boolean {
    for (const slot of this.#slots.values()) if (takesCalls(slot) && slot.leases === 0) return false;
    return true;
  }

  #leastLoaded(): Slot<W> | undefined {
    let best: Slot<W> | undefined;
    for (const slot of this.#slots.values()) {
      if (!takesCalls(slot) || slot.leases >= this.#settings.maxConcurrency) continue;
      if (best === undefined || slot.leases < best.leases) best = slot;
    }
    return best;
  }

  /** A call is over: count it, recycle a worker that has served its share, and free its slot. */
  #returned(slot: Slot<W>): void {
    slot.served += 1;
    this.#served += 1;
    const { maxCallsPerWorker } = this.#settings;
    if (maxCallsPerWorker > 0 && slot.served >= maxCallsPerWorker) this.#recycle(slot, 'max-calls');
    this.#giveBack(slot);
  }

  /** Frees a slot for the next caller; a draining worker stops once its last slot is back. */
  #giveBack(slot: Slot<W>): void {
    slot.leases -= 1;
    slot.lastActive = Date.now();
    if (slot.state === 'draining' && slot.leases === 0) this.#stopSlot(slot);
    this.#dispatch();
  }

  #enqueue(options: AcquireOptions & CallDescription): Promise<Slot<W>> {
    return new Promise<Slot<W>>((resolve, reject) => {
      const waiter: Waiter<W> = { workerId: options.workerId, resolve, reject, cleanup: () => {} };
      const timeoutMs = options.timeoutMs ?? this.#settings.acquireTimeoutMs;
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.#removeWaiter(waiter);
              reject(
                new PoolExhaustedError(
                  `No worker of the ${this.#name} was free within ${timeoutMs} ms (pool.acquireTimeoutMs).`,
                  this.#waiters.length,
                ),
              );
            }, timeoutMs)
          : undefined;
      const onAbort = (): void => {
        this.#removeWaiter(waiter);
        reject(new CancelledError(options.description ?? 'acquire', options.signal?.reason));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      waiter.cleanup = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      this.#waiters.push(waiter);
    });
  }

  #removeWaiter(waiter: Waiter<W>): void {
    const index = this.#waiters.indexOf(waiter);
    if (index !== -1) this.#waiters.splice(index, 1);
    waiter.cleanup();
  }

  #dispatch(): void {
    for (let i = 0; i < this.#waiters.length; ) {
      const waiter = this.#waiters[i] as Waiter<W>;
      const slot = this.#take(waiter.workerId);
      if (slot === undefined) {
        i++;
        continue;
      }
      this.#waiters.splice(i, 1);
      waiter.cleanup();
      waiter.resolve(slot);
    }
  }

  #rejectWaiters(error: () => Error, which: (waiter: Waiter<W>) => boolean = () => true): void {
    for (const waiter of [...this.#waiters]) {
      if (!which(waiter)) continue;
      this.#removeWaiter(waiter);
      waiter.reject(error());
    }
  }

  /** The task's own worker refused it before sending it anywhere: it can run on another, if it may. */
  #neverStarted(error: unknown, worker: W, options: RunOptions): boolean {
    return (
      options.workerId === undefined &&
      UnavailableError.is(error) &&
      error.endpoint === worker.id &&
      (this.#state === 'running' || this.#state === 'starting')
    );
  }

  #shouldRetry(error: unknown, options: RunOptions, attempt: number): boolean {
    return (
      options.idempotent === true &&
      options.workerId === undefined &&
      attempt < this.#settings.retries &&
      WorkerCrashedError.is(error) &&
      (this.#state === 'running' || this.#state === 'starting')
    );
  }

  // --- starting workers ------------------------------------------------------------------

  #ensureRunning(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'running';
    this.#startHealthChecks();
    this.#scheduleLaunches();
  }

  /** Workers that can take a call now (ready, and not paused). */
  #readySlots(): Slot<W>[] {
    return [...this.#slots.values()].filter(takesCalls);
  }

  /** Workers that count towards `max`: those starting, and those up that have not failed. */
  #occupied(): number {
    let count = this.#starting;
    for (const slot of this.#slots.values()) if (slot.failed === undefined) count += 1;
    return count;
  }

  /** The ready worker with the fewest sessions, then the fewest calls running. */
  #fewestSessions(): Slot<W> | undefined {
    return this.#readySlots().sort((a, b) => a.sessions - b.sessions || a.leases - b.leases)[0];
  }

  /** Workers that are, or will soon be, able to take calls (a paused one may never be again). */
  #capacity(): number {
    let count = this.#starting;
    for (const slot of this.#slots.values()) if (takesCalls(slot)) count += 1;
    return count;
  }

  /** Starts workers up to `min`, and more (up to `max`) while calls wait; after the backoff if starts have failed. */
  #scheduleLaunches(): void {
    if (this.#state !== 'running' || this.#launchTimer !== undefined) return;
    const wait = this.#consecutiveFailures === 0 ? 0 : this.#backoff(this.#consecutiveFailures);
    if (wait === 0) {
      this.#launchNeeded();
      return;
    }
    this.#launchTimer = setTimeout(() => {
      this.#launchTimer = undefined;
      this.#launchNeeded();
    }, wait);
    this.#launchTimer.unref();
  }

  #launchNeeded(): void {
    if (this.#state !== 'running') return;
    const { min, max } = this.#settings;
    // One worker per call in flight, up to `max`: a Python worker runs one sync call at a
    // time, so spreading calls is what makes them parallel. Idle ones are stopped later.
    let demand = this.#waiters.filter((w) => w.workerId === undefined).length;
    for (const slot of this.#slots.values()) demand += slot.leases;
    const wanted = Math.min(max, Math.max(min, 1, demand));
    let total = this.#occupied();
    // After a failure start one at a time, so a broken environment is not hammered.
    const burst = this.#consecutiveFailures > 0 ? 1 : Number.POSITIVE_INFINITY;
    for (let launched = 0; this.#capacity() < wanted && total < max && launched < burst; launched++, total++) {
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
    this.#starting += 1;
    const startedAt = Date.now();
    let worker: W;
    try {
      worker = await this.#factory(id, this.#hooks(id));
    } catch (error) {
      this.#starting -= 1;
      this.#startFailed(id, error as Error);
      return false;
    }
    this.#starting -= 1;
    if (this.#state === 'closed' || this.#state === 'draining') {
      // The pool closed while it was starting. close() waits for this stop, so the process does not outlive it.
      await this.#stopUnused(worker);
      // drain() has rejected them already; this keeps any start() from waiting on a pool that will not start.
      this.#checkReady(new ClosedError(`The ${this.#name}`));
      return false;
    }
    const slot: Slot<W> = {
      worker,
      state: 'ready',
      leases: 0,
      served: 0,
      sessions: 0,
      handles: 0,
      rssBytes: undefined,
      missedPings: 0,
      pinging: false,
      stopReason: undefined,
      paused: undefined,
      failed: undefined,
      restarts: replacing === undefined ? 0 : replacing.restarts + 1,
      startedAt: Date.now(),
      lastActive: Date.now(),
    };
    this.#slots.set(id, slot);
    this.#consecutiveFailures = 0;
    this.#emit({ type: 'ready', workerId: id, pid: worker.pid, startupMs: Date.now() - startedAt });
    void worker.exited.then((exit) => this.#exited(slot, exit));
    this.#checkReady(undefined);
    this.#dispatch();
    return true;
  }

  /** What worker `id` reports through: its spawn, then whether it can take calls. */
  #hooks(id: string): StartHooks {
    return {
      spawned: (pid) => this.#emit({ type: 'spawn', workerId: id, pid }),
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
    this.#rejectWaiters(
      () => new UnavailableError(`Worker ${id} of the ${this.#name} is gone: ${reason}.`, id),
      (waiter) => waiter.workerId === id,
    );
    this.#replace(slot);
  }

  /** Settles `start()` calls: resolved once enough workers are ready, rejected by a failure. */
  #checkReady(failure: Error | undefined): void {
    const ready = this.#readySlots().length;
    for (const waiter of [...this.#readyWaiters]) {
      if (failure === undefined && ready < waiter.count) continue;
      this.#readyWaiters.splice(this.#readyWaiters.indexOf(waiter), 1);
      if (failure === undefined) waiter.resolve();
      else waiter.reject(failure);
    }
  }

  #startFailed(id: string, error: Error): void {
    this.#logger.error(`worker ${id} of the ${this.#name} failed to start: ${error.message}`, { workerId: id });
    this.#lastFailure = error;
    this.#consecutiveFailures += 1;
    this.#emit({
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
    if (this.#readySlots().length === 0 && this.#starting === 0) {
      this.#rejectWaiters(
        () => error,
        (waiter) => waiter.workerId === undefined,
      );
    }
    if (this.#probing) {
      this.#probing = false;
      this.#openCircuit();
      return;
    }
    if (this.#recordFailure()) return;
    this.#scheduleLaunches();
  }

  // --- exits, restarts and the circuit breaker -------------------------------------------

  #exited(slot: Slot<W>, exit: WorkerExit): void {
    const planned = slot.stopReason !== undefined;
    slot.state = 'exited';
    this.#slots.delete(slot.worker.id);
    this.#emit({
      type: 'exit',
      workerId: slot.worker.id,
      pid: slot.worker.pid,
      exitCode: exit.exitCode ?? null,
      signal: exit.signal ?? null,
      reason: slot.stopReason ?? exit.reason,
    });
    this.#rejectWaiters(
      () => new UnavailableError(`Worker ${slot.worker.id} of the ${this.#name} is gone.`, slot.worker.id),
      (waiter) => waiter.workerId === slot.worker.id,
    );
    if (this.#state !== 'running') return;
    if (!planned) {
      this.#lastFailure = new WorkerCrashedError('(no call)', exit);
      this.#restarts += 1;
      this.#consecutiveFailures += 1;
      if (this.#recordFailure()) return;
      this.#emit({
        type: 'restart',
        workerId: slot.worker.id,
        attempt: this.#consecutiveFailures,
        delayMs: this.#backoff(this.#consecutiveFailures),
      });
    }
    this.#replace(slot);
  }

  #replace(slot: Slot<W>): void {
    if (this.#state !== 'running') return;
    const needed = this.#capacity() < Math.max(this.#settings.min, 1) || this.#waiters.length > 0;
    if (!needed) return;
    const wait = this.#consecutiveFailures === 0 ? 0 : this.#backoff(this.#consecutiveFailures);
    // No backoff owed: start it now, not on a timer, so a broken worker is replaced on the event that broke it.
    if (wait === 0) {
      this.#launchReplacement(slot);
      return;
    }
    setTimeout(() => this.#launchReplacement(slot), wait).unref();
  }

  #launchReplacement(slot: Slot<W>): void {
    if (this.#state === 'running' && this.#occupied() < this.#settings.max) void this.#launch(slot);
  }

  /** Records a failure; opens the circuit (returning true) when there were too many in the window. */
  #recordFailure(): boolean {
    const now = Date.now();
    const { maxRestarts, windowMs } = this.#settings.restart;
    this.#failures = [...this.#failures.filter((t) => now - t < windowMs), now];
    if (this.#failures.length <= maxRestarts) return false;
    this.#openCircuit();
    return true;
  }

  #openCircuit(): void {
    const { windowMs, probeAfterMs } = this.#settings.restart;
    const now = Date.now();
    this.#state = 'circuit-open';
    this.#retryAt = now + probeAfterMs;
    this.#logger.error(
      `the ${this.#name} opened its circuit after ${this.#failures.length} failures within ${windowMs} ms; ` +
        `calls are refused until a probe worker starts (in ${probeAfterMs} ms)`,
    );
    this.#emit({ type: 'circuit-open', failures: this.#failures.length, retryAt: this.#retryAt });
    const refusal = this.#refusal({}) as Error;
    this.#rejectWaiters(() => refusal);
    this.#checkReady(refusal);
    clearTimeout(this.#probeTimer);
    this.#probeTimer = setTimeout(() => void this.#probe(), probeAfterMs);
    this.#probeTimer.unref();
  }

  /** Half-open: one worker is started; calls wait for it; if it fails the circuit opens again. */
  async #probe(): Promise<void> {
    if (this.#state !== 'circuit-open') return;
    this.#state = 'running';
    this.#failures = [];
    this.#consecutiveFailures = 0;
    this.#probing = true;
    const ok = await this.#launch(undefined);
    this.#probing = false;
    if (!ok || this.#state !== 'running') return;
    this.#logger.info(`the ${this.#name} closed its circuit: a probe worker started cleanly`);
    this.#emit({ type: 'circuit-close' });
    this.#scheduleLaunches();
  }

  #backoff(attempt: number): number {
    const { backoffMs, maxBackoffMs } = this.#settings.restart;
    const base = Math.min(maxBackoffMs, backoffMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(base * (0.5 + Math.random() * 0.5)); // jitter: spread restarts of many pools
  }

  // --- health, recycling and idling -------------------------------------------------------

  #startHealthChecks(): void {
    const { pingIntervalMs } = this.#settings;
    const period = pingIntervalMs > 0 ? pingIntervalMs : 1_000;
    this.#healthTimer = setInterval(() => this.#checkHealth(), period);
    this.#healthTimer.unref();
  }

  #checkHealth(): void {
    const now = Date.now();
    const { ttlMs, idleTimeoutMs, min, pingIntervalMs } = this.#settings;
    for (const slot of [...this.#slots.values()]) {
      if (slot.state !== 'ready') continue;
      if (pingIntervalMs > 0) this.#ping(slot);
      if (ttlMs > 0 && now - slot.startedAt >= ttlMs) this.#recycle(slot, 'ttl');
      else if (
        idleTimeoutMs > 0 &&
        slot.leases === 0 &&
        now - slot.lastActive >= idleTimeoutMs &&
        this.#readySlots().length > min
      ) {
        this.#recycle(slot, 'idle');
      }
    }
  }

  #ping(slot: Slot<W>): void {
    if (slot.pinging) return;
    slot.pinging = true;
    slot.worker.ping(this.#settings.pingTimeoutMs).then(
      (health) => {
        slot.pinging = false;
        slot.missedPings = 0;
        slot.rssBytes = health.rssBytes ?? slot.rssBytes;
        slot.handles = health.handles ?? slot.handles;
        const { maxRssBytes } = this.#settings;
        if (maxRssBytes > 0 && (slot.rssBytes ?? 0) > maxRssBytes) this.#recycle(slot, 'max-rss');
      },
      () => {
        slot.pinging = false;
        if (slot.state !== 'ready') return;
        slot.missedPings += 1;
        if (slot.missedPings < this.#settings.maxMissedPings) return;
        this.#emit({ type: 'unhealthy', workerId: slot.worker.id, missedPings: slot.missedPings });
        slot.state = 'unhealthy';
        // Not a planned stop: it counts towards the circuit breaker like a crash.
        slot.worker.kill(`missed ${slot.missedPings} pings in a row`);
      },
    );
  }

  /** Replaces a worker gracefully: it takes no new calls, finishes its own, then stops. */
  #recycle(slot: Slot<W>, reason: RecycleReason): void {
    if (slot.state !== 'ready') return;
    // Sessions and handles live in the worker: only memory pressure justifies losing them.
    if (reason !== 'max-rss' && (slot.sessions > 0 || slot.handles > 0)) return;
    slot.state = 'draining';
    slot.stopReason = `recycled (${reason})`;
    this.#emit({ type: 'recycle', workerId: slot.worker.id, reason });
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
      this.#emit({
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
    await this.drain();
    this.#state = 'closed';
    clearInterval(this.#healthTimer);
    clearTimeout(this.#launchTimer);
    clearTimeout(this.#probeTimer);
    // Workers still starting are stopped as soon as they are up (see #startWorker); no new launch begins now.
    await Promise.all(this.#launches);
    await Promise.all(
      [...this.#slots.values()].map(async (slot) => {
        slot.stopReason ??= 'the pool closed';
        slot.state = 'stopping';
        // Drained already: the worker only needs a moment to exit on its own before SIGTERM.
        await slot.worker.stop(Math.min(1_000, this.#shutdownGraceMs));
        await slot.worker.exited;
      }),
    );
  }

  async #leasesReturned(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ([...this.#slots.values()].some((slot) => slot.leases > 0) && Date.now() < deadline) {
      await delay(20);
    }
  }

  #emit(event: PoolEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.warn(`a pool event listener threw: ${String(error)}`);
      }
    }
  }
}

/** A worker that can take a call now: ready, and not waiting for a cancelled call to stop. */
function takesCalls(slot: { readonly state: WorkerState; readonly paused: string | undefined }): boolean {
  return slot.state === 'ready' && slot.paused === undefined;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True for errors that mean the worker, not the call, failed. */
export function isWorkerFailure(error: unknown): boolean {
  return WorkerCrashedError.is(error) || SnakeBridgeError.is(error, 'UNAVAILABLE');
}
