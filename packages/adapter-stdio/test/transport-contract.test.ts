// The stdio transport below the invoker: the Transport contract with real Python workers, forked and spawned.

import { JsonSerializer, silentLogger } from '@snakebridge/core';
import { describeTransportContract } from '@snakebridge/core/testing';
import * as vitest from 'vitest';
import { StdioTransport } from '../src/index.js';
import { LAUNCH_MODES, testConfig } from './helpers.js';

const serializer = new JsonSerializer();
for (const { name, forkServer } of LAUNCH_MODES) {
  describeTransportContract(vitest, `stdio, workers ${name}`, {
    create: () =>
      new StdioTransport({ config: testConfig({ pool: { forkServer } }), serializer, logger: silentLogger }),
    serializer,
    kill: (channel) => {
      if (channel.pid !== undefined) process.kill(channel.pid, 'SIGKILL');
    },
  });
}
