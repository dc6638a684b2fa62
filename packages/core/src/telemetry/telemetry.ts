// Traces and metrics of calls into Python, through @opentelemetry/api: a
// no-op until the application registers an OpenTelemetry SDK, so a library
// can always call it. A span per call and per stream, named `python <target>`,
// with what a person debugging needs, whose trace context goes to Python with
// the call (trace-context.ts); metrics by the RPC semantic conventions where
// they exist (rpc.client.*), under `snakebridge.*` where they do not.

import {
  type Attributes,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type UpDownCounter,
} from '@opentelemetry/api';
import { type TraceContext, traceContextOf } from './trace-context.js';

/** The instrumentation scope of every span and metric SnakeBridge makes. */
export const TELEMETRY_SCOPE = '@snakebridge/core';

/** What every span and data point of one invoker carries. */
export interface TelemetryIdentity {
  /** `stdio`, `grpc`, `mock`. */
  readonly invoker: string;
  /** The serializer id: `msgpack`, `json`, … */
  readonly serializer: string;
}

/** The instruments, made from the meter provider registered at the time (and again if another is registered). */
interface Instruments {
  readonly provider: MeterProvider;
  readonly duration: Histogram;
  readonly requestSize: Histogram;
  readonly responseSize: Histogram;
  readonly inFlight: UpDownCounter;
  readonly waitTime: Histogram;
}

/** One call or stream being traced and measured; `end()` it once, with its outcome. */
export interface CallRecord {
  /**
   * The trace context to send to Python with the call, so that its Python span
   * is a child of this one; undefined when there is no span to continue (no SDK
   * registered), and then nothing is sent.
   */
  readonly trace: TraceContext | undefined;
  /**
   * Told when the call is sent again on another worker (its last one refused it
   * or died under it), with the error that ended the last try: an event on the
   * span. Undefined when nothing is recorded, so that a pool need not call it.
   */
  readonly retried: ((error: Error) => void) | undefined;
  /** The call went to a channel (again, for a retry): its worker, and how long it waited for one. */
  sent(workerId: string, pid: number | undefined): void;
  /** An encoded result, or one stream item, came back. */
  received(bytes: number): void;
  /** Ends the span and records the duration, with the outcome (an error: its code and the exception). */
  end(error?: unknown): void;
}

/** What a call records when no OpenTelemetry SDK is registered: nothing, at no cost. */
const SILENT: CallRecord = {
  trace: undefined,
  retried: undefined,
  sent: () => {},
  received: () => {},
  end: () => {},
};

/** A call recorded by a registered SDK. */
class RecordedCall implements CallRecord {
  readonly trace: TraceContext | undefined;
  readonly #telemetry: CallTelemetry;
  readonly #span: Span;
  readonly #kind: 'call' | 'stream';
  readonly #started = performance.now();
  readonly #metricAttributes: Attributes;
  #sendings = 0;
  #responses = 0;
  #responseBytes = 0;
  #ended = false;

  constructor(telemetry: CallTelemetry, span: Span, kind: 'call' | 'stream', metricAttributes: Attributes) {
    this.#telemetry = telemetry;
    this.#span = span;
    this.#kind = kind;
    this.#metricAttributes = metricAttributes;
    this.trace = traceContextOf(span.spanContext());
  }

  readonly retried = (error: Error): void => {
    if (!this.#span.isRecording()) return;
    const code = errorCode(error);
    this.#span.addEvent('snakebridge.retry', {
      'snakebridge.retry.attempt': this.#sendings,
      ...(code === undefined ? {} : { 'error.type': code }),
      'exception.message': error.message,
    });
  };

  sent(workerId: string, pid: number | undefined): void {
    this.#sendings += 1;
    if (this.#sendings === 1) {
      const waitedMs = performance.now() - this.#started;
      this.#telemetry.instruments().waitTime.record(waitedMs, this.#metricAttributes);
      if (this.#span.isRecording()) this.#span.setAttribute('snakebridge.queue.ms', waitedMs);
    }
    if (!this.#span.isRecording()) return;
    this.#span.setAttributes({
      'snakebridge.worker.id': workerId,
      ...(pid === undefined ? {} : { 'snakebridge.worker.pid': pid }),
      'snakebridge.retries': this.#sendings - 1,
    });
  }

  received(bytes: number): void {
    this.#responses += 1;
    this.#responseBytes += bytes;
    // Per message, as the RPC conventions ask of streams: a stream's items are each one.
    this.#telemetry.instruments().responseSize.record(bytes, this.#metricAttributes);
  }

  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    const code = error === undefined ? undefined : errorCode(error);
    const outcome = error === undefined ? 'ok' : 'error';
    const instruments = this.#telemetry.instruments();
    instruments.inFlight.add(-1, this.#metricAttributes);
    instruments.duration.record(performance.now() - this.#started, {
      ...this.#metricAttributes,
      'snakebridge.outcome': outcome,
      ...(code === undefined ? {} : { 'error.type': code }),
    });
    if (error !== undefined) {
      if (error instanceof Error) this.#span.recordException(error);
      this.#span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : '' });
      if (code !== undefined) this.#span.setAttribute('error.type', code);
    }
    this.#span.setAttribute('snakebridge.outcome', outcome);
    if (this.#responses > 0) this.#span.setAttribute('snakebridge.response.bytes', this.#responseBytes);
    if (this.#kind === 'stream') this.#span.setAttribute('snakebridge.stream.items', this.#responses);
    this.#span.end();
  }
}

