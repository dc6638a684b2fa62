// The protobuf serializer end to end: real Python workers through the stdio
// invoker, calls with and without a schema, and workers whose schema differs.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StdioInvoker } from '@snakebridge/adapter-stdio';
import {
  HandleRef,
  NDArray,
  resolveConfig,
  SerializationError,
  type SnakeBridgeSettings,
  silentLogger,
  WorkerStartError,
} from '@snakebridge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProtobufSerializer } from '../src/index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));

const CALLABLES = {
  'users.create_user': { request: 'demo.CreateUserRequest', response: 'demo.User' },
  'users.count_users': { response: 'demo.Count' },
  'users.bad_user': { response: 'demo.User' },
  'users.events': { response: 'demo.Event' },
};

function serializer(protoFile = 'users.proto'): ProtobufSerializer {
  return new ProtobufSerializer({
    protoFiles: [protoFile],
    callables: CALLABLES,
    baseDir: FIXTURES,
    includePaths: [FIXTURES],
  });
}

function invoker(settings: SnakeBridgeSettings = {}, using = serializer()): StdioInvoker {
  const config = resolveConfig(
    {
      ...settings,
      python: { ...settings.python, path: [FIXTURES] },
      pool: { min: 1, max: 1, ...settings.pool },
      timeouts: { startMs: 15_000, shutdownGraceMs: 2_000 },
    },
    { env: {} },
  );
  return new StdioInvoker({ config, serializer: using, logger: silentLogger });
}

const call = (target: string, args: unknown[] = [], kwargs?: Record<string, unknown>) => ({
  op: 'call' as const,
  target,
  args,
  kwargs,
});

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('protobuf over the stdio invoker', () => {
  let bridge: StdioInvoker;
  beforeAll(async () => {
    bridge = invoker();
    await bridge.start();
  });
  afterAll(() => bridge.close());

  it('round-trips a callable with a schema: args become the request, the result the response', async () => {
    const user = await bridge.call(
      call('users.create_user', ['Ada', 36], { tags: ['admin'], address: { city: 'Oslo' }, role: 'ROLE_ADMIN' }),
    );
    expect(user).toStrictEqual({
      id: 1n,
      name: 'Ada',
      age: 36,
      tags: ['admin'],
      address: { city: 'Oslo', street: '' },
      role: 'ROLE_ADMIN',
      // Not sent, so the Python default applied: fields with presence are left out of the kwargs.
      nickname: '(no nickname)',
      scores: { math: 9.5 },
      created: new Date('2024-02-29T12:34:56.789Z'),
      avatar: new Uint8Array(),
    });
  });

  it('rejects a malformed request before it is sent, so nothing reaches Python', async () => {
    const before = (await bridge.call(call('users.created'))) as string[];
    const started = bridge.stats().callsStarted;
    const error = await rejection(bridge.call(call('users.create_user', ['Eve', 'old'])));
    expect(SerializationError.is(error)).toBe(true);
    expect(error.message).toBe('[protobuf] at args.age: expected int32, got "old"');
    const unknown = await rejection(bridge.call(call('users.create_user', ['Eve'], { adress: { city: 'Rome' } })));
    expect(unknown.message).toMatch(/at args\.adress: demo\.CreateUserRequest has no field 'adress'/);
    const nested = await rejection(bridge.call(call('users.create_user', ['Eve'], { address: { city: 5 } })));
    expect(nested.message).toMatch(/at args\.address\.city: expected string, got 5/);
    expect(bridge.stats().callsStarted).toBe(started);
    expect(await bridge.call(call('users.created'))).toEqual(before);
  });

  it('fills a one-field response with the plain value the function returned', async () => {
    const count = (await bridge.call(call('users.created'))) as string[];
    expect(await bridge.call(call('users.count_users'))).toStrictEqual({ total: BigInt(count.length) });
  });

  it('checks a result against its response type and names the field', async () => {
    const error = await rejection(bridge.call(call('users.bad_user')));
    expect(SerializationError.is(error)).toBe(true);
    // Checked in the worker, before the result is sent.
    expect(error.message).toMatch(/^\[protobuf\] at result\.age: expected int32, got 'old'/);
  });

  it('decodes each item of a stream as the response message', async () => {
    const items: unknown[] = [];
    for await (const item of bridge.stream(call('users.events', [2]))) items.push(item);
    expect(items).toHaveLength(2);
    expect(items[1]).toStrictEqual({
      kind: 'tick',
      user_id: 1n,
      labels: new Map([[1n, '#1']]),
      flags: new Map(),
      payload: { i: 1, even: false },
      samples: [],
      sequence: 0n,
      delta: 0,
      checksum: 0n,
      ratio: 0,
      places: [],
    });
  });

  it('carries any value with the dynamic snakebridge.Value when the callable has no schema', async () => {
    const value = {
      text: 'ünï 🐍',
      numbers: [0, -1, 1.5, Number.NaN, -0, Infinity],
      big: [2n ** 64n, -(2n ** 63n), 5n],
      bytes: new Uint8Array([0, 255]),
      when: new Date('2000-01-01T00:00:00.001Z'),
      map: new Map<unknown, unknown>([
        [1, 'one'],
        ['two', [2]],
      ]),
      set: new Set(['a']),
      array: new Float64Array([1, 2.5]),
      matrix: new NDArray(new Int32Array([1, 2, 3, 4]), [2, 2]),
      nothing: null,
    };
    // Python has one int type: a small int comes back as a number, as with every serializer.
    expect(await bridge.call(call('users.echo', [value]))).toStrictEqual({
      ...value,
      big: [2n ** 64n, -(2n ** 63n), 5],
    });
    expect(await bridge.call(call('math.hypot', [3, 4]))).toBe(5);
  });

  it('sends what cannot travel by value as a handle, and takes it back', async () => {
    const handle = await bridge.call(call('users.make_opaque', ['secret']));
    expect(handle).toBeInstanceOf(HandleRef);
    expect((handle as HandleRef).type).toBe('users.Opaque');
    expect(await bridge.call(call('users.label_of', [handle]))).toBe('secret');
    await bridge.release([handle as HandleRef]);
  });
});

