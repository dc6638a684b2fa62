// The TypeScript frame codec against the golden vectors shared with Python.

import type { CallOp } from '@snakebridge/core';
import { loadVectors } from '@snakebridge/vectors';
import { describe, expect, it } from 'vitest';
import {
  decodeCallMeta,
  encodeCallMeta,
  encodeFrame,
  type Frame,
  FrameDecoder,
  type OversizedFrame,
} from '../src/index.js';

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
    payload: string;
  };
}

const frames = loadVectors<FrameVector>('protocol/frames.json');
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function decodeAll(data: Buffer, chunk: number, maxFrameBytes = 1 << 20): (Frame | OversizedFrame)[] {
  const decoder = new FrameDecoder(maxFrameBytes);
  const out: (Frame | OversizedFrame)[] = [];
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
    });
    expect(hex(decoded.payload)).toBe(call.payload);
  });
});

describe('FrameDecoder', () => {
  it('skips an oversized frame without buffering it, and stays in step', () => {
    const big = encodeFrame({ kind: 0x11, id: 7 }, Buffer.alloc(100, 1));
    const small = encodeFrame({ kind: 0x11, id: 8 }, Buffer.from('ok'));
    const out = decodeAll(Buffer.concat([big, small]), 7, 50);
    expect(out[0]).toMatchObject({ kind: 0x11, id: 7, oversized: true, size: 100 });
    expect(out[1]).toMatchObject({ kind: 0x11, id: 8 });
    expect(Buffer.from((out[1] as Frame).body).toString()).toBe('ok');
  });

  it('reassembles a large body split across many chunks', () => {
    const body = Buffer.alloc(1 << 20);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    const [frame] = decodeAll(encodeFrame({ kind: 0x11, id: 1 }, body), 65_536, 2 << 20);
    expect(Buffer.compare(Buffer.from((frame as Frame).body), body)).toBe(0);
  });

  it('refuses a header that makes no sense', () => {
    expect(() => decodeAll(Buffer.from('0500000099000000000000000000000000', 'hex'), 64)).toThrow(/malformed/);
  });
});
