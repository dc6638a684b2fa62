import { describeInvokerContract } from '@snakebridge/core/testing';
import * as vitest from 'vitest';
import { LAUNCH_MODES, testInvoker } from './helpers.js';

for (const { name, forkServer } of LAUNCH_MODES) {
  describeInvokerContract(vitest, `stdio, real Python workers ${name}`, {
    create: () => testInvoker({ pool: { forkServer } }),
  });
}
