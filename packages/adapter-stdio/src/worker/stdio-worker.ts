// One Python worker process and its frame channel (fds 3 and 4): the
// handshake, calls correlated by request id, streams with credit, pings,
// cancellation with a grace period, and failing every call in flight at once
// when the process dies.

import {
  CancelledError,
  type DecodeContext,
  errorFromPayload,
  HandleError,
  HandleRef,
  type HostFunction,
  type Logger,
  ProtocolError,
  type PythonErrorPayload,
  type ResolvedConfig,
  type Serializer,
  TimeoutError,
  WorkerCrashedError,
  type WorkerExit,
  WorkerStartError,
} from '@snakebridge/core';
import {
  type ProcessExit,
  type PythonInfo,
  PythonProcess,
  type StartHooks,
  type SupervisedWorker,
  sandboxOptions,
  versionGuard,
  type WorkerHealth,
} from '@snakebridge/process-pool';
import { type CallMeta, callMetaSize, writeCallMeta } from '../protocol/call.js';
import {
  encodeFrame,
  FLAG_STREAM,
  type Frame,
  FrameDecoder,
  HEADER_SIZE,
  Kind,
  type OversizedFrame,
  writeHeader,
} from '../protocol/frames.js';
import { StreamReceiver } from './stream-receiver.js';

/** The stdio protocol version this host speaks; HELLO refuses a worker speaking another (docs/protocol.md). */
export const PROTOCOL_VERSION = 1;
/** Host to worker: calls, and everything that must stay in order with them. */
const FD_DATA = 3;
/** Worker to host: every frame. */
const FD_OUT = 4;
/** Host to worker: pings and cancels, read by a thread of their own so they are seen while a call runs. */
const FD_CONTROL = 5;
const JSON_WIRE_ID = 1;
/** Payloads smaller than this are copied into the header's buffer: one write instead of two. */
const COPY_BELOW = 16 * 1024;

/** What a StdioWorker is started with. */
export interface StdioWorkerOptions {
  /** The pool's name for the worker (`w1`), in logs and errors. */
  readonly workerId: string;
  /** The interpreter to run (from `findPython`). */
  readonly python: PythonInfo;
  /** The resolved config: python, protocol, limits and timeouts settings apply. */
  readonly config: ResolvedConfig;
  /** The serializer the worker loads the Python side of. */
  readonly serializer: Serializer;
  /** Where the worker's output and lifecycle notes go. */
  readonly logger: Logger;
  /** Tells the pool when the process exists, before its handshake. */
  readonly hooks?: StartHooks | undefined;
}

/** One call as the worker sends it; the invoker has already encoded the arguments. */
export interface WireCall {
  readonly meta: CallMeta;
  readonly payload: Uint8Array;
  /** Describes the call in error messages. */
  readonly description: string;
  readonly signal?: AbortSignal | undefined;
  /** Builds the value standing for each handle in the result. */
  readonly reviveHandle?: ((ref: HandleRef) => unknown) | undefined;
  /** The session id as the host knows it, recorded on handles. */
  readonly sessionKey?: string | undefined;
  /** The functions in the arguments, by callback index − 1: Python may call them while the call runs. */
  readonly callbacks?: readonly HostFunction[] | undefined;
}

interface Pending {
  readonly call: WireCall;
  /** Settles the caller; undefined once the caller has been answered (timeout, abort). */
  settle: ((error: Error | undefined, body?: Uint8Array) => void) | undefined;
  timer: NodeJS.Timeout | undefined;
  onAbort: (() => void) | undefined;
  /** Kills the worker if a cancelled call does not stop in time. */
  graceTimer: NodeJS.Timeout | undefined;
  stream: StreamReceiver<unknown> | undefined;
  /** Callbacks of this call that are running in the host: answered as expired if the call ends first. */
  callbackRequests?: Set<number> | undefined;
}

/** A Python worker speaking the stdio protocol. */
export class StdioWorker implements SupervisedWorker {
  readonly id: string;
  readonly exited: Promise<WorkerExit>;
  readonly #process: PythonProcess;
  readonly #options: StdioWorkerOptions;
  readonly #decoder: FrameDecoder;
  readonly #pending = new Map<number, Pending>();
  readonly #pings = new Map<number, (health: WorkerHealth) => void>();
  #nextCallId = 0;
  #nextPingId = 0;
  #corked = false;
  #killReason: string | undefined;
  #ready: { resolve: () => void; reject: (failure: string) => void } | undefined;
  #stopping = false;

