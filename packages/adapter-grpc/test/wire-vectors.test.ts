// bridge.proto's messages as this host writes and reads them, against the
// golden vectors pytest reads too (vectors/protocol/grpc.json): the field
// numbers both sides rely on cannot drift apart.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { services, type WireOp } from '../src/wire/proto.js';

interface MessageVector {
  readonly name: string;
  readonly message: 'CallRequest' | 'ReleaseRequest';
  readonly fields: Readonly<Record<string, unknown>>;
  readonly hex: string;
}

const { messages } = JSON.parse(
  readFileSync(new URL('../../../vectors/protocol/grpc.json', import.meta.url), 'utf8'),
) as { messages: MessageVector[] };
const OPS: readonly WireOp[] = ['OP_CALL', 'OP_GETATTR', 'OP_SETATTR', 'OP_EVAL', 'OP_EXEC', 'OP_ITER'];

/** The vector's fields as proto-loader takes them: op by name, bytes as bytes, and nothing else. */
function given(vector: MessageVector): Record<string, unknown> {
  const fields: Record<string, unknown> = { ...vector.fields };
  if (typeof fields.op === 'number') fields.op = OPS[fields.op - 1];
  if (typeof fields.payload === 'string') fields.payload = Buffer.from(fields.payload, 'hex');
  return fields;
}

/** The message as proto-loader gives it: every field (defaults included), op by name, bytes as bytes. */
function asLoaded(vector: MessageVector): Record<string, unknown> {
  const fields = vector.fields;
  if (vector.message === 'ReleaseRequest') {
    return { handles: fields.handles ?? [], session: fields.session ?? '', pipeline: fields.pipeline ?? '' };
  }
  return {
    op: OPS[(fields.op as number) - 1],
    target: fields.target ?? '',
    handle: fields.handle ?? 0,
    session: fields.session ?? '',
    serializer: fields.serializer ?? '',
    payload: Buffer.from((fields.payload as string | undefined) ?? '', 'hex'),
    promise: fields.promise ?? 0,
    pipeline: fields.pipeline ?? '',
  };
}

function codec(vector: MessageVector) {
  const method = vector.message === 'CallRequest' ? services().call : services().release;
  return {
    encode: (value: Record<string, unknown>) => method.requestSerialize(value as never),
    decode: (bytes: Buffer) => method.requestDeserialize(bytes) as unknown as Record<string, unknown>,
  };
}

describe('bridge.proto golden vectors', () => {
  it.each(messages.map((v) => [v.name, v] as const))('writes %s', (_name, vector) => {
    // protobufjs writes every field it is given, defaults too: the host gives pipelining's only when it uses them.
    expect(codec(vector).encode(given(vector)).toString('hex')).toBe(vector.hex);
  });

  it.each(messages.map((v) => [v.name, v] as const))('reads %s', (_name, vector) => {
    const decoded = codec(vector).decode(Buffer.from(vector.hex, 'hex'));
    expect({
      ...decoded,
      ...('payload' in decoded ? { payload: Buffer.from(decoded.payload as Uint8Array) } : {}),
    }).toEqual(asLoaded(vector));
  });
});
