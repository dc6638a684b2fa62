// Python calling back into the host over gRPC (the Exchange RPC carries the
// requests and answers): the same callback contract the stdio adapter passes.

import { silentLogger } from '@snakebridge/core';
import { describeCallbackContract } from '@snakebridge/core/testing';
import { createMsgpackSerializer } from '@snakebridge/serializer-msgpack';
import * as vitest from 'vitest';
import { GrpcInvoker } from '../src/index.js';
import { type ServerHandle, startServer, stopServers, testConfig } from './helpers.js';

for (const serializerId of ['json', 'msgpack'] as const) {
  describeCallbackContract(vitest, `grpc, managed, over ${serializerId}`, {
    open: ({ threads }) =>
      new GrpcInvoker({
        config: testConfig(threads === undefined ? {} : { pool: { threads } }),
        serializer: serializerId === 'msgpack' ? createMsgpackSerializer() : undefined,
        logger: silentLogger,
      }),
    pythonHandles: async (invoker) => (await (invoker as GrpcInvoker).pool?.worker('w1')?.ping(2_000))?.handles,
  });
}

let server: ServerHandle | undefined;
vitest.afterAll(stopServers);
describeCallbackContract(vitest, 'grpc, a remote server', {
  open: async ({ threads }) => {
    // One server for every test: it runs sync calls on a thread pool, as the threads test asks.
    void threads;
    server ??= await startServer(['--cancel-grace-ms', '1000', '--threads', '2']);
    const config = testConfig({
      grpc: { mode: 'remote', endpoints: [server.endpoint], healthCheckIntervalMs: 200 },
    });
    return new GrpcInvoker({ config, logger: silentLogger });
  },
});
