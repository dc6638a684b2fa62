// The host's side of a fork server (`python -m snakebridge.forkserver`, Linux):
// one warmed-up Python process per pool that forks its workers. The server is
// told about each fork on its request pipe (fd 3) and answers on its event
// pipe (fd 4); each forked worker connects its five channels (stdout, stderr,
// data, output, control) back to a Unix socket the host listens on (in a
// directory only this user can enter), each connection opened with the fork's
// random token. A forked worker is then
// a PythonProcess like a spawned one: its pid, its own output, its exit status
// (reported by the server, which reaps it) and its signals (sent by the
// server, which cannot have reused its pid before reaping it).
// docs/operations.md, "Fork server"; docs/protocol.md, "Fork server".

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Logger, PythonSettings } from '@snakebridge/core';
import {
  describeEarlyExit,
  type ProcessExit,
  PythonProcess,
  type PythonProcessOptions,
  type StartedProcess,
} from '../python/python-process.js';
import {
  decodeEvent,
  encodeRequest,
  type ForkServerEvent,
  type ForkServerRequest,
  isForkSignal,
  MAX_EVENT_LINE,
  PREAMBLE_BYTES,
  TOKEN_BYTES,
  WORKER_FDS,
} from './messages.js';

/** Host to server. */
const REQUESTS_FD = 3;
/** Server to host. */
const EVENTS_FD = 4;
/** How long the host reads what the server wrote before it died, before it declares its workers dead. */
const EVENTS_SETTLE_MS = 1_000;
/** Longest Unix socket path Linux takes (sun_path is 108 bytes, with its terminating NUL). */
const MAX_SOCKET_PATH = 107;

/** A fork server's socket directory: `snakebridge-fork-<host pid>-<random>`, under the temporary directory. */
const SOCKET_DIR_PREFIX = 'snakebridge-fork-';
const SOCKET_DIR = /^snakebridge-fork-(\d+)-/;

/** Socket directories of fork servers still running: removed when the host exits, if their pool was never closed. */
const socketDirs = new Set<string>();

/**
 * Removes the socket directories of hosts that are gone (killed before they
 * could clean up): the pid in a directory's name is its host's.
 */
function sweepSocketDirs(parent: string): void {
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = Number(SOCKET_DIR.exec(entry)?.[1]);
    if (pid > 0 && pid !== process.pid && !processExists(pid)) {
      try {
        rmSync(join(parent, entry), { recursive: true, force: true });
      } catch {
        // Another user's: theirs to sweep.
      }
    }
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // someone else's: alive
  }
}

function keepSocketDir(dir: string): void {
  if (socketDirs.size === 0) process.once('exit', removeSocketDirs);
  socketDirs.add(dir);
}

function dropSocketDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // Left for the next fork server to sweep: a directory that cannot be removed must not fail the pool's close.
  }
  socketDirs.delete(dir);
  if (socketDirs.size === 0) process.off('exit', removeSocketDirs);
}

function removeSocketDirs(): void {
  for (const dir of socketDirs) dropSocketDir(dir);
}

/** What a ForkServer is started with. */
export interface ForkServerOptions {
  /** The interpreter it runs (from `findPython`), and so its workers. */
  readonly executable: string;
  /** cwd, env and path: the server's, and so its workers'. */
  readonly settings: PythonSettings;
  /** The serializer whose Python side it imports before forking (`msgpack`). */
  readonly serializer: string;
  /** Where its own output and notes go (each worker's output goes to the logger its fork names). */
  readonly logger: Logger;
  /** How long it may take to warm up, and a forked worker to connect. */
  readonly startMs: number;
}

/** A fork asked for, until its worker has connected all its channels (or failed to). */
interface PendingFork {
  readonly id: number;
  readonly options: PythonProcessOptions;
  readonly channels: Map<number, Socket>;
  pid: number | undefined;
  readonly timer: NodeJS.Timeout;
  readonly resolve: (process: PythonProcess) => void;
  readonly reject: (error: Error) => void;
}

