// Frames of the stdio protocol: a 24-byte little-endian header that checks
// itself (a version byte, reserved zeros and a CRC-32), then a body
// (docs/protocol.md).
// Mirrors python/snakebridge/protocol/frames.py; both are pinned by
// vectors/protocol/frames.json.

import { ProtocolError } from '@snakebridge/core';
import { LOG_RECORD_MAX_BYTES } from '@snakebridge/process-pool';

/**
 * Version of the frame format: the header's version byte (docs/protocol.md).
 * HELLO and READY carry the bridge protocol's version in aux (PROTOCOL_VERSION), which moves on its own.
 */
export const FRAME_VERSION = 2;
/** A multiple of 8, so a body starts 8-aligned wherever its header did: msgpack's typed arrays are read in place. */
export const HEADER_SIZE = 24;
/** The length field counts the header bytes after itself, then the body. */
const LENGTH_OVERHEAD = HEADER_SIZE - 4;
/** Four reserved bytes, 0, before the checksum. */
const RESERVED_AT = 16;
/** The checksum covers the header bytes before it. */
const CHECKED_BYTES = 20;

export const Kind = {
  HELLO: 0x01,
  READY: 0x02,
  CALL: 0x10,
  RESULT: 0x11,
  ERROR: 0x12,
  ITEM: 0x13,
  END: 0x14,
  CREDIT: 0x15,
  CANCEL: 0x16,
  RELEASE: 0x17,
  CALLBACK: 0x18,
  CALLBACK_RESULT: 0x19,
  CALLBACK_ERROR: 0x1a,
  PING: 0x20,
  PONG: 0x21,
  /** Worker -> host: a Python `logging` record (JSON), at most LOG_RECORD_MAX_BYTES. */
  LOG: 0x30,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** On CALL: stream the result. */
export const FLAG_STREAM = 0x01;
/** On CALL: it makes a promised handle (its id in aux) or names some (docs/protocol.md, "Pipelining"). */
export const FLAG_PIPELINED = 0x02;
/** On CALL, RESULT and ITEM: the body ends with a table of shared-memory segments (protocol/segments.ts). */
export const FLAG_SEGMENTS = 0x04;

/** What a header may hold for one kind of frame; anything else is a malformed frame. */
interface KindRule {
  readonly name: string;
  /** Flag bits the kind may set. */
  readonly flags: number;
  /** Serializer ids the body may be encoded with (0: no serializer; 1: JSON). */
  readonly serializers: readonly number[];
  /** The kind carries no body. */
  readonly empty: boolean;
  /** The kind gives `aux` a meaning; others must leave it 0. */
  readonly aux: boolean;
  /** Largest body of the kind, if it is less than protocol.maxFrameBytes. */
  readonly maxBody?: number | undefined;
}

const VALUES = [1, 2, 3, 4];
const JSON_ONLY = [1];
const JSON_BODY = [0, 1];
const NONE = [0];

function rule(name: string, serializers: readonly number[], extra: Partial<KindRule> = {}): KindRule {
  return { name, flags: 0, serializers, empty: false, aux: false, ...extra };
}

const RULES = new Map<number, KindRule>([
  [Kind.HELLO, rule('HELLO', JSON_BODY, { aux: true })],
  [Kind.READY, rule('READY', JSON_BODY, { aux: true })],
  [Kind.CALL, rule('CALL', VALUES, { flags: FLAG_STREAM | FLAG_PIPELINED | FLAG_SEGMENTS, aux: true })],
  [Kind.RESULT, rule('RESULT', VALUES, { flags: FLAG_SEGMENTS })],
  [Kind.ERROR, rule('ERROR', JSON_ONLY)],
  [Kind.ITEM, rule('ITEM', VALUES, { flags: FLAG_SEGMENTS })],
  [Kind.END, rule('END', NONE, { empty: true })],
  [Kind.CREDIT, rule('CREDIT', NONE, { empty: true, aux: true })],
  [Kind.CANCEL, rule('CANCEL', NONE, { empty: true })],
  [Kind.RELEASE, rule('RELEASE', JSON_BODY)],
  [Kind.CALLBACK, rule('CALLBACK', VALUES, { aux: true })],
  [Kind.CALLBACK_RESULT, rule('CALLBACK_RESULT', VALUES)],
  [Kind.CALLBACK_ERROR, rule('CALLBACK_ERROR', JSON_ONLY)],
  [Kind.PING, rule('PING', NONE, { empty: true })],
  [Kind.PONG, rule('PONG', JSON_BODY)],
  [Kind.LOG, rule('LOG', JSON_ONLY, { maxBody: LOG_RECORD_MAX_BYTES })],
]);

/** The name of a frame kind, for messages: `RESULT`, or `kind 0xee` for one that does not exist. */
export function kindName(kind: number): string {
  return RULES.get(kind)?.name ?? `kind 0x${kind.toString(16).padStart(2, '0')}`;
}

export interface FrameHeader {
  readonly kind: number;
  readonly flags: number;
  /** Wire id of the serializer that encoded the body (0: control). */
  readonly serializer: number;
  readonly id: number;
  readonly aux: number;
}

export interface Frame extends FrameHeader {
  readonly body: Uint8Array;
}

/**
 * @deprecated Never produced since protocol version 2: a frame over the size
 * limit is a protocol violation (MalformedFrameError with fault `oversized`).
 */
export interface FrameTooLarge extends FrameHeader {
  readonly oversized: true;
  readonly size: number;
}

/**
 * What was wrong with a frame. The first group is checked by the decoder from
 * the header alone; the last three by the connection, which knows its calls.
 */
export type FrameFault =
  | 'length'
  | 'kind'
  | 'body'
  | 'flags'
  | 'serializer'
  | 'version'
  | 'oversized'
  | 'aux'
  | 'reserved'
  | 'checksum'
  | 'unexpected-kind'
  | 'unknown-call'
  | 'wrong-serializer';

/**
 * A frame that breaks the protocol: the byte stream is out of step, or the
 * peer sent what it never may. Nothing it sends afterwards can be trusted.
 */
export class MalformedFrameError extends ProtocolError {
  static override readonly kind: string = 'MalformedFrameError';
  readonly fault: FrameFault;

  constructor(fault: FrameFault, detail: string) {
    super(`malformed frame: ${detail}`);
    this.fault = fault;
  }
}

// --- encoding --------------------------------------------------------------------------------

/** Encodes a frame header for a body of `bodyLength` bytes into `target` at `offset`. */
export function writeHeader(target: Buffer, offset: number, header: FrameHeader, bodyLength: number): void {
  target.writeUInt32LE(LENGTH_OVERHEAD + bodyLength, offset);
  target[offset + 4] = header.kind;
  target[offset + 5] = header.flags;
  target[offset + 6] = header.serializer;
  target[offset + 7] = FRAME_VERSION;
  target.writeUInt32LE(header.id, offset + 8);
  target.writeUInt32LE(header.aux, offset + 12);
  target.writeUInt32LE(0, offset + RESERVED_AT);
  target.writeUInt32LE(crc32(target, offset, offset + CHECKED_BYTES), offset + CHECKED_BYTES);
}

/** A whole frame in one buffer (for control frames and tests; calls write header and body separately). */
export function encodeFrame(header: Partial<FrameHeader> & { kind: number }, body: Uint8Array = EMPTY): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_SIZE + body.byteLength);
  writeHeader(frame, 0, { flags: 0, serializer: 0, id: 0, aux: 0, ...header }, body.byteLength);
  frame.set(body, HEADER_SIZE);
  return frame;
}

