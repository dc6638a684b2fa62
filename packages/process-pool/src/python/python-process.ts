// One Python child process: spawned with the runtime on its path (or forked
// by a fork server, fork-server/), its stdout, stderr and `logging` records
// passed on to the logger as records (and the tail of stderr kept for crash
// reports), and stopped politely, then firmly.

import { type ChildProcess, spawn } from 'node:child_process';
import { delimiter } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import {
  type Logger,
  type PythonSettings,
  type ResolvedConfig,
  type Serializer,
  type WorkerExit,
  WorkerStartError,
} from '@snakebridge/core';
import type { PythonLogRecord } from '../output/log-record.js';
import { WorkerOutput } from '../output/worker-output.js';
import type { StartHooks } from '../pool/supervised-worker.js';
import type { PythonInfo } from './interpreter.js';
import type { PythonLauncher } from './launcher.js';
import { runtimePath } from './runtime.js';

/** How a process ended. */
export interface ProcessExit {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned at all. */
  readonly spawnError?: Error | undefined;
  /** Why it ended, when the host knows better than its status does (its fork server died). */
  readonly note?: string | undefined;
}

/**
 * A running process as PythonProcess needs it, however it was started:
 * spawned by Node (`spawnProcess`), or forked by a fork server.
 */
export interface StartedProcess {
  readonly pid: number | undefined;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Its channel at this fd (3, 4, …). */
  channel(fd: number): Readable & Writable;
  /** Resolves once it has exited, or failed to start. */
  readonly exited: Promise<ProcessExit>;
  /** Sends it a signal (while it runs). */
  signal(signal: NodeJS.Signals): void;
}

/** How a PythonProcess is spawned. */
export interface PythonProcessOptions {
  /** The interpreter (a real binary, from `findPython`). */
  readonly executable: string;
  /** Arguments after the interpreter, e.g. `['-m', 'snakebridge']`. */
  readonly args: readonly string[];
  /** cwd, env, path, venv and output settings of the config's `python` section. */
  readonly settings: PythonSettings;
  /** Tags every record of its output. */
  readonly workerId: string;
  /** What it is, in log lines: `worker w1`, `gRPC server w1`. @default `worker <workerId>` */
  readonly label?: string | undefined;
  /** Where the records of its output go. */
  readonly logger: Logger;
  /** Extra file descriptors after 0-2, as pipes (the stdio adapter's frame channel). @default 2 */
  readonly extraPipes?: number | undefined;
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** Lines of stderr kept for crash reports. @default 20 */
  readonly stderrTailLines?: number | undefined;
  /** An extra pipe on which it writes its `logging` records as JSON lines (a managed gRPC server's --log-fd). */
  readonly recordsFd?: number | undefined;
}

/**
 * A Python child process running the bundled runtime: its output passed on to
 * the logger as records (docs/observability.md, "Worker output"), a tail of
 * stderr kept for crash reports, and a stop that escalates from polite to
 * SIGTERM to SIGKILL.
 */
export class PythonProcess {
  readonly workerId: string;
  readonly #process: StartedProcess;
  readonly #output: WorkerOutput;
  readonly #recordsFd: number | undefined;
  /** Resolves once the process has exited (or failed to spawn). */
  readonly exited: Promise<ProcessExit>;
  #exit: ProcessExit | undefined;
  readonly #logger: Logger;
  readonly #label: string;
  /** Why the host killed it, if it did: its exit info says so. */
  #killReason: string | undefined;

