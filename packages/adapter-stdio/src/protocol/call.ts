// The meta block at the start of a CALL body (docs/protocol.md, "Calls").
// Mirrors python/snakebridge/protocol/call.py. A body that is not a valid
// meta block is a ProtocolError on either side, whatever is wrong with it.

import { type CallOp, ProtocolError } from '@snakebridge/core';

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

/**
 * Bytes the meta block and target take.
 *
 * @throws ProtocolError for meta a worker would refuse: an unknown op, a
 *   target beyond 65535 bytes, ids or a window that are not u32.
 */
export function callMetaSize(meta: CallMeta): number {
  if (!Object.hasOwn(OP_CODES, meta.op)) throw new ProtocolError(`unknown call op ${JSON.stringify(meta.op)}`);
  for (const field of ['handle', 'session', 'window'] as const) {
    const value = meta[field];
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new ProtocolError(`a call's ${field} must be an integer from 0 to 2^32-1, not ${value}`);
    }
  }
  const targetLength = Buffer.byteLength(meta.target, 'utf8');
  if (targetLength > 0xffff) throw new ProtocolError(`a call target is limited to 65535 bytes, got ${targetLength}`);
  return CALL_META_SIZE + targetLength;
}

/** Writes the meta block and target into `target` at `offset` (call callMetaSize first); returns the bytes written. */
export function writeCallMeta(target: Buffer, offset: number, meta: CallMeta): number {
  target[offset] = OP_CODES[meta.op];
  target[offset + 1] = 0;
  const written = target.write(meta.target, offset + CALL_META_SIZE, 'utf8');
  target.writeUInt16LE(written, offset + 2);
  target.writeUInt32LE(meta.handle, offset + 4);
  target.writeUInt32LE(meta.session, offset + 8);
  target.writeUInt32LE(meta.window, offset + 12);
  target.writeUInt32LE(Math.max(0, Math.min(Math.floor(meta.timeoutMs) || 0, 0xffffffff)), offset + 16);
  return CALL_META_SIZE + written;
}

const OPS_BY_CODE: ReadonlyMap<number, CallOp> = new Map(
  Object.entries(OP_CODES).map(([op, code]) => [code, op as CallOp]),
);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The meta of a CALL body and its payload (for tests and tools; the host only encodes).
 *
 * @throws ProtocolError naming what is wrong: a body shorter than the meta
 *   block, an unknown op, a reserved byte that is not 0, a target running
 *   past the body or not UTF-8.
 */
export function decodeCallMeta(body: Uint8Array): { meta: CallMeta; payload: Uint8Array } {
  if (body.byteLength < CALL_META_SIZE) {
    throw new ProtocolError(`a CALL body of ${body.byteLength} bytes is shorter than its ${CALL_META_SIZE}-byte meta`);
  }
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const op = OPS_BY_CODE.get(view.getUint8(0));
  if (op === undefined) throw new ProtocolError(`a CALL with unknown op ${view.getUint8(0)}`);
  if (view.getUint8(1) !== 0) throw new ProtocolError(`a CALL whose reserved byte is ${view.getUint8(1)}, not 0`);
  const end = CALL_META_SIZE + view.getUint16(2, true);
  if (end > body.byteLength) throw new ProtocolError('a CALL target runs past the end of the frame');
  return {
    meta: {
      op,
      target: decodeTarget(body.subarray(CALL_META_SIZE, end)),
      handle: view.getUint32(4, true),
      session: view.getUint32(8, true),
      window: view.getUint32(12, true),
      timeoutMs: view.getUint32(16, true),
    },
    payload: body.subarray(end),
  };
}

function decodeTarget(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (error) {
    throw new ProtocolError('a CALL target is not valid UTF-8', { cause: error });
  }
}