const EMPTY = Buffer.alloc(0);

// --- checking ----------------------------------------------------------------------------------

/** CRC-32 (IEEE 802.3, as zlib's crc32), table-driven: Node 20 has no zlib.crc32. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** The CRC-32 of `bytes[start..end)`. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = (CRC_TABLE[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

type Fault = readonly [FrameFault, string];

/**
 * The first rule broken by the header at `offset` in `bytes`, of which
 * `available` bytes (up to HEADER_SIZE) have arrived: each field is checked as
 * soon as it is there, so garbage is refused without waiting for more of it.
 */
export function headerFault(
  bytes: Buffer,
  offset: number,
  available: number,
  maxFrameBytes: number,
): Fault | undefined {
  if (available < 4) return undefined;
  const length = bytes.readUInt32LE(offset);
  if (length < LENGTH_OVERHEAD) {
    return ['length', `its length field says ${length}, less than the ${LENGTH_OVERHEAD} header bytes it counts`];
  }
  if (available < 5) return undefined;
  const kind = bytes[offset + 4] as number;
  const rule = RULES.get(kind);
  if (rule === undefined) return ['kind', `unknown frame kind 0x${kind.toString(16).padStart(2, '0')}`];
  const size = length - LENGTH_OVERHEAD;
  if (rule.empty && size !== 0) return ['body', `${rule.name} carries no body, but this one announces ${size} bytes`];
  return fieldFault(bytes, offset, Math.min(available, HEADER_SIZE), rule, size, maxFrameBytes);
}