  /**
   * @param started - the process, when something else started it (a fork server); by default it is spawned
   *   as `options` say
   */
  constructor(options: PythonProcessOptions, started: StartedProcess = spawnProcess(options)) {
    this.workerId = options.workerId;
    this.#logger = options.logger;
    this.#label = options.label ?? `worker ${options.workerId}`;
    this.#process = started;
    this.exited = started.exited.then((exit) => {
      this.#exit = exit;
      return exit;
    });
    this.#output = new WorkerOutput({
      logger: options.logger,
      settings: options.settings.output,
      workerId: options.workerId,
      workerPid: started.pid,
      stderrTailLines: options.stderrTailLines ?? 20,
    });
    this.#output.follow(started.stdout, 'stdout');
    this.#output.follow(started.stderr, 'stderr');
    this.#recordsFd = options.recordsFd;
    if (options.recordsFd !== undefined) {
      this.#output.followRecords(
        this.pipe(options.recordsFd),
        `the log channel of ${this.#label} (fd ${options.recordsFd})`,
      );
    }
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** True until the process has exited. */
  get alive(): boolean {
    return this.#exit === undefined;
  }

  /** The extra pipe at this fd (3, 4, …) as a stream. */
  pipe(fd: number): Readable & Writable {
    return this.#process.channel(fd);
  }

  /** The last lines the process wrote to stderr, oldest first. */
  stderrTail(): string[] {
    return this.#output.stderrTail();
  }

  /** Passes on a Python `logging` record the process sent some other way (a stdio worker's LOG frame). */
  logRecord(record: PythonLogRecord): void {
    this.#output.record(record);
  }

  /**
   * How the process ended, as a WorkerCrashedError or WorkerStartError reports it.
   *
   * @param reason - why it ended when the host did not kill it (it was stopping), if known
   */
  exitInfo(exit: ProcessExit | undefined, reason?: string | undefined): WorkerExit {
    return {
      workerId: this.workerId,
      pid: this.pid,
      exitCode: exit?.exitCode,
      signal: exit?.signal,
      stderrTail: this.stderrTail(),
      reason:
        this.#killReason ??
        (exit?.spawnError ? `spawn failed: ${exit.spawnError.message}` : undefined) ??
        exit?.note ??
        reason,
    };
  }

  /** Kills it with SIGKILL, logging and keeping the first reason given; false if it had already exited. */
  kill(reason: string): boolean {
    if (!this.alive) return false;
    if (this.#killReason !== undefined) return true; // killed already: its exit is on its way
    this.#killReason = reason;
    this.#logger.warn(`killing ${this.#label}: ${reason}`, { workerId: this.workerId, workerPid: this.pid });
    this.signal('SIGKILL');
    return true;
  }

  /**
   * It failed to start: kills it, waits for its exit and the last of its
   * stderr, and returns the WorkerStartError that reports them, for the
   * caller to throw.
   */
  async startFailed(failure: string, reason?: string): Promise<WorkerStartError> {
    this.kill('it failed to start');
    const exit = await this.exited;
    await this.stderrSettled();
    const what = this.#label.startsWith('worker ') ? `Python ${this.#label}` : this.#label;
    return new WorkerStartError(`${what} failed to start: ${failure}`, this.exitInfo(exit, reason));
  }

  /** Why the host killed it, if it did. */
  get killReason(): string | undefined {
    return this.#killReason;
  }

  /**
   * Resolves once stderr (and the records pipe, if any) is fully read
   * (bounded wait), so a crash report has the last lines.
   */
  async stderrSettled(maxWaitMs = 100): Promise<void> {
    const streams = [this.#process.stderr, this.#recordsFd === undefined ? null : this.pipe(this.#recordsFd)];
    await Promise.all(streams.map((stream) => closed(stream, maxWaitMs)));
  }

  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.#process.signal(signal);
  }

  /**
   * Stops the process: waits `graceMs` for it to exit by itself (the caller
   * has asked it to, e.g. by closing its input), then SIGTERM, then SIGKILL.
   */
  async terminate(graceMs: number): Promise<ProcessExit> {
    if (await this.#exitsWithin(graceMs)) return this.exited;
    this.signal('SIGTERM');
    if (await this.#exitsWithin(Math.max(500, graceMs / 2))) return this.exited;
    this.signal('SIGKILL');
    return this.exited;
  }

  async #exitsWithin(ms: number): Promise<boolean> {
    if (!this.alive) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const exited = await Promise.race([this.exited.then(() => true as const), timeout]);
    clearTimeout(timer);
    return exited;
  }
}

/** Resolves once `stream` has closed, or after `maxWaitMs`. */
async function closed(stream: Readable | null, maxWaitMs: number): Promise<void> {
  if (stream === null || stream.readableEnded || stream.destroyed) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, maxWaitMs);
    stream.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Spawns the process `options` describe: stdin from /dev/null, then stdout, stderr and `extraPipes` pipes. */
function spawnProcess(options: PythonProcessOptions): StartedProcess {
  const pipes = options.extraPipes ?? 2;
  const child: ChildProcess = spawn(options.executable, options.args, {
    cwd: options.settings.cwd,
    env: workerEnvironment(options),
    stdio: ['ignore', 'pipe', 'pipe', ...Array.from({ length: pipes }, () => 'pipe' as const)],
    windowsHide: true,
  });
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
    child.once('error', (error) => {
      // 'error' without 'exit' means it never started.
      if (child.pid === undefined) resolve({ exitCode: null, signal: null, spawnError: error });
    });
  });
  return {
    get pid() {
      return child.pid;
    },
    stdout: child.stdout as Readable,
    stderr: child.stderr as Readable,
    channel: (fd) => child.stdio[fd] as Readable & Writable,
    exited,
    signal: (signal) => {
      child.kill(signal);
    },
  };
}

