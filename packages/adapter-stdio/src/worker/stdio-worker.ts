// One Python worker process and its frame channel (fds 3 and 4): the
// handshake, calls correlated by request id, streams with credit, pings,
// cancellation with a grace period, and failing every call in flight at once
// when the process dies or breaks the protocol. It tells its pool when it can
// take no new calls, for now (a cancelled call has not stopped) or for good.

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
  UnavailableError,
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
  type FrameFault,
  type FrameHeader,
  HEADER_SIZE,
  Kind,
  kindName,
  MalformedFrameError,
  writeHeader,
} from '../protocol/frames.js';
import { StreamReceiver } from './stream-receiver.js';

/**
 * The bridge protocol version this host speaks, sent in HELLO's aux; the worker refuses another
 * (docs/protocol.md). The frame format has a version of its own in every header (FRAME_VERSION).
 */
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
/**
 * How long a worker whose pipe broke or closed may take to exit by itself before it is killed. Its
 * own exit says more (the signal that killed it, and so the hint) than the host's kill would.
 */
const LINGER_MS = 200;

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
  /** Why it can take no calls any more, once it cannot: it broke the protocol, a pipe broke, it died. */
  #unusable: string | undefined;
  /** Nothing it sends is read any more: it broke the protocol, or its calls have been failed at its exit. */
  #deaf = false;
  /** Cancelled calls whose stop it has not confirmed: until it has, it takes no new calls. */
  #unconfirmedCancels = 0;

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
    this.#decoder = new FrameDecoder(options.config.protocol.maxFrameBytes, (header) => this.#checkHeader(header));
    this.#process = new PythonProcess({
      executable: options.python.executable,
      args: ['-m', 'snakebridge'],
      settings: options.config.python,
      workerId: options.workerId,
      logger: options.logger,
      extraPipes: 3,
    });
    const output = this.#process.pipe(FD_OUT);
    // A pipe error most often means the worker is gone; its exit is handled below. Never let it throw in the host.
    this.#process.pipe(FD_DATA).on('error', () => this.#pipeBroke('its data pipe broke'));
    this.#process.pipe(FD_CONTROL).on('error', () => this.#pipeBroke('its control pipe broke'));
    output.on('error', () => this.#pipeBroke('its output pipe broke'));
    output.on('data', (chunk: Buffer) => this.#receive(chunk));
    // The frame channel closed (it died, or user code closed fd 4): no answer can come any more.
    output.on('end', () => this.#pipeBroke('it closed its frame channel (fd 4)'));
    this.exited = this.#process.exited.then((exit) => this.#onExit(exit));
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** Calls (and streams) in flight, including cancelled ones still stopping. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /**
   * True while a new call may be sent to it: it is alive, not stopping, has
   * not failed, and every cancelled call has confirmed its stop. The pool
   * hears of each change through its hooks and routes accordingly.
   */
  get accepting(): boolean {
    return this.#process.alive && !this.#stopping && this.#unusable === undefined && this.#unconfirmedCancels === 0;
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

  /**
   * Registers a call; returns its id, or 0 if it was refused at once (already aborted, worker gone). A
   * call refused because the worker can take none never reached Python: it fails with an
   * UnavailableError naming this worker, which the pool takes as leave to run it on another.
   */
  #register(call: WireCall, settle: NonNullable<Pending['settle']>, stream?: StreamReceiver<unknown>): number {
    const refusal = this.#unusable ?? (this.#process.alive && !this.#stopping ? undefined : 'it is stopping');
    if (refusal !== undefined) {
      settle(new UnavailableError(`Python worker ${this.id} cannot take '${call.description}': ${refusal}.`, this.id));
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
    // Until it confirms the stop, its thread may be stuck (in C code): a new call would wait behind it,
    // then die with it, though it never started. The pool sends new calls elsewhere meanwhile.
    this.#unconfirmedCancels += 1;
    if (this.#unconfirmedCancels === 1) {
      this.#options.hooks?.paused(`'${pending.call.description}' was cancelled and has not stopped yet`);
    }
  }

  /** A cancelled call has stopped (its final frame came): the worker may take calls again once none is left. */
  #cancelConfirmed(pending: Pending): void {
    if (pending.graceTimer === undefined) return;
    clearTimeout(pending.graceTimer);
    pending.graceTimer = undefined;
    this.#unconfirmedCancels -= 1;
    if (this.#unconfirmedCancels === 0 && this.#unusable === undefined) this.#options.hooks?.resumed();
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
    this.#cancelConfirmed(pending);
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
    this.#fail(`it was killed (${reason})`);
  }

  /**
   * It can never take a call again: routed around from now on, and the pool
   * starts its replacement at once rather than when its exit is processed.
   * (Not for a stop the pool asked for: the pool knows about that one.)
   */
  #fail(reason: string): void {
    if (this.#unusable !== undefined) return;
    this.#unusable = reason;
    if (!this.#stopping) this.#options.hooks?.failed(reason);
  }

  /** A pipe broke or closed: no call can be sent or answered any more. Killed unless it exits by itself first. */
  #pipeBroke(what: string): void {
    this.#fail(what);
    if (this.#stopping) return;
    setTimeout(() => this.kill(what), LINGER_MS).unref();
  }

  // --- frames from the worker ------------------------------------------------------------------

  #receive(chunk: Buffer): void {
    if (this.#deaf) return;
    try {
      this.#decoder.push(chunk, (frame) => this.#onFrame(frame));
    } catch (error) {
      // Out of step with the worker, or told what cannot be: nothing it sends can be trusted any more.
      this.#violation(
        MalformedFrameError.is(error)
          ? error
          : new MalformedFrameError('body', `a frame the host could not read (${(error as Error).message})`),
      );
    }
  }

  /**
   * The worker broke the protocol: it is killed and replaced at once, whatever
   * the ping settings, and its calls fail with a ProtocolError saying what it did.
   */
  #violation(error: MalformedFrameError): void {
    this.#deaf = true;
    const what = error.message;
    this.#options.logger.error(`worker ${this.id} broke the stdio protocol: ${what}`, {
      workerId: this.id,
      pid: this.pid,
      fault: error.fault,
    });
    this.#ready?.reject(`it broke the stdio protocol: ${what}`);
    this.kill(`it broke the stdio protocol (${what})`);
    this.#failPending(
      (call) =>
        new ProtocolError(
          `Python worker ${this.id}${this.pid === undefined ? '' : ` (pid ${this.pid})`} broke the stdio protocol ` +
            `while '${call.description}' was in flight: ${what}. It was killed and is being replaced; ` +
            'the call may have partly run.',
          { cause: error },
        ),
    );
  }

  /**
   * Checks a frame's header against what this connection knows, before its
   * body is waited for: a worker only answers calls the host sent, in the
   * serializer they agreed on.
   */
  #checkHeader(header: FrameHeader): void {
    const fault = this.#headerFault(header);
    if (fault !== undefined) throw new MalformedFrameError(fault[0], fault[1]);
  }

  #headerFault({ kind, id, serializer }: FrameHeader): readonly [FrameFault, string] | undefined {
    switch (kind) {
      case Kind.RESULT:
      case Kind.ITEM:
      case Kind.END:
        return this.#pending.has(id) ? this.#serializerFault(kind, serializer) : unknownCall(kind, id);
      case Kind.ERROR:
        return id === 0 || this.#pending.has(id) ? undefined : unknownCall(kind, id);
      case Kind.CALLBACK:
        // Its aux may name a call that has ended: that is answered as expired, not refused.
        return this.#serializerFault(kind, serializer);
      case Kind.PING:
      case Kind.PONG:
        return undefined;
      case Kind.READY:
        return this.#ready === undefined ? ['unexpected-kind', 'a second READY, after the handshake'] : undefined;
      default:
        return ['unexpected-kind', `${kindName(kind)} frames go from the host to a worker, never back`];
    }
  }

  /** Values travel in the serializer agreed in HELLO (END has none: the decoder checked that). */
  #serializerFault(kind: number, serializer: number): readonly [FrameFault, string] | undefined {
    const agreed = this.#options.serializer.wireId;
    if (kind === Kind.END || serializer === agreed) return undefined;
    return [
      'wrong-serializer',
      `${kindName(kind)} in serializer ${serializer}, but this worker was started with ${agreed}`,
    ];
  }

  #onFrame(frame: Frame): void {
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
    }
  }

  #onError(frame: Frame): void {
    const payload = errorPayload(frame.body);
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
    // First of all, before its calls fail and their slots free up: no call may be routed to it now.
    this.#fail(describeExit(exit));
    await this.#process.stderrSettled();
    const info = this.#exitInfo(exit);
    this.#failPending((call) => new WorkerCrashedError(call.description, info));
    for (const [id] of this.#pings) this.#pings.delete(id);
    return info;
  }

  /** Fails every call in flight with the error `why` gives it, and reads no more frames. */
  #failPending(why: (call: WireCall) => Error): void {
    this.#deaf = true;
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      clearTimeout(pending.graceTimer);
      const error = why(pending.call);
      pending.stream?.fail(error);
      this.#answer(pending, error);
    }
    this.#unconfirmedCancels = 0;
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

/** A RESULT-like frame for a call the host never sent, or has had the final frame of. */
function unknownCall(kind: number, id: number): readonly [FrameFault, string] {
  return ['unknown-call', `${kindName(kind)} for call ${id}, which the host does not know`];
}

/** An ERROR body: a JSON object (PythonErrorPayload); anything else breaks the protocol. */
function errorPayload(body: Uint8Array): PythonErrorPayload {
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (error) {
    throw new MalformedFrameError('body', `an ERROR whose body is not JSON (${(error as Error).message})`);
  }
  const fields = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
  if (!['type', 'module', 'message'].every((field) => typeof fields[field] === 'string')) {
    throw new MalformedFrameError('body', 'an ERROR whose body is not an error payload (type, module, message)');
  }
  return payload as PythonErrorPayload;
}

/** How a process ended, in a few words, for the reason it can take no calls. */
function describeExit(exit: ProcessExit): string {
  if (exit.spawnError) return `it could not be spawned (${exit.spawnError.message})`;
  if (exit.signal) return `it was killed by ${exit.signal}`;
  return `it exited with code ${exit.exitCode}`;
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