/** A warmed-up Python process that forks workers; see the file comment. */
export class ForkServer {
  readonly #process: PythonProcess;
  readonly #listener: Server;
  /** The directory of its socket: private to this user (mkdtemp makes it 0700). */
  readonly #socketDir: string;
  /** False when its socket path was too long to listen on. */
  readonly #listening: boolean;
  readonly #startMs: number;
  /** Forks in progress, by token. */
  readonly #forks = new Map<string, PendingFork>();
  /** Workers it forked that have connected and not exited yet, by pid. */
  readonly #children = new Map<number, ForkedChild>();
  #nextId = 0;
  #events = '';
  #ready: { resolve: () => void; reject: (error: Error) => void } | undefined;
  #exited = false;
  /** Resolves once the server process has exited and its workers have been accounted for. */
  readonly exited: Promise<ProcessExit>;

  /**
   * Starts a fork server and resolves once it has warmed up.
   *
   * @throws Error saying why it could not start (it exited, or did not report ready within `startMs`).
   */
  static async start(options: ForkServerOptions): Promise<ForkServer> {
    const server = new ForkServer(options);
    try {
      await server.#whenReady();
    } catch (error) {
      await server.close(0);
      throw error;
    }
    return server;
  }

  private constructor(options: ForkServerOptions) {
    this.#startMs = options.startMs;
    sweepSocketDirs(tmpdir());
    this.#socketDir = mkdtempSync(join(tmpdir(), `${SOCKET_DIR_PREFIX}${process.pid}-`));
    keepSocketDir(this.#socketDir);
    const socketPath = join(this.#socketDir, 'workers.sock');
    this.#listener = createServer((socket) => this.#accept(socket));
    // Too long a path would be cut short by the kernel: refused (in #whenReady), and the pool spawns its workers.
    this.#listening = Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH;
    if (this.#listening) this.#listener.listen(socketPath);
    this.#process = new PythonProcess({
      executable: options.executable,
      args: ['-m', 'snakebridge.forkserver', '--socket', socketPath, '--serializer', options.serializer],
      settings: options.settings,
      workerId: 'fork-server',
      label: 'fork server',
      logger: options.logger,
      extraPipes: 2,
    });
    const events = this.#process.pipe(EVENTS_FD);
    events.setEncoding('utf8');
    events.on('data', (chunk: string) => this.#receive(chunk));
    events.on('error', () => {}); // its exit says more
    this.#process.pipe(REQUESTS_FD).on('error', () => {});
    this.exited = this.#process.exited.then((exit) => this.#onExit(exit));
  }

  /** The server's pid. */
  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** False once its process has exited: it forks nothing more. */
  get alive(): boolean {
    return this.#process.alive;
  }

  /**
   * Forks a worker whose process is described by `options` (its id, label,
   * logger; the interpreter, cwd and env are the server's) and resolves once
   * it has connected its channels.
   *
   * @throws Error when the server refuses or fails the fork, or the worker exits or does not connect in time.
   */
  fork(options: PythonProcessOptions): Promise<PythonProcess> {
    if (!this.alive) return Promise.reject(new Error('the fork server has exited'));
    this.#nextId = (this.#nextId % 0xffffffff) + 1;
    const id = this.#nextId;
    const token = randomBytes(TOKEN_BYTES).toString('hex');
    return new Promise((resolve, reject) => {
      const fork: PendingFork = {
        id,
        options,
        channels: new Map(),
        pid: undefined,
        resolve,
        reject,
        timer: setTimeout(() => this.#abandon(token, `it did not connect within ${this.#startMs} ms`), this.#startMs),
      };
      this.#forks.set(token, fork);
      this.#send({ op: 'fork', id, workerId: options.workerId, token });
    });
  }

  /**
   * Stops the server: closing its requests tells it to leave once its workers
   * have (the pool has stopped them by now); after `graceMs`, SIGTERM, then
   * SIGKILL, which takes any worker left with it.
   */
  async close(graceMs = 1_000): Promise<void> {
    const requests = this.#process.pipe(REQUESTS_FD);
    if (!requests.destroyed) requests.end();
    await this.#process.terminate(graceMs);
    await this.exited;
  }

  // --- forks -------------------------------------------------------------------------------

  /** A connection from a forked worker: its preamble says whose channel it is, and which. */
  #accept(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    const timer = setTimeout(() => socket.destroy(), this.#startMs);
    const readPreamble = (): void => {
      const preamble = socket.read(PREAMBLE_BYTES) as Buffer | null;
      if (preamble === null) return;
      socket.off('readable', readPreamble);
      clearTimeout(timer);
      const fork = this.#forks.get(preamble.subarray(0, TOKEN_BYTES).toString('hex'));
      const fd = preamble[TOKEN_BYTES] as number;
      // A token of no fork in progress, or a channel it has already: not one of ours.
      if (fork === undefined || !WORKER_FDS.includes(fd) || fork.channels.has(fd)) {
        socket.destroy();
        return;
      }
      fork.channels.set(fd, socket);
      this.#complete(fork);
    };
    socket.on('readable', readPreamble);
  }

  /** A fork is done once the server has named its pid and all its channels are connected. */
  #complete(fork: PendingFork): void {
    if (fork.pid === undefined || fork.channels.size < WORKER_FDS.length) return;
    clearTimeout(fork.timer);
    for (const [token, pending] of this.#forks) if (pending === fork) this.#forks.delete(token);
    const pid = fork.pid;
    const child = new ForkedChild(pid, fork.channels, (signal) => this.#send({ op: 'signal', pid, signal }));
    this.#children.set(pid, child);
    fork.resolve(new PythonProcess(fork.options, child));
  }

  /** Gives up on a fork in progress: its worker, if it exists, is killed, and the caller starts it another way. */
  #abandon(token: string, why: string): void {
    const fork = this.#forks.get(token);
    if (fork === undefined) return;
    this.#forks.delete(token);
    clearTimeout(fork.timer);
    for (const socket of fork.channels.values()) socket.destroy();
    if (fork.pid !== undefined && !this.#exited) this.#send({ op: 'signal', pid: fork.pid, signal: 'SIGKILL' });
    fork.reject(new Error(`worker ${fork.options.workerId} could not be forked: ${why}`));
  }

  #pendingBy(match: (fork: PendingFork) => boolean): string | undefined {
    for (const [token, fork] of this.#forks) if (match(fork)) return token;
    return undefined;
  }

  // --- events --------------------------------------------------------------------------------

  #receive(chunk: string): void {
    const lines = (this.#events + chunk).split('\n');
    this.#events = lines.pop() ?? '';
    try {
      for (const line of lines) this.#onEvent(decodeEvent(line));
      if (this.#events.length > MAX_EVENT_LINE) throw new Error(`an event line longer than ${MAX_EVENT_LINE} bytes`);
    } catch (error) {
      this.#events = '';
      this.#process.kill(`it broke the fork server protocol: ${(error as Error).message}`);
    }
  }

  #onEvent(event: ForkServerEvent): void {
    switch (event.event) {
      case 'ready':
        this.#ready?.resolve();
        return;
      case 'forked': {
        const token = this.#pendingBy((fork) => fork.id === event.id);
        const fork = token === undefined ? undefined : this.#forks.get(token);
        if (fork === undefined) return; // given up on already: its worker has been sent SIGKILL
        fork.pid = event.pid;
        this.#complete(fork);
        return;
      }
      case 'fork-failed': {
        const token = this.#pendingBy((fork) => fork.id === event.id);
        if (token !== undefined) this.#abandon(token, `the fork server refused: ${event.message}`);
        return;
      }
      case 'exit': {
        const exit: ProcessExit = { exitCode: event.code, signal: event.signal };
        const child = this.#children.get(event.pid);
        if (child !== undefined) {
          this.#children.delete(event.pid);
          child.ended(exit);
          return;
        }
        const token = this.#pendingBy((fork) => fork.pid === event.pid);
        if (token !== undefined) this.#abandon(token, describeEarlyExit(exit));
      }
    }
  }

  #send(request: ForkServerRequest): void {
    const requests = this.#process.pipe(REQUESTS_FD);
    if (!this.#exited && !requests.destroyed && !requests.writableEnded) requests.write(encodeRequest(request));
  }

  // --- start and exit ----------------------------------------------------------------------------

  #whenReady(): Promise<void> {
    const listening = new Promise<void>((resolve, reject) => {
      if (!this.#listening) {
        reject(
          new Error(`its socket path would be longer than ${MAX_SOCKET_PATH} bytes (set TMPDIR to a shorter one)`),
        );
      }
      this.#listener.once('listening', resolve);
      this.#listener.once('error', (error) => reject(new Error(`its socket could not listen: ${error.message}`)));
    });
    const ready = new Promise<void>((resolve, reject) => {
      this.#ready = { resolve, reject };
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`it did not warm up within ${this.#startMs} ms`)), this.#startMs);
    });
    return Promise.race([Promise.all([listening, ready]).then(() => undefined), timeout]).finally(() => {
      clearTimeout(timer);
      this.#ready = undefined;
    });
  }

