// The Serializer contract, for the dynamic snakebridge.Value: with no schema,
// and with one loaded (calls it does not name must behave the same).

import { fileURLToPath } from 'node:url';
import { describeSerializerContract } from '@snakebridge/core/testing';
import * as vitest from 'vitest';
import { ProtobufSerializer } from '../src/index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));

describeSerializerContract(vitest, 'protobuf', { create: () => new ProtobufSerializer() });

describeSerializerContract(vitest, 'protobuf with a schema loaded', {
  create: () =>
    new ProtobufSerializer({
      protoFiles: ['users.proto'],
      baseDir: FIXTURES,
      callables: { 'users.create_user': { request: 'demo.CreateUserRequest', response: 'demo.User' } },
    }),
});