/** The rest of headerFault: flags, serializer, version, size, aux, reserved bytes and checksum, as far as they arrived. */
function fieldFault(
  bytes: Buffer,
  offset: number,
  available: number,
  rule: KindRule,
  size: number,
  maxFrameBytes: number,
): Fault | undefined {
  if (available < 6) return undefined;
  const flags = bytes[offset + 5] as number;
  if ((flags & ~rule.flags) !== 0) return ['flags', `flags 0x${flags.toString(16)} on ${rule.name}`];
  if (available < 7) return undefined;
  const serializer = bytes[offset + 6] as number;
  if (!rule.serializers.includes(serializer)) {
    return ['serializer', `serializer ${serializer} on ${rule.name} (allowed: ${rule.serializers.join(', ')})`];
  }
  if (available < 8) return undefined;
  const version = bytes[offset + 7] as number;
  if (version !== FRAME_VERSION) return ['version', describeVersion(version)];
  if (size > maxFrameBytes) {
    return ['oversized', `${rule.name} of ${size} bytes, more than protocol.maxFrameBytes (${maxFrameBytes})`];
  }
  if (rule.maxBody !== undefined && size > rule.maxBody) {
    return ['oversized', `${rule.name} of ${size} bytes, more than a ${rule.name} may carry (${rule.maxBody})`];
  }
  if (available < RESERVED_AT) return undefined;
  const aux = bytes.readUInt32LE(offset + 12);
  if (!rule.aux && aux !== 0) return ['aux', `aux ${aux} on ${rule.name}, which gives aux no meaning`];
  if (available < CHECKED_BYTES) return undefined;
  const reserved = bytes.readUInt32LE(offset + RESERVED_AT);
  if (reserved !== 0) return ['reserved', `reserved bytes 0x${hex32(reserved)}, not 0`];
  if (available < HEADER_SIZE) return undefined;
  const expected = crc32(bytes, offset, offset + CHECKED_BYTES);
  const found = bytes.readUInt32LE(offset + CHECKED_BYTES);
  if (found !== expected) {
    return ['checksum', `header checksum 0x${hex32(found)} does not match its bytes (0x${hex32(expected)})`];
  }
  return undefined;
}

function describeVersion(version: number): string {
  const peer = version === 0 ? 'the format of snakebridge 0.1 (no version byte)' : `frame format ${version}`;
  return (
    `frame version ${version}: the peer writes ${peer}, this side ${FRAME_VERSION}. Install matching versions of ` +
    '@snakebridge/adapter-stdio and the snakebridge Python package (or the bytes are out of step)'
  );
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, '0');
}

// --- decoding -----------------------------------------------------------------------------------

/**
 * Checks a valid header against what its connection knows (its calls, its
 * serializer) before the body is waited for; throws MalformedFrameError.
 */
export type HeaderCheck = (header: FrameHeader, size: number) => void;

/**
 * Splits a byte stream into frames, however it is chunked. A body that
 * arrives whole inside one chunk is a view of that chunk (no copy); one split
 * across chunks is joined once it is complete. Nothing is allocated for what
 * a header announces: the decoder holds only bytes that have arrived.
 *
 * Every header is checked (docs/protocol.md, "Validation") as its bytes
 * arrive, then by `check`; a bad one throws MalformedFrameError, after which
 * the decoder must not be used again.
 */
export class FrameReader {
  readonly #maxFrameBytes: number;
  readonly #check: HeaderCheck | undefined;
  /** The first bytes of a header that has not fully arrived. */
  #head: Buffer | undefined;
  /** The frame whose body is arriving, and that body's parts so far. */
  #header: MutableFrame | undefined;
  #size = 0;
  #parts: Buffer[] = [];
  #filled = 0;

