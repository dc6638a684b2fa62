// Pipelining, as every transport must carry it (docs/architecture.md,
// "Pipelining"): calls on a result that has not come back are sent at once,
// run in Python after the call that makes it, in the order they were sent,
// and fail with a PipelineError when it fails. The suite runs the one
// invoker over the transport under test, through the Bridge, and records what
// the transport sent and when each call's answer came, so that "one round
// trip" is shown by what happened, not by timing.

import assert from 'node:assert/strict';
import { Bridge, release } from '../bridge/bridge.js';
import type { ResolvedConfig } from '../config/types.js';
import {
  HandleError,
  PipelineError,
  PythonError,
  SerializationError,
  SnakeBridgeError,
  WorkerCrashedError,
} from '../errors/index.js';
import { PROMISED } from '../handles/promised-handle.js';
import { silentLogger } from '../logger/logger.js';
import { NDArray } from '../serializer/ndarray.js';
import type { Serializer } from '../serializer/serializer.js';
import type { CallEvents, Channel, Channels, OutboundCall, Transport } from '../transport/transport.js';
import { TransportInvoker } from '../transport/transport-invoker.js';
import { eventually, type TestRunner } from './runner.js';

/** The Python module the suite calls; shipped with the snakebridge Python package. */
export const PIPELINING_MODULE = 'snakebridge.testing.pipelining';

export interface PipeliningContractOptions {
  /** Makes a fresh, unstarted transport with one channel (pool size 1, or one endpoint), and its config. */
  readonly create: () =>
    | { transport: Transport; config: ResolvedConfig }
    | Promise<{ transport: Transport; config: ResolvedConfig }>;
  /** The serializer the transport's channels were started with. */
  readonly serializer: Serializer;
  /**
   * How many handles (and promised handles) the Python process behind a
   * channel holds, as its health check reports them (a pong, a Stats RPC).
   */
  readonly held: (channel: Channel) => Promise<number>;
  /** Kills the process behind a channel, as a crash would; omitted where the transport does not own it. */
  readonly kill?: ((channel: Channel) => void) | undefined;
  /** Runs the garbage collector (`--expose-gc`); the test of results freed when collected needs it. */
  readonly gc?: (() => void) | undefined;
  /** Per-test timeout. @default 20000 */
  readonly testTimeoutMs?: number;
}

/** What the transport did, in order: each call sent (and where), each call's final event. */
interface Happening {
  readonly kind: 'sent' | 'final';
  readonly call: string;
  readonly owner: string;
}

/** A transport that records what its channels send and when each call's answer comes. */
function recorded(transport: Transport, log: Happening[]): Transport {
  const wrapped = new WeakMap<Channel, Channel>();
  const wrap = <C extends Channel>(channel: C): C => {
    let recording = wrapped.get(channel);
    if (recording === undefined) {
      recording = recordingChannel(channel, log);
      wrapped.set(channel, recording);
    }
    return recording as C;
  };
  const channels: Channels<Channel> = transport.channels;
  return {
    kind: transport.kind,
    channels: {
      start: () => channels.start(),
      acquire: async (options) => {
        const lease = await channels.acquire(options);
        return { worker: wrap(lease.worker), release: () => lease.release() };
      },
      run: (task, options) => channels.run((channel) => task(wrap(channel)), options),
      worker: (id) => {
        const channel = channels.worker(id);
        return channel === undefined ? undefined : wrap(channel);
      },
      pinSession: async () => wrap(await channels.pinSession()),
      unpinSession: (id) => channels.unpinSession(id),
      close: () => channels.close(),
    },
  };
}

