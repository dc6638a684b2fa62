// The meta block at the start of a CALL body (docs/protocol.md, "Calls"),
// and the trace context that may follow its target. Mirrors
// python/snakebridge/protocol/call.py. A body that is not a valid meta block is
// a ProtocolError on either side, whatever is wrong with it.

import { type CallOp, ProtocolError, type TraceContext } from '@snakebridge/core';

export const CALL_META_SIZE = 20;
/** Meta flag (byte 1): a trace block follows the target. The other bits are reserved (0). */
export const META_TRACE = 0x01;

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
  /** The caller's span (W3C trace context), sent only when there is one: Python's span of the call is its child. */
  readonly trace?: TraceContext | undefined;
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
 *   target beyond 65535 bytes, ids or a window that are not u32, a trace
 *   context that is not ASCII or too long for its length field.
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
  return CALL_META_SIZE + targetLength + (meta.trace === undefined ? 0 : traceBlockSize(meta.trace));
}

/**
 * Bytes the trace block takes: the traceparent and tracestate, each after its
 * length (u8, then u16). Both are ASCII, as the W3C defines them.
 */
function traceBlockSize(trace: TraceContext): number {
  const tracestate = trace.tracestate ?? '';
  if (!ASCII.test(trace.traceparent) || !ASCII.test(tracestate)) {
    throw new ProtocolError('a call’s traceparent and tracestate must be printable ASCII');
  }
  if (trace.traceparent.length > 0xff) {
    throw new ProtocolError(`a call’s traceparent is limited to 255 bytes, got ${trace.traceparent.length}`);
  }
  if (tracestate.length > 0xffff) {
    throw new ProtocolError(`a call’s tracestate is limited to 65535 bytes, got ${tracestate.length}`);
  }
  return 1 + trace.traceparent.length + 2 + tracestate.length;
}

const ASCII = /^[\x20-\x7e]*$/;

/** Writes the meta block and target into `target` at `offset` (call callMetaSize first); returns the bytes written. */
export function writeCallMeta(target: Buffer, offset: number, meta: CallMeta): number {
  target[offset] = OP_CODES[meta.op];
  target[offset + 1] = meta.trace === undefined ? 0 : META_TRACE;
  const written = target.write(meta.target, offset + CALL_META_SIZE, 'utf8');
  target.writeUInt16LE(written, offset + 2);
  target.writeUInt32LE(meta.handle, offset + 4);
  target.writeUInt32LE(meta.session, offset + 8);
  target.writeUInt32LE(meta.window, offset + 12);
  target.writeUInt32LE(Math.max(0, Math.min(Math.floor(meta.timeoutMs) || 0, 0xffffffff)), offset + 16);
  if (meta.trace === undefined) return CALL_META_SIZE + written;
  return CALL_META_SIZE + written + writeTrace(target, offset + CALL_META_SIZE + written, meta.trace);
}

/** Writes the trace block at `offset` (its size checked by callMetaSize); returns the bytes written. */
function writeTrace(target: Buffer, offset: number, trace: TraceContext): number {
  const tracestate = trace.tracestate ?? '';
  target[offset] = trace.traceparent.length;
  target.write(trace.traceparent, offset + 1, 'latin1');
  const at = offset + 1 + trace.traceparent.length;
  target.writeUInt16LE(tracestate.length, at);
  target.write(tracestate, at + 2, 'latin1');
  return 1 + trace.traceparent.length + 2 + tracestate.length;
}

const OPS_BY_CODE: ReadonlyMap<number, CallOp> = new Map(
  Object.entries(OP_CODES).map(([op, code]) => [code, op as CallOp]),
);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The meta of a CALL body and its payload (for tests and tools; the host only encodes).
 *
 * @throws ProtocolError naming what is wrong: a body shorter than the meta
 *   block, an unknown op, a reserved flag bit set, a target running past the
 *   body or not UTF-8, a trace block running past the body or not ASCII.
 */
export function decodeCallMeta(body: Uint8Array): { meta: CallMeta; payload: Uint8Array } {
  if (body.byteLength < CALL_META_SIZE) {
    throw new ProtocolError(`a CALL body of ${body.byteLength} bytes is shorter than its ${CALL_META_SIZE}-byte meta`);
  }
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const op = OPS_BY_CODE.get(view.getUint8(0));
  if (op === undefined) throw new ProtocolError(`a CALL with unknown op ${view.getUint8(0)}`);
  const flags = view.getUint8(1);
  if ((flags & ~META_TRACE) !== 0) throw new ProtocolError(`a CALL whose reserved flag bits are set (${flags})`);
  const targetEnd = CALL_META_SIZE + view.getUint16(2, true);
  if (targetEnd > body.byteLength) throw new ProtocolError('a CALL target runs past the end of the frame');
  const meta = {
    op,
    target: decodeTarget(body.subarray(CALL_META_SIZE, targetEnd)),
    handle: view.getUint32(4, true),
    session: view.getUint32(8, true),
    window: view.getUint32(12, true),
    timeoutMs: view.getUint32(16, true),
  };
  if ((flags & META_TRACE) === 0) return { meta, payload: body.subarray(targetEnd) };
  const { trace, end } = decodeTrace(body, view, targetEnd);
  return { meta: { ...meta, trace }, payload: body.subarray(end) };
}

/**
 * The trace block at `offset`. Its lengths and its ASCII are checked here; what
 * the traceparent says is not: a malformed one is ignored where it is used,
 * as the W3C asks, and the call runs all the same.
 */
function decodeTrace(body: Uint8Array, view: DataView, offset: number): { trace: TraceContext; end: number } {
  if (offset + 1 > body.byteLength) throw new ProtocolError('a CALL trace block runs past the end of the frame');
  const parentEnd = offset + 1 + view.getUint8(offset);
  if (parentEnd + 2 > body.byteLength) throw new ProtocolError('a CALL traceparent runs past the end of the frame');
  const end = parentEnd + 2 + view.getUint16(parentEnd, true);
  if (end > body.byteLength) throw new ProtocolError('a CALL tracestate runs past the end of the frame');
  const traceparent = decodeAscii(body.subarray(offset + 1, parentEnd), 'traceparent');
  const tracestate = decodeAscii(body.subarray(parentEnd + 2, end), 'tracestate');
  return { trace: tracestate === '' ? { traceparent } : { traceparent, tracestate }, end };
}

function decodeAscii(bytes: Uint8Array, field: string): string {
  for (const byte of bytes) {
    if (byte < 0x20 || byte > 0x7e) throw new ProtocolError(`a CALL ${field} is not printable ASCII`);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function decodeTarget(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (error) {
    throw new ProtocolError('a CALL target is not valid UTF-8', { cause: error });
  }
}
