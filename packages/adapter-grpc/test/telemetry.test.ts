// The same traces over gRPC as over stdio: the invoker is one, the transport differs.

import { context, type Span, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GrpcInvoker } from '../src/index.js';
import { fn, testInvoker } from './helpers.js';

const spans = new InMemorySpanExporter();
beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
});
afterAll(() => {
  trace.disable();
  context.disable();
});

let invoker: GrpcInvoker | undefined;
afterEach(() => invoker?.close());

describe('telemetry over gRPC', () => {
  it('makes a client span per call, a child of the caller’s span, naming the server that ran it', async () => {
    invoker = testInvoker();
    await trace.getTracer('a user').startActiveSpan('handle request', async (parent: Span) => {
      await invoker?.call(fn('snakebridge.testing.contract.add', [2, 3]));
      parent.end();
    });
    const [call, parent] = spans.getFinishedSpans();
    expect(call?.name).toBe('python snakebridge.testing.contract.add');
    expect(call?.parentSpanContext?.spanId).toBe(parent?.spanContext().spanId);
    expect(call?.attributes).toMatchObject({
      'snakebridge.invoker': 'grpc',
      'snakebridge.worker.id': 'w1',
      'snakebridge.outcome': 'ok',
    });
  });
});
