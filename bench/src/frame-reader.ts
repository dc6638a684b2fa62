// Splits a stream of length-prefixed frames (u32 little-endian length, then the
// body) without quadratic copying: chunks are kept until a frame is complete.

export class FrameReader {
  readonly #chunks: Buffer[] = [];
  #buffered = 0;
  #size = -1;

  /** Adds a chunk; calls `onFrame` with the header and body of each complete frame. */
  push(chunk: Buffer, onFrame: (frame: Buffer, body: Buffer) => void): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    for (;;) {
      if (this.#size < 0) {
        if (this.#buffered < 4) return;
        this.#size = this.#head(4).readUInt32LE(0);
      }
      if (this.#buffered < 4 + this.#size) return;
      const frame = this.#take(4 + this.#size);
      this.#size = -1;
      onFrame(frame, frame.subarray(4));
    }
  }

  /** The first `n` bytes, joined into the first chunk if they span several. */
  #head(n: number): Buffer {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= n) return first;
    const joined = Buffer.concat(this.#chunks);
    this.#chunks.length = 0;
    this.#chunks.push(joined);
    return joined;
  }

  #take(n: number): Buffer {
    const head = this.#head(n);
    const frame = head.subarray(0, n);
    if (head.length === n) this.#chunks.shift();
    else this.#chunks[0] = head.subarray(n);
    this.#buffered -= n;
    return frame;
  }
}