  async #onExit(exit: ProcessExit): Promise<ProcessExit> {
    // What it wrote last (its workers' exits) may still be on its way through the event pipe.
    await settled(this.#process.pipe(EVENTS_FD), EVENTS_SETTLE_MS);
    this.#exited = true;
    await this.#process.stderrSettled();
    const how = exitWords(exit);
    this.#ready?.reject(new Error(`it ${how}${stderrNote(this.#process.stderrTail())}`));
    for (const token of [...this.#forks.keys()]) this.#abandon(token, `the fork server ${how}`);
    // Each worker asked the kernel for SIGKILL when its parent, the server, dies (no worker outlives it).
    for (const [pid, child] of this.#children) {
      this.#children.delete(pid);
      child.ended({ exitCode: null, signal: 'SIGKILL', note: 'its fork server exited, and its workers with it' });
    }
    this.#listener.close();
    dropSocketDir(this.#socketDir);
    return exit;
  }
}

/** A worker the fork server forked, as PythonProcess drives it. */
class ForkedChild implements StartedProcess {
  readonly exited: Promise<ProcessExit>;
  #ended: (exit: ProcessExit) => void = () => {};

  constructor(
    readonly pid: number,
    private readonly channels: ReadonlyMap<number, Socket>,
    private readonly sendSignal: (signal: 'SIGTERM' | 'SIGKILL' | 'SIGINT' | 'SIGUSR1') => void,
  ) {
    this.exited = new Promise((resolve) => {
      this.#ended = resolve;
    });
  }

  get stdout(): Readable {
    return this.channel(1);
  }

  get stderr(): Readable {
    return this.channel(2);
  }

  channel(fd: number): Readable & Writable {
    const socket = this.channels.get(fd);
    if (socket === undefined) throw new Error(`a forked worker has no channel at fd ${fd}`);
    return socket;
  }

  /** Through the server, which is its parent and so knows its pid is still its own. */
  signal(signal: NodeJS.Signals): void {
    if (!isForkSignal(signal)) throw new Error(`a forked worker cannot be sent ${signal} by its host`);
    this.sendSignal(signal);
  }

  /** Its exit, as the server reported it (or as its death took it). */
  ended(exit: ProcessExit): void {
    this.#ended(exit);
  }
}

/** Resolves when `stream` has closed, or after `maxWaitMs`. */
function settled(stream: Readable, maxWaitMs: number): Promise<void> {
  if (stream.destroyed || stream.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, maxWaitMs);
    stream.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** How a process ended, in a few words: `exited with code 3`, `was killed by SIGKILL`. */
function exitWords(exit: ProcessExit): string {
  if (exit.spawnError) return `could not be spawned (${exit.spawnError.message})`;
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.exitCode}`;
}

function stderrNote(tail: readonly string[]): string {
  return tail.length === 0 ? '' : `; its stderr ended with: ${tail.slice(-5).join(' | ')}`;
}
