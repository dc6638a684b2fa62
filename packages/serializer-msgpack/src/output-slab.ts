// The buffer our encodings are written into. msgpackr keeps one output buffer
// for the whole process, shared by every Packr: bytes it returns are views
// into it. By default it never writes over bytes it has returned, but any
// other msgpackr user can point it at a buffer of theirs (`useBuffer`, the
// arena pattern msgpackr documents) and reuse that buffer later: our next
// encode would land in their arena and be overwritten while the invoker still
// holds it for an asynchronous pipe write. So each encode hands msgpackr a
// buffer of ours, sized for the value, and takes it back afterwards. The bytes
// returned are then never copied and never shared with anyone else's.

import type { Packr } from 'msgpackr';

/** Size of a fresh buffer for small values: many encodes share one. */
const SLAB_BYTES = 64 * 1024;
/** msgpackr moves to a buffer of its own when fewer than 0x800 bytes (plus 10) are left; stay clear of that. */
const MSGPACKR_HEADROOM = 0x800 + 16;
/**
 * What msgpackr is given between our encodes: marked full, so that whoever
 * packs next makes msgpackr allocate a fresh buffer of its default size
 * (8 KiB) rather than writing after our bytes.
 */
const PARKED = Buffer.allocUnsafeSlow(8192);
/** True while msgpackr packs into one of our buffers (msgpackr's state is per process, so this is too). */
let packing = false;

export class OutputSlab {
  #buffer: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
  #used = 0;

  /**
   * Packs `value` (already prepared, see encode.ts) into our buffer. A value
   * expected to need more than what is left gets a fresh buffer of about its
   * size, so a large result does not pin a buffer several times larger
   * (msgpackr grows its own by 4x).
   */
  pack(packr: Packr, value: unknown, expectedBytes: number): Uint8Array {
    // An encode from inside another (a getter of a value being packed) must not
    // move msgpackr's buffer under the outer one; msgpackr gives a nested pack
    // a fresh buffer of its own.
    if (packing) return packr.pack(value);
    this.#makeRoom(expectedBytes);
    packr.useBuffer(this.#buffer);
    packr.position = this.#used;
    packing = true;
    try {
      const bytes = packr.pack(value);
      this.#keep(bytes);
      return bytes;
    } finally {
      packing = false;
      packr.useBuffer(PARKED);
      packr.position = PARKED.byteLength;
    }
  }

  #makeRoom(expectedBytes: number): void {
    const needed = expectedBytes + MSGPACKR_HEADROOM;
    if (this.#buffer.byteLength - this.#used >= needed) return;
    this.#buffer = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, needed));
    this.#used = 0;
  }

  #keep(bytes: Uint8Array): void {
    if (bytes.buffer === this.#buffer.buffer) {
      this.#used = bytes.byteOffset - this.#buffer.byteOffset + bytes.byteLength;
    } else {
      // The estimate fell short and msgpackr moved to a buffer of its own;
      // only these bytes refer to it now. Start afresh next time.
      this.#used = this.#buffer.byteLength;
    }
  }
}
