// The container module that createBridge loads for `serializer: 'arrow'`.

import { SERIALIZER, type Serializer } from '@snakebridge/core';
import { tableFromArrays } from 'apache-arrow';
import { Container } from 'inversify';
import { describe, expect, it } from 'vitest';
import { ArrowSerializer, containerModule } from '../src/index.js';
import { arrowContents } from './notation.js';

describe('arrow containerModule', () => {
  it('binds SERIALIZER to an ArrowSerializer', async () => {
    const container = new Container();
    await container.load(containerModule);
    const serializer = container.get<Serializer>(SERIALIZER);
    expect(serializer).toBeInstanceOf(ArrowSerializer);
    const value = { table: tableFromArrays({ x: new Float64Array([1, 2]) }), n: [1n] };
    expect(arrowContents(serializer.decode(serializer.encode(value)))).toEqual(arrowContents(value));
  });
});
