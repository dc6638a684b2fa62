import { HandleRef, JsonSerializer } from '@snakebridge/core';
import { afterEach, describe, expect, it } from 'vitest';
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
    async function ticksDuring(decode: () => unknown): Promise<number> {
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 1);
      await decode();
      clearInterval(ticker);
      return ticks;
    }
    // On the loop, a synchronous decode leaves no room for a single tick. (bench/ measures the delays.)
    expect(await ticksDuring(() => json.decode(bytes))).toBe(0);
    expect(await ticksDuring(() => offloader(1024 * 1024).decode(bytes.slice()))).toBeGreaterThan(0);
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
