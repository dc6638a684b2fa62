// The segment table's bytes, pinned by vectors/protocol/segments.json, which
// the Python tests read too (python/tests/test_shared_memory.py), and a seeded
// fuzz of the host's reading of them: a table from a worker is untrusted.
//
// SEGMENT_FUZZ_SEED=<n> replays a run.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MalformedFrameError } from '../src/protocol/frames.js';
import { encodeSegmentTable, splitSegmentTable } from '../src/protocol/segments.js';
import { prng } from './seeded-random.js';

interface Tables {
  valid: { name: string; hex: string; body: string; entries: [number, number][] }[];
  invalid: { name: string; hex: string }[];
}

const tables = JSON.parse(
  readFileSync(new URL('../../../vectors/protocol/segments.json', import.meta.url), 'utf8'),
) as Tables;

describe('segment tables', () => {
  it.each(tables.valid)('splits and writes $name', ({ hex, body, entries }) => {
    const split = splitSegmentTable(Buffer.from(hex, 'hex'));
    expect(Buffer.from(split.body).toString('hex')).toBe(body);
    expect(split.entries.map(({ ref, byteLength }) => [ref, byteLength])).toEqual(entries);
    const table = encodeSegmentTable(entries.map(([ref, byteLength]) => ({ ref, byteLength })));
    expect(body + table.toString('hex')).toBe(hex);
  });

  it.each(tables.invalid)('refuses a table with $name, as a malformed body', ({ hex }) => {
    let thrown: unknown;
    try {
      splitSegmentTable(Buffer.from(hex, 'hex'));
    } catch (error) {
      thrown = error;
    }
    expect(MalformedFrameError.is(thrown)).toBe(true);
    expect((thrown as MalformedFrameError).fault).toBe('body');
  });
});

const SEED = Number(process.env.SEGMENT_FUZZ_SEED ?? Math.floor(Math.random() * 0xffffffff));

/** A valid table with a byte set, a bit flipped, bytes cut from either end, or random bytes altogether. */
function mutant(random: (below: number) => number): Buffer {
  const valid = tables.valid.map((vector) => Buffer.from(vector.hex, 'hex'));
  const bytes = Buffer.from(valid[random(valid.length)] as Buffer);
  switch (random(5)) {
    case 0:
      bytes[random(bytes.length)] = random(256);
      return bytes;
    case 1: {
      const at = random(bytes.length);
      bytes[at] = (bytes[at] as number) ^ (1 << random(8));
      return bytes;
    }
    case 2:
      return bytes.subarray(random(bytes.length));
    case 3:
      return bytes.subarray(0, random(bytes.length));
    default:
      return Buffer.from(Array.from({ length: random(80) }, () => random(256)));
  }
}

describe(`segment tables from a worker, fuzzed (SEGMENT_FUZZ_SEED=${SEED})`, () => {
  it('either split into at most 1024 entries that write back to the same bytes, or are refused as malformed', () => {
    const random = prng(SEED);
    for (let i = 0; i < 20_000; i++) {
      const bytes = mutant(random);
      let split: ReturnType<typeof splitSegmentTable>;
      try {
        split = splitSegmentTable(bytes);
      } catch (error) {
        expect(MalformedFrameError.is(error), `case ${i}: ${String(error)}`).toBe(true);
        continue;
      }
      expect(split.entries.length).toBeGreaterThan(0);
      expect(split.entries.length).toBeLessThanOrEqual(1024);
      const rewritten = Buffer.concat([split.body, encodeSegmentTable(split.entries)]);
      expect(rewritten.equals(bytes), `case ${i}`).toBe(true);
    }
  });
});