  /** Spawns a worker and resolves once it has answered the handshake. */
  static async start(options: StdioWorkerOptions): Promise<StdioWorker> {
    const worker = new StdioWorker(options);
    options.hooks?.spawned(worker.pid);
    await worker.#handshake();
    return worker;
  }

  private constructor(options: StdioWorkerOptions) {
    this.id = options.workerId;
    this.#options = options;
    this.#decoder = new FrameDecoder(options.config.protocol.maxFrameBytes);
    this.#process = new PythonProcess({
      executable: options.python.executable,
      args: ['-m', 'snakebridge'],
      settings: options.config.python,
      workerId: options.workerId,
      logger: options.logger,
      extraPipes: 3,
    });
    const output = this.#process.pipe(FD_OUT);
    // A pipe error means the worker is gone; its exit is handled below. Never let it throw in the host.
    this.#process.pipe(FD_DATA).on('error', () => this.kill('its data pipe broke'));
    this.#process.pipe(FD_CONTROL).on('error', () => this.kill('its control pipe broke'));
    output.on('error', () => this.kill('its output pipe broke'));
    output.on('data', (chunk: Buffer) => this.#receive(chunk));
    // The frame channel closed under a live process (user code closed fd 4?): no answer can come any more.
    output.on('end', () => {
      setTimeout(() => this.kill('it closed its frame channel (fd 4)'), 200).unref();
    });
    this.exited = this.#process.exited.then((exit) => this.#onExit(exit));
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** Calls (and streams) in flight, including cancelled ones still stopping. */
  get inFlight(): number {
    return this.#pending.size;
  }

  // --- calls ---------------------------------------------------------------------------

  /** Sends a call and resolves with the encoded result, for the invoker to decode (maybe off the event loop). */
  call(call: WireCall): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const id = this.#register(call, (error, body) => {
        if (error === undefined) resolve(body as Uint8Array);
        else reject(error);
      });
      if (id !== 0) this.#sendCall(id, call, 0);
    });
  }

  /** Sends a streamed call; items arrive through the returned iterator. */
  stream<T>(call: WireCall): AsyncIterableIterator<T> {
    const window = call.meta.window;
    let id = 0;
    const receiver = new StreamReceiver<T>(
      {
        // Credit goes on both channels: a sync generator takes it from the data
        // channel, an async one from the control channel (docs/protocol.md).
        credit: (count) => this.#writeBoth(encodeFrame({ kind: Kind.CREDIT, id, aux: count })),
        cancel: () => this.#cancel(id),
        decode: (body) => this.#decodeResult(body, call),
      },
      window,
    );
    id = this.#register(
      call,
      (error) => {
        if (error !== undefined) receiver.fail(error);
        else receiver.end();
      },
      receiver as StreamReceiver<unknown>,
    );
    if (id !== 0) this.#sendCall(id, call, FLAG_STREAM);
    return receiver;
  }

  /** Frees handles (and, with a session, everything the session holds). */
  release(handleIds: readonly number[], session?: number): void {
    if (!this.#process.alive) return;
    const body = Buffer.from(
      JSON.stringify(session === undefined ? { handles: handleIds } : { handles: handleIds, session }),
    );
    this.#write(encodeFrame({ kind: Kind.RELEASE, serializer: JSON_WIRE_ID }, body));
  }

  /** Registers a call; returns its id, or 0 if it was refused at once (already aborted, worker gone). */
  #register(call: WireCall, settle: NonNullable<Pending['settle']>, stream?: StreamReceiver<unknown>): number {
    if (!this.#process.alive || this.#stopping) {
      settle(new WorkerCrashedError(call.description, this.#exitInfo()));
      return 0;
    }
    if (call.signal?.aborted) {
      settle(new CancelledError(call.description, call.signal.reason));
      return 0;
    }
    const id = this.#nextId();
    const pending: Pending = { call, settle, timer: undefined, onAbort: undefined, graceTimer: undefined, stream };
    this.#pending.set(id, pending);
    const { timeoutMs } = call.meta;
    if (timeoutMs > 0) {
      pending.timer = setTimeout(() => this.#abandon(id, new TimeoutError(call.description, timeoutMs)), timeoutMs);
    }
    if (call.signal !== undefined) {
      const signal = call.signal;
      pending.onAbort = () => this.#abandon(id, new CancelledError(call.description, signal.reason));
      signal.addEventListener('abort', pending.onAbort, { once: true });
    }
    if (stream !== undefined) {
      // The consumer is done with the stream: stop the deadline, keep the entry until the worker acknowledges.
      stream.onDone = () => this.#detach(this.#pending.get(id));
    }
    return id;
  }

  #nextId(): number {
    do {
      this.#nextCallId = this.#nextCallId >= 0xffffffff ? 1 : this.#nextCallId + 1;
    } while (this.#pending.has(this.#nextCallId));
    return this.#nextCallId;
  }

  #sendCall(id: number, call: WireCall, flags: number): void {
    const metaSize = callMetaSize(call.meta);
    const bodyLength = metaSize + call.payload.byteLength;
    const serializer = this.#options.serializer.wireId;
    if (bodyLength > this.#options.config.protocol.maxFrameBytes) {
      this.#settle(
        id,
        new ProtocolError(
          `The call to '${call.description}' is ${bodyLength} bytes, more than protocol.maxFrameBytes ` +
            `(${this.#options.config.protocol.maxFrameBytes}). Raise the limit, or send the data in parts.`,
        ),
      );
      return;
    }
    const header = { kind: Kind.CALL, flags, serializer, id, aux: 0 };
    // A small payload is copied in: one buffer, one write. A large one is written from its own buffer, never copied.
    const inline = call.payload.byteLength < COPY_BELOW;
    const frame = Buffer.allocUnsafe(HEADER_SIZE + metaSize + (inline ? call.payload.byteLength : 0));
    writeHeader(frame, 0, header, bodyLength);
    writeCallMeta(frame, HEADER_SIZE, call.meta);
    if (inline) {
      frame.set(call.payload, HEADER_SIZE + metaSize);
      this.#write(frame);
    } else {
      this.#write(frame);
      this.#write(call.payload);
    }
  }

  /** The caller gave up (timeout, abort): answer it now, cancel in Python, and wait a grace period. */
  #abandon(id: number, error: Error): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    if (pending.stream !== undefined) pending.stream.fail(error);
    this.#answer(pending, error);
    this.#cancel(id);
  }

  #cancel(id: number): void {
    const pending = this.#pending.get(id);
    if (pending === undefined || pending.graceTimer !== undefined || !this.#process.alive) return;
    this.#writeBoth(encodeFrame({ kind: Kind.CANCEL, id }));
    const graceMs = this.#options.config.timeouts.cancelGraceMs;
    pending.graceTimer = setTimeout(() => {
      this.kill(`'${pending.call.description}' did not stop within ${graceMs} ms of being cancelled`);
    }, graceMs);
  }

  /** Settles the caller once, and stops listening for its deadline and signal. */
  #answer(pending: Pending, error: Error | undefined, body?: Uint8Array): void {
    const settle = pending.settle;
    this.#detach(pending);
    settle?.(error, body);
  }

  #detach(pending: Pending | undefined): void {
    if (pending === undefined) return;
    pending.settle = undefined;
    this.#expireCallbacks(pending);
    clearTimeout(pending.timer);
    if (pending.onAbort !== undefined) pending.call.signal?.removeEventListener('abort', pending.onAbort);
    pending.onAbort = undefined;
  }

  /** The worker's final frame for a call arrived: settle it (if the caller still waits) and forget it. */
  #settle(id: number, error: Error | undefined, body?: Uint8Array): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    clearTimeout(pending.graceTimer);
    this.#answer(pending, error, body);
  }

  #decodeResult(body: Uint8Array, call: WireCall): unknown {
    return this.#options.serializer.decode(body, decodeContext(call, this.id, 'item'));
  }

  // --- health and lifetime ------------------------------------------------------------------

  ping(timeoutMs: number): Promise<WorkerHealth> {
    if (!this.#process.alive) return Promise.reject(new Error('the worker has exited'));
    this.#nextPingId = (this.#nextPingId % 0xffffffff) + 1;
    const id = this.#nextPingId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pings.delete(id);
        reject(new Error(`no pong within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pings.set(id, (health) => {
        clearTimeout(timer);
        resolve(health);
      });
      this.#write(encodeFrame({ kind: Kind.PING, id }), FD_CONTROL);
    });
  }

  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    // End of file on its input asks the worker to finish and exit by itself.
    this.#process.pipe(FD_DATA).end();
    this.#process.pipe(FD_CONTROL).end();
    await this.#process.terminate(graceMs);
  }

  kill(reason: string): void {
    if (!this.#process.alive) return;
    this.#killReason ??= reason;
    this.#options.logger.warn(`killing worker ${this.id}: ${reason}`, { workerId: this.id, pid: this.pid });
    this.#process.signal('SIGKILL');
  }

  // --- frames from the worker ------------------------------------------------------------------

  #receive(chunk: Buffer): void {
    try {
      this.#decoder.push(chunk, (frame) => this.#onFrame(frame));
    } catch (error) {
      // Out of step with the worker: nothing it sends can be trusted any more.
      this.kill(`it sent a malformed frame (${(error as Error).message})`);
    }
  }

  #onFrame(frame: Frame | OversizedFrame): void {
    if ('oversized' in frame) {
      this.#oversized(frame);
      return;
    }
    switch (frame.kind) {
      case Kind.RESULT:
        this.#settle(frame.id, undefined, frame.body);
        return;
      case Kind.ERROR:
        this.#onError(frame);
        return;
      case Kind.ITEM:
        this.#pending.get(frame.id)?.stream?.push(frame.body);
        return;
      case Kind.END:
        this.#settle(frame.id, undefined);
        return;
      case Kind.CALLBACK:
        this.#onCallback(frame);
        return;
      case Kind.PONG:
        this.#onPong(frame);
        return;
      case Kind.PING:
        this.#write(encodeFrame({ kind: Kind.PONG, id: frame.id }), FD_CONTROL);
        return;
      case Kind.READY:
        this.#ready?.resolve();
        return;
      default:
        this.kill(`it sent an unexpected frame (kind 0x${frame.kind.toString(16)})`);
    }
  }

  #onError(frame: Frame): void {
    const payload = JSON.parse(Buffer.from(frame.body).toString('utf8')) as PythonErrorPayload;
    if (frame.id === 0) {
      // About the connection: a failed start, or the worker refusing the host.
      // The worker's own refusals speak for themselves; an exception from user code (a preload) shows its type.
      const what = payload.module.startsWith('snakebridge') ? payload.message : `${payload.type}: ${payload.message}`;
      if (this.#ready !== undefined) this.#ready.reject(what);
      else this.kill(`it reported a fatal error: ${what}`);
      return;
    }
    const pending = this.#pending.get(frame.id);
    if (pending === undefined) return;
    this.#settle(frame.id, errorFromPayload(payload, pending.call.description));
  }

  #oversized(frame: OversizedFrame): void {
    const pending = this.#pending.get(frame.id);
    if (pending === undefined) return;
    const error = new ProtocolError(
      `The answer to '${pending.call.description}' is ${frame.size} bytes, more than protocol.maxFrameBytes ` +
        `(${this.#options.config.protocol.maxFrameBytes}); it was discarded. Raise the limit, or return a handle.`,
    );
    if (frame.kind === Kind.ITEM && pending.stream !== undefined) {
      pending.stream.fail(error);
      this.#cancel(frame.id);
      return;
    }
    this.#settle(frame.id, error);
  }

  /**
   * Python called a function passed in a call's arguments: run it and answer
   * on the control channel, which the worker reads while its main thread
   * waits for the answer (docs/protocol.md, "Callbacks").
   */
  #onCallback(frame: Frame): void {
    const pending = this.#pending.get(frame.aux);
    // A caller that stopped waiting (timeout, abort, a stream given up) has ended the call for the host too.
    if (pending === undefined || pending.settle === undefined) {
      this.#refuseExpiredCallback(frame);
      return;
    }
    const requestId = frame.id;
    pending.callbackRequests ??= new Set();
    pending.callbackRequests.add(requestId);
    this.#runCallback(frame, pending.call)
      .then(
        (body) => this.#answerCallback(pending, requestId, Kind.CALLBACK_RESULT, body),
        (error: unknown) => this.#answerCallback(pending, requestId, Kind.CALLBACK_ERROR, callbackErrorBody(error)),
      )
      .catch((error: unknown) => {
        this.kill(`answering a callback failed (${String(error)}); Python would wait for the answer forever`);
      });
  }

  /** Runs the callback a CALLBACK frame names; resolves with its encoded return value. */
  async #runCallback(frame: Frame, call: WireCall): Promise<Uint8Array> {
    const serializer = this.#options.serializer;
    const [index, args] = callbackRequest(serializer.decode(frame.body, decodeContext(call, this.id, 'item')));
    const callback = call.callbacks?.[index - 1];
    if (callback === undefined) throw new Error(`'${call.description}' was passed no callback #${index}`);
    const value = await callback(...args);
    return serializer.encode(value, {
      target: call.meta.target,
      role: 'result',
      onHandle: (handle) => {
        if (handle.owner !== undefined && handle.owner !== this.id) {
          throw new HandleError(
            `A callback returned handle ${handle.id} (${handle.type}) of worker ${handle.owner} to worker ${this.id}; ` +
              'objects cannot move between workers.',
          );
        }
      },
    });
  }

  /** Sends a callback's answer, unless its call ended meanwhile and it was answered as expired then. */
  #answerCallback(pending: Pending, requestId: number, kind: Kind, body: Uint8Array): void {
    if (pending.callbackRequests?.delete(requestId) !== true) return;
    // Errors are always JSON; results are in the call's serializer.
    const serializer = kind === Kind.CALLBACK_ERROR ? JSON_WIRE_ID : this.#options.serializer.wireId;
    this.#write(encodeFrame({ kind, id: requestId, serializer }, body), FD_CONTROL);
  }

  /** A call ended: callbacks of it still running are answered now, so no Python thread waits on them forever. */
  #expireCallbacks(pending: Pending): void {
    const requests = pending.callbackRequests;
    if (requests === undefined || requests.size === 0) return;
    pending.callbackRequests = undefined;
    for (const id of requests) {
      this.#write(encodeFrame({ kind: Kind.CALLBACK_ERROR, id, serializer: JSON_WIRE_ID }, EXPIRED_BODY), FD_CONTROL);
    }
  }

  /** Refuses a callback of a call that has ended, and frees the handles Python made for its arguments. */
  #refuseExpiredCallback(frame: Frame): void {
    const handles: number[] = [];
    try {
      this.#options.serializer.decode(frame.body, { handle: (wire) => handles.push(wire.id) });
    } catch {
      // Undecodable: there is nothing we can free.
    }
    if (handles.length > 0) this.release(handles);
    this.#write(
      encodeFrame({ kind: Kind.CALLBACK_ERROR, id: frame.id, serializer: JSON_WIRE_ID }, EXPIRED_BODY),
      FD_CONTROL,
    );
  }

  #onPong(frame: Frame): void {
    const resolve = this.#pings.get(frame.id);
    if (resolve === undefined) return;
    this.#pings.delete(frame.id);
    const stats =
      frame.body.length > 0 ? (JSON.parse(Buffer.from(frame.body).toString('utf8')) as Record<string, number>) : {};
    resolve({ rssBytes: stats.rss, handles: stats.handles });
  }

  // --- writing ----------------------------------------------------------------------------------

  /** Writes a frame; frames written to a pipe in the same tick go out in one writev. */
  #write(chunk: Uint8Array, fd: number = FD_DATA): void {
    const pipe = this.#process.pipe(fd);
    if (pipe.destroyed || pipe.writableEnded) return;
    if (fd === FD_DATA && !this.#corked) {
      this.#corked = true;
      pipe.cork();
      process.nextTick(() => {
        this.#corked = false;
        pipe.uncork();
      });
    }
    pipe.write(chunk);
  }

  #writeBoth(frame: Buffer): void {
    this.#write(frame, FD_DATA);
    this.#write(frame, FD_CONTROL);
  }

  // --- start and exit -------------------------------------------------------------------------

  async #handshake(): Promise<void> {
    const { config, serializer } = this.#options;
    const hello = {
      serializer: serializer.id,
      serializerOptions: serializer.pythonOptions ?? {},
      workerId: this.id,
      allowEval: config.security.allowEval,
      allowedModules: config.security.allowedModules ?? null,
      allowUnsafeModules: config.security.allowUnsafeModules,
      sandbox: sandboxOptions(config.security.sandbox),
      maxFrameBytes: config.protocol.maxFrameBytes,
      threads: config.pool.threads,
      maxHandlesPerSession: config.handles.maxPerSession,
      handleTtlMs: config.handles.ttlMs,
      hostTimeoutMs: config.pool.hostTimeoutMs,
      preload: config.pool.preload,
      limits: config.pool.limits,
      ...versionGuard(config.bindings),
    };
    const body = Buffer.from(JSON.stringify(hello));
    this.#write(encodeFrame({ kind: Kind.HELLO, aux: PROTOCOL_VERSION, serializer: JSON_WIRE_ID }, body));
    const failure = await this.#readyOrFailure(config.timeouts.startMs);
    if (failure === undefined) return;
    this.kill('it failed to start');
    const exit = await this.#process.exited;
    await this.#process.stderrSettled();
    throw new WorkerStartError(`Python worker ${this.id} failed to start: ${failure}`, this.#exitInfo(exit));
  }

  /** Resolves with nothing once READY arrives, or with what went wrong first. */
  #readyOrFailure(startMs: number): Promise<string | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(`no answer within ${startMs} ms (timeouts.startMs)`), startMs);
      const finish = (failure: string | undefined): void => {
        clearTimeout(timer);
        this.#ready = undefined;
        resolve(failure);
      };
      this.#ready = { resolve: () => finish(undefined), reject: (failure) => finish(failure) };
      void this.#process.exited.then((exit) => finish(describeEarlyExit(exit)));
    });
  }

  async #onExit(exit: ProcessExit): Promise<WorkerExit> {
    await this.#process.stderrSettled();
    const info = this.#exitInfo(exit);
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      clearTimeout(pending.graceTimer);
      const error = new WorkerCrashedError(pending.call.description, info);
      pending.stream?.fail(error);
      this.#answer(pending, error);
    }
    for (const [id] of this.#pings) this.#pings.delete(id);
    return info;
  }

  #exitInfo(exit?: ProcessExit): WorkerExit {
    return {
      workerId: this.id,
      pid: this.pid,
      exitCode: exit?.exitCode,
      signal: exit?.signal,
      stderrTail: this.#process.stderrTail(),
      reason: this.#killReason ?? (exit?.spawnError ? `spawn failed: ${exit.spawnError.message}` : undefined),
    };
  }
}

