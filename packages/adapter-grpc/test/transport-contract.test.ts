// The gRPC transport below the invoker: the Transport contract with real
// Python servers, managed (pooled processes) and remote (one server it did not start).

import { JsonSerializer, silentLogger } from '@snakebridge/core';
import { describeTransportContract } from '@snakebridge/core/testing';
import * as vitest from 'vitest';
import { GrpcTransport } from '../src/index.js';
import { type ServerHandle, startServer, stopServers, testConfig } from './helpers.js';

const serializer = new JsonSerializer();

describeTransportContract(vitest, 'grpc, managed servers', {
  create: () => new GrpcTransport({ config: testConfig(), serializer, logger: silentLogger }),
  serializer,
  kill: (channel) => {
    if (channel.pid !== undefined) process.kill(channel.pid, 'SIGKILL');
  },
});

let server: ServerHandle | undefined;
vitest.afterAll(stopServers);
describeTransportContract(vitest, 'grpc, a remote server', {
  create: async () => {
    server ??= await startServer(['--cancel-grace-ms', '1000']);
    const config = testConfig({
      grpc: { mode: 'remote', endpoints: [server.endpoint], healthCheckIntervalMs: 200 },
    });
    return new GrpcTransport({ config, serializer, logger: silentLogger });
  },
  serializer,
});
