// One trace across the boundary over gRPC, as over stdio (../../adapter-stdio/test/trace-context.test.ts):
// the trace context goes as `traceparent` metadata, on a unary Call and on an Exchange stream.

import { SpanStatusCode } from '@opentelemetry/api';
import { silentLogger } from '@snakebridge/core';
import { describe, expect, it } from 'vitest';
import {
  call,
  clientSpan,
  expectOneTrace,
  pythonSpans,
  TRACING,
  tracedPipelinedChain,
  tracingForEachTest,
} from '../../adapter-stdio/test/tracing-kit.js';
import { GrpcInvoker } from '../src/index.js';
import { rejection, testConfig, testInvoker } from './helpers.js';

const tracing = tracingForEachTest<GrpcInvoker>();

function tracedInvoker(): Promise<GrpcInvoker> {
  return tracing.traced(testInvoker({ pool: { threads: 1 } }));
}

describe('one trace across the boundary, over gRPC', () => {
  it('a call: the TypeScript span, the server’s span as its child, the user’s span in it', async () => {
    const calls = await tracedInvoker();
    expect(await calls.call(call(`${TRACING}.add`, [2, 3]))).toBe(5);
    const client = clientSpan(tracing.spans, `${TRACING}.add`);
    const { user } = expectOneTrace(client, await pythonSpans(calls), `${TRACING}.add`, ['user add']);
    expect(String(user[0]?.attributes['thread.name'])).toMatch(/^snakebridge-call/);
  });

  it('a stream over Exchange: every item’s span is a child of the stream’s server span', async () => {
    const calls = await tracedInvoker();
    const items: number[] = [];
    for await (const item of calls.stream<number>(call(`${TRACING}.count`, [2]), { window: 1 })) items.push(item);
    expect(items).toEqual([0, 1]);
    const client = clientSpan(tracing.spans, `${TRACING}.count`);
    expectOneTrace(client, await pythonSpans(calls), `${TRACING}.count`, ['user item 0', 'user item 1']);
  });

  it('a pipelined chain made in two spans: sent at once, each call in its own span’s trace, the server’s spans its children', async () => {
    const config = testConfig({ pool: { threads: 1 } });
    const invoker = await tracing.traced(new GrpcInvoker({ config, logger: silentLogger }));
    const pool = invoker.pool;
    await tracedPipelinedChain(invoker, config, tracing.spans, () => pool?.stats().workers[0]?.inFlight ?? 0);
  });

  it('records a Python exception on the server’s span', async () => {
    const calls = await tracedInvoker();
    await rejection(calls.call(call(`${TRACING}.fail`, ['no good'])));
    const client = clientSpan(tracing.spans, `${TRACING}.fail`);
    expect(client.status.code).toBe(SpanStatusCode.ERROR);
    const { server } = expectOneTrace(client, await pythonSpans(calls), `${TRACING}.fail`, ['user fail']);
    expect(server.status).toBe('ERROR');
    expect(server.events.map((event) => event.name)).toContain('exception');
  });
});
