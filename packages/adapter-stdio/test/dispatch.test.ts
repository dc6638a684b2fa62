// Calls go only to workers that can take them (fixtures/stuck.py): not to one
// whose cancelled call has not stopped (stuck in C code), nor to one that
// died. Calls that never left the pool run elsewhere; calls in flight on a
// killed worker fail with the signal and its hint; a call cancelled while it
// waits names itself.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledError, type Logger, type SnakeBridgeSettings, WorkerCrashedError } from '@snakebridge/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StdioInvoker } from '../src/index.js';
import { fn, rejection, testConfig } from './helpers.js';

const TEN_MINUTES = 600_000;

/** A logger that lets a test wait for a line a worker prints. */
function watchingLogger() {
  const waiters: { prefix: string; resolve: (line: string) => void }[] = [];
  const seen: string[] = [];
  const info = (message: string) => {
    seen.push(message);
    for (const waiter of waiters.filter((w) => message.startsWith(w.prefix))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  };
  const logger: Logger = { debug: () => {}, info, warn: () => {}, error: () => {} };
  /** Resolves with the first line starting with `prefix`, printed already or to come. */
  const line = (prefix: string) =>
    new Promise<string>((resolve) => {
      const earlier = seen.find((message) => message.startsWith(prefix));
      if (earlier !== undefined) resolve(earlier);
      else waiters.push({ prefix, resolve });
    });
  return { logger, line };
}

/** The pid a `stuck:` line names. */
const pidIn = (line: string) => Number(line.split(' ').at(-1));

describe('dispatch to workers that can take calls', () => {
  let invoker: StdioInvoker | undefined;
  let scratch: string | undefined;
  afterEach(async () => {
    await invoker?.close();
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  function start(settings: SnakeBridgeSettings) {
    const watch = watchingLogger();
    invoker = new StdioInvoker({ config: testConfig(settings), logger: watch.logger });
    return { bridge: invoker, line: watch.line };
  }

  function fifo(): string {
    scratch = mkdtempSync(join(tmpdir(), 'snakebridge-dispatch-'));
    const path = join(scratch, 'release');
    execFileSync('mkfifo', [path]);
    return path;
  }

  it('sends no call to a worker whose cancelled call is stuck in C code, and takes it back once it stops', async () => {
    const { bridge, line } = start({ pool: { min: 2, max: 2 }, timeouts: { cancelGraceMs: TEN_MINUTES } });
    await bridge.start();
    const release = fifo();
    const controller = new AbortController();
    const stuck = rejection(bridge.call(fn('stuck.block_until_written', [release]), { signal: controller.signal }));
    const stuckPid = pidIn(await line('stuck: blocked'));
    controller.abort();
    expect(CancelledError.is(await stuck)).toBe(true);

    // Its cancel is not confirmed: every new call goes to the other worker, none waits behind the stuck one.
    const pids = await Promise.all(
      Array.from({ length: 4 }, () => bridge.call<number>(fn('crashy.pid'), { timeoutMs: 20_000 })),
    );
    expect(pids.every((pid) => pid !== stuckPid)).toBe(true);
    expect(bridge.pool.health().readyWorkers).toBe(1);

    // The C code returns, the worker confirms the stop, and takes calls again.
    writeFileSync(release, 'x');
    await vi.waitFor(() => expect(bridge.pool.health().readyWorkers).toBe(2), { timeout: 20_000 });
    expect(bridge.pool.stats().workers.map((w) => w.pid)).toContain(stuckPid);
  });

  it('runs a call queued behind a stuck cancelled call on the replacement, not on the worker being killed', async () => {
    const { bridge, line } = start({ pool: { min: 1, max: 1 }, timeouts: { cancelGraceMs: 300 } });
    await bridge.start();
    const controller = new AbortController();
    const stuck = rejection(bridge.call(fn('stuck.block_until_written', [fifo()]), { signal: controller.signal }));
    const stuckPid = pidIn(await line('stuck: blocked'));
    controller.abort();
    expect(CancelledError.is(await stuck)).toBe(true);

    const queued = bridge.call<number>(fn('crashy.pid'));
    // Never sent to the stuck worker: it waits in the pool until the worker is killed and replaced.
    expect(bridge.pool.stats().queueDepth).toBe(1);
    expect(await queued).not.toBe(stuckPid);
  });

  it('re-routes calls not yet sent when a worker is SIGKILLed with 64 in flight; those fail with the signal', async () => {
    const { bridge, line } = start({ pool: { min: 1, max: 1, maxConcurrency: 64 } });
    await bridge.start();
    const inFlight = [
      rejection(bridge.call(fn('stuck.announce_and_sleep', [60]))),
      ...Array.from({ length: 63 }, () => rejection(bridge.call(fn('crashy.sleep', [60])))),
    ];
    const queued = Array.from({ length: 64 }, () => bridge.call<number>(fn('crashy.pid')));
    expect(bridge.pool.stats().workers[0]?.inFlight).toBe(64);
    expect(bridge.pool.stats().queueDepth).toBe(64);
    const pid = pidIn(await line('stuck: sleeping'));
    process.kill(pid, 'SIGKILL');

    for (const error of await Promise.all(inFlight)) {
      expect(WorkerCrashedError.is(error), String(error)).toBe(true);
      expect((error as WorkerCrashedError).signal).toBe('SIGKILL');
      expect(error.message).toMatch(/was killed by SIGKILL \(out of memory, or killed from outside\)/);
    }
    const pids = await Promise.all(queued);
    expect(pids.every((answer) => answer !== pid)).toBe(true);
  });

  it('names its own target in the CancelledError of a call cancelled while it waited for a worker', async () => {
    const { bridge, line } = start({ pool: { min: 1, max: 1, maxConcurrency: 1 } });
    await bridge.start();
    const busy = new AbortController();
    const blocker = rejection(bridge.call(fn('stuck.announce_and_sleep', [60]), { signal: busy.signal }));
    await line('stuck: sleeping');
    const controller = new AbortController();
    const waiting = rejection(bridge.call(fn('crashy.pid'), { signal: controller.signal }));
    expect(bridge.pool.stats().queueDepth).toBe(1);
    controller.abort();
    const error = (await waiting) as CancelledError;
    expect(CancelledError.is(error)).toBe(true);
    expect(error.target).toBe('crashy.pid');
    expect(error.message).toMatch(/Call to 'crashy.pid' was cancelled/);
    busy.abort();
    expect(CancelledError.is(await blocker)).toBe(true);
  });
});
