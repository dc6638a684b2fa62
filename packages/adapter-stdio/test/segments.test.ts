// The segment table's bytes, pinned by vectors/protocol/segments.json, which
// the Python tests read too (python/tests/test_shared_memory.py).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MalformedFrameError } from '../src/protocol/frames.js';
import { encodeSegmentTable, splitSegmentTable } from '../src/protocol/segments.js';

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
