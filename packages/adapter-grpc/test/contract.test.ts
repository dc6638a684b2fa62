import { describeInvokerContract } from '@snakebridge/core/testing';
import * as vitest from 'vitest';
import { remoteInvoker, type ServerHandle, startServer, stopServers, testInvoker } from './helpers.js';

describeInvokerContract(vitest, 'grpc, managed Python servers', { create: () => testInvoker() });

let server: ServerHandle | undefined;
vitest.afterAll(stopServers);
describeInvokerContract(vitest, 'grpc, a remote Python server', {
  create: async () => {
    server ??= await startServer(['--cancel-grace-ms', '1000']);
    return remoteInvoker([server.endpoint]);
  },
});