describe('a worker whose schema is not the host’s', () => {
  it('refuses to start when it is pinned to another schema hash', async () => {
    const bridge = invoker({ python: { env: { SNAKEBRIDGE_PROTOBUF_SCHEMA_HASH: 'ab'.repeat(32) } } });
    try {
      const error = await rejection(bridge.start());
      expect(WorkerStartError.is(error)).toBe(true);
      expect(error.message).toMatch(/the host and this worker were built from different \.proto files/);
      expect(error.message).toContain(serializer().schemaHash);
    } finally {
      await bridge.close();
    }
  });

  it('starts when it is pinned to the host’s schema hash', async () => {
    const bridge = invoker({ python: { env: { SNAKEBRIDGE_PROTOBUF_SCHEMA_HASH: serializer().schemaHash } } });
    try {
      await bridge.start();
      expect(await bridge.call(call('users.count_users'))).toStrictEqual({ total: 0n });
    } finally {
      await bridge.close();
    }
  });

  it('refuses to start when its own descriptors were built from a different .proto', async () => {
    const other = serializer('v2/users.proto');
    const path = join(mkdtempSync(join(tmpdir(), 'snakebridge-protobuf-')), 'users.binpb');
    writeFileSync(path, other.schema.descriptorSet);
    const bridge = invoker({ python: { env: { SNAKEBRIDGE_PROTOBUF_DESCRIPTORS: path } } });
    try {
      const error = await rejection(bridge.start());
      expect(WorkerStartError.is(error)).toBe(true);
      expect(error.message).toMatch(/built from different \.proto files: demo\.User field 3: the host has int32 age/);
    } finally {
      await bridge.close();
    }
  });
});
