import { describe, expect, it } from 'vitest';
import { captured } from '../src/bridge/captured.js';
import { NDArray } from '../src/index.js';

describe('captured arguments', () => {
  it('copy containers at any depth, so later changes to the originals do not reach the copy', () => {
    const original = {
      list: [1, [2]],
      floats: new Float64Array([1, 2]),
      bytes: Buffer.from([1, 2]),
      view: new DataView(new ArrayBuffer(2)),
      buffer: new ArrayBuffer(1),
      map: new Map([['k', [1]]]),
      set: new Set([[1]]),
      date: new Date(0),
      array: new NDArray(new Int32Array([1, 2, 3, 4]), [2, 2]),
    };
    const copy = captured(original);
    (original.list[1] as number[]).push(3);
    original.floats.fill(0);
    original.bytes.fill(0);
    original.view.setUint8(0, 9);
    new Uint8Array(original.buffer).fill(9);
    original.map.get('k')?.push(2);
    for (const item of original.set) item.push(2);
    original.date.setTime(1);
    original.array.data.fill(0);
    expect(copy.list).toEqual([1, [2]]);
    expect(copy.floats).toEqual(new Float64Array([1, 2]));
    expect(Buffer.isBuffer(copy.bytes) && [...copy.bytes]).toEqual([1, 2]);
    expect(copy.view.getUint8(0)).toBe(0);
    expect(new Uint8Array(copy.buffer)[0]).toBe(0);
    expect(copy.map.get('k')).toEqual([1]);
    expect([...copy.set]).toEqual([[1]]);
    expect(copy.date.getTime()).toBe(0);
    expect(copy.array).toBeInstanceOf(NDArray);
    expect([...copy.array.data]).toEqual([1, 2, 3, 4]);
    expect(copy.array.shape).toEqual([2, 2]);
  });

  it('keep shared objects shared, cycles as cycles, holes as holes and __proto__ as a key', () => {
    const shared = { n: 1 };
    const cycle: unknown[] = [];
    cycle.push(cycle);
    const withKey = JSON.parse('{"__proto__": 1}') as object;
    const holes = [1, 2, 3];
    delete holes[1];
    const copy = captured({ a: shared, b: shared, cycle, holes, withKey });
    expect(copy.a).not.toBe(shared);
    expect(copy.a).toBe(copy.b);
    expect(copy.cycle[0]).toBe(copy.cycle);
    expect(1 in copy.holes).toBe(false);
    expect(Object.getPrototypeOf(copy.withKey)).toBe(Object.prototype);
    expect(Object.keys(copy.withKey)).toEqual(['__proto__']);
  });

  it('pass functions, promises and instances of other classes as themselves', () => {
    class Point {
      x = 1;
    }
    const fn = () => 1;
    const promise = Promise.resolve(1);
    const point = new Point();
    const copy = captured([fn, promise, point]);
    expect(copy[0]).toBe(fn);
    expect(copy[1]).toBe(promise);
    expect(copy[2]).toBe(point);
  });
});
