import { describe, expect, it } from 'vitest';
import {
  AdapterNotInstalledError,
  ConfigError,
  createBridge,
  createContainer,
  INVOKER,
  type Invoker,
  JsonSerializer,
  SERIALIZER,
  type Serializer,
} from '../src/index.js';

const missing = (name: string): Promise<never> =>
  Promise.reject(
    Object.assign(new Error(`Cannot find package '${name}' imported from /app/x.js`), { code: 'ERR_MODULE_NOT_FOUND' }),
  );

describe('createContainer', () => {
  it('binds the JSON serializer from core and the invoker from the package the config names', async () => {
    const container = await createContainer({ invoker: 'mock', serializer: 'json' }, { env: {} });
    expect(container.get(SERIALIZER)).toBeInstanceOf(JsonSerializer);
    expect(container.get<Invoker>(INVOKER).kind).toBe('mock');
  });

  it('binds the msgpack serializer by default, from its package', async () => {
    const container = await createContainer({ invoker: 'mock' }, { env: {} });
    expect(container.get<Serializer>(SERIALIZER).id).toBe('msgpack');
  });

  it('reports a missing adapter package with the command that installs it', async () => {
    const error = await createContainer(
      { invoker: 'grpc', serializer: 'json' },
      { env: {}, importPackage: missing },
    ).catch((e: unknown) => e);
    expect(AdapterNotInstalledError.is(error)).toBe(true);
    expect((error as AdapterNotInstalledError).packageName).toBe('@snakebridge/adapter-grpc');
    expect((error as Error).message).toContain('pnpm add @snakebridge/adapter-grpc');
  });

  it('reports a missing serializer package the same way', async () => {
    const error = await createContainer(
      { serializer: 'arrow', invoker: 'mock' },
      { env: {}, importPackage: missing },
    ).catch((e: unknown) => e);
    expect(AdapterNotInstalledError.is(error)).toBe(true);
    expect((error as AdapterNotInstalledError).packageName).toBe('@snakebridge/serializer-arrow');
  });

  it('does not mistake a failure inside an installed adapter for a missing package', async () => {
    const broken = () =>
      Promise.reject(
        Object.assign(new Error("Cannot find package 'left-pad' imported from adapter"), {
          code: 'ERR_MODULE_NOT_FOUND',
        }),
      );
    const error = await createContainer({ invoker: 'stdio' }, { env: {}, importPackage: broken }).catch(
      (e: unknown) => e,
    );
    expect(AdapterNotInstalledError.is(error)).toBe(false);
    expect((error as Error).message).toContain('left-pad');
  });

  it('refuses a package that is not a SnakeBridge adapter', async () => {
    const error = await createContainer({ invoker: 'stdio' }, { env: {}, importPackage: async () => ({}) }).catch(
      (e: unknown) => e,
    );
    expect(ConfigError.is(error)).toBe(true);
    expect((error as Error).message).toContain("'containerModule'");
  });
});

describe('createBridge', () => {
  it('fails with a ConfigError before loading anything when the config is bad', async () => {
    let imported = false;
    const error = await createBridge(
      { pool: { max: 0 } },
      {
        env: {},
        importPackage: async () => {
          imported = true;
          return {};
        },
      },
    ).catch((e: unknown) => e);
    expect(ConfigError.is(error)).toBe(true);
    expect((error as ConfigError).field).toBe('pool.max');
    expect(imported).toBe(false);
  });

  it('wires the mock invoker when the environment says so', async () => {
    const bridge = await createBridge(
      { environments: { test: { invoker: 'mock' } } },
      { env: { SNAKEBRIDGE_ENV: 'test' } },
    );
    expect(bridge.invoker.kind).toBe('mock');
    await bridge.close();
  });
});
