// Shared by the trace tests of both transports: the OpenTelemetry SDK with an
// in-memory exporter in this process, and Python's spans read back from the
// worker or server, whose own SDK keeps them in memory
// (python/snakebridge/testing/tracing.py).

import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Bridge, type Invoker, type ResolvedConfig, silentLogger } from '@snakebridge/core';
import { PIPELINING_MODULE } from '@snakebridge/core/testing';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';

/** The Python module the tests call. */
export const TRACING = 'snakebridge.testing.tracing';

/** A span as Python's exporter finished it. */
export interface PythonSpan {
  readonly name: string;
  readonly kind: string;
  readonly trace_id: string;
  readonly span_id: string;
  readonly parent_span_id: string | null;
  readonly status: string;
  readonly status_description: string | null;
  readonly attributes: Record<string, unknown>;
  readonly events: { name: string; attributes: Record<string, unknown> }[];
}

/** Registers the SDK in this process (call from beforeAll); `unregister` in afterAll. */
export function registerTracing(): InMemorySpanExporter {
  const spans = new InMemorySpanExporter();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
  return spans;
}

export function unregisterTracing(): void {
  trace.disable();
  context.disable();
}

/**
 * What both transports' trace test files set up: the SDK registered for the
 * file, and after each test its invoker closed and the spans forgotten.
 * `traced(invoker)` also gives the invoker's Python an SDK (and forgets the
 * spans made meanwhile); `closeAfter(invoker)` only has it closed.
 */
export function tracingForEachTest<I extends Invoker>() {
  let exporter: InMemorySpanExporter | undefined;
  let current: I | undefined;
  beforeAll(() => {
    exporter = registerTracing();
  });
  afterAll(unregisterTracing);
  afterEach(async () => {
    await current?.close();
    current = undefined;
    exporter?.reset();
  });
  return {
    /** This process's finished spans. */
    get spans(): InMemorySpanExporter {
      return exporter as InMemorySpanExporter;
    },
    closeAfter(invoker: I): I {
      current = invoker;
      return invoker;
    },
    async traced(invoker: I): Promise<I> {
      current = invoker;
      await installPythonTracing(invoker);
      exporter?.reset();
      return invoker;
    },
  };
}

/** A call by dotted name. */
export function call(target: string, args: unknown[] = []) {
  return { op: 'call' as const, target, args };
}

/** Gives the Python process an SDK with an in-memory exporter (once), and forgets its finished spans. */
export async function installPythonTracing(invoker: Invoker): Promise<void> {
  expect(await invoker.call(call(`${TRACING}.install`))).toBe(true);
}

/** Python's finished spans. */
export function pythonSpans(invoker: Invoker): Promise<PythonSpan[]> {
  return invoker.call<PythonSpan[]>(call(`${TRACING}.finished`));
}

/** The hex ids of a TypeScript span, as Python writes them. */
export function ids(span: ReadableSpan): { traceId: string; spanId: string } {
  return { traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
}

/**
 * Checks one trace across the boundary: Python's server span of `target` is a
 * child of the TypeScript span `client`, and the user's spans named
 * `userSpans` are children of it, all in the client's trace. Returns the
 * server span and the user's spans.
 */
export function expectOneTrace(
  client: ReadableSpan,
  python: readonly PythonSpan[],
  target: string,
  userSpans: readonly string[],
): { server: PythonSpan; user: PythonSpan[] } {
  const { traceId, spanId } = ids(client);
  const servers = python.filter((span) => span.name === `python ${target}`);
  expect(servers).toHaveLength(1);
  const server = servers[0] as PythonSpan;
  expect(server).toMatchObject({ kind: 'SERVER', trace_id: traceId, parent_span_id: spanId });
  const user = python.filter((span) => span.parent_span_id === server.span_id);
  expect(user.map((span) => span.name).sort()).toEqual([...userSpans].sort());
  for (const span of user) expect(span.trace_id).toBe(traceId);
  return { server, user };
}

/** The one finished TypeScript span of `target`. */
export function clientSpan(spans: InMemorySpanExporter, target: string): ReadableSpan {
  const found = spans.getFinishedSpans().filter((span) => span.name === `python ${target}`);
  expect(found).toHaveLength(1);
  return found[0] as ReadableSpan;
}

/** How a pipelined chain's spans came out (`tracedPipelinedChain`). */
export interface TracedChain {
  /** The user's two spans the calls were made in: the gated call in the first, the chain on it in the second. */
  readonly first: ReadableSpan;
  readonly second: ReadableSpan;
  /** The TypeScript spans of the calls made on the gated result (two `plus`, one `total`). */
  readonly chain: readonly ReadableSpan[];
}

/**
 * Traces a pipelined chain: in one turn, a call whose result Python holds back
 * until the host opens its gate (made in the user's span `first`), and calls
 * on its result made meanwhile (in the user's span `second`). `inFlight` says
 * how many calls the channel has sent and not had answered: the chain must
 * all be on its way while the gated call cannot answer, so each went with a
 * promised handle (pipelined). Then every Python server span must be the
 * child of its own call's TypeScript span, in the trace of the span the call
 * was made in.
 */
export async function tracedPipelinedChain(
  invoker: Invoker,
  config: ResolvedConfig,
  spans: InMemorySpanExporter,
  inFlight: () => number,
): Promise<TracedChain> {
  const bridge = new Bridge(invoker, config, silentLogger);
  const p = bridge.module(PIPELINING_MODULE);
  const tag = `traced-${process.pid}-${Date.now()}`;
  const tracer = trace.getTracer('a user');
  // Both in one turn: the calls go out together at its end, yet each in the context it was made in.
  const gated = tracer.startActiveSpan('first request', (span) => {
    const made = p.held(tag);
    span.end();
    return made;
  });
  const total = tracer.startActiveSpan('second request', (span) => {
    const made = gated.plus(1).plus(2).total();
    span.end();
    return made;
  });
  await expect.poll(inFlight).toBe(4);
  await p.open_gate(tag);
  expect(await total).toBe(3);
  await gated;

  const finished = spans.getFinishedSpans();
  const user = (name: string) => finished.find((span) => span.name === name) as ReadableSpan;
  const first = user('first request');
  const second = user('second request');
  const python = await pythonSpans(invoker);
  const childrenOf = (parent: ReadableSpan) =>
    finished.filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId);
  const expectServerChild = (client: ReadableSpan) => {
    const { traceId, spanId } = ids(client);
    const servers = python.filter((span) => span.parent_span_id === spanId);
    expect(servers.map((span) => span.name)).toEqual([client.name]);
    expect(servers[0]).toMatchObject({ kind: 'SERVER', trace_id: traceId });
  };
  const held = childrenOf(first);
  expect(held.map((span) => span.name)).toEqual([`python ${PIPELINING_MODULE}.held`]);
  const chain = childrenOf(second);
  expect(chain).toHaveLength(3);
  for (const client of [...held, ...chain]) {
    expect(client.spanContext().traceId).not.toBe(''); // a recorded span, with a trace of its own user span
    expectServerChild(client);
  }
  expect(first.spanContext().traceId).not.toBe(second.spanContext().traceId);
  for (const client of chain) expect(client.spanContext().traceId).toBe(second.spanContext().traceId);
  return { first, second, chain };
}
