// Large values whose handles or class instances lie past the first nodes
// sizeOf looks at: cloned to a thread they would arrive as plain objects and
// be encoded as such, silently. They must be encoded on the main thread.

import { HandleRef, JsonSerializer } from '@snakebridge/core';
import { afterAll, describe, expect, it } from 'vitest';
import { PayloadOffloader } from '../src/index.js';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

const offload = new PayloadOffloader({ serializer: new JsonSerializer(), thresholdBytes: 1024, threads: 1 });
afterAll(() => offload.close());

/** 20,001 items: far more than sizeOf visits, with `last` at the end. */
function manyThen(last: unknown): unknown[] {
  return [...Array.from({ length: 20_000 }, (_, i) => ({ i, name: `item ${i}` })), last];
}

describe('encoding a large value', () => {
  it('reports a handle deep inside to onHandle, encoded here, not as a plain object', async () => {
    const handle = new HandleRef({ id: 7, type: 'Counter' }, 'w1');
    const seen: HandleRef[] = [];
    const encoded = offload.encode(manyThen(handle), { onHandle: (ref) => seen.push(ref) });
    expect(encoded).toBeInstanceOf(Uint8Array);
    expect(seen).toEqual([handle]);
  });

  it('keeps a class instance deep inside on this thread', () => {
    expect(offload.encode(manyThen(new Point(1, 2)))).toBeInstanceOf(Uint8Array);
  });

  it('keeps a value with a function deep inside on this thread', () => {
    expect(() => offload.encode(manyThen({ f: () => 1 }))).toThrow();
  });

  it('goes to a thread when every node is plain data, shared references or not', async () => {
    const shared = { tag: 'shared' };
    const encoded = offload.encode(manyThen([shared, shared]));
    expect(encoded).toBeInstanceOf(Promise);
    const decoded = new JsonSerializer().decode(await encoded) as unknown[];
    expect(decoded.at(-1)).toEqual([shared, shared]);
  });
});
