// Runs `python -m snakebridge.introspect` in the configured interpreter, with
// the same environment and import path as the workers, and reads its
// document (vectors/introspect/README.md).

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PythonSettings } from '@snakebridge/core';
import { pythonEnvironment } from '@snakebridge/process-pool';
import { CommandError } from '../errors.js';
import { INTROSPECTION_FORMAT, type IntrospectionDocument } from '../typegen/introspection.js';

export interface IntrospectOptions {
  /** The interpreter to run (from `findPython`). */
  readonly executable: string;
  readonly settings: PythonSettings;
  readonly modules: readonly string[];
  readonly budgetMs: number;
  /** Called as modules are walked: `{ module, done, total }`. */
  readonly onProgress?: ((event: ProgressEvent) => void) | undefined;
}

export interface ProgressEvent {
  readonly module: string;
  readonly done: number;
  readonly total: number;
}

/** Lines of the introspector's stderr kept for an error message. */
const STDERR_TAIL = 30;

/**
 * The introspection of `modules`.
 *
 * @throws CommandError when the introspector cannot run or writes no document.
 */
export async function runIntrospector(options: IntrospectOptions): Promise<IntrospectionDocument> {
  const dir = await mkdtemp(join(tmpdir(), 'snakebridge-introspect-'));
  const out = join(dir, 'introspection.json');
  try {
    const args = ['-m', 'snakebridge.introspect', '--progress', '--budget-ms', String(options.budgetMs)];
    const stderr = await runPython(options, [...args, '--out', out, ...options.modules]);
    let text: string;
    try {
      text = await readFile(out, 'utf8');
    } catch {
      throw new CommandError(`The introspector wrote nothing. Its last output:\n${stderr.join('\n')}`);
    }
    return checkDocument(JSON.parse(text) as IntrospectionDocument);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs the interpreter; resolves with the tail of stderr (lines that were not progress). */
function runPython(options: IntrospectOptions, args: readonly string[]): Promise<string[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(options.executable, args, {
      cwd: options.settings.cwd,
      env: pythonEnvironment(options.settings),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const tail: string[] = [];
    let partial = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (!reportProgress(line, options.onProgress)) keep(tail, line);
    });
    child.once('error', (error) => reject(new CommandError(`Could not run ${options.executable}: ${error.message}`)));
    child.once('close', (code, signal) => {
      if (partial !== '') keep(tail, partial);
      if (code === 0) resolvePromise(tail);
      else {
        const how = signal === null ? `exited with ${code}` : `was killed by ${signal}`;
        reject(new CommandError(`The introspector (${options.executable}) ${how}:\n${tail.join('\n')}`));
      }
    });
  });
}

function keep(tail: string[], line: string): void {
  tail.push(line);
  if (tail.length > STDERR_TAIL) tail.shift();
}

/** True if the line was a progress event (and reported). Modules may print anything else. */
function reportProgress(line: string, onProgress: IntrospectOptions['onProgress']): boolean {
  if (!line.startsWith('{"event"')) return false;
  try {
    const event = JSON.parse(line) as { event: string; module: string; done?: number; total: number };
    if (event.event === 'module') onProgress?.({ module: event.module, done: 0, total: event.total });
    else if (event.event === 'member')
      onProgress?.({ module: event.module, done: event.done ?? 0, total: event.total });
    else return false;
    return true;
  } catch {
    return false;
  }
}

function checkDocument(document: IntrospectionDocument): IntrospectionDocument {
  if (document.format !== INTROSPECTION_FORMAT) {
    throw new CommandError(
      `The introspector wrote format ${document.format}; this snakebridge reads format ${INTROSPECTION_FORMAT}. ` +
        'The Python runtime and @snakebridge/cli come from different versions: install matching ones.',
    );
  }
  return document;
}
