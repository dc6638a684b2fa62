import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  Bridge,
  type Call,
  type CallOptions,
  ClosedError,
  callOptions,
  HandleError,
  HandleRef,
  handleOf,
  type Invoker,
  JsonSerializer,
  kwargs,
  PipelineError,
  release,
  resolveConfig,
  SessionError,
  type SessionRef,
  setattr,
  silentLogger,
} from '../src/index.js';

/** An invoker that records calls and answers with `answer(call)`. */
class FakeInvoker implements Invoker {
  readonly kind = 'fake';
  readonly calls: { call: Call; options: CallOptions | undefined }[] = [];
  readonly released: HandleRef[] = [];
  readonly closedSessions: string[] = [];
  constructor(private readonly answer: (call: Call) => unknown = () => null) {}
  async start(): Promise<void> {}
  async call<T>(call: Call, options?: CallOptions): Promise<T> {
    this.calls.push({ call, options });
    const value = this.answer(call);
    return (value instanceof HandleRef && options?.reviveHandle ? options.reviveHandle(value) : value) as T;
  }
  async *stream<T>(call: Call, options?: CallOptions): AsyncIterableIterator<T> {
    this.calls.push({ call, options });
    yield* this.answer(call) as T[];
  }
  async release(handles: readonly HandleRef[]): Promise<void> {
    this.released.push(...handles);
  }
  async openSession(): Promise<SessionRef> {
    return { id: 's1', owner: 'w1' };
  }
  async closeSession(session: SessionRef): Promise<void> {
    this.closedSessions.push(session.id);
  }
  stats() {
    return { inFlight: 0, callsStarted: 0, callsSucceeded: 0, callsFailed: 0, liveHandles: 0 };
  }
  async close(): Promise<void> {}
}

function bridgeWith(answer?: (call: Call) => unknown): { bridge: Bridge; invoker: FakeInvoker } {
  const invoker = new FakeInvoker(answer);
  return { bridge: new Bridge(invoker, resolveConfig({}, { env: {} }), silentLogger), invoker };
}

const model = new HandleRef({ id: 9, type: 'sklearn.linear_model.LinearRegression', repr: 'LinearRegression()' }, 'w1');

describe('module proxies', () => {
  it('calls a dotted path with positional arguments', async () => {
    const { bridge, invoker } = bridgeWith(() => 5);
    const np = bridge.module('numpy');
    expect(await np.linalg.norm([3, 4])).toBe(5);
    expect(invoker.calls[0]?.call).toEqual({
      op: 'call',
      target: 'numpy.linalg.norm',
      handle: undefined,
      args: [[3, 4]],
      kwargs: undefined,
    });
  });

  it('takes keyword arguments and call options from trailing markers, in either order', async () => {
    const { bridge, invoker } = bridgeWith();
    const signal = new AbortController().signal;
    await bridge.module('pandas').read_csv('a.csv', callOptions({ timeoutMs: 50, signal }), kwargs({ sep: ';' }));
    expect(invoker.calls[0]?.call.args).toEqual(['a.csv']);
    expect(invoker.calls[0]?.call.kwargs).toEqual({ sep: ';' });
    expect(invoker.calls[0]?.options).toMatchObject({ timeoutMs: 50, signal });
  });

  it('reads an attribute when awaited, but is not itself thenable at the module root', async () => {
    const { bridge, invoker } = bridgeWith(() => 3.14);
    const np = bridge.module('numpy');
    expect(await np.pi).toBe(3.14);
    expect(invoker.calls[0]?.call).toMatchObject({ op: 'getattr', target: 'numpy.pi' });
    expect(await Promise.resolve(np)).toBe(np);
    expect(invoker.calls).toHaveLength(1);
  });

  it('describes itself without calling Python', () => {
    const { bridge, invoker } = bridgeWith();
    expect(inspect(bridge.module('numpy').linalg)).toBe('<py numpy.linalg>');
    expect(invoker.calls).toHaveLength(0);
  });
});

