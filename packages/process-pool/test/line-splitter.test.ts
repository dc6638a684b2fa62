// Splitting a worker's output stream into records: lines, throttled progress of
// lines redrawn with '\r', partial lines after a quiet period, and a bound on
// what one line may hold. Fake timers: nothing here waits for real time.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LineSplitter, type LineSplitterOptions, type OutputPiece, utf8Boundary } from '../src/output/line-splitter.js';

const OPTIONS: LineSplitterOptions = { maxLineBytes: 64, partialLineMs: 100, progressIntervalMs: 1_000 };

/** A splitter and what it has passed on so far, as text. */
function splitter(options: Partial<LineSplitterOptions> = {}) {
  const pieces: (Omit<OutputPiece, 'bytes'> & { text: string })[] = [];
  const split = new LineSplitter({ ...OPTIONS, ...options }, ({ bytes, ...rest }) =>
    pieces.push({ ...rest, text: bytes.toString('utf8') }),
  );
  const push = (text: string | Buffer) => split.push(typeof text === 'string' ? Buffer.from(text) : text);
  return { split, push, pieces, texts: () => pieces.map((piece) => `${piece.kind}:${piece.text}`) };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('lines', () => {
  it('passes on each line however the stream is chunked, without its newline or a CRLF', () => {
    const text = 'one\ntwo\r\n\nthree\n';
    for (const size of [1, 2, 5, text.length]) {
      const { push, texts } = splitter();
      for (let at = 0; at < text.length; at += size) push(text.slice(at, at + size));
      expect(texts()).toEqual(['line:one', 'line:two', 'line:', 'line:three']);
    }
  });

  it('passes on what is left when the stream ends, and nothing after', () => {
    const { split, push, texts } = splitter();
    push('no newline');
    split.end();
    vi.advanceTimersByTime(1_000);
    push('too late\n');
    expect(texts()).toEqual(['line:no newline']);
  });
});

describe('partial lines', () => {
  it('passes on text without a newline once the stream has been quiet for partialLineMs', () => {
    const { push, texts, pieces } = splitter();
    push('Loading...');
    vi.advanceTimersByTime(99);
    expect(texts()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(texts()).toEqual(['partial:Loading...']);
    expect(pieces[0]).toMatchObject({ kind: 'partial', cut: false, redrawn: false });
  });

  it('waits for quiet: more text without a newline starts the period again', () => {
    const { push, texts } = splitter();
    push('.');
    vi.advanceTimersByTime(80);
    push('.');
    vi.advanceTimersByTime(80);
    push('.');
    expect(texts()).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(texts()).toEqual(['partial:...']);
  });

  it('does not glue a partial line to the next one: the rest is a line of its own, its bare newline none', () => {
    const { push, texts } = splitter();
    push('Loading...');
    vi.advanceTimersByTime(100);
    push(' done\nnext');
    vi.advanceTimersByTime(100);
    push('\n');
    expect(texts()).toEqual(['partial:Loading...', 'line: done', 'partial:next']);
  });

  it('passes on a partial line at once with partialLineMs 0', () => {
    const { push, texts } = splitter({ partialLineMs: 0 });
    push('a');
    push('b\n');
    expect(texts()).toEqual(['partial:a', 'line:b']);
  });
});

describe('lines redrawn with a carriage return (progress bars)', () => {
  it('passes on the first state at once, then at most one per interval, always the latest', () => {
    const { push, texts } = splitter();
    push('\r[#...] 1/4');
    expect(texts()).toEqual(['progress:[#...] 1/4']);
    push('\r[##..] 2/4');
    push('\r[###.] 3/4');
    vi.advanceTimersByTime(999);
    expect(texts()).toEqual(['progress:[#...] 1/4']);
    vi.advanceTimersByTime(1);
    expect(texts()).toEqual(['progress:[#...] 1/4', 'progress:[###.] 3/4']);
  });

  it('passes on the final state as a line when the newline comes, before the interval is over', () => {
    const { push, texts, pieces } = splitter();
    push('\r[#...] 1/4');
    push('\r[##..] 2/4');
    push('\r[####] 4/4\n');
    vi.advanceTimersByTime(5_000);
    expect(texts()).toEqual(['progress:[#...] 1/4', 'line:[####] 4/4']);
    expect(pieces.map((piece) => piece.redrawn)).toEqual([true, true]);
  });

  it("takes the last state drawn as the final one when the line ends right after a '\\r' (tqdm's close)", () => {
    const { push, texts } = splitter({ progressIntervalMs: 0 });
    push('50%\r100%\r\n');
    expect(texts()).toEqual(['line:100%']);
  });

  it('passes on every redraw with progressIntervalMs 0, and never waits for quiet on a redrawn line', () => {
    const { push, texts } = splitter({ progressIntervalMs: 0 });
    push('\r1');
    push('\r2');
    vi.advanceTimersByTime(10_000);
    expect(texts()).toEqual(['progress:1', 'progress:2']);
  });

  it("shows a line drawn with a trailing CR (print(..., end='\\r')) once the stream is quiet, or at the next draw", () => {
    const { push, texts } = splitter({ progressIntervalMs: 0 });
    push('10%\r');
    expect(texts()).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(texts()).toEqual(['progress:10%']);
    push('20%\r');
    push('30%\r');
    expect(texts()).toEqual(['progress:10%', 'progress:20%', 'progress:30%']);
    push('\n');
    expect(texts().at(-1)).toBe('line:30%');
  });

  it('passes nothing on for a state that has not changed since the last one', () => {
    const { push, texts } = splitter();
    push('\r1/2');
    vi.advanceTimersByTime(5_000);
    expect(texts()).toEqual(['progress:1/2']);
  });

  it('throttles per stream across bars: the next bar waits for the interval too', () => {
    const { push, texts } = splitter();
    push('\ra 1');
    push('\n');
    push('\rb 1');
    expect(texts()).toEqual(['progress:a 1', 'line:a 1']);
    vi.advanceTimersByTime(1_000);
    expect(texts()).toEqual(['progress:a 1', 'line:a 1', 'progress:b 1']);
  });
});

describe('a bound on each line', () => {
  it('passes on the first maxLineBytes of an endless line at once, marked cut, and drops the rest', () => {
    const { push, pieces, texts } = splitter({ maxLineBytes: 256 });
    for (let i = 0; i < 1_000; i++) push('x'.repeat(1_000)); // a megabyte without a newline
    expect(pieces).toHaveLength(1);
    expect(pieces[0]).toMatchObject({ kind: 'line', cut: true, text: 'x'.repeat(256) });
    vi.advanceTimersByTime(1_000);
    push('y\nnext\n');
    expect(texts().slice(1)).toEqual(['line:next']);
  });

  it('cuts a redrawn line state too, and keeps drawing it', () => {
    const { push, pieces } = splitter({ maxLineBytes: 256, progressIntervalMs: 0 });
    push(`\r${'a'.repeat(300)}`);
    push('\rshort\n');
    expect(pieces.map(({ kind, cut, text }) => [kind, cut, text.length])).toEqual([
      ['progress', true, 256],
      ['line', false, 5],
    ]);
  });

  it('never cuts inside a UTF-8 character', () => {
    const { push, pieces } = splitter({ maxLineBytes: 256 });
    push(`${'a'.repeat(255)}é and more`);
    expect(pieces[0]?.text).toBe('a'.repeat(255));
    expect(utf8Boundary(Buffer.from('€€'), 4)).toBe(3);
    expect(utf8Boundary(Buffer.from('abc'), 2)).toBe(2);
  });
});
