// Pipelining over stdio: the contract with real Python workers.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { JsonSerializer, silentLogger } from '@snakebridge/core';
import { describePipeliningContract } from '@snakebridge/core/testing';
import * as vitest from 'vitest';
import { StdioTransport, type StdioWorker } from '../src/index.js';
import { testConfig } from './helpers.js';

setFlagsFromString('--expose-gc');
const serializer = new JsonSerializer();

describePipeliningContract(vitest, 'stdio', {
  create: () => {
    const config = testConfig();
    return { transport: new StdioTransport({ config, serializer, logger: silentLogger }), config };
  },
  serializer,
  held: async (channel) => (await (channel as StdioWorker).ping(2_000)).handles ?? -1,
  kill: (channel) => {
    if (channel.pid !== undefined) process.kill(channel.pid, 'SIGKILL');
  },
  gc: runInNewContext('gc') as () => void,
});
