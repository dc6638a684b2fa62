// The baselines' channel: length-prefixed frames over a child's fds 3 (to it)
// and 4 (from it), the same kind of pipe SnakeBridge's stdio adapter uses, with
// nothing else: one call in flight per id, answers matched in order.

import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { FrameReader } from './frame-reader.js';

export class FrameChannel {
  readonly #out: Writable;
  readonly #waiting: ((body: Buffer) => void)[] = [];
  readonly #reader = new FrameReader();

  constructor(child: ChildProcess) {
    this.#out = child.stdio[3] as Writable;
    (child.stdio[4] as Readable).on('data', (chunk: Buffer) =>
      this.#reader.push(chunk, (_frame, body) => this.#waiting.shift()?.(body)),
    );
  }

  /** Sends one frame and resolves with the answer (answers come back in order). */
  request(body: Uint8Array): Promise<Buffer> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      const header = Buffer.allocUnsafe(4);
      header.writeUInt32LE(body.byteLength);
      this.#out.write(header);
      this.#out.write(body);
    });
  }
}
