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
import type { Invoker } from '@snakebridge/core';
import { expect } from 'vitest';

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
