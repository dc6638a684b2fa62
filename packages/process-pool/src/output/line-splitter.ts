// Splits one output stream of a worker (its stdout or its stderr) into the
// pieces that become log records: whole lines; the latest state of a line
// redrawn with '\r' (a progress bar), throttled, while it is drawn; and text
// without a newline once the stream has been quiet for a while. It works on
// bytes and holds at most two lines' worth of them: decoding is safe-text.ts's job.

/** What a piece of output is. */
export type PieceKind = 'line' | 'progress' | 'partial';

/** A piece of a worker's output, ready to become a record. */
export interface OutputPiece {
  /**
   * `line`: a line that ended (with '\n', or with the stream); `progress`:
   * the state of a line being redrawn with '\r', as it is now; `partial`:
   * text without a newline, after a quiet period.
   */
  readonly kind: PieceKind;
  readonly bytes: Buffer;
  /** The text was longer than `maxLineBytes`: these are its first bytes, the rest was dropped. */
  readonly cut: boolean;
  /** The line was redrawn with '\r': a `line` is then the final state of a progress bar. */
  readonly redrawn: boolean;
}

/** How a LineSplitter cuts and paces what it passes on. */
export interface LineSplitterOptions {
  /** Longest text passed on; the rest of a longer line (or '\r' segment) is dropped. */
  readonly maxLineBytes: number;
  /** Text without a newline is passed on after this long without more output; 0: at once. */
  readonly partialLineMs: number;
  /** At most one `progress` piece this often, always the latest state; 0: every redraw. */
  readonly progressIntervalMs: number;
}

const LF = 0x0a;
const CR = 0x0d;
const NO_BREAK = Number.POSITIVE_INFINITY;

/** A segment of a line: the bytes between two breaks ('\r' or '\n'). */
interface Segment {
  readonly bytes: Buffer;
  readonly cut: boolean;
}

/**
 * Splits a byte stream into OutputPieces, however it is chunked. Push each
 * chunk with `push`, and call `end` when the stream ends: what is left then
 * is a line. A '\r' not followed by '\n' starts a redrawn line, whose states
 * are passed on as `progress` while it is drawn, at most one per
 * `progressIntervalMs` (the first at once), and whose final state is a `line`
 * when its '\n' (or the end) comes.
 */
export class LineSplitter {
  readonly #options: LineSplitterOptions;
  readonly #emit: (piece: OutputPiece) => void;
  /** The current segment: bytes since the last break, at most maxLineBytes of them. */
  #parts: Buffer[] = [];
  #size = 0;
  /** The current segment passed maxLineBytes: the rest of it, up to the next break, is dropped. */
  #cut = false;
  /** The last non-empty segment of the current line that a '\r' ended: what a progress bar shows. */
  #drawn: Segment | undefined;
  /** The current line has been redrawn ('\r'): its states are progress. */
  #redrawn = false;
  /** The last chunk ended with '\r': a redraw, unless the next one starts with '\n'. */
  #pendingCR = false;
  /** Part of the current line was passed on already (quiet, or cut): its '\n' alone makes no record. */
  #passedOn = false;
  /** A state of the redrawn line that has not been passed on yet. */
  #progressPending = false;
  #lastProgressAt = Number.NEGATIVE_INFINITY;
  #progressTimer: NodeJS.Timeout | undefined;
  #quietTimer: NodeJS.Timeout | undefined;
  #ended = false;

  constructor(options: LineSplitterOptions, emit: (piece: OutputPiece) => void) {
    this.#options = options;
    this.#emit = emit;
  }

