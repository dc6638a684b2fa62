// Stopping a Python process: asked politely, then SIGTERM, then SIGKILL for
// one that ignores SIGTERM, so that a stop never leaves a process behind.

import { fileURLToPath } from 'node:url';
import { type Logger, resolveConfig } from '@snakebridge/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findPython, PythonProcess } from '../src/index.js';

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
