// Per-callable schemas on the TypeScript side: loading, the descriptor set
// sent to Python, checking requests before they are sent, reading responses.

import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  CONFIG,
  ConfigError,
  HandleRef,
  type HandleWire,
  resolveConfig,
  SERIALIZER,
  SerializationError,
  type Serializer,
} from '@snakebridge/core';
import { Container } from 'inversify';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor.js';
import { describe, expect, it } from 'vitest';
import { containerModule, createProtobufSerializer, ProtobufSerializer } from '../src/index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
const CALLABLES = {
  'users.create_user': { request: 'demo.CreateUserRequest', response: 'demo.User' },
  'users.count_users': { response: 'demo.Count' },
  'users.log_event': { request: 'demo.Event', response: 'demo.Event' },
};
const serializer = new ProtobufSerializer({ protoFiles: ['users.proto'], callables: CALLABLES, baseDir: FIXTURES });

const args = (target: string, positional: unknown[], kwargs: Record<string, unknown> = {}) =>
  serializer.encode([positional, kwargs], { target, role: 'args' });
const request = (target: string, positional: unknown[], kwargs: Record<string, unknown> = {}) =>
  serializer.decode(args(target, positional, kwargs), { target, role: 'args' }) as [unknown[], Record<string, unknown>];
const refusal = (action: () => unknown): SerializationError => {
  try {
    action();
  } catch (error) {
    if (SerializationError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a SerializationError');
};
/** A result as the worker sends it when it does not know the callable: a plain dynamic value. */
const plain = (value: unknown) => new ProtobufSerializer().encode(value);

describe('loading a schema', () => {
  it('describes the .proto files, their imports and snakebridge.proto as protoc would, dependencies first', () => {
    expect(serializer.schema.files).toEqual([
      'common/types.proto',
      'google/protobuf/timestamp.proto',
      'snakebridge.proto',
      'users.proto',
    ]);
    const set = descriptor.FileDescriptorSet.decode(
      serializer.schema.descriptorSet,
    ) as unknown as descriptor.IFileDescriptorSet;
    const users = set.file?.find((file) => file.name === 'users.proto') as descriptor.IFileDescriptorProto;
    expect([...(users.dependency as string[])].sort()).toEqual([
      'common/types.proto',
      'google/protobuf/timestamp.proto',
      'snakebridge.proto',
    ]);
    const user = users.messageType?.find((message) => message.name === 'User');
    const scores = user?.field?.find((field) => field.name === 'scores');
    expect(scores?.typeName).toBe('.demo.User.ScoresEntry');
    expect(user?.nestedType?.map((nested) => nested.name)).toContain('ScoresEntry');
  });

  it('names the schema by the sha256 of its descriptor set, the same for the same files', () => {
    expect(serializer.schemaHash).toBe(createHash('sha256').update(serializer.schema.descriptorSet).digest('hex'));
    const again = new ProtobufSerializer({ protoFiles: [`${FIXTURES}/users.proto`], callables: CALLABLES });
    expect(again.schemaHash).toBe(serializer.schemaHash);
    const other = new ProtobufSerializer({ protoFiles: ['v2/users.proto'], baseDir: FIXTURES, includePaths: ['.'] });
    expect(other.schemaHash).not.toBe(serializer.schemaHash);
  });

  it('gives Python the descriptor set, its hash and the message types per callable', () => {
    expect(serializer.pythonOptions).toEqual({
      descriptor_set: Buffer.from(serializer.schema.descriptorSet).toString('base64'),
      schema_hash: serializer.schemaHash,
      callables: {
        'users.create_user': { request: 'demo.CreateUserRequest', response: 'demo.User' },
        'users.count_users': { response: 'demo.Count' },
        'users.log_event': { request: 'demo.Event', response: 'demo.Event' },
      },
    });
  });

  it('builds a descriptor set protobufjs reads back to the same message types', () => {
    const root = protobuf.Root.fromDescriptor(serializer.schema.descriptorSet, { keepCase: true }).resolveAll();
    const shape = (type: protobuf.Type) =>
      type.fieldsArray.map((field) => [field.name, field.id, field.resolve().resolvedType?.fullName ?? field.type]);
    for (const name of ['demo.User', 'demo.Event', 'snakebridge.Value']) {
      expect(shape(root.lookupType(name))).toEqual(shape(serializer.schema.root.lookupType(name)));
    }
  });

  it('refuses a missing .proto file with a ConfigError naming protobuf.protoFiles', () => {
    const error = (() => {
      try {
        return new ProtobufSerializer({ protoFiles: ['nope.proto'], baseDir: FIXTURES });
      } catch (caught) {
        return caught;
      }
    })();
    expect(ConfigError.is(error)).toBe(true);
    expect((error as ConfigError).field).toBe('protobuf.protoFiles');
    expect((error as Error).message).toMatch(/nope\.proto/);
  });

  it('refuses a callable whose message type the files do not define, listing the known ones', () => {
    const make = () =>
      new ProtobufSerializer({
        protoFiles: ['users.proto'],
        baseDir: FIXTURES,
        callables: { 'users.get': { request: 'demo.GetUser', response: 'demo.Role' } },
      });
    expect(make).toThrow(ConfigError);
    try {
      make();
    } catch (error) {
      const issues = (error as ConfigError).issues;
      expect(issues[0]).toMatchObject({ field: 'protobuf.callables.users.get.request' });
      expect(issues[0]?.message).toMatch(/no message type 'demo\.GetUser'.*known: demo\.Address, demo\.Count/);
      expect(issues[1]).toMatchObject({ field: 'protobuf.callables.users.get.response' });
      expect(issues[1]?.message).toMatch(/is a enum, not a message type/);
    }
  });
});

describe('a request of a schema', () => {
  it('takes positional arguments in field order and keyword arguments by name', () => {
    expect(request('users.create_user', ['Ada', 36], { role: 'ROLE_ADMIN', tags: ['x'] })).toStrictEqual([
      [],
      { name: 'Ada', age: 36, tags: ['x'], role: 'ROLE_ADMIN' },
    ]);
  });

  it('accepts lowerCamelCase names and keeps an optional field set to its default', () => {
    expect(request('users.log_event', [], { userId: 5n, kind: '' })[1]).toMatchObject({ user_id: 5n, kind: '' });
    expect(request('users.create_user', [], { nickname: '' })[1]).toHaveProperty('nickname', '');
    expect(request('users.create_user', [])[1]).not.toHaveProperty('nickname');
  });

  it.each([
    [['Ada', 'x'], {}, 'at args.age: expected int32, got "x"'],
    [['Ada', 2 ** 31], {}, 'at args.age: expected int32 (-2147483648 to 2147483647), got 2147483648'],
    [['Ada', 1.5], {}, 'at args.age: expected int32, got 1.5'],
    [[], { address: { city: 5 } }, 'at args.address.city: expected string, got 5'],
    [[], { address: ['Oslo'] }, 'at args.address: expected a demo.Address (an object of its fields), got an array'],
    [[], { nmae: 'Ada' }, "at args.nmae: demo.CreateUserRequest has no field 'nmae'"],
    [[], { address: { town: 'Oslo' } }, "at args.address.town: demo.Address has no field 'town'"],
    [[], { tags: 'x' }, 'at args.tags: expected repeated string (an array), got "x"'],
    [[], { tags: ['x', 3] }, 'at args.tags[1]: expected string, got 3'],
    [[], { role: 'ROLE_KING' }, 'at args.role: "ROLE_KING" is not a value of demo.Role'],
    [['Ada'], { name: 'Eve' }, 'at args.name: name is given twice: as positional argument 0 and as a keyword'],
    [[1, 2, 3, 4, 5, 6, 7], {}, 'at args: demo.CreateUserRequest has 6 field(s)'],
  ])('refuses %j %j: %s', (positional, kwargs, message) => {
    const error = refusal(() => args('users.create_user', positional, kwargs));
    expect(error.message).toContain(message);
    expect(error.path).toMatch(/^args/);
  });

  it.each([
    [{ user_id: 1, group: 'g' }, 'only one field of the oneof target may be'],
    [{ labels: { ten: 'x' } }, 'at args.labels["ten"]: expected int64, got "ten"'],
    [{ flags: { yes: 1 } }, 'at args.flags["yes"]: expected a bool key, got "yes"'],
    [{ sequence: -1 }, 'at args.sequence: expected uint64 (0 to 18446744073709551615), got -1'],
    [{ user_id: 2 ** 60 }, 'at args.user_id: expected int64 (a safe integer or a bigint), got 1152921504606847000'],
    [{ checksum: 1.5 }, 'at args.checksum: expected fixed64, got 1.5'],
    [{ payload: () => 1 }, 'at args.payload: a function can be passed to Python only as a callback'],
    [
      { places: [{ city: 'a' }, null] },
      'at args.places[1]: expected a demo.Address (an object of its fields), got null',
    ],
  ])('refuses %j: %s', (kwargs, message) => {
    expect(refusal(() => args('users.log_event', [], kwargs)).message).toContain(message);
  });

  it('takes maps as objects or Maps, 64-bit integers as numbers or bigints, any value in a snakebridge.Value', () => {
    const ref = new HandleRef({ id: 9, type: 'pkg.Model' });
    const seen: HandleRef[] = [];
    const bytes = serializer.encode(
      [[], { labels: new Map([[2n, 'b']]), flags: { true: 1 }, user_id: 7, payload: { model: ref, at: [1n] } }],
      { target: 'users.log_event', role: 'args', onHandle: (handle) => seen.push(handle) },
    );
    expect(seen).toEqual([ref]);
    const wires: HandleWire[] = [];
    const [, fields] = serializer.decode(bytes, {
      target: 'users.log_event',
      role: 'args',
      handle: (wire) => wires.push(wire) && `proxy:${wire.id}`,
    }) as [unknown[], Record<string, unknown>];
    expect(fields).toMatchObject({
      labels: new Map([[2n, 'b']]),
      flags: new Map([[true, 1]]),
      user_id: 7n,
      payload: { model: 'proxy:9', at: [1n] },
    });
    expect(wires.map((wire) => wire.id)).toEqual([9]);
  });

  it('writes equal maps as equal bytes whatever their order', () => {
    const a = args('users.log_event', [], { labels: { 2: 'b', 10: 'a' } });
    const b = args('users.log_event', [], {
      labels: new Map<bigint | number, string>([
        [10n, 'a'],
        [2, 'b'],
      ]),
    });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it('leaves callables it does not name, and other roles, to the dynamic value', () => {
    const dynamic = new ProtobufSerializer();
    expect(serializer.encode([['x', 'y'], {}], { target: 'users.other', role: 'args' })).toEqual(
      dynamic.encode([['x', 'y'], {}]),
    );
    expect(serializer.encode({ total: 'many' }, { target: 'users.count_users', role: 'args' })).toEqual(
      dynamic.encode({ total: 'many' }),
    );
  });
});

describe('a response of a schema', () => {
  const result = (bytes: Uint8Array, target = 'users.create_user', handle?: (wire: HandleWire) => unknown) =>
    serializer.decode(bytes, { target, role: 'result', handle });

  it('reads the message the worker sent, with defaults for unset fields and without unset optional ones', () => {
    const bytes = serializer.encode({ id: 3, name: 'Ada' }, { target: 'users.create_user', role: 'result' });
    expect(result(bytes)).toStrictEqual({
      id: 3n,
      name: 'Ada',
      age: 0,
      tags: [],
      role: 'ROLE_UNSPECIFIED',
      scores: {},
      avatar: new Uint8Array(),
    });
  });

  it('checks and converts a plain value the worker sent, naming the field that does not fit', () => {
    expect(result(plain({ name: 'Ada', age: 3 }))).toMatchObject({ name: 'Ada', age: 3, id: 0n });
    expect(refusal(() => result(plain({ name: 'Ada', age: 'old' }))).message).toBe(
      '[protobuf] at result.age: expected int32, got "old"',
    );
    expect(refusal(() => result(plain({ email: 'x' }))).message).toContain(
      "at result.email: demo.User has no field 'email'",
    );
  });

  it('fills a one-field response with a plain value, and refuses one for a message of more fields', () => {
    expect(result(plain(4), 'users.count_users')).toStrictEqual({ total: 4n });
    expect(refusal(() => result(plain([1, 2]))).message).toMatch(
      /users\.create_user returned an array, but its response is a demo\.User: return a dict of its fields/,
    );
  });

  it('refuses None and a message of another type', () => {
    expect(refusal(() => result(plain(null))).message).toMatch(/users\.create_user returned None/);
    const count = serializer.encode({ total: 1 }, { target: 'users.count_users', role: 'result' });
    expect(refusal(() => result(count)).message).toMatch(
      /users\.create_user should return a demo\.User, but the worker sent a demo\.Count/,
    );
  });

  it('passes a handle through (the function itself, or an object that cannot travel by value)', () => {
    const bytes = plain(new HandleRef({ id: 4, type: 'builtins.function' }));
    expect(result(bytes, 'users.create_user', (wire) => `proxy:${wire.id}`)).toBe('proxy:4');
  });

  it('meets each handle inside a converted result once, through the context', () => {
    const bytes = plain({ kind: 'k', payload: [new HandleRef({ id: 5, type: 't' })] });
    const wires: HandleWire[] = [];
    const decoded = result(bytes, 'users.log_event', (wire) => wires.push(wire) && `proxy:${wire.id}`);
    expect(decoded).toMatchObject({ kind: 'k', payload: ['proxy:5'] });
    expect(wires).toHaveLength(1);
  });

  it('reads a message returned where no schema applies as a plain object of its type', () => {
    const bytes = serializer.encode({ total: 2 }, { target: 'users.count_users', role: 'result' });
    expect(serializer.decode(bytes)).toStrictEqual({ total: 2n });
    expect(refusal(() => new ProtobufSerializer().decode(bytes)).message).toMatch(
      /a demo\.Count message arrived, but no such type is in the schema/,
    );
  });
});

describe('containerModule', () => {
  it('binds SERIALIZER to a protobuf serializer built from the config’s protobuf section', () => {
    const container = new Container();
    const config = resolveConfig(
      {
        serializer: 'protobuf',
        protobuf: {
          protoFiles: [`${FIXTURES}/users.proto`],
          callables: { 'users.count_users': { response: 'demo.Count' } },
        },
      },
      { env: {} },
    );
    container.bind(CONFIG).toConstantValue(config);
    container.load(containerModule);
    const bound = container.get<Serializer>(SERIALIZER);
    expect(bound).toBeInstanceOf(ProtobufSerializer);
    expect(bound.pythonOptions?.callables).toEqual({ 'users.count_users': { response: 'demo.Count' } });
    expect(createProtobufSerializer().wireId).toBe(4);
    expect(bound.contentType).toBe('application/x-protobuf');
  });
});
