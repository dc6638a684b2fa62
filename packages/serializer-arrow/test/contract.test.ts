// The Arrow serializer against the contract every serializer must meet. The
// contract's samples hold no Arrow values: arrow-serializer.test.ts has those.

import { describeSerializerContract } from '@snakebridge/core/testing';
import * as vitest from 'vitest';
import { createArrowSerializer } from '../src/index.js';

describeSerializerContract(vitest, 'arrow', { create: () => createArrowSerializer() });
