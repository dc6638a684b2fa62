// The meta block at the start of a CALL body (docs/protocol.md, "Calls").
// Mirrors python/snakebridge/protocol/call.py.

import type { CallOp } from '@snakebridge/core';

export const CALL_META_SIZE = 20;

export const OP_CODES: Readonly<Record<CallOp, number>> = {
  call: 1,
  getattr: 2,
  setattr: 3,
  eval: 4,
  exec: 5,
  iter: 6,
};

export interface CallMeta {
  readonly op: CallOp;
  readonly target: string;
  /** Handle id the call is on; 0 for a dotted name. */
  readonly handle: number;
  /** Session id; 0 for none. */
  readonly session: number;
  /** Items the worker may send ahead of credit; 0 unless streaming. */
  readonly window: number;
  /** Deadline in ms; 0 for none. */
  readonly timeoutMs: number;
}

/** The meta block and target of a CALL, ready to precede the serialized arguments. */
export function encodeCallMeta(meta: CallMeta): Buffer {
  const block = Buffer.allocUnsafe(callMetaSize(meta));
  writeCallMeta(block, 0, meta);
  return block;
}

/** Bytes the meta block and target take. */
export function callMetaSize(meta: CallMeta): number {
  const targetLength = Buffer.byteLength(meta.target, 'utf8');
  if (targetLength > 0xffff) throw new RangeError(`a call target is limited to 65535 bytes, got ${targetLength}`);
  return CALL_META_SIZE + targetLength;
}

/** Writes the meta block and target into `target` at `offset`; returns the bytes written. */
export function writeCallMeta(target: Buffer, offset: number, meta: CallMeta): number {
  target[offset] = OP_CODES[meta.op];
  target[offset + 1] = 0;
  const written = target.write(meta.target, offset + CALL_META_SIZE, 'utf8');
  target.writeUInt16LE(written, offset + 2);
  target.writeUInt32LE(meta.handle, offset + 4);
  target.writeUInt32LE(meta.session, offset + 8);
  target.writeUInt32LE(meta.window, offset + 12);
  target.writeUInt32LE(Math.min(meta.timeoutMs, 0xffffffff), offset + 16);
  return CALL_META_SIZE + written;
}

/** The meta of a CALL body and its payload (for tests and tools; the host only encodes). */
export function decodeCallMeta(body: Uint8Array): { meta: CallMeta; payload: Uint8Array } {
  const view = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const targetLength = view.readUInt16LE(2);
  const op = (Object.entries(OP_CODES).find(([, code]) => code === view[0])?.[0] ?? 'call') as CallOp;
  return {
    meta: {
      op,
      target: view.toString('utf8', CALL_META_SIZE, CALL_META_SIZE + targetLength),
      handle: view.readUInt32LE(4),
      session: view.readUInt32LE(8),
      window: view.readUInt32LE(12),
      timeoutMs: view.readUInt32LE(16),
    },
    payload: body.subarray(CALL_META_SIZE + targetLength),
  };
}
