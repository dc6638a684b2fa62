// The ProcessPool port: a supervised set of worker processes that calls are spread over.

/** What the pool needs to know about a worker it supervises. */
export interface PoolWorker {
  /** Id within the pool (`w1`, `w2`, …), stable for the worker's life, never reused. */
  readonly id: string;
  /** OS process id, once spawned (undefined for a remote endpoint). */
  readonly pid: number | undefined;
}

/** Where a worker is in its life. */
export type WorkerState =
  | 'ready'
  /** Finishing its calls before being replaced (recycled) or stopped; takes no new calls. */
  | 'draining'
  /** Missed pings; being replaced. */
  | 'unhealthy'
  | 'stopping'
  | 'exited';

/** Where the pool as a whole is in its life. */
export type PoolState =
  | 'idle'
  | 'running'
  /** Too many restarts in the window: calls are refused with CircuitOpenError until a probe succeeds. */
  | 'circuit-open'
  | 'draining'
  | 'closed';

/** One worker as `ProcessPool.stats()` sees it: a snapshot, not updated afterwards. */
export interface WorkerStats {
  readonly id: string;
  readonly pid: number | undefined;
  readonly state: WorkerState;
  /** Calls running on it now. */
  readonly inFlight: number;
  /** Calls it has finished (pinning a session is not a call); counts towards `pool.maxCallsPerWorker`. */
  readonly callsServed: number;
  /** How many workers this one's slot has been through before it. */
  readonly restarts: number;
  /** Resident memory of the Python process at the last health check, if measured. */
  readonly rssBytes: number | undefined;
  /** Live handles (Python objects held for the host) in it at the last health check; 0 until measured. */
  readonly handles: number;
  /** Time since it became ready. */
  readonly uptimeMs: number;
  /** Open sessions pinned to it. */
  readonly sessions: number;
}

/** What `ProcessPool.stats()` returns: the pool and each of its live workers, at the time of the call. */
export interface PoolStats {
  readonly state: PoolState;
  /** Workers that are up and have not exited: ready, draining, unhealthy or stopping (not those still starting). */
  readonly workers: readonly WorkerStats[];
  /** Calls waiting for a free worker. */
  readonly queueDepth: number;
  /** Unplanned worker exits (crashes, missed pings) since the pool started; recycling is not counted. */
  readonly restarts: number;
  /** Calls finished by all workers, past and present. */
  readonly callsServed: number;
}

/** What `ProcessPool.health()` returns: a yes/no for readiness probes, with enough detail to say why. */
export interface PoolHealth {
  /** True when the pool is running with at least one ready worker (or can start one). */
  readonly healthy: boolean;
  readonly state: PoolState;
  /** Workers that can take a call now. */
  readonly readyWorkers: number;
  /** The most recent worker failure, for diagnosis. */
  readonly lastFailure: string | undefined;
}

/** The lifecycle events a pool emits. */
export type PoolEvent =
  | { readonly type: 'spawn'; readonly workerId: string; readonly pid: number | undefined }
  | { readonly type: 'ready'; readonly workerId: string; readonly pid: number | undefined; readonly startupMs: number }
  | {
      readonly type: 'exit';
      readonly workerId: string;
      readonly pid: number | undefined;
      readonly exitCode: number | null;
      readonly signal: string | null;
      /** Why, when the pool ended it; undefined for an unexpected exit (a crash). */
      readonly reason: string | undefined;
    }
  | { readonly type: 'restart'; readonly workerId: string; readonly attempt: number; readonly delayMs: number }
  | {
      readonly type: 'recycle';
      readonly workerId: string;
      /** `reload`: a .py file under python.path changed (python.reload). */
      readonly reason: 'max-calls' | 'max-rss' | 'ttl' | 'idle' | 'reload';
    }
  | { readonly type: 'unhealthy'; readonly workerId: string; readonly missedPings: number }
  | { readonly type: 'circuit-open'; readonly failures: number; readonly retryAt: number }
  | { readonly type: 'circuit-close' };

/** A slot on one worker, held while a call runs. */
export interface Lease<W extends PoolWorker> {
  readonly worker: W;
  /** Gives the slot back. Idempotent. */
  release(): void;
}

/** How `ProcessPool.acquire()` waits for a slot. */
export interface AcquireOptions {
  /** Rejects the wait with CancelledError. */
  readonly signal?: AbortSignal | undefined;
  /** Longest wait for a free slot before PoolExhaustedError; defaults to the pool's acquire timeout. */
  readonly timeoutMs?: number | undefined;
  /** Only this worker will do (a session or a handle lives there). */
  readonly workerId?: string | undefined;
}

/** How `ProcessPool.run()` acquires a slot, and whether it may run the task again. */
export interface RunOptions extends AcquireOptions {
  /**
   * Retry on another worker if this one dies or is recycled under the task.
   * Never retried when the task fails for any other reason.
   */
  readonly idempotent?: boolean | undefined;
  /**
   * Told before the task runs again on another worker, with the error that
   * ended its last run there (the worker refused it before it started, or died
   * under an idempotent one). For the call's span; it must not throw.
   */
  readonly onRetry?: ((error: Error) => void) | undefined;
}

/**
 * A supervised pool of workers. The stdio adapter pools Python processes; the
 * gRPC adapter pools local Python servers with the same machinery.
 *
 * Contract:
 * - A new task goes to the least-loaded ready worker with a free slot; when
 *   none has one, it waits in a bounded queue (PoolExhaustedError when the
 *   queue is full or the wait times out).
 * - A worker that exits, crashes or misses its pings is replaced, with
 *   exponential backoff; too many replacements in a window open the circuit
 *   (CircuitOpenError) until a probe worker starts cleanly.
 * - `close()` stops taking tasks, waits for running ones (up to a grace
 *   period), then stops every worker, including any still starting: no
 *   process survives it. `start()` calls still waiting reject with ClosedError.
 */
export interface ProcessPool<W extends PoolWorker = PoolWorker> {
  /**
   * Starts the minimum number of workers and waits until they are ready. Idempotent.
   * Rejects with the first start failure (CircuitOpenError if that opens the circuit), or with
   * ClosedError if the pool drains or closes first.
   */
  start(): Promise<void>;
  /** Waits for a free slot on a ready worker. */
  acquire(options?: AcquireOptions): Promise<Lease<W>>;
  /** Runs `task` on a leased worker and gives the slot back; retries idempotent tasks across worker failures. */
  run<T>(task: (worker: W) => Promise<T>, options?: RunOptions): Promise<T>;
  /** The worker with this id, if it is alive. */
  worker(id: string): W | undefined;
  /**
   * Picks the worker for a new session (fewest sessions, then least loaded),
   * starting one if needed, and counts the session on it. A worker holding
   * sessions is not recycled for age or call count, only for memory.
   */
  pinSession(): Promise<W>;
  /** Forgets a session pinned to this worker. */
  unpinSession(workerId: string): void;
  stats(): PoolStats;
  health(): PoolHealth;
  /** Subscribes to lifecycle events; returns the unsubscribe function. */
  on(listener: (event: PoolEvent) => void): () => void;
  /**
   * Stops taking new tasks and resolves once running ones have finished. Tasks
   * and `start()` calls still waiting reject with ClosedError.
   */
  drain(): Promise<void>;
  /** Drains, then stops every worker (SIGTERM, then SIGKILL after the grace period). Idempotent. */
  close(): Promise<void>;
}
