// The bytes encode() returns are views into a buffer, not copies: these tests
// pin down that nothing can write over them while an invoker still holds them
// for an asynchronous pipe write, and that they do not pin much more memory
// than they take.

import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { MsgpackSerializer } from '../src/index.js';

const snapshot = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** A value of `size` bytes or so, different each time. */
function filler(i: number, size = 300): unknown {
  return { i, text: 'x'.repeat(size), list: [i, -i, i / 3], when: new Date(i), tags: new Set([i]) };
}

describe('msgpackr, as it behaves on its own (the traps the serializer avoids)', () => {
  it('returns views into one buffer that another msgpackr user can point at its own arena and reuse', () => {
    const ours = new Packr({ useRecords: false });
    const theirs = new Packr({ useRecords: false });
    const arena = Buffer.alloc(8192);
    theirs.useBuffer(arena);
    const bytes = ours.pack({ payload: 'ours' });
    const before = snapshot(bytes);
    theirs.useBuffer(arena); // "done with it", as msgpackr's README suggests
    theirs.pack({ theirs: 'overwrites whatever was here' });
    expect(snapshot(bytes)).not.toBe(before);
  });

  it('pins an output buffer four times the size of a large result', () => {
    const packr = new Packr({ useRecords: false });
    const bytes = packr.pack(new Uint8Array(4_000_000));
    expect(bytes.buffer.byteLength).toBeGreaterThan(3 * bytes.byteLength);
  });
});

describe('MsgpackSerializer output buffer', () => {
  it('returns bytes that later encodes never change', () => {
    const msgpack = new MsgpackSerializer();
    const kept = Array.from({ length: 50 }, (_, i) => msgpack.encode(filler(i)));
    const before = kept.map(snapshot);
    for (let i = 0; i < 5_000; i++) msgpack.encode(filler(i, i % 2_000));
    msgpack.encode(new Float64Array(200_000));
    expect(kept.map(snapshot)).toEqual(before);
  });

  it('returns bytes that another msgpackr user reusing its arena cannot overwrite', () => {
    const msgpack = new MsgpackSerializer();
    const theirs = new Packr({ useRecords: false });
    const arena = Buffer.alloc(8192);
    theirs.useBuffer(arena);
    const bytes = msgpack.encode({ payload: 'ours' });
    const before = snapshot(bytes);
    theirs.useBuffer(arena);
    theirs.pack({ theirs: 'writes its arena again' });
    expect(bytes.buffer).not.toBe(arena.buffer);
    expect(snapshot(bytes)).toBe(before);
  });

  it('never writes over bytes another msgpackr user was given', () => {
    const theirs = new Packr({ useRecords: false });
    const given = theirs.pack({ theirs: 1 });
    const before = snapshot(given);
    const msgpack = new MsgpackSerializer();
    for (let i = 0; i < 2_000; i++) msgpack.encode(filler(i));
    const next = theirs.pack({ theirs: 2 });
    expect(snapshot(given)).toBe(before);
    expect(theirs.unpack(next)).toEqual({ theirs: 2 });
  });

  it('writes small results one after another into a shared buffer, with no copy or allocation each', () => {
    const msgpack = new MsgpackSerializer();
    const first = msgpack.encode([1, 2, 3]);
    const second = msgpack.encode({ a: 'b' });
    expect(second.buffer).toBe(first.buffer);
    expect(second.byteOffset).toBeGreaterThanOrEqual(first.byteOffset + first.byteLength);
  });

  it('gives a large result a buffer about its own size', () => {
    const msgpack = new MsgpackSerializer();
    const bytes = msgpack.encode({ data: new Float64Array(1_000_000), label: 'big' });
    expect(bytes.byteLength).toBeGreaterThan(8_000_000);
    expect(bytes.buffer.byteLength).toBeLessThan(bytes.byteLength + 64 * 1024);
  });

  it('still returns a whole result, and stays usable, when a value outgrows its estimate', () => {
    const msgpack = new MsgpackSerializer();
    // Plain objects are checked once and packed as they are, so a getter is read twice.
    let reads = 0;
    const growing = {
      get text() {
        reads += 1;
        return reads === 1 ? 'short' : 'y'.repeat(300_000);
      },
    };
    expect(msgpack.decode(msgpack.encode(growing))).toEqual({ text: 'y'.repeat(300_000) });
    expect(msgpack.decode(msgpack.encode([1, 'next']))).toEqual([1, 'next']);
  });

  it('stays whole when a value being packed encodes another value itself', () => {
    const msgpack = new MsgpackSerializer();
    let inner: Uint8Array | undefined;
    const sneaky = {
      before: 'x'.repeat(100),
      get nested() {
        inner = msgpack.encode({ inner: [1, 2, 3] });
        return 'n';
      },
      after: 'y'.repeat(100),
    };
    const outer = msgpack.encode(sneaky);
    expect(msgpack.decode(outer)).toEqual({ before: 'x'.repeat(100), nested: 'n', after: 'y'.repeat(100) });
    expect(msgpack.decode(inner as Uint8Array)).toEqual({ inner: [1, 2, 3] });
  });
});
