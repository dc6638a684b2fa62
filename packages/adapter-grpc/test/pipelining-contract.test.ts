// Pipelining over gRPC: the contract with real Python servers, managed
// (pooled processes) and remote (one server it did not start).

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Channel, JsonSerializer, silentLogger } from '@snakebridge/core';
import { describePipeliningContract } from '@snakebridge/core/testing';
import * as vitest from 'vitest';
import { GrpcTransport, type ManagedServer } from '../src/index.js';
import { type ServerHandle, startServer, stopServers, testConfig } from './helpers.js';

setFlagsFromString('--expose-gc');
const serializer = new JsonSerializer();
const gc = runInNewContext('gc') as () => void;

/** A call naming a promised handle never made waits this long for it over gRPC (RPCs may arrive out of order). */
const PIPELINE_WAIT_MS = '300';

describePipeliningContract(vitest, 'grpc, managed servers', {
  create: () => {
    const config = testConfig({ python: { env: { SNAKEBRIDGE_PIPELINE_WAIT_MS: PIPELINE_WAIT_MS } } });
    return { transport: new GrpcTransport({ config, serializer, logger: silentLogger }), config };
  },
  serializer,
  held: async (channel) => (await (channel as unknown as ManagedServer).ping(2_000)).handles ?? -1,
  kill: (channel) => {
    if (channel.pid !== undefined) process.kill(channel.pid, 'SIGKILL');
  },
  gc,
});

/** A remote endpoint's own Stats RPC. */
interface Endpoint extends Channel {
  readonly connection: { stats(timeoutMs: number): Promise<{ handles: number }> };
}

let server: ServerHandle | undefined;
vitest.afterAll(stopServers);
describePipeliningContract(vitest, 'grpc, a remote server', {
  create: async () => {
    server ??= await startServer(['--cancel-grace-ms', '1000', '--pipeline-wait-ms', PIPELINE_WAIT_MS]);
    const config = testConfig({
      grpc: { mode: 'remote', endpoints: [server.endpoint], healthCheckIntervalMs: 200 },
    });
    return { transport: new GrpcTransport({ config, serializer, logger: silentLogger }), config };
  },
  serializer,
  held: async (channel) => (await (channel as Endpoint).connection.stats(2_000)).handles,
  gc,
});
