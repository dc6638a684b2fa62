import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { defineConfig, resolveConfig } from '../src/index.js';
import { configError } from './config-error.js';

describe('resolveConfig', () => {
  it('fills every default', () => {
    const config = resolveConfig({}, { env: {} });
    expect(config.environment).toBe('development');
    expect(config.invoker).toBe('stdio');
    expect(config.serializer).toBe('msgpack');
    expect(config.pool.max).toBe(availableParallelism());
    expect(config.pool.restart.maxRestarts).toBe(3);
    expect(config.timeouts.cancelGraceMs).toBe(2_000);
  });

  it('applies the overrides of the environment named by SNAKEBRIDGE_ENV, else NODE_ENV', () => {
    const config = defineConfig({
      pool: { max: 2 },
      environments: { test: { invoker: 'mock', pool: { max: 1 } }, production: { pool: { max: 8 } } },
    });
    expect(resolveConfig(config, { env: { SNAKEBRIDGE_ENV: 'test', NODE_ENV: 'production' } })).toMatchObject({
      environment: 'test',
      invoker: 'mock',
      pool: { max: 1 },
    });
    expect(resolveConfig(config, { env: { NODE_ENV: 'production' } }).pool.max).toBe(8);
    expect(resolveConfig(config, { env: {} }).pool.max).toBe(2);
  });

  it('lets env vars override the config', () => {
    const config = resolveConfig(
      { invoker: 'mock', python: { executable: 'python3.10' } },
      {
        env: {
          SNAKEBRIDGE_INVOKER: 'stdio',
          SNAKEBRIDGE_PYTHON: '/opt/py/bin/python',
          SNAKEBRIDGE_POOL_SIZE: '3',
          SNAKEBRIDGE_GRPC_ENDPOINTS: 'a:1, b:2',
        },
      },
    );
    expect(config.invoker).toBe('stdio');
    expect(config.python.executable).toBe('/opt/py/bin/python');
    expect([config.pool.min, config.pool.max]).toEqual([3, 3]);
    expect(config.grpc.endpoints).toEqual(['a:1', 'b:2']);
  });

  it('raises pool.max to pool.min when only min was given', () => {
    expect(resolveConfig({ pool: { min: 64 } }, { env: {} }).pool.max).toBe(64);
  });
});

describe('config errors', () => {
  it('names the field and the allowed values of a bad enum', () => {
    const error = configError(() => defineConfig({ invoker: 'stdoi' as 'stdio' }));
    expect(error.issues[0]).toEqual({
      field: 'invoker',
      message: 'not an allowed value',
      allowed: ['stdio', 'grpc', 'mock'],
    });
  });

  it('names an unknown setting and lists the known ones', () => {
    const error = configError(() => defineConfig({ pool: { mxa: 2 } as never }));
    expect(error.issues[0]?.field).toBe('pool.mxa');
    expect(error.issues[0]?.allowed).toContain('max');
    expect(error.message).toContain('pool.mxa: unknown setting');
  });

  it('names a bad nested value with its path', () => {
    const error = configError(() =>
      defineConfig({ pool: { restart: { windowMs: -5 } }, python: { path: [7 as never] } }),
    );
    expect(error.issues.map((issue) => issue.field)).toEqual(['python.path[0]', 'pool.restart.windowMs']);
  });

  it('checks the overrides of each environment too', () => {
    const error = configError(() => defineConfig({ environments: { test: { serializer: 'yaml' as 'json' } } }));
    expect(error.issues[0]?.field).toBe('environments.test.serializer');
  });

  it('names the env var, not the setting, when an env var is bad', () => {
    const error = configError(() =>
      resolveConfig({}, { env: { SNAKEBRIDGE_POOL_SIZE: 'lots', SNAKEBRIDGE_INVOKER: 'ftp' } }),
    );
    expect(error.issues.map((issue) => issue.field)).toEqual([
      'SNAKEBRIDGE_INVOKER (sets invoker)',
      'SNAKEBRIDGE_POOL_SIZE (sets pool.min)',
      'SNAKEBRIDGE_POOL_SIZE (sets pool.max)',
    ]);
    expect(error.issues[0]?.allowed).toEqual(['stdio', 'grpc', 'mock']);
  });

  it('forks workers from a fork server unless pool.forkServer is false, which must be a boolean', () => {
    expect(resolveConfig({}, { env: {} }).pool.forkServer).toBe(true);
    expect(resolveConfig({ pool: { forkServer: false } }, { env: {} }).pool.forkServer).toBe(false);
    const error = configError(() => defineConfig({ pool: { forkServer: 'no' as unknown as boolean } }));
    expect(error.field).toBe('pool.forkServer');
  });

  it('rejects contradictory settings', () => {
    expect(configError(() => resolveConfig({ pool: { min: 4, max: 2 } }, { env: {} })).field).toBe('pool.min');
  });

  it('checks the bindings section: module names, the guard mode and the coverage share', () => {
    const resolved = resolveConfig({ bindings: { modules: ['numpy', 'numpy.linalg'], guard: 'warn' } }, { env: {} });
    expect(resolved.bindings).toMatchObject({ modules: ['numpy', 'numpy.linalg'], guard: 'warn', out: 'python-types' });
    expect(configError(() => defineConfig({ bindings: { modules: ['numpy linalg'] } })).field).toBe(
      'bindings.modules[0]',
    );
    expect(configError(() => defineConfig({ bindings: { guard: 'loud' as 'warn' } })).issues[0]?.allowed).toEqual([
      'off',
      'warn',
      'error',
    ]);
    expect(configError(() => defineConfig({ bindings: { minCoverage: 1.5 } })).field).toBe('bindings.minCoverage');
  });

  it('checks the python.output section: levels, modes and bounds, naming the allowed values', () => {
    const resolved = resolveConfig({ python: { output: { stderr: 'error', escapes: 'escape' } } }, { env: {} });
    expect(resolved.python.output).toEqual({
      stdout: 'info',
      stderr: 'error',
      progress: 'info',
      logging: 'info',
      progressIntervalMs: 1_000,
      partialLineMs: 100,
      maxLineBytes: 65_536,
      escapes: 'escape',
      invalidUtf8: 'escape',
    });
    const modes = configError(() => defineConfig({ python: { output: { escapes: 'remove' as 'strip' } } }));
    expect(modes.issues[0]).toEqual({
      field: 'python.output.escapes',
      message: 'not an allowed value',
      allowed: ['strip', 'escape', 'keep'],
    });
    expect(
      configError(() => defineConfig({ python: { output: { logging: 'warning' as 'warn' } } })).issues[0]?.allowed,
    ).toEqual(['debug', 'info', 'warn', 'error', 'off']);
    expect(configError(() => defineConfig({ python: { output: { maxLineBytes: 10 } } })).field).toBe(
      'python.output.maxLineBytes',
    );
    expect(configError(() => defineConfig({ python: { output: { partialLineMs: -1 } } })).field).toBe(
      'python.output.partialLineMs',
    );
    expect(configError(() => defineConfig({ python: { output: { colour: true } as never } })).issues[0]).toMatchObject({
      field: 'python.output.colour',
      message: 'unknown setting',
    });
  });
});