/** The environment a worker (or a fork server, whose workers inherit it) runs in. */
function workerEnvironment(options: PythonProcessOptions): NodeJS.ProcessEnv {
  return {
    ...pythonEnvironment(options.settings, options.env),
    // Prints reach the logger as they happen, not when a buffer fills.
    PYTHONUNBUFFERED: '1',
    SNAKEBRIDGE_HOST_PID: String(process.pid),
    SNAKEBRIDGE_WORKER_ID: options.workerId,
  };
}

/**
 * The environment any Python process of ours runs in (workers, servers, the
 * introspector): the config's variables, and the bundled runtime and the
 * config's paths ahead of an inherited PYTHONPATH.
 */
export function pythonEnvironment(
  settings: Pick<PythonSettings, 'env' | 'path'> & Partial<Pick<PythonSettings, 'reload'>>,
  extra: Readonly<Record<string, string>> = {},
): NodeJS.ProcessEnv {
  const inherited = process.env.PYTHONPATH;
  const path = [runtimePath(), ...settings.path, ...(inherited ? [inherited] : [])];
  // Live reload: no bytecode cache, whose staleness check (mtime in seconds, and size) misses a quick edit.
  const reload = settings.reload === true ? { PYTHONDONTWRITEBYTECODE: '1' } : {};
  return { ...process.env, ...reload, ...settings.env, ...extra, PYTHONPATH: path.join(delimiter) };
}

/** What a supervised Python process (a stdio worker, a managed gRPC server) is started with. */
export interface PythonWorkerOptions {
  /** The pool's name for it (`w1`), in logs and errors. */
  readonly workerId: string;
  /** The interpreter to run (from `findPython`). */
  readonly python: PythonInfo;
  /** The resolved config: python, pool, handles, security, limits and timeouts settings apply. */
  readonly config: ResolvedConfig;
  /** The serializer it loads the Python side of. */
  readonly serializer: Serializer;
  /** Where its output and lifecycle notes go. */
  readonly logger: Logger;
  /** Tells the pool when the process exists, before its handshake, and when it can take calls. */
  readonly hooks?: StartHooks | undefined;
  /** How its process is started (forked by the pool's fork server, or spawned). @default spawned */
  readonly launcher?: PythonLauncher | undefined;
}

/** How a process that was still starting ended, in a few words (why its start failed). */
export function describeEarlyExit(exit: ProcessExit): string {
  if (exit.spawnError) return `it could not be spawned (${exit.spawnError.message})`;
  if (exit.signal) return `it was killed by ${exit.signal} during start-up`;
  return `it exited with code ${exit.exitCode} during start-up`;
}
