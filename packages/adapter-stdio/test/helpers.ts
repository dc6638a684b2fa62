// Shared by the stdio adapter's tests: configs and invokers over real Python workers.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Logger, type PoolEvent, resolveConfig, type SnakeBridgeSettings, silentLogger } from '@snakebridge/core';
import { StdioInvoker } from '../src/index.js';

/** Python modules written for these tests (noisy.py, crashy.py). */
export const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));

/** A resolved config for tests: one worker unless told otherwise, no env vars, the fixtures importable. */
export function testConfig(settings: SnakeBridgeSettings = {}) {
  return resolveConfig(
    {
      ...settings,
      python: { ...settings.python, path: [FIXTURES, ...(settings.python?.path ?? [])] },
      pool: { min: 1, max: 1, ...settings.pool },
      timeouts: { cancelGraceMs: 1_000, shutdownGraceMs: 2_000, ...settings.timeouts },
    },
    { env: {} },
  );
}

/**
 * The two ways a pool starts its workers (docs/operations.md, "Fork server"):
 * suites about processes (crashes, exits, output, lifetimes) run in both.
 */
export const LAUNCH_MODES = [
  { name: 'forked by the fork server', forkServer: true },
  { name: 'spawned', forkServer: false },
] as const;

/** A stdio invoker over real Python workers. */
export function testInvoker(settings: SnakeBridgeSettings = {}, logger: Logger = silentLogger): StdioInvoker {
  return new StdioInvoker({ config: testConfig(settings), logger });
}

export interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>> | undefined;
}

/** A logger that keeps what it is given, for assertions. */
export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const keep = (level: string) => (message: string, fields?: Readonly<Record<string, unknown>>) =>
    void lines.push({ level, message, fields });
  return { lines, debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };
}

/** A call by dotted name, for brevity. */
export function fn(target: string, args: unknown[] = [], kwargs?: Record<string, unknown>) {
  return { op: 'call' as const, target, args, kwargs };
}

/** Resolves with the rejection of `promise`, failing if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** True if a process with this pid is running (a zombie, exited but not yet reaped, is not). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // Linux: the state letter follows the command name in parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** The parent of a running process (Linux, from /proc): the host for a spawned worker, the fork server for a forked one. */
export function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** The next lifecycle event of `invoker`'s pool that `matches`: subscribe before doing what causes it. */
export function nextPoolEvent(invoker: StdioInvoker, matches: (event: PoolEvent) => boolean): Promise<PoolEvent> {
  return new Promise((resolve) => {
    const off = invoker.pool.on((event) => {
      if (!matches(event)) return;
      off();
      resolve(event);
    });
  });
}
