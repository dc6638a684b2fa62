// The fork server with real processes (Linux): a pool's workers are forked
// from one warmed-up Python process, its child; a crashed worker is forked
// again; when the server dies its workers die with it and the pool forks new
// ones from a new server; a server that cannot start leaves the pool spawning;
// and a worker deaf to SIGTERM is still stopped, with SIGKILL, in either mode.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PoolEvent, WorkerCrashedError } from '@snakebridge/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { StdioInvoker } from '../src/index.js';
import {
  alive,
  fn,
  LAUNCH_MODES,
  nextPoolEvent,
  parentOf,
  recordingLogger,
  rejection,
  testInvoker,
} from './helpers.js';

const invokers: StdioInvoker[] = [];
function pooled(...args: Parameters<typeof testInvoker>): StdioInvoker {
  const invoker = testInvoker(...args);
  invokers.push(invoker);
  return invoker;
}
afterEach(async () => {
  await Promise.all(invokers.splice(0).map((invoker) => invoker.close()));
});

const workerPids = (invoker: StdioInvoker) => invoker.pool.stats().workers.map((worker) => worker.pid as number);
const commandLine = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

/** Resolves after `count` pool events that `matches`: subscribe before doing what causes them. */
function poolEvents(
  invoker: StdioInvoker,
  count: number,
  matches: (event: PoolEvent) => boolean,
): Promise<PoolEvent[]> {
  const seen: PoolEvent[] = [];
  return new Promise((resolve) => {
    const off = invoker.pool.on((event) => {
      if (!matches(event)) return;
      seen.push(event);
      if (seen.length < count) return;
      off();
      resolve(seen);
    });
  });
}

describe('fork server', () => {
  it('forks every worker of a pool from one fork server, which is the host’s child', async () => {
    const invoker = pooled({ pool: { min: 3, max: 3, start: 'eager' } });
    await invoker.start();
    const parents = new Set(workerPids(invoker).map(parentOf));
    expect(parents.size).toBe(1);
    const [server] = [...parents] as [number];
    expect(server).not.toBe(process.pid);
    expect(parentOf(server)).toBe(process.pid);
    expect(commandLine(server)).toContain('snakebridge.forkserver');
    expect(await invoker.call(fn('os.getppid'))).toBe(server);
  });

  it('spawns every worker, the host’s children, when pool.forkServer is false', async () => {
    const invoker = pooled({ pool: { min: 2, max: 2, forkServer: false } });
    await invoker.start();
    expect(workerPids(invoker).map(parentOf)).toEqual([process.pid, process.pid]);
  });

  it('replaces a crashed worker by forking it from the same server', async () => {
    const invoker = pooled();
    await invoker.start();
    const [first] = workerPids(invoker) as [number];
    const server = parentOf(first);
    const replaced = nextPoolEvent(invoker, (event) => event.type === 'ready');
    process.kill(first, 'SIGKILL');
    const ready = await replaced;
    expect(ready.type === 'ready' && ready.pid).not.toBe(first);
    expect(parentOf((ready as { pid: number }).pid)).toBe(server);
  });

  it('when the server dies, its workers die with it, their calls fail saying so, and a new server forks new ones', async () => {
    const invoker = pooled({ pool: { min: 2, max: 2 } });
    await invoker.start();
    const before = workerPids(invoker);
    const server = parentOf(before[0] as number);
    const exits = poolEvents(invoker, 2, (event) => event.type === 'exit');
    const readyAgain = poolEvents(invoker, 2, (event) => event.type === 'ready');
    const inFlight = rejection(invoker.call(fn('crashy.sleep', [30])));
    await new Promise((resolve) => setTimeout(resolve, 100)); // the call is running
    process.kill(server, 'SIGKILL');

    const crash = (await inFlight) as WorkerCrashedError;
    expect(WorkerCrashedError.is(crash)).toBe(true);
    expect(crash.signal).toBe('SIGKILL');
    expect(crash.message).toMatch(/fork server exited/);
    expect((await exits).map((event) => event.type === 'exit' && event.signal)).toEqual(['SIGKILL', 'SIGKILL']);
    expect(before.some(alive)).toBe(false); // no orphan
    expect(alive(server)).toBe(false);

    await readyAgain;
    const after = workerPids(invoker);
    const newServer = parentOf(after[0] as number);
    expect(newServer).not.toBe(server);
    expect(after.map(parentOf)).toEqual([newServer, newServer]);
    expect(await invoker.call(fn('crashy.pid'))).toSatisfy((pid: number) => after.includes(pid));
  });

  it('spawns the worker instead, and says why, when the fork server cannot start', async () => {
    // A socket path the kernel would cut short: the server refuses to start, the pool spawns.
    const deep = join(mkdtempSync(join(tmpdir(), 'sb-long-')), 'x'.repeat(60), 'y'.repeat(60));
    mkdirSync(deep, { recursive: true });
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = deep;
    try {
      const logger = recordingLogger();
      const invoker = pooled({}, logger);
      await invoker.start();
      expect(workerPids(invoker).map(parentOf)).toEqual([process.pid]);
      expect(await invoker.call(fn('crashy.pid'))).toBe(workerPids(invoker)[0]);
      const warning = logger.lines.find((line) => line.message.includes('the fork server failed to start'));
      expect(warning?.message).toMatch(/socket path would be longer than 107 bytes.*spawning this worker/);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(join(deep, '..', '..'), { recursive: true, force: true });
    }
  });
});

describe('fork server sockets', () => {
  it('removes the socket directory a killed host left behind when the next server starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-sockets-'));
    const gone = spawnSync('true').pid as number; // a pid that has exited
    const left = join(dir, `snakebridge-fork-${gone}-abc123`);
    mkdirSync(left);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = dir;
    try {
      const invoker = pooled();
      await invoker.start();
      expect(existsSync(left)).toBe(false);
      const own = readdirSync(dir).filter((entry) => entry.startsWith(`snakebridge-fork-${process.pid}-`));
      expect(own).toHaveLength(1); // this pool's
      await invoker.close();
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(LAUNCH_MODES)('stopping a worker deaf to SIGTERM, workers $name', ({ forkServer }) => {
  it('escalates to SIGKILL and leaves no process behind', async () => {
    const invoker = pooled({ pool: { forkServer }, timeouts: { shutdownGraceMs: 200, cancelGraceMs: 60_000 } });
    await invoker.start();
    const [pid] = workerPids(invoker) as [number];
    const exited = nextPoolEvent(invoker, (event) => event.type === 'exit');
    const stuck = rejection(invoker.call(fn('crashy.sleep_deaf', [60])));
    await new Promise((resolve) => setTimeout(resolve, 200)); // deaf by now
    await invoker.close();
    const exit = await exited;
    expect(exit.type === 'exit' && exit.signal).toBe('SIGKILL');
    expect(alive(pid)).toBe(false);
    await stuck;
  });
});
