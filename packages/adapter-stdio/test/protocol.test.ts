// The TypeScript frame codec against the golden vectors shared with Python.

import { readFileSync } from 'node:fs';
import { type CallOp, ProtocolError } from '@snakebridge/core';
import { loadVectors } from '@snakebridge/vectors';
import { describe, expect, it } from 'vitest';
import {
  decodeCallMeta,
  encodeCallMeta,
  encodeFrame,
  type Frame,
  FrameReader,
  HEADER_SIZE,
  MalformedFrameError,
} from '../src/index.js';
import { writeHeader } from '../src/protocol/frames.js';

interface FrameVector {
  name: string;
  kind: number;
  id: number;
  flags: number;
  serializer: number;
  aux: number;
  body: string;
  hex: string;
  call?: {
    op: CallOp;
    target: string;
    handle: number;
    session: number;
    window: number;
    timeoutMs: number;
    trace?: { traceparent: string; tracestate?: string };
    payload: string;
  };
}

/** Byte streams both readers must refuse, with the rule they break and the whole frames before it. */
interface InvalidVector {
  name: string;
  hex: string;
  fault: string;
  before: number;
}

const frames = loadVectors<FrameVector>('protocol/frames.json');
const invalid = (
  JSON.parse(readFileSync(new URL('../../../vectors/protocol/frames.json', import.meta.url), 'utf8')) as {
    invalid: InvalidVector[];
  }
).invalid;
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function decodeAll(data: Buffer, chunk: number, maxFrameBytes = 1 << 20, out: Frame[] = []): Frame[] {
  const decoder = new FrameReader(maxFrameBytes);
  for (let start = 0; start < data.length; start += chunk) {
    decoder.push(data.subarray(start, start + chunk), (frame) => out.push(frame));
  }
  return out;
}

describe('frame golden vectors', () => {
  it.each(frames.map((v) => [v.name, v] as const))('encodes %s', (_name, v) => {
    const frame = encodeFrame(
      { kind: v.kind, id: v.id, flags: v.flags, serializer: v.serializer, aux: v.aux },
      Buffer.from(v.body, 'hex'),
    );
    expect(hex(frame)).toBe(v.hex);
  });

  it.each(frames.map((v) => [v.name, v] as const))('decodes %s whatever the chunking', (_name, v) => {
    const data = Buffer.from(v.hex, 'hex');
    for (const chunk of [1, 3, 16, data.length]) {
      const [frame, ...rest] = decodeAll(data, chunk);
      expect(rest).toEqual([]);
      expect(frame).toMatchObject({ kind: v.kind, id: v.id, flags: v.flags, serializer: v.serializer, aux: v.aux });
      expect(hex((frame as Frame).body)).toBe(v.body);
    }
  });

  it.each(frames.filter((v) => v.call).map((v) => [v.name, v] as const))('encodes the call meta of %s', (_name, v) => {
    const call = v.call as NonNullable<FrameVector['call']>;
    const meta = { ...call, payload: undefined };
    const body = Buffer.concat([encodeCallMeta(meta), Buffer.from(call.payload, 'hex')]);
    expect(hex(body)).toBe(v.body);
    const decoded = decodeCallMeta(body);
    expect(decoded.meta).toEqual({
      op: call.op,
      target: call.target,
      handle: call.handle,
      session: call.session,
      window: call.window,
      timeoutMs: call.timeoutMs,
      ...(call.trace === undefined ? {} : { trace: call.trace }),
    });
    expect(hex(decoded.payload)).toBe(call.payload);
  });
});

describe('invalid frame vectors', () => {
  it.each(invalid.map((v) => [v.name, v] as const))('refuses %s, naming the rule it breaks', (_name, v) => {
    const data = Buffer.from(v.hex, 'hex');
    for (const chunk of [1, 7, data.length]) {
      const out: Frame[] = [];
      let error: unknown;
      try {
        decodeAll(data, chunk, 1 << 20, out);
      } catch (thrown) {
        error = thrown;
      }
      expect(MalformedFrameError.is(error), `${v.name}: ${String(error)}`).toBe(true);
      expect(ProtocolError.is(error)).toBe(true);
      expect((error as MalformedFrameError).fault).toBe(v.fault);
      expect(out).toHaveLength(v.before);
    }
  });
});

describe('FrameReader', () => {
  it('refuses an oversized frame at its length field, before the rest of it arrives', () => {
    const big = encodeFrame({ kind: 0x11, id: 7, serializer: 1 }, Buffer.alloc(100, 1));
    const decoder = new FrameReader(50);
    const error = (() => {
      try {
        decoder.push(big.subarray(0, 8), () => {});
      } catch (thrown) {
        return thrown as MalformedFrameError;
      }
      return undefined;
    })();
    expect(error?.fault).toBe('oversized');
    expect(error?.message).toMatch(/RESULT of 100 bytes, more than protocol.maxFrameBytes \(50\)/);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('reassembles a large body split across many chunks, holding only what arrived', () => {
    const body = Buffer.alloc(1 << 20);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    const data = encodeFrame({ kind: 0x11, id: 1, serializer: 1 }, body);
    const decoder = new FrameReader(2 << 20);
    const out: Frame[] = [];
    for (let start = 0; start < data.length; start += 65_536) {
      decoder.push(data.subarray(start, start + 65_536), (frame) => out.push(frame));
      if (out.length === 0) expect(decoder.bufferedBytes).toBe(Math.min(start + 65_536, data.length) - HEADER_SIZE);
    }
    expect(Buffer.compare(Buffer.from((out[0] as Frame).body), body)).toBe(0);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('allocates nothing for what a header announces: it holds only the bytes that arrived', () => {
    const header = Buffer.alloc(HEADER_SIZE);
    writeHeader(header, 0, { kind: 0x11, flags: 0, serializer: 1, id: 1, aux: 0 }, 200 * 1024 * 1024);
    const decoder = new FrameReader(256 * 1024 * 1024);
    decoder.push(Buffer.concat([header, Buffer.from('x')]), () => {});
    expect(decoder.bufferedBytes).toBe(1);
  });
});
