// Where the command line writes: results to stdout, progress and problems to
// stderr. Colours and the spinner only on a terminal (NO_COLOR and
// FORCE_COLOR respected), so piped output stays plain text.

import type { Writable } from 'node:stream';
import { styleText } from 'node:util';

export type Style = 'red' | 'green' | 'yellow' | 'cyan' | 'gray' | 'bold';

/** The streams a command writes to; tests pass their own. */
export interface TerminalStreams {
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Frames of the spinner, and how often it turns. */
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const SPIN_MS = 80;

export class Terminal {
  readonly #stdout: TerminalStreams['stdout'];
  readonly #stderr: TerminalStreams['stderr'];
  readonly #colors: boolean;
  readonly #interactive: boolean;

  constructor(streams: TerminalStreams) {
    this.#stdout = streams.stdout;
    this.#stderr = streams.stderr;
    const env = streams.env ?? process.env;
    this.#interactive = streams.stderr.isTTY === true;
    if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') this.#colors = false;
    else if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') this.#colors = true;
    else this.#colors = streams.stdout.isTTY === true;
  }

  /** `text` in a style, when colours are on. */
  style(style: Style, text: string): string {
    return this.#colors ? styleText(style, text) : text;
  }

  /** A line of results. */
  out(line = ''): void {
    this.#stdout.write(`${line}\n`);
  }

  /** A line about the run: progress, warnings, errors. */
  note(line: string): void {
    this.#stderr.write(`${line}\n`);
  }

  error(message: string): void {
    this.note(`${this.style('red', 'error')} ${message}`);
  }

  warn(message: string): void {
    this.note(`${this.style('yellow', 'warning')} ${message}`);
  }

  /**
   * Shows that something long is under way: a spinner with `text` on a
   * terminal; elsewhere, the text once, as a line.
   */
  progress(text: string): Progress {
    if (!this.#interactive) {
      this.note(text);
      return { update: () => {}, stop: () => {} };
    }
    let frame = 0;
    let current = text;
    const draw = () => this.#stderr.write(`\r\x1b[2K${this.style('cyan', FRAMES[frame] as string)} ${current}`);
    draw();
    const timer = setInterval(() => {
      frame = (frame + 1) % FRAMES.length;
      draw();
    }, SPIN_MS);
    timer.unref();
    return {
      update: (next) => {
        current = next;
        draw();
      },
      stop: () => {
        clearInterval(timer);
        this.#stderr.write('\r\x1b[2K');
      },
    };
  }
}

export interface Progress {
  update(text: string): void;
  stop(): void;
}
