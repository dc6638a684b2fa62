// Frames of the stdio protocol: a 16-byte little-endian header and a body
// (docs/protocol.md). Mirrors python/snakebridge/protocol/frames.py.

export const HEADER_SIZE = 16;
/** The length field counts the header bytes after itself. */
const LENGTH_OVERHEAD = HEADER_SIZE - 4;

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
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

const KINDS = new Set<number>(Object.values(Kind));

/** On CALL: stream the result. */
export const FLAG_STREAM = 0x01;

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

/** A frame the decoder refused for its size; its body was skipped as it arrived, not buffered. */
export interface OversizedFrame extends FrameHeader {
  readonly oversized: true;
  readonly size: number;
}

/** Encodes a frame header for a body of `bodyLength` bytes into `target` at `offset`. */
export function writeHeader(target: Buffer, offset: number, header: FrameHeader, bodyLength: number): void {
  target.writeUInt32LE(LENGTH_OVERHEAD + bodyLength, offset);
  target[offset + 4] = header.kind;
  target[offset + 5] = header.flags;
  target[offset + 6] = header.serializer;
  target[offset + 7] = 0;
  target.writeUInt32LE(header.id, offset + 8);
  target.writeUInt32LE(header.aux, offset + 12);
}

/** A whole frame in one buffer (for control frames and tests; calls write header and body separately). */
export function encodeFrame(header: Partial<FrameHeader> & { kind: number }, body: Uint8Array = EMPTY): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_SIZE + body.byteLength);
  writeHeader(frame, 0, { flags: 0, serializer: 0, id: 0, aux: 0, ...header }, body.byteLength);
  frame.set(body, HEADER_SIZE);
  return frame;
}

const EMPTY = new Uint8Array(0);

/** Thrown for a header that makes no sense: the byte stream is out of step and cannot be trusted. */
export class MalformedFrameError extends Error {}

/**
 * Splits a byte stream into frames, however it is chunked. A body that
 * arrives whole inside one chunk is a view of that chunk (no copy); one split
 * across chunks is copied once into a buffer of its own size. A frame over
 * `maxFrameBytes` is reported as an OversizedFrame and its body skipped.
 */
export class FrameDecoder {
  #maxFrameBytes: number;
  #pending: Buffer | undefined;
  #header: FrameHeader | undefined;
  #body: Buffer | undefined;
  #filled = 0;
  #skip = 0;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Feeds a chunk; calls `onFrame` for each complete frame in order. */
  push(chunk: Buffer, onFrame: (frame: Frame | OversizedFrame) => void): void {
    let data = chunk;
    if (this.#skip > 0) {
      const skipped = Math.min(this.#skip, data.length);
      this.#skip -= skipped;
      data = data.subarray(skipped);
    }
    if (this.#body !== undefined) data = this.#fillBody(data, onFrame);
    if (data.length === 0) return;
    if (this.#pending !== undefined) {
      data = Buffer.concat([this.#pending, data]);
      this.#pending = undefined;
    }
    this.#parse(data, onFrame);
  }

  #fillBody(data: Buffer, onFrame: (frame: Frame) => void): Buffer {
    const body = this.#body as Buffer;
    const taken = Math.min(body.length - this.#filled, data.length);
    data.copy(body, this.#filled, 0, taken);
    this.#filled += taken;
    if (this.#filled === body.length) {
      const header = this.#header as FrameHeader;
      this.#body = undefined;
      this.#header = undefined;
      onFrame({ ...header, body });
    }
    return data.subarray(taken);
  }

  #parse(data: Buffer, onFrame: (frame: Frame | OversizedFrame) => void): void {
    let offset = 0;
    while (data.length - offset >= HEADER_SIZE) {
      const length = data.readUInt32LE(offset);
      const kind = data[offset + 4] as number;
      if (!KINDS.has(kind) || length < LENGTH_OVERHEAD) {
        throw new MalformedFrameError(`malformed frame header (kind 0x${kind.toString(16)}, length ${length})`);
      }
      const flags = data[offset + 5] as number;
      const serializer = data[offset + 6] as number;
      const id = data.readUInt32LE(offset + 8);
      const aux = data.readUInt32LE(offset + 12);
      const size = length - LENGTH_OVERHEAD;
      const start = offset + HEADER_SIZE;
      const available = data.length - start;
      if (size > this.#maxFrameBytes) {
        const skipped = Math.min(size, available);
        this.#skip = size - skipped;
        offset = start + skipped;
        onFrame({ kind, flags, serializer, id, aux, oversized: true, size });
        if (this.#skip > 0) return;
        continue;
      }
      if (available >= size) {
        // One object per frame, its body a view of the chunk: this loop runs once per call.
        onFrame({ kind, flags, serializer, id, aux, body: data.subarray(start, start + size) });
        offset = start + size;
        continue;
      }
      // The body continues in later chunks: give it a buffer of its own and fill it as they come.
      this.#body = Buffer.allocUnsafe(size);
      data.copy(this.#body, 0, start);
      this.#filled = available;
      this.#header = { kind, flags, serializer, id, aux };
      return;
    }
    if (offset < data.length) this.#pending = Buffer.from(data.subarray(offset));
  }
}
