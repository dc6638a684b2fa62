import { describeSerializerContract } from '@snakebridge/core/testing';
import * as vitest from 'vitest';
import { describe, expect, it } from 'vitest';
import { HandleRef, JsonSerializer, SerializationError } from '../src/index.js';

describeSerializerContract(vitest, 'json', { create: () => new JsonSerializer() });

const json = new JsonSerializer();
const text = (value: unknown): string => new TextDecoder().decode(json.encode(value));

describe('JsonSerializer wire form', () => {
  it('writes plain data as plain JSON', () => {
    expect(text({ a: [1, 'x', null, true] })).toBe('{"a":[1,"x",null,true]}');
  });

  it('tags what JSON lacks', () => {
    expect(text(Number.NaN)).toBe('{"$sb":"float","v":"NaN"}');
    expect(text(-0)).toBe('{"$sb":"float","v":"-0"}');
    expect(text(2n ** 70n)).toBe('{"$sb":"int","v":"1180591620717411303424"}');
    expect(text(new Uint8Array([104, 105]))).toBe('{"$sb":"bytes","v":"aGk="}');
    expect(text(new Date(0))).toBe('{"$sb":"date","v":"1970-01-01T00:00:00.000Z"}');
    expect(text(new HandleRef({ id: 3, type: 'm.C' }))).toBe('{"$sb":"handle","id":3,"type":"m.C"}');
  });

  it('sends an integral number beyond 2^53 as the float it already is', () => {
    expect(text(2 ** 60)).toBe(`{"$sb":"float","v":"${String(2 ** 60)}"}`);
  });

  it('wraps a user object that uses the tag key, so it is not mistaken for a tag', () => {
    const value = { $sb: 'bytes', v: 'not really' };
    expect(text(value)).toBe('{"$sb":"object","v":{"$sb":"bytes","v":"not really"}}');
    expect(json.decode(json.encode(value))).toEqual(value);
  });

  it('names the path of a value it refuses', () => {
    expect(() => json.encode({ rows: [{ callback: () => 1 }] })).toThrow(/rows\[0\]\.callback/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => json.encode(cyclic)).toThrow(SerializationError);
  });
});

describe('JsonSerializer edge cases', () => {
  it('keeps a __proto__ key as an own property rather than changing the prototype', () => {
    const decoded = json.decode(new TextEncoder().encode('{"__proto__":{"polluted":true}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.hasOwn(decoded, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('sends a Buffer as bytes, like any Uint8Array', () => {
    expect(text(Buffer.from('hi'))).toBe('{"$sb":"bytes","v":"aGk="}');
  });
});