describe('handle proxies', () => {
  it('calls methods and reads attributes on the object the handle stands for', async () => {
    const { bridge, invoker } = bridgeWith((call) =>
      call.target === 'sklearn.linear_model.LinearRegression' ? model : 0.5,
    );
    const m = await bridge.call('sklearn.linear_model.LinearRegression');
    expect(handleOf(m)).toBe(model);
    expect(inspect(m)).toBe('<py LinearRegression() #9>');
    await m.fit([[1]], [2]);
    expect(invoker.calls[1]?.call).toMatchObject({ op: 'call', target: 'fit', handle: model });
    expect(await m.coef_).toBe(0.5);
    expect(invoker.calls[2]?.call).toMatchObject({ op: 'getattr', target: 'coef_', handle: model });
    await setattr(m, 'alpha', 0.1);
    expect(invoker.calls[3]?.call).toMatchObject({ op: 'setattr', target: 'alpha', handle: model, args: [0.1] });
    expect(() => {
      m.alpha = 1;
    }).toThrow(/setattr/);
  });

  it('is released once by await using, however often it is disposed', async () => {
    const ref = new HandleRef({ id: 1, type: 'x.Y' }, 'w1');
    const { bridge, invoker } = bridgeWith(() => ref);
    {
      await using obj = await bridge.call('x.make');
      await obj[Symbol.asyncDispose]();
    }
    expect(invoker.released).toEqual([ref]);
    expect(ref.released).toBe(true);
  });

  it('iterates the Python object with for await', async () => {
    const { bridge, invoker } = bridgeWith((call) => (call.op === 'iter' ? [1, 2] : model));
    const items: unknown[] = [];
    for await (const item of await bridge.call('x.make')) items.push(item);
    expect(items).toEqual([1, 2]);
    expect(invoker.calls[1]?.call).toMatchObject({ op: 'iter', target: '', handle: model });
  });
});

describe('results of calls through proxies', () => {
  it('are promises of the result: awaited, caught and finished, and test frameworks take them as promises', async () => {
    const { bridge } = bridgeWith((call) => {
      if (call.target === 'm.fail') throw new TypeError('nope');
      return 7;
    });
    const result = bridge.module('m').seven();
    expect(result).toBeInstanceOf(Promise);
    expect(typeof result).toBe('object');
    expect(await result).toBe(7);
    expect(
      await bridge
        .module('m')
        .seven()
        .finally(() => undefined),
    ).toBe(7);
    const failed = bridge.module('m').fail();
    await expect(failed).rejects.toThrow('nope');
    expect(await failed.catch((error: Error) => error.message)).toBe('nope');
  });

  it('take calls on themselves before they arrive; without pipelining (this invoker) each waits for its result', async () => {
    const { bridge, invoker } = bridgeWith((call) => (call.target === 'm.make' ? model : 'done'));
    const made = bridge.module('m').make();
    expect(await made.fit(1)).toBe('done');
    expect(invoker.calls.map(({ call }) => [call.target, call.handle, call.promise])).toEqual([
      ['m.make', undefined, undefined],
      ['fit', model, undefined],
    ]);
    expect(await made).toBe(await made); // one proxy for the object it came back as
    expect(handleOf(await made)).toBe(model);
  });

  it('go in calls made in the same turn as the one making them, in the order they were made', async () => {
    const { bridge, invoker } = bridgeWith((call) => call.target);
    const m = bridge.module('m');
    const first = m.first();
    const second = bridge.call('m.second');
    const third = m.third();
    expect(invoker.calls).toEqual([]); // nothing before the end of the turn
    await Promise.all([first, second, third]);
    expect(invoker.calls.map(({ call }) => call.target)).toEqual(['m.first', 'm.second', 'm.third']);
  });

  it('go out with their arguments as they were when made, though changed before the end of the turn', async () => {
    const { bridge, invoker } = bridgeWith(() => null);
    const floats = new Float64Array([1, 2]);
    const list = [1, [2]];
    const shared = { n: 1 };
    const calls = [bridge.module('m').f(floats, list, { a: shared, b: shared }), bridge.call('m.g', [list])];
    floats.fill(0);
    list.push(3);
    (list[1] as number[]).push(4);
    shared.n = 2;
    await Promise.all(calls);
    const [f, g] = invoker.calls.map(({ call }) => call.args ?? []);
    expect(f).toEqual([new Float64Array([1, 2]), [1, [2]], { a: { n: 1 }, b: { n: 1 } }]);
    const fields = f?.[2] as { a: unknown; b: unknown };
    expect(fields.a).toBe(fields.b); // one object still, as the serializer would have seen it
    expect(g).toEqual([[1, [2]]]);
  });

  it('are refused, as the promises they are, deep inside an argument before they arrive', () => {
    const { bridge } = bridgeWith(() => 1);
    const pending = bridge.module('m').f();
    expect(() => new JsonSerializer().encode([[{ deep: [pending] }], {}])).toThrow(/a Promise cannot be sent/);
  });

  it('refuse new calls once released, and fail the calls made on them when they fail', async () => {
    const { bridge } = bridgeWith((call) => {
      if (call.target === 'm.fail') throw new TypeError('nope');
      return model;
    });
    const made = bridge.module('m').make();
    await release(made);
    await expect(made.fit()).rejects.toSatisfy((e: unknown) => HandleError.is(e));
    const failed = bridge.module('m').fail();
    const error = await failed.fit().catch((e: unknown) => e);
    expect(PipelineError.is(error, 'PIPELINE_BROKEN')).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(TypeError);
  });
});