/** Starts the records of one invoker's calls. */
export class CallTelemetry {
  readonly #identity: TelemetryIdentity;
  readonly #tracer = trace.getTracer(TELEMETRY_SCOPE);
  #instruments: Instruments | undefined;

  constructor(identity: TelemetryIdentity) {
    this.#identity = identity;
  }

  /**
   * Starts the span (a child of the caller's active span) and counts the call
   * in flight. `kind` is `call` or `stream`; `requestBytes` the encoded arguments.
   */
  start(target: string, kind: 'call' | 'stream', requestBytes: number, session: string | undefined): CallRecord {
    // With no SDK registered, the API would make a non-recording span and no-op instruments: skip even that.
    if (!this.#registered()) return SILENT;
    const metricAttributes: Attributes = {
      'rpc.system': 'snakebridge',
      'rpc.method': target,
      'snakebridge.invoker': this.#identity.invoker,
    };
    const span = this.#tracer.startSpan(`python ${target}`, { kind: SpanKind.CLIENT });
    if (span.isRecording()) {
      span.setAttributes({
        ...metricAttributes,
        'snakebridge.kind': kind,
        'snakebridge.serializer': this.#identity.serializer,
        'snakebridge.request.bytes': requestBytes,
        ...(session === undefined ? {} : { 'snakebridge.session': session }),
      });
    }
    const instruments = this.instruments();
    instruments.inFlight.add(1, metricAttributes);
    instruments.requestSize.record(requestBytes, metricAttributes);
    return new RecordedCall(this, span, kind, metricAttributes);
  }

  /** Whether an SDK is registered for traces or metrics (checked per call: one may be registered at any time). */
  #registered(): boolean {
    const tracers = trace.getTracerProvider() as { getDelegate?: () => unknown };
    const delegate = tracers.getDelegate?.() ?? tracers;
    return !isNoop(delegate) || !isNoop(metrics.getMeterProvider());
  }

  /** The instruments of the meter provider registered now (the API's provider is not a proxy: look again each time). */
  instruments(): Instruments {
    const provider = metrics.getMeterProvider();
    if (this.#instruments?.provider === provider) return this.#instruments;
    this.#instruments = makeInstruments(provider, provider.getMeter(TELEMETRY_SCOPE));
    return this.#instruments;
  }
}

function makeInstruments(provider: MeterProvider, meter: Meter): Instruments {
  return {
    provider,
    duration: meter.createHistogram('rpc.client.duration', {
      unit: 'ms',
      description: 'How long calls into Python took, from the call to its answer (waiting for a worker included).',
    }),
    requestSize: meter.createHistogram('rpc.client.request.size', {
      unit: 'By',
      description: 'Encoded arguments of calls into Python.',
    }),
    responseSize: meter.createHistogram('rpc.client.response.size', {
      unit: 'By',
      description: 'Encoded results of calls into Python, and each item of streams.',
    }),
    inFlight: meter.createUpDownCounter('snakebridge.calls.in_flight', {
      unit: '{call}',
      description: 'Calls and streams into Python started and not yet over.',
    }),
    waitTime: meter.createHistogram('snakebridge.pool.wait_time', {
      unit: 'ms',
      description: 'How long calls and streams waited for a free worker before they were sent to one.',
    }),
  };
}

/** The API's own no-op providers, which it returns while no SDK is registered. */
export function isNoop(provider: unknown): boolean {
  const name = (provider as { constructor?: { name?: string } } | null)?.constructor?.name;
  return name === 'NoopTracerProvider' || name === 'NoopMeterProvider';
}

/** A SnakeBridgeError's stable code, or the error's name. */
function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : undefined;
}
