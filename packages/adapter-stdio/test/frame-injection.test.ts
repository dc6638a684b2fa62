// Frames forged from inside a call (fixtures/inject.py writes them into the
// worker's own fd 4), with every serializer: the host stays up, every call on
// the worker that broke the protocol fails once with a ProtocolError naming
// the rule it broke, and the worker is killed and replaced on the violation
// itself. Pings are off and every timer that could replace a worker is set to
// ten minutes, so a replacement within the test can only come from the event.
//
// FRAME_LATENCY_REPORT=1 prints how long replacement took, violation to spawn and to ready.

import {
  JsonSerializer,
  type Logger,
  type PoolEvent,
  ProtocolError,
  type Serializer,
  SnakeBridgeError,
} from '@snakebridge/core';
import { createMsgpackSerializer } from '@snakebridge/serializer-msgpack';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createArrowSerializer } from '../../serializer-arrow/src/index.js';
import { createProtobufSerializer } from '../../serializer-protobuf/src/index.js';
import { MalformedFrameError, StdioInvoker } from '../src/index.js';
import type { FrameFault } from '../src/protocol/frames.js';
import { fn, rejection, testConfig } from './helpers.js';

const TEN_MINUTES = 600_000;

const SERIALIZERS: readonly (readonly [string, () => Serializer])[] = [
  ['json', () => new JsonSerializer()],
  ['msgpack', () => createMsgpackSerializer()],
  ['arrow', () => createArrowSerializer()],
  ['protobuf', () => createProtobufSerializer()],
];

/** Each forgery, the fixture function that writes it, and the rules whose breach may be reported for it. */
const INJECTIONS: readonly (readonly [string, string, unknown[], readonly FrameFault[]])[] = [
  [
    'random garbage',
    'inject.garbage',
    [7, 64],
    ['length', 'kind', 'body', 'flags', 'serializer', 'version', 'oversized'],
  ],
  ['a header cut short', 'inject.truncated_header', [], ['aux', 'checksum']],
  ['a body cut short, for an unknown call', 'inject.truncated_body', [], ['unknown-call']],
  ['a 4 GiB frame', 'inject.oversized', [], ['oversized']],
  ['a whole frame for an unknown call', 'inject.unknown_call', [], ['unknown-call']],
  ['a frame in the wrong serializer', 'inject.wrong_serializer', [], ['wrong-serializer']],
  ['a LOG whose body is not a log record', 'inject.bad_log', [], ['body']],
  ['a LOG larger than a log record may be', 'inject.oversized_log', [], ['oversized']],
];

interface Moment {
  readonly what: string;
  readonly at: number;
}

/** One ordered record of the violation, the kill (from the log) and the pool's events. */
function timeline() {
  const moments: Moment[] = [];
  const waiters: { what: string; resolve: () => void }[] = [];
  const note = (what: string) => {
    moments.push({ what, at: performance.now() });
    for (const waiter of waiters.filter((w) => w.what === what)) waiter.resolve();
  };
  const keep = (level: string) => (message: string) => {
    if (level === 'error' && message.startsWith('worker w1 broke the stdio protocol')) note('violation w1');
    if (level === 'warn' && message.startsWith('killing worker w1:')) note('kill w1');
  };
  const logger: Logger = { debug: () => {}, info: () => {}, warn: keep('warn'), error: keep('error') };
  const onEvent = (event: PoolEvent) => {
    if (event.type === 'spawn' || event.type === 'ready' || event.type === 'exit')
      note(`${event.type} ${event.workerId}`);
  };
  const at = (what: string) => moments.find((moment) => moment.what === what)?.at;
  const index = (what: string) => moments.findIndex((moment) => moment.what === what);
  /** Resolves once `what` has happened: the test waits on the event, never on a clock. */
  const when = (what: string) =>
    new Promise<void>((resolve) => {
      if (index(what) >= 0) resolve();
      else waiters.push({ what, resolve });
    });
  return { logger, onEvent, at, index, when };
}

function injectionInvoker(serializer: Serializer, logger: Logger): StdioInvoker {
  const config = testConfig({
    pool: {
      min: 1,
      max: 1,
      maxConcurrency: 8,
      pingIntervalMs: 0,
      hostTimeoutMs: TEN_MINUTES,
      idleTimeoutMs: 0,
      restart: { backoffMs: TEN_MINUTES, maxBackoffMs: TEN_MINUTES, maxRestarts: 100, probeAfterMs: TEN_MINUTES },
    },
    timeouts: { cancelGraceMs: TEN_MINUTES, callMs: 0 },
  });
  return new StdioInvoker({ config, serializer, logger });
}

const latencies: { name: string; toSpawn: number; toReady: number }[] = [];

afterAll(() => {
  if (process.env.FRAME_LATENCY_REPORT === undefined || latencies.length === 0) return;
  const ms = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const pick = (q: number) =>
      (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number).toFixed(1);
    return `median ${pick(0.5)} ms, max ${pick(1)} ms`;
  };
  console.info(
    `replacement after a violation (${latencies.length} runs): to spawn ${ms(latencies.map((l) => l.toSpawn))}; ` +
      `to ready ${ms(latencies.map((l) => l.toReady))}`,
  );
});

describe.each(SERIALIZERS)('frames forged by a worker, %s', (serializerName, makeSerializer) => {
  let invoker: StdioInvoker | undefined;
  afterEach(() => invoker?.close());

  it.each(INJECTIONS)(
    '%s: its calls fail with ProtocolError and it is replaced at once',
    async (name, target, args, faults) => {
      const record = timeline();
      const bridge = injectionInvoker(makeSerializer(), record.logger);
      invoker = bridge;
      bridge.pool.on(record.onEvent);
      await bridge.start();
      const pid = bridge.pool.stats().workers[0]?.pid;

      // The forging call first, then two more sent behind it: all three are in flight on w1.
      const calls = [fn(target, args), fn('crashy.pid'), fn('crashy.pid')].map((call) => rejection(bridge.call(call)));
      expect(bridge.pool.stats().workers[0]?.inFlight).toBe(3);
      const errors = await Promise.all(calls);

      for (const error of errors) {
        expect(ProtocolError.is(error), String(error)).toBe(true);
        expect(SnakeBridgeError.is(error, 'PROTOCOL')).toBe(true);
        expect(error.message).toMatch(
          /Python worker w1 \(pid \d+\) broke the stdio protocol while '.+' was in flight: malformed frame: /,
        );
        const cause = error.cause as MalformedFrameError;
        expect(MalformedFrameError.is(cause)).toBe(true);
        expect(faults).toContain(cause.fault);
      }
      // Its replacement comes by itself, before any new call asks for a worker: nothing but the violation
      // can have started it (pings are off, backoffs and timeouts are ten minutes).
      await record.when('ready w2');
      // The host is fine and the new worker answers.
      expect(await bridge.call(fn('crashy.pid'))).not.toBe(pid);
      expect(bridge.pool.health().healthy).toBe(true);

      // Replaced on the violation, not on a timer: violation, kill, then the replacement's spawn.
      expect(record.index('violation w1')).toBeGreaterThanOrEqual(0);
      expect(record.index('violation w1')).toBeLessThan(record.index('kill w1'));
      expect(record.index('kill w1')).toBeLessThan(record.index('spawn w2'));
      expect(record.index('spawn w2')).toBeLessThan(record.index('ready w2'));
      const violation = record.at('violation w1') as number;
      latencies.push({
        name: `${serializerName}: ${name}`,
        toSpawn: (record.at('spawn w2') as number) - violation,
        toReady: (record.at('ready w2') as number) - violation,
      });
    },
  );
});
