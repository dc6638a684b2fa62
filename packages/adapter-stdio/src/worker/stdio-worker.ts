// One Python worker process and its frame channel (fds 3, 4 and 5): a
// Channel of the stdio Transport. The handshake, calls correlated by request
// id, their frames reported to the invoker as CallEvents, credit, callbacks'
// answers, pings, cancellation with a grace period, and failing every call in
// flight at once when the process dies or breaks the protocol. It tells its
// pool when it can take no new calls, for now (a cancelled call has not
// stopped) or for good.

import {
  type CallbackAnswer,
  type CallControl,
  type CallEvents,
  type Channel,
  errorFromPayload,
  type OutboundCall,
  ProtocolError,
  type PythonErrorPayload,
  refuseExpired,
  UnavailableError,
  WorkerCrashedError,
  type WorkerExit,
} from '@snakebridge/core';
import {
  describeEarlyExit,
  forwardedPythonLevel,
  type ProcessExit,
  type PythonLogRecord,
  PythonProcess,
  type PythonWorkerOptions,
  parseLogRecord,
  type SupervisedWorker,
  sandboxOptions,
  versionGuard,
  type WorkerHealth,
} from '@snakebridge/process-pool';
import { type CallMeta, callMetaSize, writeCallMeta } from '../protocol/call.js';
import {
  encodeFrame,
  FLAG_PIPELINED,
  FLAG_SEGMENTS,
  FLAG_STREAM,
  type Frame,
  type FrameFault,
  type FrameHeader,
  FrameReader,
  HEADER_SIZE,
  Kind,
  kindName,
  MalformedFrameError,
  writeHeader,
} from '../protocol/frames.js';
import { encodeSegmentTable, splitSegmentTable } from '../protocol/segments.js';
import { type FileSegments, readSegments } from '../shared-memory/file-segments.js';

/**
 * The bridge protocol version this host speaks, sent in HELLO's aux; the worker refuses another
 * (docs/protocol.md). The frame format has a version of its own in every header (FRAME_VERSION).
 * 2: pipelining (CALL's PIPELINED flag and promised handle ids).
 */
export const PROTOCOL_VERSION = 2;
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
export interface StdioWorkerOptions extends PythonWorkerOptions {
  /** The transport's shared-memory lane: the worker is told to send large results through it too. */
  readonly sharedMemory?: FileSegments | undefined;
}

/** A call sent to the worker, until its final frame comes (or the worker dies); the invoker's hold on it. */
class Pending implements CallControl {
  /** Kills the worker if a cancelled call does not stop in time. */
  graceTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: number,
    readonly call: OutboundCall,
    readonly events: CallEvents,
    readonly worker: PendingHost,
  ) {}

  credit(count: number): void {
    this.worker.credit(this.id, count);
  }

  cancel(): void {
    this.worker.cancel(this.id);
  }

  answerCallback(requestId: number, answer: CallbackAnswer): void {
    this.worker.answerCallback(requestId, answer);
  }
}

/** What a Pending call asks of its worker. */
interface PendingHost {
  credit(id: number, count: number): void;
  cancel(id: number): void;
  answerCallback(requestId: number, answer: CallbackAnswer): void;
}

/** The control of a call refused before it was sent: there is nothing to stop or answer. */
const NO_CONTROL: CallControl = { credit: () => {}, cancel: () => {}, answerCallback: () => {} };