function recordingChannel(channel: Channel, log: Happening[]): Channel {
  return new Proxy(channel, {
    get(target, property) {
      if (property === 'send') {
        return (call: OutboundCall, events: CallEvents) => {
          const name = call.description;
          log.push({ kind: 'sent', call: name, owner: target.owner });
          const final = () => log.push({ kind: 'final', call: name, owner: target.owner });
          return target.send(call, {
            result: (body) => {
              final();
              events.result(body);
            },
            item: (body) => events.item(body),
            end: () => {
              final();
              events.end();
            },
            fail: (error) => {
              final();
              events.fail(error);
            },
            callback: (request) => events.callback(request),
          });
        };
      }
      // Its own methods run on it, not on the recording (they use private fields).
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

let tokenCounter = 0;
function token(): string {
  tokenCounter += 1;
  return `p${process.pid}-${Date.now()}-${tokenCounter}`;
}

async function rejection(promise: PromiseLike<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

/** The elements of a float array as it came back: an NDArray's, a typed array's or a list's. */
function floatsOf(value: unknown): ArrayLike<number> {
  return value instanceof NDArray ? value.data : (value as ArrayLike<number>);
}

/** Asserts `error` is a PipelineError whose cause is the Python ValueError `message`. */
function assertBrokenBy(error: unknown, message: string): void {
  assert.ok(PipelineError.is(error, 'PIPELINE_BROKEN'), String(error));
  const cause = (error as Error).cause;
  assert.ok(PythonError.is(cause), `its cause: ${String(cause)}`);
  assert.equal(cause.pythonType, 'ValueError');
  assert.equal(cause.pythonMessage, message);
}

/**
 * Registers the pipelining contract tests with the given runner.
 *
 * @example
 * describePipeliningContract(vitest, 'stdio', { create, serializer, held: (c) => c.ping(2000).then((h) => h.handles) });
 */
export function describePipeliningContract(runner: TestRunner, name: string, options: PipeliningContractOptions): void {
  const { describe, it } = runner;
  const timeout = options.testTimeoutMs ?? 20_000;

  interface Fixture {
    readonly bridge: Bridge;
    readonly log: Happening[];
    readonly transport: Transport;
    /** The one channel, once started. */
    channel(): Promise<Channel>;
    /** Handles its Python process holds, once releases in flight have landed. */
    settledHeld(expected: number): Promise<void>;
  }

  const fresh = (body: (fixture: Fixture) => Promise<void>) => async (): Promise<void> => {
    const { transport, config } = await options.create();
    const log: Happening[] = [];
    const invoker = new TransportInvoker({
      transport: recorded(transport, log),
      config,
      serializer: options.serializer,
    });
    const bridge = new Bridge(invoker, config, silentLogger);
    const channel = async () => {
      const lease = await transport.channels.acquire();
      lease.release();
      return lease.worker;
    };
    // What the worker holds when the test starts: a remote server may hold what earlier hosts left (until its TTL).
    let baseline = 0;
    const settledHeld = async (expected: number) => {
      const worker = await channel();
      const wanted = baseline + expected;
      await eventually(async () => (await options.held(worker)) === wanted, 10_000, `${expected} more handles held`);
    };
    try {
      await bridge.start();
      baseline = await options.held(await channel());
      await body({ bridge, log, transport, channel, settledHeld });
    } finally {
      await bridge.close();
    }
  };

  /** How many calls were sent before the first answer came. */
  const sentBeforeFirstAnswer = (log: readonly Happening[]) => {
    const first = log.findIndex((happening) => happening.kind === 'final');
    return first === -1 ? log.length : first;
  };

  describe(`Pipelining contract: ${name}`, () => {
    it(
      'sends a chain of ten dependent calls before the first answer comes, and each gets its result',
      fresh(async ({ bridge, log }) => {
        const p = bridge.module(PIPELINING_MODULE);
        let tally = p.tally(0);
        const steps = [tally];
        for (let step = 1; step <= 10; step++) {
          tally = tally.plus(step);
          steps.push(tally);
        }
        const total = tally.total();
        assert.equal(await total, 55);
        // Twelve calls (the tally, ten steps, the total) were all on their way before any answer came back.
        assert.equal(sentBeforeFirstAnswer(log), 12, JSON.stringify(log));
        assert.equal(log.filter((happening) => happening.kind === 'sent').length, 12);
        // Every step is the object it made, arrived in turn.
        const totals = await Promise.all(steps.map(async (step) => (await step).total()));
        assert.deepEqual(totals, [0, 1, 3, 6, 10, 15, 21, 28, 36, 45, 55]);
      }),
      timeout,
    );

    it(
      'runs the calls held back on a result in the order they were sent, once it exists',
      fresh(async ({ bridge, log }) => {
        const p = bridge.module(PIPELINING_MODULE);
        const tag = token();
        const held = p.held(tag);
        const added = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((number) => held.add(number));
        const order = held.order();
        // Not a call on the result: it runs at once, while the others wait in Python for the result to exist.
        await p.open_gate(tag);
        assert.deepEqual(await order, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        await Promise.all(added);
        // The gate opened only after every call was sent: they were all held back in Python, in order.
        assert.equal(sentBeforeFirstAnswer(log), 13, JSON.stringify(log));
      }),
      timeout,
    );

    it(
      'runs pipelined calls in the order they were made, whichever result each is made on',
      fresh(async ({ bridge }) => {
        const p = bridge.module(PIPELINING_MODULE);
        for (const tag of [undefined, token()]) {
          // Once with a result made at once, once with one held back until the calls behind it have arrived.
          const tally = tag === undefined ? p.tally(0) : p.held(tag);
          tally.add(1).add(2).add(3); // each on the result of the one before: the same object, by other names
          tally.add(4);
          const order = tally.add(5).order();
          if (tag !== undefined) await p.open_gate(tag);
          assert.deepEqual(await order, [1, 2, 3, 4, 5]);
        }
      }),
      timeout,
    );

    it(
      'sends results given as arguments, directly or inside an array or object, before they arrive',
      fresh(async ({ bridge, log }) => {
        const p = bridge.module(PIPELINING_MODULE);
        const one = p.tally(1);
        const two = p.tally(2);
        const three = p.tally(3);
        const direct = p.total_of(one, two);
        const inArray = p.echo([one, two, three]);
        const inObject = p.echo({ one, two });
        assert.equal(await direct, 3);
        assert.equal((await inArray).length, 3);
        assert.deepEqual(Object.keys(await inObject).sort(), ['one', 'two']);
        assert.equal(sentBeforeFirstAnswer(log), 6, JSON.stringify(log));
      }),
      timeout,
    );

    it(
      'sends the arguments as they were when the call was made, though the caller changes them before the turn ends',
      fresh(async ({ bridge }) => {
        const p = bridge.module(PIPELINING_MODULE);
        // A buffer, a list and an object reused in a loop, as code does before `await Promise.all(…)`.
        const floats = new Float64Array(3);
        const list: number[] = [];
        const object: Record<string, number> = {};
        const echoed = [0, 1, 2].map((step) => {
          floats.fill(step);
          list.push(step);
          object[`k${step}`] = step;
          return p.echo([floats, list, object]);
        });
        // With a result in its arguments that is not back yet: sent with it, named by its promised handle.
        const tally = p.tally(1);
        const withResult = p.echo([tally, list]);
        floats.fill(9);
        list.push(9);
        object.k9 = 9;
        const sent = await Promise.all(echoed);
        assert.deepEqual(
          sent.map(([array, items, fields]) => [Array.from(floatsOf(array)), items, fields]),
          [
            [[0, 0, 0], [0], { k0: 0 }],
            [[1, 1, 1], [0, 1], { k0: 0, k1: 1 }],
            [[2, 2, 2], [0, 1, 2], { k0: 0, k1: 1, k2: 2 }],
          ],
        );
        assert.deepEqual((await withResult)[1], [0, 1, 2]);
      }),
      timeout,
    );

    it(
      'sends the arguments as they were when the call was made, though it waits for a result they hold',
      fresh(async ({ bridge }) => {
        const p = bridge.module(PIPELINING_MODULE);
        const tag = token();
        // Nothing uses it in the turn it is made in: it is sent without a promised handle, and held back in Python.
        const gated = p.held(tag);
        await p.number(0);
        const list = [1, 2];
        const floats = new Float64Array([1, 2]);
        const waiting = p.echo([gated, list, floats]);
        list.push(3);
        floats.fill(7);
        await p.open_gate(tag);
        const [, items, array] = await waiting;
        assert.deepEqual(items, [1, 2]);
        assert.deepEqual(Array.from(floatsOf(array)), [1, 2]);
      }),
      timeout,
    );

    it(
      'gives a plain value when awaited, and calls that use it before it arrived run on it in Python',
      fresh(async ({ bridge }) => {
        const p = bridge.module(PIPELINING_MODULE);
        const number = p.number(41);
        const bits = number.bit_length();
        const tally = p.tally(number);
        assert.equal(await bits, 6);
        assert.equal(await tally.total(), 41);
        assert.equal(await number, 41);
        // Python keeps the value under its promised handle while the result can still be used.
        assert.equal(await number.bit_length(), 6);
        // Iterating a result before it arrived iterates it in Python, with back-pressure.
        const items: unknown[] = [];
        for await (const item of p.echo([1, 2, 3])) items.push(item);
        assert.deepEqual(items, [1, 2, 3]);
        await release(number);
        assert.ok(HandleError.is(await rejection(number.bit_length())));
      }),
      timeout,
    );

    it(
      'fails every call that depends on a failed call with a PipelineError caused by the Python error, each once',
      fresh(async ({ bridge, log }) => {
        const p = bridge.module(PIPELINING_MODULE);
        const tally = p.tally(0);
        const failed = tally.fail('boom');
        const onIt = failed.add(1);
        const further = onIt.add(2).total();
        const withIt = p.total_of(tally, failed);
        const error = await rejection(failed);
        assert.ok(PythonError.is(error, 'PYTHON_VALUE_ERROR'), String(error));
        // Awaited together: each may fail before the one before it has been awaited, and must not go unhandled.
        for (const broken of await Promise.all([onIt, further, withIt].map(rejection))) assertBrokenBy(broken, 'boom');
        assert.equal(await tally.total(), 0); // the call before the failure is untouched
        // Every call sent got exactly one answer.
        const sent = log.filter((happening) => happening.kind === 'sent').map((happening) => happening.call);
        const finals = log.filter((happening) => happening.kind === 'final').map((happening) => happening.call);
        assert.deepEqual([...finals].sort(), [...sent].sort());
        // A call made on it after it failed fails at once, without being sent.
        const count = sent.length;
        assertBrokenBy(await rejection(failed.add(3)), 'boom');
        assert.equal(log.filter((happening) => happening.kind === 'sent').length, count);
      }),
      timeout,
    );

    it(
      'fails the calls that use a result whose call could not be sent, with its error as their cause, unsent',
      fresh(async ({ bridge, log }) => {
        const p = bridge.module(PIPELINING_MODULE);
        const unsendable = p.echo(Symbol('not a value'));
        const onIt = unsendable.add(1);
        const withIt = p.total_of(unsendable);
        // Named by its promised handle as it is made, so that its arguments are encoded then.
        const withWhatIsOnIt = p.total_of(onIt);
        const error = await rejection(unsendable);
        assert.ok(SerializationError.is(error), String(error));
        for (const broken of await Promise.all([onIt, withIt, withWhatIsOnIt].map(rejection))) {
          assert.ok(PipelineError.is(broken), String(broken));
          assert.equal((broken as Error).cause, error);
        }
        assert.deepEqual(log, []);
      }),
      timeout,
    );

    it(
      'fails the calls held back on a result whose call fails later, in Python',
      fresh(async ({ bridge }) => {
        const p = bridge.module(PIPELINING_MODULE);
        const tag = token();
        const failing = p.held_failure(tag, 'later');
        const dependents = [failing.add(1), failing.plus(2).add(3), p.total_of(failing)];
        await p.open_gate(tag);
        // Awaited together: each may fail before the one before it has been awaited, and must not go unhandled.
        for (const broken of await Promise.all(dependents.map(rejection))) assertBrokenBy(broken, 'later');
      }),
      timeout,
    );

    it(
      'frees the promised handles and the objects they named: the worker holds what it held before',
      fresh(async ({ bridge, settledHeld }) => {
        const p = bridge.module(PIPELINING_MODULE);
        await settledHeld(0);
        const tally = p.tally(0);
        const added = tally.add(1).add(2);
        const made = tally.plus(5);
        assert.equal(await added.total(), 3);
        assert.equal(await made.total(), 8);
        // Two objects (the tally, the one plus made) stay while their proxies do; no promised handle does.
        await settledHeld(2);
        await release(tally, added, made);
        await settledHeld(0);
      }),
      timeout,
    );

    it(
      'frees a result released before it arrived, once it does, with the calls made on it run',
      fresh(async ({ bridge, settledHeld }) => {
        const p = bridge.module(PIPELINING_MODULE);
        const tag = token();
        const held = p.held(tag);
        const added = held.add(7); // the same object, in a result of its own
        const order = added.order();
        const released = release(held, added);
        await p.open_gate(tag);
        await released;
        assert.deepEqual(await order, [7]);
        assert.ok(HandleError.is(await rejection(held.add(8))));
        await settledHeld(0);
      }),
      timeout,
    );

    it(
      'frees the results made in a session when it closes',
      fresh(async ({ bridge, settledHeld }) => {
        const session = await bridge.session();
        const p = session.module(PIPELINING_MODULE);
        const value = p.number(3);
        const tally = p.tally(value).add(1);
        assert.equal(await tally.total(), 4);
        assert.equal(await value.bit_length(), 2);
        await session.close();
        await settledHeld(0);
      }),
      timeout,
    );

    if (options.gc !== undefined) {
      const gc = options.gc;
      it(
        'frees the promised handle of a plain value once nothing can use it (garbage-collected)',
        fresh(async ({ bridge, channel, settledHeld }) => {
          const p = bridge.module(PIPELINING_MODULE);
          const worker = await channel();
          await (async () => {
            const number = p.number(9);
            assert.equal(await number.bit_length(), 4);
          })();
          // Held while its proxy lives: the value under its promised handle, and the handle calls on it went through.
          await settledHeld(2);
          for (let attempt = 0; attempt < 50 && (await options.held(worker)) > 0; attempt++) {
            gc();
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          await settledHeld(0);
        }),
        timeout,
      );
    }

    it(
      'refuses a call naming a promised handle the worker never made, typed',
      fresh(async ({ channel }) => {
        const worker = await channel();
        const outcome = await new Promise<Error | undefined>((resolve) => {
          worker.send(
            {
              op: 'call',
              target: 'bit_length',
              handle: PROMISED + 424_242,
              session: undefined,
              payload: options.serializer.encode([[], {}]),
              timeoutMs: 0,
              window: 0,
              callbacks: false,
              pinned: true,
              promise: 0,
              pipelined: true,
              description: 'a call on a handle never promised',
            },
            {
              result: () => resolve(undefined),
              item: () => {},
              end: () => resolve(undefined),
              fail: (error) => resolve(error),
              callback: () => {},
            },
          );
        });
        assert.ok(SnakeBridgeError.is(outcome), String(outcome));
        assert.equal(outcome.code, 'HANDLE_INVALID');
      }),
      timeout,
    );

    if (options.kill !== undefined) {
      const kill = options.kill;
      it(
        'fails every call of a chain in flight with WorkerCrashedError when the worker dies, and sends none elsewhere',
        fresh(async ({ bridge, log, channel }) => {
          const p = bridge.module(PIPELINING_MODULE);
          const worker = await channel();
          const tag = token();
          const held = p.held(tag);
          const chain = [held, held.add(1), held.plus(2), held.plus(2).add(3).total()];
          await eventually(async () => log.length >= 6, 10_000, 'the chain to be sent');
          kill(worker);
          for (const error of await Promise.all(chain.map(rejection))) {
            assert.ok(WorkerCrashedError.is(error), String(error));
          }
          // Every call went to the worker that died, once.
          const sent = log.filter((happening) => happening.kind === 'sent');
          assert.equal(sent.length, 6, JSON.stringify(log));
          assert.ok(sent.every((happening) => happening.owner === worker.owner));
          // Calls made on the chain afterwards fail at once: what they need died with the worker.
          const later = await rejection(held.add(4));
          assert.ok(SnakeBridgeError.is(later), String(later));
          assert.equal(log.filter((happening) => happening.kind === 'sent').length, 6);
        }),
        timeout,
      );
    }
  });
}
