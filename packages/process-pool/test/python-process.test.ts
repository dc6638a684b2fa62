// Stopping a Python process: asked politely, then SIGTERM, then SIGKILL for
// one that ignores SIGTERM, so that a stop never leaves a process behind;
// and the same process forked by a fork server (pid, signals, exit).

import { fileURLToPath } from 'node:url';
import { type Logger, resolveConfig, silentLogger } from '@snakebridge/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ForkServer, findPython, PythonProcess } from '../src/index.js';

const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));
let python: string;
beforeAll(async () => {
  python = (await findPython(resolveConfig({}, { env: {} }).python, REPOSITORY)).executable;
});

const started: PythonProcess[] = [];
afterEach(() => {
  for (const process of started.splice(0)) process.signal('SIGKILL');
});

/** Starts `code` and resolves once it has printed `ready` (its signal handlers are in place by then). */
async function ready(code: string): Promise<PythonProcess> {
  let onReady: () => void = () => {};
  const printed = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  const logger: Logger = {
    debug: () => {},
    info: (line) => {
      if (line === 'ready') onReady();
    },
    warn: () => {},
    error: () => {},
  };
  const process = new PythonProcess({
    executable: python,
    args: ['-c', code],
    settings: resolveConfig({}, { env: {} }).python,
    workerId: 't1',
    logger,
  });
  started.push(process);
  await printed;
  return process;
}

describe('PythonProcess.terminate', () => {
  it('escalates to SIGKILL when the process ignores SIGTERM', async () => {
    const stubborn = await ready(
      'import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint("ready", flush=True)\ntime.sleep(60)',
    );
    const exit = await stubborn.terminate(50);
    expect(exit.signal).toBe('SIGKILL');
    expect(stubborn.alive).toBe(false);
  });

  it('stops at SIGTERM when the process obeys it, without SIGKILL', async () => {
    const obedient = await ready('import time\nprint("ready", flush=True)\ntime.sleep(60)');
    const exit = await obedient.terminate(50);
    expect(exit.signal).toBe('SIGTERM');
  });
});

describe('PythonProcess, forked by a fork server', () => {
  let server: ForkServer | undefined;
  afterEach(async () => {
    await server?.close(0);
    server = undefined;
  });

  /** A worker forked from a new fork server: it waits for its HELLO, which these tests never send. */
  async function forked(logger: Logger = silentLogger): Promise<PythonProcess> {
    const settings = resolveConfig({}, { env: {} }).python;
    server = await ForkServer.start({ executable: python, settings, serializer: 'json', logger, startMs: 30_000 });
    const process = await server.fork({ executable: python, args: [], settings, workerId: 'f1', logger });
    started.push(process);
    return process;
  }

  it('has a pid of its own, whose parent is the server', async () => {
    const process = await forked();
    expect(process.pid).toBeGreaterThan(0);
    expect(process.pid).not.toBe(server?.pid);
    expect(process.alive).toBe(true);
  });

  it('stops at SIGTERM, sent through the server, and reports the signal', async () => {
    const process = await forked();
    const exit = await process.terminate(50);
    expect(exit.signal).toBe('SIGTERM');
    expect(process.alive).toBe(false);
    expect(process.exitInfo(exit)).toMatchObject({ workerId: 'f1', pid: process.pid, signal: 'SIGTERM' });
  });

  it('is killed with its server, and says so in its exit', async () => {
    const process = await forked();
    globalThis.process.kill(server?.pid as number, 'SIGKILL');
    const exit = await process.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(process.exitInfo(exit).reason).toMatch(/fork server exited/);
  });
});
