import { describeInvokerContract } from '@snakebridge/core/testing';
import * as vitest from 'vitest';
import { testInvoker } from './helpers.js';

describeInvokerContract(vitest, 'stdio, real Python workers', { create: () => testInvoker() });
