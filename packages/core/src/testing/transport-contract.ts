// The guarantees every Transport gives the one invoker (transport/transport.ts):
// the stdio and gRPC adapters run it against real Python, below the invoker,
// so that a new transport knows what it must do before any invoker test runs.

import assert from 'node:assert/strict';
import { callbackIndex, type HostFunction } from '../callbacks/callback-ref.js';
import { PythonError, SnakeBridgeError, WorkerCrashedError } from '../errors/index.js';
import type { Serializer } from '../serializer/serializer.js';
import type {
  CallbackRequest,
  CallControl,
  CallEvents,
  Channel,
  OutboundCall,
  Transport,
} from '../transport/transport.js';
import { CALLBACK_MODULE } from './callback-contract.js';
import { CONTRACT_MODULE } from './invoker-contract.js';
import { eventually, type TestRunner } from './runner.js';

export interface TransportContractOptions {
  /** Makes a fresh, unstarted transport with one channel (pool size 1, or one endpoint). */
  readonly create: () => Transport | Promise<Transport>;
  /** The serializer the transport's channels were started with. */
  readonly serializer: Serializer;
  /**
   * Kills the process behind a channel, as a crash would; omitted where the
   * transport does not own the process (a remote server).
   */
  readonly kill?: ((channel: Channel) => void) | undefined;
  /** Per-test timeout. @default 20000 */
  readonly testTimeoutMs?: number;
}

/** What a channel reported about one call, with a way to wait for what comes next. */
class Recorder implements CallEvents {
  readonly items: unknown[] = [];
  readonly callbacks: CallbackRequest[] = [];
  final: { readonly kind: 'result' | 'end' | 'fail'; readonly value?: unknown } | undefined;
  finals = 0;
  #changed: (() => void) | undefined;

  constructor(readonly serializer: Serializer) {}

  result(body: Uint8Array): void {
    this.#final({ kind: 'result', value: this.serializer.decode(body) });
  }

  item(body: Uint8Array): void {
    this.items.push(this.serializer.decode(body));
    this.#notify();
  }

  end(): void {
    this.#final({ kind: 'end' });
  }

  fail(error: Error): void {
    this.#final({ kind: 'fail', value: error });
  }

  callback(request: CallbackRequest): void {
    this.callbacks.push(request);
    this.#notify();
  }

  /** Resolves once `check` holds, re-checked on every event. */
  async until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#changed = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async settled(): Promise<NonNullable<Recorder['final']>> {
    await this.until(() => this.final !== undefined, 'the final event');
    return this.final as NonNullable<Recorder['final']>;
  }

  #final(final: NonNullable<Recorder['final']>): void {
    this.finals += 1;
    this.final ??= final;
    this.#notify();
  }

  #notify(): void {
    const changed = this.#changed;
    this.#changed = undefined;
    changed?.();
  }
}

/**
 * Registers the Transport contract tests with the given runner.
 *
 * @example
 * describeTransportContract(vitest, 'stdio', { create: () => new StdioTransport({ config, serializer }), serializer });
 */
