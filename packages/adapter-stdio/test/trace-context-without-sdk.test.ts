// What a call carries when no OpenTelemetry SDK traces it: no trace context at
// all (so its CALL meta is the bytes it was before trace contexts existed,
// call-meta-fuzz.test.ts), and Python runs it outside any span. Checked on the
// calls the invoker hands to real stdio workers, against the same invoker once
// an SDK is registered, which then does send one.

import { metrics, trace } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  type CallEvents,
  type Channels,
  JsonSerializer,
  type OutboundCall,
  silentLogger,
  type Transport,
  TransportInvoker,
} from '@snakebridge/core';
import { afterEach, describe, expect, it } from 'vitest';
import { StdioTransport, type StdioWorker } from '../src/index.js';
import { testConfig } from './helpers.js';
import { call, TRACING } from './tracing-kit.js';

/** The real stdio transport, keeping every call its workers are sent. */
class RecordingTransport implements Transport<StdioWorker> {
  readonly kind = 'stdio';
  readonly sent: OutboundCall[] = [];
  readonly channels: Channels<StdioWorker>;

  constructor(inner: StdioTransport) {
    const pool = inner.channels;
    const wrap = (worker: StdioWorker): StdioWorker => this.#recording(worker);
    this.channels = {
      start: () => pool.start(),
      acquire: async (options) => {
        const lease = await pool.acquire(options);
        return { worker: wrap(lease.worker), release: () => lease.release() };
      },
      run: (task, options) => pool.run((worker) => task(wrap(worker)), options),
      worker: (id) => {
        const worker = pool.worker(id);
        return worker === undefined ? undefined : wrap(worker);
      },
      pinSession: async () => wrap(await pool.pinSession()),
      unpinSession: (id) => pool.unpinSession(id),
      close: () => pool.close(),
    };
  }

  /** The worker, but for `send`, which records the call first. */
  #recording(worker: StdioWorker): StdioWorker {
    const sent = this.sent;
    return new Proxy(worker, {
      get(target, property) {
        if (property === 'send') {
          return (outbound: OutboundCall, events: CallEvents) => {
            sent.push(outbound);
            return target.send(outbound, events);
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }
}

let invoker: TransportInvoker<StdioWorker> | undefined;
afterEach(async () => {
  await invoker?.close();
  invoker = undefined;
  trace.disable();
  metrics.disable();
});

function recordingInvoker(): { invoker: TransportInvoker<StdioWorker>; sent: OutboundCall[] } {
  const serializer = new JsonSerializer();
  const config = testConfig();
  const transport = new RecordingTransport(new StdioTransport({ config, serializer, logger: silentLogger }));
  invoker = new TransportInvoker({ transport, config, serializer });
  return { invoker, sent: transport.sent };
}

describe('trace context without an SDK', () => {
  it('sends no trace context with a call or a stream when no SDK is registered, and Python runs them in no span', async () => {
    const { invoker: calls, sent } = recordingInvoker();
    expect(await calls.call(call(`${TRACING}.current_span`))).toBeNull();
    for await (const _ of calls.stream(call('snakebridge.testing.contract.count', [2]))) {
      // drained
    }
    expect(sent).toHaveLength(2);
    for (const outbound of sent) expect(outbound.trace).toBeUndefined();
  });

  it('sends none when only a meter provider is registered: there is no span to continue', async () => {
    metrics.setGlobalMeterProvider(new MeterProvider());
    const { invoker: calls, sent } = recordingInvoker();
    expect(await calls.call(call(`${TRACING}.current_span`))).toBeNull();
    expect(sent[0]?.trace).toBeUndefined();
  });

  it('sends the call span’s traceparent once a tracer provider is registered, and Python runs the call in it', async () => {
    const { invoker: calls, sent } = recordingInvoker();
    await calls.call(call(`${TRACING}.install`));
    const spans = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
    const current = await calls.call<{ trace_id: string }>(call(`${TRACING}.current_span`));
    const span = spans.getFinishedSpans().find((s) => s.name === `python ${TRACING}.current_span`);
    const { traceId, spanId } = span?.spanContext() ?? { traceId: '?', spanId: '?' };
    expect(sent.at(-1)?.trace).toEqual({ traceparent: `00-${traceId}-${spanId}-01` });
    expect(current.trace_id).toBe(traceId);
  });
});