/** A Python worker speaking the stdio protocol. */
export class StdioWorker implements SupervisedWorker, Channel {
  readonly id: string;
  readonly exited: Promise<WorkerExit>;
  readonly #process: PythonProcess;
  readonly #options: StdioWorkerOptions;
  readonly #reader: FrameReader;
  readonly #pending = new Map<number, Pending>();
  readonly #pings = new Map<number, (health: WorkerHealth) => void>();
  #nextCallId = 0;
  /** What its calls' controls do, bound once. */
  readonly #host: PendingHost = {
    // Credit goes on both channels: a sync generator takes it from the data
    // channel, an async one from the control channel (docs/protocol.md).
    credit: (id, count) => this.#writeBoth(encodeFrame({ kind: Kind.CREDIT, id, aux: count })),
    cancel: (id) => this.#cancel(id),
    answerCallback: (requestId, answer) => this.#answerCallback(requestId, answer),
  };
  /** Sessions by the host's name for them, and the number the worker knows each by. */
  readonly #sessionIds = new Map<string, number>();
  #nextSessionId = 0;
  #nextPingId = 0;
  #corked = false;
  #ready: { resolve: () => void; reject: (failure: string) => void } | undefined;
  #stopping = false;
  /** Why it can take no calls any more, once it cannot: it broke the protocol, a pipe broke, it died. */
  #unusable: string | undefined;
  /** Nothing it sends is read any more: it broke the protocol, or its calls have been failed at its exit. */
  #deaf = false;
  /** Cancelled calls whose stop it has not confirmed: until it has, it takes no new calls. */
  #unconfirmedCancels = 0;

  /** Starts a worker (spawned, or forked by the pool's fork server) and resolves once it has answered the handshake. */
  static async start(options: StdioWorkerOptions): Promise<StdioWorker> {
    const processOptions = {
      executable: options.python.executable,
      args: ['-m', 'snakebridge'],
      settings: options.config.python,
      workerId: options.workerId,
      logger: options.logger,
      extraPipes: 3,
    };
    const python = await (options.launcher?.launch(processOptions) ?? new PythonProcess(processOptions));
    const worker = new StdioWorker(options, python);
    options.hooks?.spawned(worker.pid);
    await worker.#handshake();
    return worker;
  }

  private constructor(options: StdioWorkerOptions, python: PythonProcess) {
    this.id = options.workerId;
    this.#options = options;
    this.#reader = new FrameReader(options.config.protocol.maxFrameBytes, (header) => this.#checkHeader(header));
    this.#process = python;
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

  /** Handles and sessions made here are this worker's. */
  get owner(): string {
    return this.id;
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

  /** Sends a call; its result, items, callbacks and errors arrive as `events`. */
  send(call: OutboundCall, events: CallEvents): CallControl {
    const refusal = this.#unusable ?? (this.#process.alive && !this.#stopping ? undefined : 'it is stopping');
    if (refusal !== undefined) {
      // It never reached Python: the pool may run it on another worker.
      events.fail(
        new UnavailableError(`Python worker ${this.id} cannot take '${call.description}': ${refusal}.`, this.id),
      );
      return NO_CONTROL;
    }
    const pending = new Pending(this.#nextId(), call, events, this.#host);
    this.#pending.set(pending.id, pending);
    this.#sendCall(pending.id, call);
    return pending;
  }

  /** Frees handles (and, with a session, everything the session holds). */
  release(handleIds: readonly number[], session?: string): void {
    if (!this.#process.alive) return;
    const wireSession = session === undefined ? undefined : this.#sessionIds.get(session);
    if (session !== undefined) this.#sessionIds.delete(session);
    const request = wireSession === undefined ? { handles: handleIds } : { handles: handleIds, session: wireSession };
    if (handleIds.length === 0 && wireSession === undefined) return;
    this.#write(encodeFrame({ kind: Kind.RELEASE, serializer: JSON_WIRE_ID }, Buffer.from(JSON.stringify(request))));
  }

  #nextId(): number {
    do {
      this.#nextCallId = this.#nextCallId >= 0xffffffff ? 1 : this.#nextCallId + 1;
    } while (this.#pending.has(this.#nextCallId));
    return this.#nextCallId;
  }

  /** The number the worker knows a session by (the call meta has 32 bits for it), given on first use. */
  #wireSession(session: string | undefined): number {
    if (session === undefined) return 0;
    let id = this.#sessionIds.get(session);
    if (id === undefined) {
      this.#nextSessionId = (this.#nextSessionId % 0xffffffff) + 1;
      id = this.#nextSessionId;
      this.#sessionIds.set(session, id);
    }
    return id;
  }

  #sendCall(id: number, call: OutboundCall): void {
    const meta: CallMeta = {
      op: call.op,
      target: call.target,
      handle: call.handle,
      session: this.#wireSession(call.session),
      window: call.window,
      timeoutMs: call.timeoutMs,
      trace: call.trace,
    };
    const metaSize = callMetaSize(meta);
    const table = call.segments === undefined ? undefined : encodeSegmentTable(call.segments);
    const bodyLength = metaSize + call.payload.byteLength + (table?.byteLength ?? 0);
    const limit = this.#options.config.protocol.maxFrameBytes;
    if (bodyLength > limit) {
      this.#settle(
        id,
        new ProtocolError(
          `The call to '${call.description}' is ${bodyLength} bytes, more than protocol.maxFrameBytes ` +
            `(${limit}). Raise the limit, or send the data in parts.`,
        ),
      );
      return;
    }
    const flags =
      (call.window > 0 ? FLAG_STREAM : 0) |
      (call.pipelined ? FLAG_PIPELINED : 0) |
      (table === undefined ? 0 : FLAG_SEGMENTS);
    const header = { kind: Kind.CALL, flags, serializer: this.#options.serializer.wireId, id, aux: call.promise };
    // A small payload is copied in: one buffer, one write. A large one is written from its own buffer, never copied.
    const inline = call.payload.byteLength < COPY_BELOW;
    const frame = Buffer.allocUnsafe(HEADER_SIZE + metaSize + (inline ? call.payload.byteLength : 0));
    writeHeader(frame, 0, header, bodyLength);
    writeCallMeta(frame, HEADER_SIZE, meta);
    if (inline) {
      frame.set(call.payload, HEADER_SIZE + metaSize);
      this.#write(frame);
    } else {
      this.#write(frame);
      this.#write(call.payload);
    }
    if (table !== undefined) this.#write(table);
  }

  /** The invoker gave up on a call (deadline, abort, a stream left early): stop it in Python, within a grace period. */
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

  /** The worker's final frame for a call arrived: forget it, and tell the invoker. */
  #settle(id: number, error: Error | undefined, body?: Uint8Array, segments?: readonly Uint8Array[]): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    this.#cancelConfirmed(pending);
    if (error !== undefined) pending.events.fail(error);
    else if (body !== undefined) pending.events.result(body, segments);
    else pending.events.end();
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
    if (this.#process.kill(reason)) this.#fail(`it was killed (${reason})`);
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
      this.#reader.push(chunk, (frame) => this.#onFrame(frame));
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
      workerPid: this.pid,
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
      case Kind.LOG:
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
        if ((frame.flags & FLAG_SEGMENTS) === 0) this.#settle(frame.id, undefined, frame.body);
        else this.#withSegments(frame, (body, segments) => this.#settle(frame.id, undefined, body, segments));
        return;
      case Kind.ERROR:
        this.#onError(frame);
        return;
      case Kind.ITEM:
        if ((frame.flags & FLAG_SEGMENTS) === 0) this.#pending.get(frame.id)?.events.item(frame.body);
        else this.#withSegments(frame, (body, segments) => this.#pending.get(frame.id)?.events.item(body, segments));
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
      case Kind.LOG:
        this.#process.logRecord(logRecord(frame.body));
        return;
    }
  }

  /**
   * A RESULT or ITEM whose large arrays came through shared memory: their
   * segments are read at once, and the worker is told it may free them, read
   * or not. A segment that cannot be read fails the call (not the worker: the
   * frame itself was well formed). A table that does not fit its body is a
   * malformed frame, like any other.
   */
  #withSegments(frame: Frame, deliver: (body: Uint8Array, segments: readonly Uint8Array[]) => void): void {
    const { body, entries } = splitSegmentTable(frame.body);
    let segments: Uint8Array[] | undefined;
    let failure: Error | undefined;
    try {
      segments = readSegments(this.pid ?? 0, entries, this.#options.config.protocol.maxFrameBytes);
    } catch (error) {
      failure = error as Error;
    }
    const release = { handles: [], segments: entries.map((entry) => entry.ref) };
    this.#write(encodeFrame({ kind: Kind.RELEASE, serializer: JSON_WIRE_ID }, Buffer.from(JSON.stringify(release))));
    if (segments !== undefined) deliver(body, segments);
    else if (frame.kind === Kind.RESULT) this.#settle(frame.id, failure);
    else {
      // A stream goes on in Python: its consumer hears of the failure now, and Python is told to stop.
      this.#pending.get(frame.id)?.events.fail(failure as Error);
      this.#cancel(frame.id);
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
   * Python called a function passed in a call's arguments: the invoker runs
   * it and answers on the control channel, which the worker reads while its
   * main thread waits for the answer (docs/protocol.md, "Callbacks").
   */
  #onCallback(frame: Frame): void {
    const request = { id: frame.id, payload: frame.body };
    const pending = this.#pending.get(frame.aux);
    // Its call has had its final frame: nobody will run it.
    if (pending === undefined)
      refuseExpired(
        request,
        { answerCallback: (id, answer) => this.#answerCallback(id, answer) },
        this.#options.serializer,
        this,
      );
    else pending.events.callback(request);
  }

  /** Sends a callback's answer on the control channel. Errors are always JSON; results are in the call's serializer. */
  #answerCallback(requestId: number, answer: CallbackAnswer): void {
    const frame =
      'result' in answer
        ? encodeFrame(
            { kind: Kind.CALLBACK_RESULT, id: requestId, serializer: this.#options.serializer.wireId },
            answer.result,
          )
        : encodeFrame({ kind: Kind.CALLBACK_ERROR, id: requestId, serializer: JSON_WIRE_ID }, answer.error);
    this.#write(frame, FD_CONTROL);
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
      // LOG frames only when asked for: a worker never sends a kind its host does not know.
      logRecords: forwardedPythonLevel(config.python.output.logging) ?? null,
      sharedMemory: this.#options.sharedMemory
        ? { thresholdBytes: this.#options.sharedMemory.thresholdBytes, hostPid: process.pid }
        : null,
      ...versionGuard(config.bindings),
    };
    const body = Buffer.from(JSON.stringify(hello));
    this.#write(encodeFrame({ kind: Kind.HELLO, aux: PROTOCOL_VERSION, serializer: JSON_WIRE_ID }, body));
    const failure = await this.#readyOrFailure(config.timeouts.startMs);
    if (failure === undefined) return;
    this.kill('it failed to start'); // the pool hears of it (failed), as for any kill
    throw await this.#process.startFailed(failure);
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
  #failPending(why: (call: OutboundCall) => Error): void {
    this.#deaf = true;
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      clearTimeout(pending.graceTimer);
      pending.events.fail(why(pending.call));
    }
    this.#unconfirmedCancels = 0;
  }

  #exitInfo(exit?: ProcessExit): WorkerExit {
    return this.#process.exitInfo(exit);
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

/** A LOG body: a log record (docs/protocol.md, "Log records"); anything else breaks the protocol. */
function logRecord(body: Uint8Array): PythonLogRecord {
  try {
    return parseLogRecord(body);
  } catch (error) {
    throw new MalformedFrameError('body', `a LOG whose body is not a log record (${(error as Error).message})`);
  }
}

/** How a process ended, in a few words, for the reason it can take no calls. */
function describeExit(exit: ProcessExit): string {
  if (exit.spawnError) return `it could not be spawned (${exit.spawnError.message})`;
  if (exit.signal) return `it was killed by ${exit.signal}`;
  return `it exited with code ${exit.exitCode}`;
}
