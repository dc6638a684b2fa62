// What a user's own unit test looks like: production code creates its bridge
// from the config; the test environment switches it to the mock.

import { type Bridge, createBridge, defineConfig } from '@snakebridge/core';
import { afterEach, describe, expect, it } from 'vitest';
import { mockOf } from '../src/index.js';

// --- the user's application code -------------------------------------------
const config = defineConfig({
  serializer: 'json',
  environments: { test: { invoker: 'mock' } },
});

async function normOf(bridge: Bridge, vector: number[]): Promise<number> {
  const np = bridge.module('numpy');
  return np.linalg.norm(vector);
}

// --- the user's test ---------------------------------------------------------
describe('normOf (a user test against the mock, switched by config alone)', () => {
  let bridge: Bridge | undefined;
  afterEach(() => bridge?.close());

  it('asks numpy for the norm', async () => {
    bridge = await createBridge(config, { env: { SNAKEBRIDGE_ENV: 'test' } });
    const mock = mockOf(bridge);
    mock.on('numpy.linalg.norm').withArgs([3, 4]).returns(5);
    expect(await normOf(bridge, [3, 4])).toBe(5);
    expect(mock.callsTo('numpy.linalg.norm')).toHaveLength(1);
  });

  it('uses the stdio invoker outside the test environment', async () => {
    const { resolveConfig } = await import('@snakebridge/core');
    expect(resolveConfig(config, { env: { NODE_ENV: 'production' } }).invoker).toBe('stdio');
    expect(resolveConfig(config, { env: { SNAKEBRIDGE_ENV: 'test' } }).invoker).toBe('mock');
  });
});
