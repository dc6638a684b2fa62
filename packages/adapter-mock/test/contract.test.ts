import { describeInvokerContract } from '@snakebridge/core/testing';
import * as vitest from 'vitest';
import { contractMock } from './contract-twin.js';

describeInvokerContract(vitest, 'mock', { create: contractMock, testTimeoutMs: 10_000 });
