// The container module that createBridge loads for `serializer: 'msgpack'`.

import { SERIALIZER, type Serializer } from '@snakebridge/core';
import { Container } from 'inversify';
import { describe, expect, it } from 'vitest';
import { containerModule, MsgpackSerializer } from '../src/index.js';

describe('msgpack containerModule', () => {
  it('binds SERIALIZER to a MsgpackSerializer', async () => {
    const container = new Container();
    await container.load(containerModule);
    const serializer = container.get<Serializer>(SERIALIZER);
    expect(serializer).toBeInstanceOf(MsgpackSerializer);
    expect(serializer.decode(serializer.encode({ a: [1n] }))).toEqual({ a: [1n] });
  });
});