  constructor(maxFrameBytes: number, check?: HeaderCheck) {
    this.#maxFrameBytes = maxFrameBytes;
    this.#check = check;
  }

  /** Bytes held for frames not complete yet: never more than have arrived and not been handed out. */
  get bufferedBytes(): number {
    return (this.#head?.length ?? 0) + this.#filled;
  }

  /** Feeds a chunk; calls `onFrame` for each complete frame in order. */
  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    let data = chunk;
    while (data.length > 0) {
      if (this.#header !== undefined) data = this.#fillBody(data, onFrame);
      else if (this.#head !== undefined) data = this.#fillHead(data, onFrame);
      else data = this.#parse(data, onFrame);
    }
  }

  /** Parses whole frames from `data`; keeps what is left of an incomplete one. */
  #parse(data: Buffer, onFrame: (frame: Frame) => void): Buffer {
    let offset = 0;
    while (data.length - offset >= HEADER_SIZE) {
      const frame = this.#readHeader(data, offset);
      const size = data.readUInt32LE(offset) - LENGTH_OVERHEAD;
      const start = offset + HEADER_SIZE;
      if (data.length - start < size) return this.#beginBody(frame, size, data.subarray(start));
      // One object per frame, its body a view of the chunk: this loop runs once per call.
      frame.body = data.subarray(start, start + size);
      onFrame(frame);
      offset = start + size;
    }
    if (offset < data.length) {
      this.#throwIfFault(data, offset, data.length - offset);
      this.#head = Buffer.from(data.subarray(offset));
    }
    return EMPTY;
  }

  /** Adds bytes to a header that straddles chunks; once it is whole, goes on with its frame. */
  #fillHead(data: Buffer, onFrame: (frame: Frame) => void): Buffer {
    const head = this.#head as Buffer;
    const taken = Math.min(HEADER_SIZE - head.length, data.length);
    const joined = Buffer.concat([head, data.subarray(0, taken)]);
    const rest = data.subarray(taken);
    if (joined.length < HEADER_SIZE) {
      this.#throwIfFault(joined, 0, joined.length);
      this.#head = joined;
      return rest;
    }
    this.#head = undefined;
    const frame = this.#readHeader(joined, 0);
    const size = joined.readUInt32LE(0) - LENGTH_OVERHEAD;
    if (rest.length < size) return this.#beginBody(frame, size, rest);
    frame.body = rest.subarray(0, size);
    onFrame(frame);
    return rest.subarray(size);
  }

  #beginBody(header: MutableFrame, size: number, first: Buffer): Buffer {
    this.#header = header;
    this.#size = size;
    this.#parts = first.length > 0 ? [first] : [];
    this.#filled = first.length;
    return EMPTY;
  }

  #fillBody(data: Buffer, onFrame: (frame: Frame) => void): Buffer {
    const taken = Math.min(this.#size - this.#filled, data.length);
    this.#parts.push(data.subarray(0, taken));
    this.#filled += taken;
    if (this.#filled === this.#size) {
      const frame = this.#header as MutableFrame;
      const parts = this.#parts;
      frame.body = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, this.#size);
      this.#header = undefined;
      this.#parts = [];
      this.#filled = 0;
      onFrame(frame);
    }
    return data.subarray(taken);
  }

  /** Checks a whole header, then asks the connection; returns the frame it starts, its body still to come. */
  #readHeader(data: Buffer, offset: number): MutableFrame {
    this.#throwIfFault(data, offset, HEADER_SIZE);
    const frame = headerFields(data, offset);
    this.#check?.(frame, data.readUInt32LE(offset) - LENGTH_OVERHEAD);
    return frame;
  }

  #throwIfFault(data: Buffer, offset: number, available: number): void {
    const fault = headerFault(data, offset, available, this.#maxFrameBytes);
    if (fault !== undefined) throw new MalformedFrameError(fault[0], fault[1]);
  }
}

/** A frame being built: its body is set once it has arrived. */
interface MutableFrame extends FrameHeader {
  body: Uint8Array;
}

function headerFields(data: Buffer, offset: number): MutableFrame {
  return {
    kind: data[offset + 4] as number,
    flags: data[offset + 5] as number,
    serializer: data[offset + 6] as number,
    id: data.readUInt32LE(offset + 8),
    aux: data.readUInt32LE(offset + 12),
    body: EMPTY,
  };
}
