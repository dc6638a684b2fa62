// Traces and metrics of calls, read with the OpenTelemetry SDK's in-memory
// exporter and a metric reader, over real Python workers: a span per call
// and per stream, a child of the caller's span, with the error recorded; the
// call and pool metrics after a run with a crash and a recycle; the pool's
// gauges (queue, workers, circuit, handles and memory per worker).

import { context, metrics, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { silentLogger, WorkerCrashedError } from '@snakebridge/core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { StdioInvoker } from '../src/index.js';
import { fn, nextPoolEvent, rejection, testConfig } from './helpers.js';

const CONTRACT = 'snakebridge.testing.contract';
const spans = new InMemorySpanExporter();
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
});
afterAll(() => {
  trace.disable();
  metrics.disable();
  context.disable();
});

let invoker: StdioInvoker | undefined;
afterEach(async () => {
  await invoker?.close();
  spans.reset();
});

/** The data points of a metric, by its name, after a collection. */
async function points(name: string): Promise<{ attributes: Record<string, unknown>; value: unknown }[]> {
  await reader.forceFlush();
  const latest = metricExporter.getMetrics().at(-1);
  const metric = latest?.scopeMetrics.flatMap((scope) => scope.metrics).find((m) => m.descriptor.name === name);
  return (metric?.dataPoints ?? []).map((point) => ({ attributes: point.attributes, value: point.value }));
}

/** The sum of a counter's (or gauge's) data points whose attributes include `match`. */
async function total(name: string, match: Record<string, unknown> = {}): Promise<number> {
  return (await points(name))
    .filter((p) => Object.entries(match).every(([key, value]) => p.attributes[key] === value))
    .reduce((sum, p) => sum + (p.value as number), 0);
}

/** How many values a histogram recorded. */
async function recorded(name: string): Promise<number> {
  return (await points(name)).reduce((sum, p) => sum + (p.value as { count: number }).count, 0);
}

