// Python calling back into the host over pipes: the callback contract, with
// real Python workers, over each serializer that carries functions.

import { Bridge, kwargs, SerializationError, silentLogger } from '@snakebridge/core';
import { describeCallbackContract } from '@snakebridge/core/testing';
import { createMsgpackSerializer } from '@snakebridge/serializer-msgpack';
import * as vitest from 'vitest';
import { StdioInvoker } from '../src/index.js';
import { rejection, testConfig } from './helpers.js';

for (const serializerId of ['json', 'msgpack'] as const) {
  describeCallbackContract(vitest, `stdio over ${serializerId}`, {
    open: ({ threads }) =>
      new StdioInvoker({
        config: testConfig(threads === undefined ? {} : { pool: { threads } }),
        serializer: serializerId === 'msgpack' ? createMsgpackSerializer() : undefined,
        logger: silentLogger,
      }),
    pythonHandles: async (invoker) => {
      const { pool } = invoker as StdioInvoker;
      // Releases travel in order with calls, and pings overtake them: a call first, so the release has landed.
      await invoker.call({ op: 'call', target: 'len', args: [[]] });
      return (await pool.worker('w1')?.ping(2_000))?.handles;
    },
  });
}

vitest.describe('host callbacks through the Bridge', () => {
  vitest.it('refuses a proxy of a Python function, which would make the worker wait on itself', async () => {
    const invoker = new StdioInvoker({ config: testConfig(), logger: silentLogger });
    try {
      const bridge = new Bridge(invoker, testConfig(), silentLogger);
      const builtins = bridge.module('builtins');
      const error = await rejection(builtins.sorted(['bb', 'a'], kwargs({ key: builtins.len })));
      vitest.expect(SerializationError.is(error), String(error)).toBe(true);
      vitest.expect(error.message).toMatch(/<py builtins\.len> is a Python attribute seen through a proxy/);
    } finally {
      await invoker.close();
    }
  });
});