  /** Splits a chunk of the stream; pieces are passed on as they are found, or later by a timer. */
  push(chunk: Buffer): void {
    if (this.#ended || chunk.length === 0) return;
    if (this.#pendingCR) {
      // The '\r' that ended the last chunk: the first half of a '\r\n', or a redraw.
      this.#pendingCR = false;
      if (chunk[0] !== LF) this.#endSegment();
    }
    let start = 0;
    let lf = nextIndex(chunk, LF, 0);
    let cr = nextIndex(chunk, CR, 0);
    while (start < chunk.length) {
      const end = Math.min(lf, cr);
      if (end === NO_BREAK) {
        this.#append(chunk.subarray(start));
        break;
      }
      this.#append(chunk.subarray(start, end));
      if (end === lf) {
        this.#endLine();
        lf = nextIndex(chunk, LF, end + 1);
      } else if (end === chunk.length - 1) {
        this.#pendingCR = true; // the next chunk tells what it is
      } else {
        this.#endSegment();
        cr = nextIndex(chunk, CR, end + 1);
      }
      start = end + 1;
    }
    this.#afterChunk();
  }

  /** The stream ended: what is left of a line is passed on as one, and no timer stays. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#pendingCR = false; // a line's end either way
    if (this.#size > 0 || this.#drawn !== undefined) this.#endLine();
    this.#stopTimers();
  }

  // --- bytes ----------------------------------------------------------------------------------

  /** Adds bytes to the current segment, up to maxLineBytes; a plain line that passes it is passed on, cut. */
  #append(bytes: Buffer): void {
    if (bytes.length === 0 || this.#cut) return;
    const room = this.#options.maxLineBytes - this.#size;
    if (bytes.length <= room) {
      this.#parts.push(Buffer.from(bytes)); // a copy: a view would keep the whole chunk alive
      this.#size += bytes.length;
      return;
    }
    const head = Buffer.from(bytes.subarray(0, utf8Boundary(bytes, room)));
    this.#parts.push(head);
    this.#size += head.length;
    this.#cut = true;
    if (this.#redrawn) return; // a redrawn line shows its states as progress, cut or not
    // Not held until its end, which may never come: passed on now, and the rest of it dropped.
    this.#emit({ kind: 'line', ...this.#takeSegment(), redrawn: false });
    this.#cut = true;
    this.#passedOn = true;
  }

  /** The current segment, joined, and a fresh one started. */
  #takeSegment(): Segment {
    const segment = { bytes: this.#joined(), cut: this.#cut };
    this.#parts = [];
    this.#size = 0;
    this.#cut = false;
    return segment;
  }

  #joined(): Buffer {
    return this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts, this.#size);
  }

  // --- breaks -----------------------------------------------------------------------------------

  /** '\n': the line is passed on, as its last segment, or the last state drawn if that is empty ('\r\n'). */
  #endLine(): void {
    const segment = this.#takeSegment();
    const final = segment.bytes.length > 0 ? segment : this.#drawn;
    if (final !== undefined) this.#emit({ kind: 'line', ...final, redrawn: this.#redrawn });
    else if (!this.#passedOn) this.#emit({ kind: 'line', ...segment, redrawn: false }); // an empty line
    this.#drawn = undefined;
    this.#redrawn = false;
    this.#passedOn = false;
    this.#progressPending = false;
    clearTimeout(this.#progressTimer);
    this.#progressTimer = undefined;
    clearTimeout(this.#quietTimer);
    this.#quietTimer = undefined;
  }

  /** '\r' (not before '\n'): the segment is the line's latest state, and the line a redrawn one. */
  #endSegment(): void {
    const segment = this.#takeSegment();
    if (segment.bytes.length > 0) this.#drawn = segment;
    this.#redrawn = true;
  }

  /** After each chunk: a redrawn line shows its state (throttled); a plain one waits for quiet. */
  #afterChunk(): void {
    if (this.#redrawn) {
      clearTimeout(this.#quietTimer);
      this.#quietTimer = undefined;
      if (this.#size > 0 || this.#drawn !== undefined) this.#showProgress();
      return;
    }
    if (this.#size === 0 && !this.#pendingCR) return;
    clearTimeout(this.#quietTimer);
    if (this.#options.partialLineMs === 0) this.#quiet();
    else this.#quietTimer = unref(setTimeout(() => this.#quiet(), this.#options.partialLineMs));
  }

  // --- timers -----------------------------------------------------------------------------------

  /** The stream was quiet: a '\r' that ended it was a redraw; else the text without its newline is passed on. */
  #quiet(): void {
    this.#quietTimer = undefined;
    if (this.#pendingCR) {
      this.#pendingCR = false;
      this.#endSegment();
      this.#afterChunk();
      return;
    }
    if (this.#size === 0) return;
    this.#emit({ kind: 'partial', ...this.#takeSegment(), redrawn: false });
    this.#passedOn = true;
  }

  /** Passes on the redrawn line's state now, or when the interval since the last one is over. */
  #showProgress(): void {
    this.#progressPending = true;
    if (this.#progressTimer !== undefined) return; // it will pass on the latest state
    const wait = this.#lastProgressAt + this.#options.progressIntervalMs - Date.now();
    if (wait <= 0) this.#passProgress();
    else this.#progressTimer = unref(setTimeout(() => this.#passProgress(), wait));
  }

  #passProgress(): void {
    this.#progressTimer = undefined;
    if (!this.#progressPending) return;
    const state: Segment | undefined = this.#size > 0 ? { bytes: this.#joined(), cut: this.#cut } : this.#drawn;
    if (state === undefined) return;
    this.#progressPending = false;
    this.#lastProgressAt = Date.now();
    this.#emit({ kind: 'progress', ...state, redrawn: true });
  }

  #stopTimers(): void {
    clearTimeout(this.#progressTimer);
    clearTimeout(this.#quietTimer);
    this.#progressTimer = undefined;
    this.#quietTimer = undefined;
  }
}

function nextIndex(chunk: Buffer, byte: number, from: number): number {
  const at = chunk.indexOf(byte, from);
  return at === -1 ? NO_BREAK : at;
}

/**
 * The largest length ≤ `limit` at which `bytes` can be cut without splitting
 * a UTF-8 character: a cut inside one would leave a byte that is not UTF-8.
 */
export function utf8Boundary(bytes: Uint8Array, limit: number): number {
  let at = limit;
  // Continuation bytes are 10xxxxxx; a character has at most three of them.
  while (at > 0 && limit - at < 3 && ((bytes[at] as number) & 0xc0) === 0x80) at--;
  return ((bytes[at] as number) & 0xc0) === 0x80 ? limit : at;
}

/** Timers of output never keep the host alive. */
function unref(timer: NodeJS.Timeout): NodeJS.Timeout {
  timer.unref?.();
  return timer;
}
