// security.sandbox over stdio: a worker in the OS sandbox (Landlock, seccomp)
// serves calls, but cannot write outside its paths, open a network socket,
// or signal the host; neither can anything it starts.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PythonError } from '@snakebridge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StdioInvoker } from '../src/index.js';
import { fn, parentOf, rejection, testInvoker } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'sb-sandbox-'));
const writable = join(root, 'writable');
let invoker: StdioInvoker;

beforeAll(async () => {
  mkdirSync(writable);
  invoker = testInvoker({ security: { sandbox: { enabled: true, writablePaths: [writable] } } });
  await invoker.start();
});
afterAll(async () => {
  await invoker.close();
  rmSync(root, { recursive: true, force: true });
});

/** The PythonError a call fails with. */
async function refusal(target: string, args: unknown[]): Promise<PythonError> {
  const error = await rejection(invoker.call(fn(target, args)));
  expect(PythonError.is(error), String(error)).toBe(true);
  return error as PythonError;
}

describe('a worker in the sandbox', () => {
  it('is spawned by the host, not forked by a fork server (though pool.forkServer is on): it starts from a fresh exec', () => {
    const [worker] = invoker.pool.stats().workers;
    expect(parentOf(worker?.pid as number)).toBe(process.pid);
  });

  it('serves calls, and writes where it may', async () => {
    expect(await invoker.call(fn('math.sqrt', [16]))).toBe(4);
    const file = join(writable, 'inside.txt');
    await invoker.call({ op: 'exec', target: `open(${JSON.stringify(file)}, 'w').write('ok')` });
    expect(readFileSync(file, 'utf8')).toBe('ok');
  });

  it('cannot write outside its paths, itself or through a child process', async () => {
    const outside = join(root, 'outside.txt');
    const error = await refusal('open', [outside, 'w']);
    expect(error.pythonType).toBe('PermissionError');
    await invoker.call(fn('subprocess.run', [['sh', '-c', `echo escaped > ${outside}`]]));
    expect(existsSync(outside)).toBe(false);
  });

  it('cannot open a network socket, though Unix sockets work', async () => {
    const inet = await refusal('socket.socket', [2, 1]); // AF_INET, SOCK_STREAM
    expect(inet.pythonType).toBe('PermissionError');
    const udp = await refusal('socket.socket', [10, 2]); // AF_INET6, SOCK_DGRAM
    expect(udp.pythonType).toBe('PermissionError');
    await invoker.call({ op: 'exec', target: 'import socket; socket.socket(socket.AF_UNIX).close()' });
  });

  it('cannot signal the host', async () => {
    const error = await refusal('os.kill', [process.pid, 0]);
    expect(error.pythonType).toBe('PermissionError');
  });
});
