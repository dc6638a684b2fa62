// The `grpc` section belongs to this package: its defaults, its checks, and
// the ConfigErrors core raises from them when it loads the package.

import { ConfigError, createContainer, resolveConfig } from '@snakebridge/core';
import { describe, expect, it } from 'vitest';
import { GrpcInvoker, grpcOptions } from '../src/index.js';

async function configErrorOf(run: () => unknown): Promise<ConfigError> {
  try {
    await run();
  } catch (error) {
    if (ConfigError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('grpc options', () => {
  it('fills in the defaults, and env vars reach the section', () => {
    const config = resolveConfig({ invoker: 'grpc' }, { env: { SNAKEBRIDGE_GRPC_ENDPOINTS: 'a:1, b:2' } });
    expect(grpcOptions.resolve(config)).toMatchObject({
      mode: 'managed',
      endpoints: ['a:1', 'b:2'],
      maxMessageBytes: 64 * 1024 * 1024,
      healthCheckIntervalMs: 2_000,
    });
  });

  it('refuses remote mode without endpoints, and half a client certificate, when core loads the adapter', async () => {
    const remote = await configErrorOf(() =>
      createContainer({ invoker: 'grpc', grpc: { mode: 'remote' } }, { env: {} }),
    );
    expect(remote.field).toBe('grpc.endpoints');
    const tls = await configErrorOf(() =>
      createContainer({ invoker: 'grpc', grpc: { tls: { cert: 'c.pem' } } }, { env: {} }),
    );
    expect(tls.field).toBe('grpc.tls');
  });

  it('names a misspelt setting with the ones it knows, also when the invoker is built without a container', async () => {
    const config = resolveConfig({ invoker: 'grpc', grpc: { endpoint: ['a:1'] } as never }, { env: {} });
    const error = await configErrorOf(() => new GrpcInvoker({ config }));
    expect(error.issues[0]).toMatchObject({ field: 'grpc.endpoint', message: 'unknown setting' });
    expect(error.issues[0]?.allowed).toContain('endpoints');
  });
});