describe('telemetry', () => {
  it('makes a client span per call, a child of the caller’s span, with the worker and the sizes', async () => {
    invoker = new StdioInvoker({ config: testConfig(), logger: silentLogger });
    const tracer = trace.getTracer('a user');
    await tracer.startActiveSpan('handle request', async (parent: Span) => {
      await invoker?.call(fn(`${CONTRACT}.add`, [2, 3]));
      parent.end();
    });
    const [call, parent] = spans.getFinishedSpans();
    expect(call?.name).toBe(`python ${CONTRACT}.add`);
    expect(call?.parentSpanContext?.spanId).toBe(parent?.spanContext().spanId);
    expect(call?.spanContext().traceId).toBe(parent?.spanContext().traceId);
    expect(call?.attributes).toMatchObject({
      'rpc.system': 'snakebridge',
      'rpc.method': `${CONTRACT}.add`,
      'snakebridge.invoker': 'stdio',
      'snakebridge.serializer': 'json',
      'snakebridge.worker.id': 'w1',
      'snakebridge.retries': 0,
      'snakebridge.outcome': 'ok',
    });
    expect(call?.attributes['snakebridge.request.bytes']).toBeGreaterThan(0);
    expect(call?.attributes['snakebridge.response.bytes']).toBeGreaterThan(0);
    expect(typeof call?.attributes['snakebridge.worker.pid']).toBe('number');
  });

  it('records a Python exception on the span, with its code', async () => {
    invoker = new StdioInvoker({ config: testConfig(), logger: silentLogger });
    await rejection(invoker.call(fn(`${CONTRACT}.fail`, ['KeyError', 'nope'])));
    const [span] = spans.getFinishedSpans();
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes['error.type']).toBe('PYTHON_KEY_ERROR');
    expect(span?.events.map((event) => event.name)).toContain('exception');
  });

  it('makes one span for a whole stream', async () => {
    invoker = new StdioInvoker({ config: testConfig(), logger: silentLogger });
    const items: number[] = [];
    for await (const item of invoker.stream<number>(fn(`${CONTRACT}.count`, [3]))) items.push(item);
    expect(items).toEqual([0, 1, 2]);
    const [span] = spans.getFinishedSpans();
    expect(span?.attributes).toMatchObject({ 'snakebridge.kind': 'stream', 'snakebridge.outcome': 'ok' });
  });

  it('counts calls by outcome, and the pool’s crashes, restarts and recycles, in metrics', async () => {
    invoker = new StdioInvoker({
      config: testConfig({ pool: { maxCallsPerWorker: 3 } }),
      logger: silentLogger,
    });
    const calls = invoker;
    // The reader is cumulative over this file's tests: starts and waits of earlier ones are counted already.
    const startsBefore = await total('snakebridge.worker.starts');
    const startupsBefore = await recorded('snakebridge.worker.startup.duration');
    const waitsBefore = await recorded('snakebridge.pool.wait_time');
    for (let i = 0; i < 3; i++) await calls.call(fn(`${CONTRACT}.add`, [i, 1]));
    await rejection(calls.call(fn(`${CONTRACT}.fail`)));
    const replaced = nextPoolEvent(
      calls,
      (event) => event.type === 'ready' && event.workerId !== 'w1' && event.workerId !== 'w2',
    );
    const crash = rejection(calls.call(fn('os._exit', [1])));
    expect(WorkerCrashedError.is(await crash)).toBe(true);
    await replaced;

    const durations = await points('rpc.client.duration');
    const countOf = (outcome: string) =>
      durations
        .filter((p) => p.attributes['snakebridge.outcome'] === outcome)
        .reduce((sum, p) => sum + ((p.value as { count: number }).count ?? 0), 0);
    expect(countOf('ok')).toBeGreaterThanOrEqual(3);
    expect(countOf('error')).toBeGreaterThanOrEqual(2);
    expect(durations.some((p) => p.attributes['error.type'] === 'WORKER_CRASHED')).toBe(true);

    const events = await points('snakebridge.pool.events');
    const eventCount = (type: string, extra: Record<string, string> = {}) =>
      events
        .filter(
          (p) =>
            p.attributes['snakebridge.pool.event'] === type &&
            Object.entries(extra).every(([key, value]) => p.attributes[key] === value),
        )
        .reduce((sum, p) => sum + (p.value as number), 0);
    expect(eventCount('recycle', { 'snakebridge.reason': 'max-calls' })).toBe(1);
    expect(eventCount('exit', { 'snakebridge.exit': 'crash' })).toBe(1);
    expect(eventCount('restart')).toBeGreaterThanOrEqual(1);
    const inFlight = await points('snakebridge.calls.in_flight');
    expect(inFlight.reduce((sum, p) => sum + (p.value as number), 0)).toBe(0);

    // The same run, in the instruments named for what they count.
    expect(await total('snakebridge.worker.recycles', { 'snakebridge.reason': 'max-calls' })).toBe(1);
    expect(await total('snakebridge.worker.crashes')).toBe(1);
    expect(await total('snakebridge.worker.restarts')).toBeGreaterThanOrEqual(1);
    // w1, its replacement after the recycle, and the replacement of the one that crashed.
    expect((await total('snakebridge.worker.starts')) - startsBefore).toBe(3);
    expect((await recorded('snakebridge.worker.startup.duration')) - startupsBefore).toBe(3);
    expect((await recorded('snakebridge.pool.wait_time')) - waitsBefore).toBe(5);
    expect(await total('snakebridge.pool.queue.depth', { 'snakebridge.pool': 'stdio pool' })).toBe(0);
    expect(await total('snakebridge.pool.circuit.open')).toBe(0);
    expect(await total('snakebridge.pool.workers', { 'snakebridge.worker.state': 'ready' })).toBe(1);
  });

  it('reads the live handles and memory of each worker, as its health checks measured them', async () => {
    invoker = new StdioInvoker({ config: testConfig({ pool: { pingIntervalMs: 20 } }), logger: silentLogger });
    const calls = invoker;
    await calls.call(fn(`${CONTRACT}.make_counter`, [1]));
    await calls.call(fn(`${CONTRACT}.make_counter`, [2]));
    // A health check reads them: wait for the one after the objects were made.
    await vi.waitFor(() => expect(calls.pool.stats().workers[0]?.handles).toBe(2));
    expect(await total('snakebridge.worker.handles', { 'snakebridge.worker.id': 'w1' })).toBe(2);
    expect(await total('snakebridge.worker.memory.usage', { 'snakebridge.worker.id': 'w1' })).toBeGreaterThan(0);
  });

  it('says when the pool’s circuit is open', async () => {
    invoker = new StdioInvoker({
      config: testConfig({ pool: { restart: { maxRestarts: 0, probeAfterMs: 600_000 } } }),
      logger: silentLogger,
    });
    const calls = invoker;
    await calls.call(fn(`${CONTRACT}.add`, [1, 1]));
    const opened = nextPoolEvent(calls, (event) => event.type === 'circuit-open');
    await rejection(calls.call(fn('os._exit', [1])));
    await opened;
    expect(await total('snakebridge.pool.circuit.open', { 'snakebridge.pool': 'stdio pool' })).toBe(1);
    expect(await total('snakebridge.pool.events', { 'snakebridge.pool.event': 'circuit-open' })).toBe(1);
  });
});
