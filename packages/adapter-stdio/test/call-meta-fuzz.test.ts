// Seeded fuzzing of the CALL meta decoder (../../serializer-msgpack/test/fuzz-kit.ts):
// the bodies of the golden CALL frames, mutated, and random bytes decode or
// are refused with a ProtocolError (never a RangeError), and what decodes
// encodes back to the same bytes. Also the malformed cases one by one, on
// both the decoding and the encoding side.

import { type CallOp, ProtocolError } from '@snakebridge/core';
import { loadVectors } from '@snakebridge/vectors';
import { describe, expect, it } from 'vitest';
import { fuzz, fuzzTimeout } from '../../serializer-msgpack/test/fuzz-kit.js';
import { type CallMeta, decodeCallMeta, encodeCallMeta } from '../src/index.js';

const bodies = loadVectors<{ body: string; call?: unknown }>('protocol/frames.json')
  .filter((vector) => vector.call !== undefined)
  .map((vector) => new Uint8Array(Buffer.from(vector.body, 'hex')));
const meta = (fields: Partial<CallMeta>): CallMeta => ({
  op: 'call',
  target: 'm.f',
  handle: 0,
  session: 0,
  window: 0,
  timeoutMs: 0,
  ...fields,
});
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('CALL meta fuzzing', () => {
  it(
    'decodes or refuses with a ProtocolError every mutated and random body, and re-encodes what it decodes',
    () => {
      fuzz({
        name: 'call meta',
        corpus: bodies,
        decode(bytes) {
          const { meta: decoded, payload } = decodeCallMeta(bytes);
          const head = bytes.subarray(0, bytes.length - payload.length);
          if (hex(encodeCallMeta(decoded)) !== hex(head)) throw new Error('the meta does not encode back to its bytes');
          return head.length;
        },
        isTyped: (error) => ProtocolError.is(error),
        workPerByte: 1,
        workSlack: 0,
      });
    },
    fuzzTimeout(),
  );
});

describe('CALL meta trace block', () => {
  it('carries a traceparent whose text does not parse: what it says is not the decoder’s business', () => {
    const body = encodeCallMeta(meta({ trace: { traceparent: 'not-a-traceparent' } }));
    expect(decodeCallMeta(body).meta.trace).toEqual({ traceparent: 'not-a-traceparent' });
  });

  it('writes the same bytes as before the trace block existed when there is no trace context', () => {
    const body = encodeCallMeta(meta({}));
    expect(body[1]).toBe(0);
    expect(body.byteLength).toBe(20 + 3);
  });
});

describe('CALL meta refusals', () => {
  it.each([
    ['a body shorter than the meta block', Uint8Array.of(1, 0, 0), /shorter than its 20-byte meta/],
    ['an unknown op', Uint8Array.of(9, ...new Array(19).fill(0)), /unknown op 9/],
    ['a reserved flag bit set', Uint8Array.of(1, 2, ...new Array(18).fill(0)), /reserved flag bits are set/],
    ['a target running past the frame', Uint8Array.of(1, 0, 0xff, 0xff, ...new Array(16).fill(0)), /runs past the end/],
    ['a target that is not UTF-8', Uint8Array.of(1, 0, 1, 0, ...new Array(16).fill(0), 0xff), /not valid UTF-8/],
    ['a trace flag with no trace block', Uint8Array.of(1, 1, ...new Array(18).fill(0)), /trace block runs past/],
    [
      'a traceparent running past the frame',
      Uint8Array.of(1, 1, ...new Array(18).fill(0), 0x37, ...new Array(54).fill(0x30)),
      /traceparent runs past the end/,
    ],
    [
      'a tracestate running past the frame',
      Uint8Array.of(1, 1, ...new Array(18).fill(0), 1, 0x78, 5, 0, 0x61, 0x62, 0x63),
      /tracestate runs past the end/,
    ],
    [
      'a traceparent that is not printable ASCII',
      Uint8Array.of(1, 1, ...new Array(18).fill(0), 1, 0xff, 0, 0),
      /traceparent is not printable ASCII/,
    ],
    [
      'a tracestate that is not printable ASCII',
      Uint8Array.of(1, 1, ...new Array(18).fill(0), 1, 0x78, 1, 0, 0x0a),
      /tracestate is not printable ASCII/,
    ],
  ])('refuses %s to decode with a ProtocolError', (_what, body, message) => {
    expect(() => decodeCallMeta(body)).toThrow(ProtocolError);
    expect(() => decodeCallMeta(body)).toThrow(message);
  });

  it.each([
    ['an unknown op', meta({ op: 'pickle' as CallOp }), /unknown call op "pickle"/],
    ['a target beyond 65535 bytes', meta({ target: 'x'.repeat(65_536) }), /limited to 65535 bytes/],
    ['a handle beyond 32 bits', meta({ handle: 2 ** 32 }), /handle must be an integer/],
    ['a negative session', meta({ session: -1 }), /session must be an integer/],
    ['a fractional window', meta({ window: 1.5 }), /window must be an integer/],
    ['a traceparent beyond 255 bytes', meta({ trace: { traceparent: '0'.repeat(256) } }), /limited to 255 bytes/],
    ['a traceparent that is not ASCII', meta({ trace: { traceparent: '00-é' } }), /printable ASCII/],
    ['a tracestate with a newline', meta({ trace: { traceparent: '00-x', tracestate: 'a=b\n' } }), /printable ASCII/],
  ])('refuses %s to encode with a ProtocolError', (_what, fields, message) => {
    expect(() => encodeCallMeta(fields)).toThrow(ProtocolError);
    expect(() => encodeCallMeta(fields)).toThrow(message);
  });
});