describe('sessions and lifecycle', () => {
  it('pins the calls of a session and refuses them after close', async () => {
    const { bridge, invoker } = bridgeWith();
    const session = await bridge.session();
    await session.call('m.f');
    await session.module('m').g();
    expect(invoker.calls.map((c) => c.options?.session?.id)).toEqual(['s1', 's1']);
    await session.close();
    expect(invoker.closedSessions).toEqual(['s1']);
    await expect(session.call('m.f')).rejects.toSatisfy((e: unknown) => SessionError.is(e));
  });

  it('closes open sessions with the bridge and refuses calls afterwards', async () => {
    const { bridge, invoker } = bridgeWith();
    await bridge.session();
    await bridge.close();
    expect(invoker.closedSessions).toEqual(['s1']);
    await expect(bridge.call('m.f')).rejects.toSatisfy((e: unknown) => ClosedError.is(e));
    await expect(bridge.module('m').f()).rejects.toSatisfy((e: unknown) => ClosedError.is(e));
  });
});

describe('proxies handed to plain JavaScript', () => {
  const handleProxyOf = async () => {
    const { bridge, invoker } = bridgeWith(() => model);
    const proxy = await bridge.call('sklearn.linear_model.LinearRegression');
    invoker.calls.length = 0;
    return { bridge, invoker, proxy };
  };

  it('serialize to JSON as a plain description, without calling Python', async () => {
    const { bridge, invoker, proxy } = await handleProxyOf();
    expect(JSON.parse(JSON.stringify({ model: proxy, coef: proxy.coef_ }))).toEqual({
      model: { $python: 'sklearn.linear_model.LinearRegression', handle: 9 },
      coef: { $python: 'sklearn.linear_model.LinearRegression.coef_', handle: 9 },
    });
    expect(JSON.stringify(bridge.module('numpy').linalg)).toBe('{"$python":"numpy.linalg"}');
    expect(invoker.calls).toEqual([]);
  });

  it('turn into strings and inspect locally', async () => {
    const { invoker, proxy } = await handleProxyOf();
    expect(String(proxy)).toBe('<py LinearRegression() #9>');
    expect(`${proxy.fit}`).toBe('<py LinearRegression() #9>.fit');
    expect(proxy.toString()).toBe('<py LinearRegression() #9>');
    expect(Object.prototype.toString.call(proxy)).toBe('[object PyProxy]');
    expect(inspect(proxy)).toBe('<py LinearRegression() #9>');
    expect(invoker.calls).toEqual([]);
  });

  it('answer the hooks of test frameworks and UI libraries with nothing, so matchers never call Python', async () => {
    const { invoker, proxy } = await handleProxyOf();
    for (const hook of ['constructor', 'asymmetricMatch', '$$typeof', 'nodeType', 'tagName', '_isMockFunction']) {
      expect(proxy[hook], hook).toBeUndefined();
    }
    expect({ model: proxy }).toEqual({ model: proxy });
    expect([proxy]).toContain(proxy);
    expect(proxy).toBeTruthy();
    expect(invoker.calls).toEqual([]);
  });

  it('are not thenable at the root, so returning one from async code makes no call', async () => {
    const { invoker, proxy } = await handleProxyOf();
    const same = await (async () => proxy)();
    expect(same).toBe(proxy);
    expect(invoker.calls).toEqual([]);
  });

  it('still call Python for every other attribute', async () => {
    const { invoker, proxy } = await handleProxyOf();
    await proxy.predict([[1]]);
    await proxy.coef_;
    expect(invoker.calls.map(({ call }) => [call.op, call.target])).toEqual([
      ['call', 'predict'],
      ['getattr', 'coef_'],
    ]);
  });
});