export function describeTransportContract(runner: TestRunner, name: string, options: TransportContractOptions): void {
  const { describe, it, beforeAll, afterAll } = runner;
  const timeout = options.testTimeoutMs ?? 20_000;
  const { serializer } = options;
  let transport: Transport | undefined;

  /** Sends `call` on the one channel, with the arguments encoded; host functions become callbacks. */
  async function send(
    target: string,
    args: readonly unknown[],
    extra: Partial<OutboundCall> = {},
  ): Promise<{ events: Recorder; control: CallControl; channel: Channel }> {
    assert.ok(transport !== undefined);
    const lease = await transport.channels.acquire();
    lease.release(); // the contract drives the channel itself; the lease only finds it
    const functions: HostFunction[] = [];
    const payload = serializer.encode([args, {}], { onFunction: (fn) => callbackIndex(functions, fn) });
    const events = new Recorder(serializer);
    const call: OutboundCall = {
      op: 'call',
      target,
      handle: 0,
      session: undefined,
      payload,
      timeoutMs: 0,
      window: 0,
      callbacks: functions.length > 0,
      pinned: false,
      promise: 0,
      pipelined: false,
      description: target,
      ...extra,
    };
    const control = lease.worker.send(call, events);
    return { events, control, channel: lease.worker };
  }

  describe(`Transport contract: ${name}`, () => {
    beforeAll(async () => {
      transport = await options.create();
      await transport.channels.start();
    }, timeout);

    afterAll(async () => {
      await transport?.channels.close();
    }, timeout);

    it(
      'reports a call’s result as its one final event',
      async () => {
        const { events } = await send(`${CONTRACT_MODULE}.add`, [2, 3]);
        assert.deepEqual(await events.settled(), { kind: 'result', value: 5 });
        assert.equal(events.finals, 1);
      },
      timeout,
    );

    it(
      'reports a Python exception as a PythonError',
      async () => {
        const { events } = await send(`${CONTRACT_MODULE}.fail`, ['KeyError', 'nope']);
        const final = await events.settled();
        assert.equal(final.kind, 'fail');
        assert.ok(PythonError.is(final.value), String(final.value));
        assert.equal(final.value.pythonType, 'KeyError');
      },
      timeout,
    );

    it(
      'streams items in order, never more than the window ahead without credit, then ends',
      async () => {
        const { events, control } = await send(`${CONTRACT_MODULE}.count`, [10], { window: 3 });
        await events.until(() => events.items.length >= 3, 'the first window of items');
        // A call on the same channel answers after the generator has had every chance to run ahead.
        const probe = await send(`${CONTRACT_MODULE}.echo`, ['probe']);
        await probe.events.settled();
        assert.deepEqual(events.items, [0, 1, 2]);
        assert.equal(events.final, undefined);
        control.credit(10); // the generator learns it is exhausted only when it may produce once more
        assert.deepEqual(await events.settled(), { kind: 'end' });
        assert.deepEqual(events.items, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      },
      timeout,
    );

    it(
      'stops a cancelled call in Python, and the channel takes calls again',
      async () => {
        const tag = `cancel-${process.pid}-${Date.now()}`;
        const { control, channel, events } = await send(`${CONTRACT_MODULE}.cancellable_sleep`, [tag, 30]);
        const started = () => send(`${CONTRACT_MODULE}.recall`, [`${tag}:started`]);
        await eventually(async () => (await (await started()).events.settled()).value === true, 10_000, 'the start');
        control.cancel();
        control.cancel(); // idempotent
        await eventually(async () => channel.accepting, 10_000, 'the channel to accept calls again');
        // The cancel reaches Python on its own path: its effect is seen, not timed.
        const recalled = async () => (await (await send(`${CONTRACT_MODULE}.recall`, [tag])).events.settled()).value;
        await eventually(async () => (await recalled()) === 'cancelled', 10_000, 'the call to be cancelled in Python');
        assert.ok(events.finals <= 1);
      },
      timeout,
    );

    it(
      'carries a callback request and its answer while the call runs',
      async () => {
        const { events, control } = await send(`${CALLBACK_MODULE}.call_once`, [() => 'unused']);
        await events.until(() => events.callbacks.length > 0, 'the callback request');
        const [request] = events.callbacks;
        assert.ok(request !== undefined);
        const [index, args] = serializer.decode(request.payload) as [number, unknown[]];
        assert.deepEqual([index, args], [1, []]);
        control.answerCallback(request.id, { result: serializer.encode(41) });
        assert.deepEqual(await events.settled(), { kind: 'result', value: 41 });
      },
      timeout,
    );

    it(
      'frees released handles: a call on one fails typed afterwards',
      async () => {
        const made = await send(`${CONTRACT_MODULE}.make_counter`, [5]);
        const final = await made.events.settled();
        assert.equal(final.kind, 'result');
        const handle = (final.value as { id: number }).id;
        made.channel.release([handle]);
        // A release is fire and forget, and over gRPC its own RPC: a call sent after it may overtake it.
        let failed: NonNullable<Recorder['final']> | undefined;
        await eventually(
          async () => {
            failed = await (await send('increment', [], { handle, pinned: true })).events.settled();
            return failed.kind === 'fail';
          },
          10_000,
          'the released handle to be refused',
        );
        assert.ok(SnakeBridgeError.is(failed?.value), String(failed?.value));
        assert.equal(failed.value.code, 'HANDLE_INVALID');
      },
      timeout,
    );

    if (options.kill !== undefined) {
      const kill = options.kill;
      it(
        'fails the calls in flight at once with WorkerCrashedError when the process dies',
        async () => {
          const { events, channel } = await send(`${CONTRACT_MODULE}.sleep`, [30]);
          const other = await send(`${CONTRACT_MODULE}.sleep`, [30]);
          kill(channel);
          for (const recorder of [events, other.events]) {
            const final = await recorder.settled();
            assert.equal(final.kind, 'fail');
            assert.ok(WorkerCrashedError.is(final.value), String(final.value));
          }
          // The pool replaces it: calls go through again.
          await eventually(
            async () => {
              const next = await send(`${CONTRACT_MODULE}.echo`, [1]);
              return (await next.events.settled()).kind === 'result';
            },
            15_000,
            'a replacement channel',
          );
        },
        timeout,
      );
    }
  });
}
