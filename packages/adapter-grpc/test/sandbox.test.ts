// security.sandbox over gRPC: a managed server enters the OS sandbox once it
// listens. It keeps serving, but the code it runs cannot write outside its
// paths or open a network socket, on the main thread or in the call pool.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PythonError } from '@snakebridge/core';
import { afterAll, describe, expect, it } from 'vitest';
import { fn, rejection, testInvoker } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'sb-grpc-sandbox-'));
const writable = join(root, 'writable');
mkdirSync(writable);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each([0, 2])('a managed server in the sandbox, with %i call threads', (threads) => {
  it('serves calls, writes where it may, and cannot write elsewhere or open a socket', async () => {
    const invoker = testInvoker({
      pool: { threads },
      security: { sandbox: { enabled: true, writablePaths: [writable] } },
    });
    try {
      expect(await invoker.call(fn('math.sqrt', [16]))).toBe(4);
      const inside = join(writable, `inside-${threads}.txt`);
      await invoker.call({ op: 'exec', target: `open(${JSON.stringify(inside)}, 'w').write('ok')` });
      expect(readFileSync(inside, 'utf8')).toBe('ok');

      const outside = join(root, `outside-${threads}.txt`);
      const write = await rejection(invoker.call(fn('open', [outside, 'w'])));
      expect(PythonError.is(write) && write.pythonType).toBe('PermissionError');
      expect(existsSync(outside)).toBe(false);

      const socket = await rejection(invoker.call(fn('socket.socket', [2, 1])));
      expect(PythonError.is(socket) && socket.pythonType).toBe('PermissionError');
      // And the server still serves afterwards.
      expect(await invoker.call(fn('math.sqrt', [9]))).toBe(3);
    } finally {
      await invoker.close();
    }
  }, 30_000);
});
