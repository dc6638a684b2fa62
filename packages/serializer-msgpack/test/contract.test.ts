// The msgpack serializer against the contract every serializer must meet.

import { describeSerializerContract } from '@snakebridge/core/testing';
import * as vitest from 'vitest';
import { MsgpackSerializer } from '../src/index.js';

describeSerializerContract(vitest, 'msgpack', { create: () => new MsgpackSerializer() });
