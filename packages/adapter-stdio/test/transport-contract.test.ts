// The stdio transport below the invoker: the Transport contract with real Python workers.

import { JsonSerializer, silentLogger } from '@snakebridge/core';
import { describeTransportContract } from '@snakebridge/core/testing';
import * as vitest from 'vitest';
import { StdioTransport } from '../src/index.js';
import { testConfig } from './helpers.js';

const serializer = new JsonSerializer();
describeTransportContract(vitest, 'stdio', {
  create: () => new StdioTransport({ config: testConfig(), serializer, logger: silentLogger }),
  serializer,
  kill: (channel) => {
    if (channel.pid !== undefined) process.kill(channel.pid, 'SIGKILL');
  },
});
