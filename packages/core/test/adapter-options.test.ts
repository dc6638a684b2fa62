// Adapter sections of the config: declared by their packages, validated with
// the same ConfigErrors as core's own settings, when core loads the package.

import { ContainerModule } from 'inversify';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, createContainer, defineAdapterOptions, INVOKER, resolveConfig } from '../src/index.js';
import { configError } from './config-error.js';

interface ToySettings {
  readonly strict: boolean;
  readonly fixtures: string | undefined;
}

const toyOptions = defineAdapterOptions<z.ZodType, ToySettings>({
  section: 'mock',
  schema: z.strictObject({ strict: z.boolean().optional(), fixtures: z.string().optional() }),
  defaults: { strict: true, fixtures: undefined },
  check: (toy, config) =>
    toy.fixtures !== undefined && config.environment === 'production'
      ? [{ field: 'mock.fixtures', message: 'fixtures are for tests' }]
      : [],
});

describe('adapter options', () => {
  it('applies the defaults under what the config, its environment and env vars say', () => {
    const config = resolveConfig(
      { mock: { fixtures: 'a.json' }, environments: { test: { mock: { strict: false } } } },
      { env: {}, environment: 'test' },
    );
    expect(toyOptions.resolve(config)).toEqual({ strict: false, fixtures: 'a.json' });
    expect(toyOptions.resolve(resolveConfig({}, { env: {} }))).toEqual({ strict: true, fixtures: undefined });
  });

  it('names a bad field under its section, with the keys it knows for a typo', () => {
    const config = resolveConfig({ mock: { strikt: true } as never }, { env: {} });
    expect(configError(() => toyOptions.resolve(config)).issues[0]).toEqual({
      field: 'mock.strikt',
      message: 'unknown setting',
      allowed: ['strict', 'fixtures'],
    });
    expect(configError(() => toyOptions.parse({ strict: 'yes' })).field).toBe('mock.strict');
  });

  it('checks combinations with the rest of the config', () => {
    const config = resolveConfig({ mock: { fixtures: 'a.json' } }, { env: {}, environment: 'production' });
    expect(configError(() => toyOptions.resolve(config)).field).toBe('mock.fixtures');
  });

  it('is validated by createContainer when it loads the package, before anything is built', async () => {
    let built = false;
    const adapter = {
      containerModule: new ContainerModule(({ bind }) => {
        bind(INVOKER).toDynamicValue(() => {
          built = true;
          return {};
        });
      }),
      options: [toyOptions],
    };
    const error = await createContainer(
      { invoker: 'mock', serializer: 'json', mock: { strict: 'no' } as never },
      { env: {}, importPackage: async () => adapter },
    ).catch((failure: unknown) => failure);
    expect(ConfigError.is(error) && error.field).toBe('mock.strict');
    expect(built).toBe(false);
    const container = await createContainer(
      { invoker: 'mock', serializer: 'json', mock: { strict: false } },
      { env: {}, importPackage: async () => adapter },
    );
    container.get(INVOKER);
    expect(built).toBe(true);
  });
});
