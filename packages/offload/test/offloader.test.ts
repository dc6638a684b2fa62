import { HandleRef, JsonSerializer } from '@snakebridge/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PayloadOffloader, sizeOf } from '../src/index.js';

const offloaders: PayloadOffloader[] = [];
function offloader(thresholdBytes: number): PayloadOffloader {
  const made = new PayloadOffloader({ serializer: new JsonSerializer(), thresholdBytes, threads: 1 });
  offloaders.push(made);
  return made;
}
afterEach(async () => {
  await Promise.all(offloaders.splice(0).map((o) => o.close()));
});

/** The longest the event loop went without running a 1 ms timer while `work` ran, in ms. */
async function longestStall(work: () => unknown): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const tick = (): void => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  };
  const ticker = setInterval(tick, 1);
  await work();
  tick();
  clearInterval(ticker);
  return longest;
}

describe('PayloadOffloader', () => {
  it('encodes and decodes small payloads on the spot, without a promise', () => {
    const o = offloader(1024);
    const bytes = o.encode({ a: 1 });
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(o.decode(bytes as Uint8Array)).toEqual({ a: 1 });
  });

  it('encodes a large payload in a worker thread to the same bytes', async () => {
    const o = offloader(1024);
    const value = { samples: new Float64Array(10_000).map((_, i) => i / 3), label: 'x'.repeat(2_000) };
    const encoded = o.encode(value);
    expect(encoded).toBeInstanceOf(Promise);
    expect(Buffer.from(await encoded)).toEqual(Buffer.from(new JsonSerializer().encode(value)));
  });

  it('decodes a large payload in a worker thread, reviving its handles through the context', async () => {
    const o = offloader(1024);
    const bytes = new JsonSerializer().encode({
      rows: Array.from({ length: 500 }, (_, i) => ({ i, name: `row ${i}` })),
      model: new HandleRef({ id: 4, type: 'm.Model' }),
    });
    const decoded = (await o.decode(bytes, { handle: (wire) => `handle ${wire.id} ${wire.type}` })) as {
      rows: unknown[];
      model: unknown;
    };
    expect(decoded.rows).toHaveLength(500);
    expect(decoded.model).toBe('handle 4 m.Model');
  });

  it('keeps values holding handles or functions on the main thread', () => {
    expect(sizeOf([new HandleRef({ id: 1, type: 't' }), 'x'.repeat(10)])).toBe(-1);
    expect(sizeOf({ big: 'x'.repeat(100), n: [1, 2] })).toBe(116);
    const o = offloader(10);
    expect(o.encode([new HandleRef({ id: 1, type: 't' }), 'x'.repeat(100)])).toBeInstanceOf(Uint8Array);
  });

  it('leaves the event loop free to run while a 100 MB payload is decoded in a thread', async () => {
    const json = new JsonSerializer();
    const bytes = json.encode(new Uint8Array(100 * 1024 * 1024).fill(7));
    const copy = bytes.slice(); // made here, so that copying is not counted below
    const decodeHere = vi.spyOn(JsonSerializer.prototype, 'decode');
    try {
      // The yardstick: decoded on the event loop, it stalls the loop for as long as the decode takes.
      const onLoop = await longestStall(() => json.decode(bytes));
      expect(decodeHere).toHaveBeenCalledTimes(1);
      let decoded: unknown;
      const offloaded = await longestStall(async () => {
        decoded = await offloader(1024 * 1024).decode(copy);
      });
      // This thread's serializer never ran (the thread has its own), and the loop kept ticking meanwhile.
      expect(decodeHere).toHaveBeenCalledTimes(1);
      expect((decoded as Uint8Array).byteLength).toBe(100 * 1024 * 1024);
      expect(offloaded).toBeLessThan(onLoop / 2);
    } finally {
      decodeHere.mockRestore();
    }
  }, 60_000);
});

describe('sizeOf', () => {
  it('sizes a million-element plain array without visiting every element', () => {
    const size = sizeOf(Array.from({ length: 1_000_000 }, (_, i) => i));
    expect(size).toBe(8_000_000);
  });
});

describe('values with classes', () => {
  it('keeps an NDArray argument on the main thread, and decodes an NDArray result there', async () => {
    const { NDArray } = await import('@snakebridge/core');
    const json = new JsonSerializer();
    const o = offloader(1024);
    const matrix = new NDArray(new Float64Array(20_000), [100, 200]);
    expect(sizeOf({ matrix })).toBe(-1);
    expect(o.encode([matrix])).toBeInstanceOf(Uint8Array);
    const decoded = (await o.decode(json.encode([matrix]))) as unknown[];
    expect(decoded[0]).toBeInstanceOf(NDArray);
    expect((decoded[0] as InstanceType<typeof NDArray>).shape).toEqual([100, 200]);
  });
});
