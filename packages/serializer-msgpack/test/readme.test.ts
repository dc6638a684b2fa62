// The examples of this package's README, run as written (with a quiet logger
// and no environment variables), so the README cannot drift from the code.

import { type Bridge, createBridge, NDArray, silentLogger } from '@snakebridge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMsgpackSerializer } from '../src/index.js';

describe('README: calling numpy with serializer msgpack', () => {
  let bridge: Bridge;
  beforeAll(async () => {
    bridge = await createBridge({ serializer: 'msgpack' }, { env: {}, logger: silentLogger });
  });
  afterAll(() => bridge.close());

  it('gets typed arrays, NDArrays and bigints back', async () => {
    const np = bridge.module('numpy');
    expect(await np.multiply(new Float64Array([1, 2, 3]), 2)).toEqual(new Float64Array([2, 4, 6]));
    expect(await np.zeros([2, 3])).toEqual(new NDArray(new Float64Array(6), [2, 3]));
    expect(await bridge.module('math').factorial(25)).toBe(15511210043330985984000000n);
  });
});

describe('README: adding an extension type', () => {
  it('carries a Fraction as extension type 90', () => {
    class Fraction {
      constructor(
        readonly numerator: number,
        readonly denominator: number,
      ) {}
    }

    const serializer = createMsgpackSerializer({
      extensions: [
        {
          type: 90,
          accepts: (value) => value instanceof Fraction,
          encode: (value) =>
            new TextEncoder().encode(`${(value as Fraction).numerator}/${(value as Fraction).denominator}`),
          decode: (payload) => {
            const [numerator, denominator] = new TextDecoder().decode(payload).split('/').map(Number);
            return new Fraction(numerator ?? 0, denominator ?? 1);
          },
        },
      ],
    });
    expect(serializer.decode(serializer.encode(new Fraction(3, 4)))).toEqual(new Fraction(3, 4));
  });
});
