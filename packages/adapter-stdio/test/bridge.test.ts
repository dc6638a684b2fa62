// The user-facing Bridge over real Python workers, wired by config alone.

import { type Bridge, createBridge, handleOf, kwargs, PythonError, silentLogger } from '@snakebridge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from './helpers.js';

describe('Bridge over stdio', () => {
  let bridge: Bridge;
  beforeAll(async () => {
    bridge = await createBridge(
      { invoker: 'stdio', pool: { min: 1, max: 1 }, python: { path: [FIXTURES] } },
      { env: {}, logger: silentLogger },
    );
  });
  afterAll(() => bridge.close());

  it('is wired to the stdio adapter by the config', () => {
    expect(bridge.invoker.kind).toBe('stdio');
  });

  it('calls through module proxies, with keyword arguments', async () => {
    const math = bridge.module('math');
    expect(await math.hypot(3, 4)).toBe(5);
    expect(await bridge.module('textwrap').shorten('SnakeBridge calls Python', kwargs({ width: 20 }))).toBe(
      'SnakeBridge [...]',
    );
    expect(await math.pi).toBeCloseTo(Math.PI);
  });

  it('calls numpy as if it were local', async () => {
    const np = bridge.module('numpy');
    expect(await np.linalg.norm([3, 4])).toBe(5);
  });

  it('works with Python objects through handle proxies', async () => {
    await using fraction = await bridge.module('fractions').Fraction(3, 4);
    expect(handleOf(fraction)?.type).toBe('fractions.Fraction');
    expect(await fraction.numerator).toBe(3);
    await using simpler = await fraction.limit_denominator(3);
    expect(await bridge.call('str', [simpler])).toBe('2/3');
    expect(await bridge.call('float', [fraction])).toBe(0.75);
  });

  it('streams a generator and iterates a Python iterable', async () => {
    const items: number[] = [];
    for await (const item of bridge.stream<number>('snakebridge.testing.contract.count', [4])) items.push(item);
    expect(items).toEqual([0, 1, 2, 3]);
    const letters: string[] = [];
    for await (const letter of await bridge.module('builtins').iter('abc')) letters.push(letter as string);
    expect(letters).toEqual(['a', 'b', 'c']);
  });

  it('shows the Python traceback, then the JavaScript line that made the call', async () => {
    async function loadSettings() {
      return await bridge.module('json').loads('{not json');
    }
    const error = await loadSettings().catch((e: unknown) => e);
    expect(PythonError.is(error, 'PYTHON_VALUE_ERROR')).toBe(true);
    const stack = (error as Error).stack ?? '';
    expect(stack).toMatch(/JSONDecodeError: Expecting property name/);
    expect(stack).toMatch(/json[\\/]decoder\.py/);
    expect(stack).toMatch(/at (async )?loadSettings .*bridge\.test\.ts/);
  });

  it('keeps state within a session', async () => {
    await using session = await bridge.session();
    await session.exec('import itertools\ncounter = itertools.count()');
    expect(await session.eval('next(counter)')).toBe(0);
    expect(await session.eval('next(counter)')).toBe(1);
  });
});