/** The answer to a callback whose call has ended (Python raises HostCallbackError with it). */
const EXPIRED_BODY = Buffer.from(
  JSON.stringify({
    name: 'Error',
    message: 'the call that passed this callback has ended; a callback can be called only while that call runs',
    stack: '',
  }),
);

/** `[index, args]`, as a worker sends it in a CALLBACK frame. */
function callbackRequest(request: unknown): [number, unknown[]] {
  const [index, args] = Array.isArray(request) ? request : [];
  if (typeof index !== 'number' || !Array.isArray(args)) {
    throw new ProtocolError('The worker sent a malformed CALLBACK frame: its body must be [index, args].');
  }
  return [index, args];
}

/** What Python's HostCallbackError is built from: the JavaScript error's name, message and stack. */
function callbackErrorBody(error: unknown): Buffer {
  try {
    const { name, message, stack } =
      error instanceof Error ? error : { name: 'Error', message: String(error), stack: undefined };
    return Buffer.from(JSON.stringify({ name: String(name), message: String(message), stack: String(stack ?? '') }));
  } catch {
    // A thrown value that cannot even be described (a getter or toString that throws): Python must still hear back.
    return Buffer.from(
      JSON.stringify({ name: 'Error', message: 'the callback threw a value that cannot be described' }),
    );
  }
}

function describeEarlyExit(exit: ProcessExit): string {
  if (exit.spawnError) return `it could not be spawned (${exit.spawnError.message})`;
  if (exit.signal) return `it was killed by ${exit.signal} during start-up`;
  return `it exited with code ${exit.exitCode} during start-up`;
}

/** How a result of `call`, from worker `owner`, is decoded: handles learn their worker and session. */
export function decodeContext(
  call: Pick<WireCall, 'meta' | 'sessionKey' | 'reviveHandle'>,
  owner: string,
  role: 'result' | 'item',
): DecodeContext {
  return {
    target: call.meta.target,
    role,
    handle: (wire) => {
      const ref = new HandleRef(wire, owner, call.sessionKey);
      return call.reviveHandle === undefined ? ref : call.reviveHandle(ref);
    },
  };
}
