// What a worker writes is made safe to log: its escape sequences and control
// characters, and its bytes that are not UTF-8, as python.output says.

import { describe, expect, it } from 'vitest';
import { safeString, type TextPolicy, textOfBytes } from '../src/output/safe-text.js';

const policy = (escapes: TextPolicy['escapes'], invalidUtf8: TextPolicy['invalidUtf8'] = 'escape'): TextPolicy => ({
  escapes,
  invalidUtf8,
});
const line = (text: string | Buffer, rules: TextPolicy) => textOfBytes(Buffer.from(text), rules);

/** Colour, a cursor move, a window title (OSC), a bell, a backspace, C1 CSI, and a lone ESC at the end. */
const HOSTILE = '\x1b[31mred\x1b[0m \x1b[2A\x1b]0;pwned\x07title\x07 bs\b \u009b31mc1 end\x1b';

describe('escape sequences and control characters', () => {
  it('strips whole sequences and lone controls by default, leaving the text', () => {
    expect(line(HOSTILE, policy('strip'))).toBe('red title bs c1 end');
  });

  it('escapes each control character, so the sequence shows but cannot act', () => {
    expect(line(HOSTILE, policy('escape'))).toBe(
      '\\x1b[31mred\\x1b[0m \\x1b[2A\\x1b]0;pwned\\x07title\\x07 bs\\x08 \\u009b31mc1 end\\x1b',
    );
  });

  it('keeps them as they are when told to', () => {
    expect(line(HOSTILE, policy('keep'))).toBe(HOSTILE);
  });

  it('leaves tabs and ordinary text alone in every mode', () => {
    for (const mode of ['strip', 'escape', 'keep'] as const) expect(line('a\tb é ✓', policy(mode))).toBe('a\tb é ✓');
  });

  it("keeps a log message's newlines but treats a carriage return as a control", () => {
    expect(safeString('Traceback:\n  line\r', policy('strip'), true)).toBe('Traceback:\n  line');
    expect(safeString('one\ntwo', policy('escape'), false)).toBe('one\\x0atwo');
  });
});

describe('bytes that are not UTF-8', () => {
  const bytes = Buffer.from([0x6f, 0x6b, 0xff, 0x20, 0xc3, 0x28, 0x20, 0xe2, 0x82, 0xac, 0xed, 0xa0, 0x80]);

  it('escapes each invalid byte by default, and decodes the valid ones around it', () => {
    expect(line(bytes, policy('strip', 'escape'))).toBe('ok\\xff \\xc3( €\\xed\\xa0\\x80');
  });

  it('replaces them with U+FFFD, as a standard decoder does', () => {
    expect(line(bytes, policy('strip', 'replace'))).toBe('ok\ufffd \ufffd( €\ufffd\ufffd\ufffd');
  });

  it('removes them when told to', () => {
    expect(line(bytes, policy('strip', 'strip'))).toBe('ok ( €');
  });

  it("treats a Python string's undecodable bytes (lone surrogates in JSON) the same way", () => {
    const fromPython = 'file-\udcff-\ud800.txt';
    expect(safeString(fromPython, policy('strip', 'escape'), false)).toBe('file-\\xff-\\ud800.txt');
    expect(safeString(fromPython, policy('strip', 'replace'), false)).toBe('file-\ufffd-\ufffd.txt');
    expect(safeString(fromPython, policy('strip', 'strip'), false)).toBe('file--.txt');
    expect(safeString('pair 😀', policy('strip', 'escape'), false)).toBe('pair 😀');
  });
});
