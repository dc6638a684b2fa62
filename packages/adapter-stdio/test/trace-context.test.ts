// One trace across the boundary, over real stdio workers: the TypeScript span
// of a call, Python's server span as its child, and the spans the user's
// Python code made inside the call, all with one trace id, read with the
// OpenTelemetry SDK's in-memory exporters on both sides. Also the retry of a
// call whose worker crashed, as an event on its span.

import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { silentLogger } from '@snakebridge/core';
import { describe, expect, it } from 'vitest';
import { StdioInvoker } from '../src/index.js';
import { rejection, testConfig } from './helpers.js';
import {
  call,
  clientSpan,
  expectOneTrace,
  pythonSpans,
  TRACING,
  tracedPipelinedChain,
  tracingForEachTest,
} from './tracing-kit.js';
import { watchingLogger } from './watching-logger.js';

const tracing = tracingForEachTest<StdioInvoker>();

/** A traced invoker whose worker keeps its spans in memory. */
function tracedInvoker(threads = 0): Promise<StdioInvoker> {
  return tracing.traced(new StdioInvoker({ config: testConfig({ pool: { threads } }), logger: silentLogger }));
}

describe('one trace across the boundary, over stdio', () => {
  it.each([
    ['inline', 0],
    ['on a pool thread', 2],
  ])(
    'a call run %s: the TypeScript span, Python’s server span as its child, the user’s span in it',
    async (_how, threads) => {
      const calls = await tracedInvoker(threads);
      const target = `${TRACING}.add`;
      await trace.getTracer('a user').startActiveSpan('handle request', async (parent) => {
        expect(await calls.call(call(target, [2, 3]))).toBe(5);
        parent.end();
      });
      const client = clientSpan(tracing.spans, target);
      const { server, user } = expectOneTrace(client, await pythonSpans(calls), target, ['user add']);
      expect(server.attributes).toMatchObject({ 'rpc.system': 'snakebridge', 'rpc.method': target });
      expect(String(user[0]?.attributes['thread.name']).startsWith('snakebridge-call')).toBe(threads > 0);
    },
  );

  it('a logging record made in a traced call reaches the host logger with the trace and span it was made in', async () => {
    const logger = watchingLogger();
    const invoker = await tracing.traced(new StdioInvoker({ config: testConfig(), logger }));
    const target = `${TRACING}.log_in_span`;
    const ids = await invoker.call<{ trace_id: string; span_id: string }>(call(target, ['slow step']));
    const record = await logger.next((entry) => entry.message === 'slow step');
    expect(record.fields).toMatchObject({ stream: 'logging', logger: 'app.traced' });
    // The span current in Python (the user's own, inside the call's server span), in the host's trace.
    expect(record.fields.call).toEqual({ target, traceId: ids.trace_id, spanId: ids.span_id });
    expect(ids.trace_id).toBe(clientSpan(tracing.spans, target).spanContext().traceId);
  });

  it('a coroutine function: its spans are children of its server span', async () => {
    const calls = await tracedInvoker();
    await calls.call(call(`${TRACING}.async_add`, [2, 3]));
    const client = clientSpan(tracing.spans, `${TRACING}.async_add`);
    expectOneTrace(client, await pythonSpans(calls), `${TRACING}.async_add`, ['user async add']);
  });

  it('a stream: every item’s span is a child of the stream’s server span, in the stream’s trace', async () => {
    const calls = await tracedInvoker();
    const items: number[] = [];
    // A window of 1: each item after the first is made in a turn of its own, after credit came.
    for await (const item of calls.stream<number>(call(`${TRACING}.count`, [3]), { window: 1 })) items.push(item);
    expect(items).toEqual([0, 1, 2]);
    const client = clientSpan(tracing.spans, `${TRACING}.count`);
    expect(client.attributes['snakebridge.stream.items']).toBe(3);
    const { server } = expectOneTrace(client, await pythonSpans(calls), `${TRACING}.count`, [
      'user item 0',
      'user item 1',
      'user item 2',
    ]);
    expect(server.attributes['snakebridge.kind']).toBe('stream');
  });

  it('records a Python exception on Python’s server span, with an error status, as on the TypeScript span', async () => {
    const calls = await tracedInvoker();
    await rejection(calls.call(call(`${TRACING}.fail`, ['no good'])));
    const client = clientSpan(tracing.spans, `${TRACING}.fail`);
    expect(client.status.code).toBe(SpanStatusCode.ERROR);
    const { server } = expectOneTrace(client, await pythonSpans(calls), `${TRACING}.fail`, ['user fail']);
    expect(server.status).toBe('ERROR');
    expect(server.status_description).toBe('ValueError: no good');
    const exception = server.events.find((event) => event.name === 'exception');
    expect(exception?.attributes).toMatchObject({ 'exception.type': 'ValueError', 'exception.message': 'no good' });
  });

  it('a pipelined chain made in two spans: sent at once, each call in its own span’s trace, Python’s spans its children', async () => {
    const config = testConfig();
    const invoker = await tracing.traced(new StdioInvoker({ config, logger: silentLogger }));
    const pool = invoker.pool;
    await tracedPipelinedChain(invoker, config, tracing.spans, () => pool.stats().workers[0]?.inFlight ?? 0);
  });

  it('marks the retry of an idempotent call whose worker crashed with an event on its span', async () => {
    const invoker = tracing.closeAfter(
      new StdioInvoker({ config: testConfig({ pool: { min: 2, max: 2, retries: 2 } }), logger: silentLogger }),
    );
    await invoker.start();
    const flag = join(tmpdir(), `snakebridge-crash-once-${process.pid}-${Date.now()}`);
    writeFileSync(flag, '');
    const pid = await invoker.call(call('pool_work.crash_once', [flag]), { idempotent: true });
    expect(typeof pid).toBe('number');
    const span = clientSpan(tracing.spans, 'pool_work.crash_once');
    const retries = span.events.filter((event) => event.name === 'snakebridge.retry');
    expect(retries).toHaveLength(1);
    expect(retries[0]?.attributes).toMatchObject({ 'snakebridge.retry.attempt': 1, 'error.type': 'WORKER_CRASHED' });
    expect(span.attributes['snakebridge.retries']).toBe(1);
    expect(span.attributes['snakebridge.outcome']).toBe('ok');
  });
});
