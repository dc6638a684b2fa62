// Text from a worker, made safe to log: bytes that are not UTF-8, ANSI escape
// sequences and other control characters are escaped, replaced or removed as
// the config says, so that a worker cannot drive the host's terminal (or a
// log viewer) by printing.

import { isUtf8 } from 'node:buffer';
import type { EscapeMode, InvalidUtf8Mode } from '@snakebridge/core';

/** What becomes of the unsafe parts of a worker's text (`python.output.escapes` and `invalidUtf8`). */
export interface TextPolicy {
  readonly escapes: EscapeMode;
  readonly invalidUtf8: InvalidUtf8Mode;
}

// Built from strings: control characters in a regular expression literal read as mistakes.
/** C0 controls but tab (and newline, which the caller decides about), DEL, and C1 controls. */
const CONTROL = '\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f';
/**
 * A whole escape sequence, so that stripping leaves no `[31m` behind: CSI
 * (`ESC [` or U+009B, parameters, intermediates, a final byte), the string
 * commands (OSC `ESC ]`, DCS `ESC P`, SOS, PM, APC) up to their terminator,
 * and the two- and three-byte ones (`ESC (B`, `ESC 7`). Each may be cut
 * short by the end of the text.
 */
const SEQUENCE =
  '(?:\\x1b\\[|\\x9b)[\\x30-\\x3f]*[\\x20-\\x2f]*[\\x40-\\x7e]?' +
  '|\\x1b[\\]PX^_][^\\x07\\x1b\\x9c]*(?:\\x07|\\x1b\\\\|\\x9c)?' +
  '|\\x1b[\\x20-\\x2f]*[\\x30-\\x7e]?';
const UNSAFE_LINE = new RegExp(`[${CONTROL}\\x0a]`);
const UNSAFE_TEXT = new RegExp(`[${CONTROL}]`);
const STRIP_LINE = new RegExp(`${SEQUENCE}|[${CONTROL}\\x0a]`, 'g');
const STRIP_TEXT = new RegExp(`${SEQUENCE}|[${CONTROL}]`, 'g');
const ESCAPE_LINE = new RegExp(`[${CONTROL}\\x0a]`, 'g');
const ESCAPE_TEXT = new RegExp(`[${CONTROL}]`, 'g');
/** A surrogate without its pair: what a Python string holding undecodable bytes becomes in JSON. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The text of a line of a worker's output (no newline in it), safe to log. */
export function textOfBytes(bytes: Uint8Array, policy: TextPolicy): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = isUtf8(buffer) ? buffer.toString('utf8') : decodeLoosely(buffer, policy.invalidUtf8);
  return safeControls(text, policy.escapes, false);
}

/**
 * A string from a worker (a `logging` record's message, its logger's name),
 * safe to log: its lone surrogates (undecodable bytes, in Python) are treated
 * as bytes that are not UTF-8; `newlines` keeps '\n' (a traceback has them).
 */
export function safeString(text: string, policy: TextPolicy, newlines: boolean): string {
  LONE_SURROGATE.lastIndex = 0;
  const wellFormed = LONE_SURROGATE.test(text)
    ? text.replace(LONE_SURROGATE, (unit) => invalidUnit(unit, policy.invalidUtf8))
    : text;
  return safeControls(wellFormed, policy.escapes, !newlines);
}

function safeControls(text: string, mode: EscapeMode, newlineIsUnsafe: boolean): string {
  if (mode === 'keep' || !(newlineIsUnsafe ? UNSAFE_LINE : UNSAFE_TEXT).test(text)) return text;
  if (mode === 'strip') return text.replace(newlineIsUnsafe ? STRIP_LINE : STRIP_TEXT, '');
  return text.replace(newlineIsUnsafe ? ESCAPE_LINE : ESCAPE_TEXT, escapeControl);
}

/** `\x1b` for a C0 control or DEL, `\u009b` for a C1 control: visible, and inert in any terminal. */
function escapeControl(char: string): string {
  const code = char.charCodeAt(0);
  return code < 0x80 ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`;
}

/** UTF-8 with its invalid bytes escaped (`\xff`) or removed; `replace` is the standard decoder's U+FFFD. */
function decodeLoosely(bytes: Buffer, mode: InvalidUtf8Mode): string {
  if (mode === 'replace') return new TextDecoder('utf-8').decode(bytes);
  let text = '';
  let run = 0;
  let at = 0;
  while (at < bytes.length) {
    const length = sequenceLength(bytes, at);
    if (length > 0) {
      at += length;
      continue;
    }
    text += bytes.toString('utf8', run, at) + (mode === 'escape' ? `\\x${hex(bytes[at] as number, 2)}` : '');
    at += 1;
    run = at;
  }
  return text + bytes.toString('utf8', run, at);
}

/** The length of the valid UTF-8 sequence at `at` (1 to 4), or 0 if the byte there starts none. */
function sequenceLength(bytes: Uint8Array, at: number): number {
  const lead = bytes[at] as number;
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return continues(bytes, at + 1, 0x80, 0xbf) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    // No overlong forms (E0 80–9F) and no surrogates (ED A0–BF).
    const low = lead === 0xe0 ? 0xa0 : 0x80;
    const high = lead === 0xed ? 0x9f : 0xbf;
    return continues(bytes, at + 1, low, high) && continues(bytes, at + 2, 0x80, 0xbf) ? 3 : 0;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    // No overlong forms (F0 80–8F) and nothing past U+10FFFF (F4 90–BF).
    const low = lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xf4 ? 0x8f : 0xbf;
    const rest = continues(bytes, at + 2, 0x80, 0xbf) && continues(bytes, at + 3, 0x80, 0xbf);
    return continues(bytes, at + 1, low, high) && rest ? 4 : 0;
  }
  return 0;
}

function continues(bytes: Uint8Array, at: number, low: number, high: number): boolean {
  const byte = bytes[at];
  return byte !== undefined && byte >= low && byte <= high;
}

/** A lone surrogate as the policy wants it; U+DC80–U+DCFF is Python's `surrogateescape` of a byte 80–FF. */
function invalidUnit(unit: string, mode: InvalidUtf8Mode): string {
  if (mode === 'strip') return '';
  if (mode === 'replace') return '\ufffd';
  const code = unit.charCodeAt(0);
  return code >= 0xdc80 && code <= 0xdcff ? `\\x${hex(code - 0xdc00, 2)}` : `\\u${hex(code, 4)}`;
}

function hex(code: number, digits: number): string {
  return code.toString(16).padStart(digits, '0');
}
