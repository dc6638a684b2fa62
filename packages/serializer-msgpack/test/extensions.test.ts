// The extension hook another serializer (Arrow, for tables) uses to add a type on both sides.

import { SerializationError } from '@snakebridge/core';
import { describe, expect, it } from 'vitest';
import { createMsgpackSerializer, type MsgpackExtension, MsgpackSerializer } from '../src/index.js';

/** Stands for an Arrow table. */
class Table {
  constructor(readonly rows: readonly number[]) {}
}

const tables: MsgpackExtension = {
  type: 85,
  kind: 'arrowTable',
  accepts: (value) => value instanceof Table,
  encode: (value) => Uint8Array.from((value as Table).rows),
  decode: (payload) => new Table([...payload]),
};

describe('MsgpackSerializer extensions', () => {
  it('adds the kind of value the extension carries to supports', () => {
    expect(createMsgpackSerializer({ extensions: [tables] }).supports.has('arrowTable')).toBe(true);
    expect(new MsgpackSerializer().supports.has('arrowTable')).toBe(false);
  });

  it('writes accepted values as its extension type and reads them back, anywhere in a value', () => {
    const msgpack = createMsgpackSerializer({ extensions: [tables] });
    const encoded = msgpack.encode({ t: new Table([1, 2]) });
    expect(Buffer.from(encoded).toString('hex')).toBe('81a174d5550102');
    expect(msgpack.decode(encoded)).toEqual({ t: new Table([1, 2]) });
    expect(msgpack.decode(msgpack.encode(new Set([new Table([3])])))).toEqual(new Set([new Table([3])]));
  });

  it('is asked before the built-in rules', () => {
    const dates: MsgpackExtension = {
      type: 88,
      accepts: (value) => value instanceof Date,
      encode: () => Uint8Array.of(7),
      decode: () => 'a date, our way',
    };
    expect(
      createMsgpackSerializer({ extensions: [dates] }).decode(
        createMsgpackSerializer({ extensions: [dates] }).encode(new Date()),
      ),
    ).toBe('a date, our way');
  });

  it('refuses a value its encoder throws on, naming where it is', () => {
    const failing: MsgpackExtension = {
      ...tables,
      encode: () => {
        throw new Error('no schema');
      },
    };
    const msgpack = createMsgpackSerializer({ extensions: [failing] });
    expect(() => msgpack.encode({ data: [new Table([1])] })).toThrow(
      /at data\[0\]: extension type 85 could not encode the value: no schema/,
    );
  });

  it('turns a decoder error into a SerializationError', () => {
    const failing: MsgpackExtension = {
      ...tables,
      decode: () => {
        throw new Error('bad IPC');
      },
    };
    const msgpack = createMsgpackSerializer({ extensions: [failing] });
    expect(() => msgpack.decode(msgpack.encode(new Table([1])))).toThrow(SerializationError);
  });

  it('is refused when its type is taken, reserved or out of range, or given twice', () => {
    for (const type of [80, 84, 0x73, 0x72, 0, 128, -1, 1.5]) {
      expect(() => createMsgpackSerializer({ extensions: [{ ...tables, type }] })).toThrow(RangeError);
    }
    expect(() => createMsgpackSerializer({ extensions: [tables, tables] })).toThrow(/twice/);
  });

  it('leaves a serializer without it refusing its extension type', () => {
    const encoded = createMsgpackSerializer({ extensions: [tables] }).encode(new Table([1]));
    expect(() => new MsgpackSerializer().decode(encoded)).toThrow(SerializationError);
  });
});
