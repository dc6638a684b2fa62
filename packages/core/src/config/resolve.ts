// defineConfig() and resolveConfig(): validate what the user wrote, pick the
// environment, apply env-var overrides and fill in the defaults.

import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors/errors.js';
import type { AdapterSection, AdapterSectionsInput } from './adapter-options.js';
import { defaultConfig } from './defaults.js';
import { toConfigIssues } from './issues.js';
import { mergeSettings, setPath } from './merge.js';
import { configSchema, settingsSchema } from './schema.js';
import type { ResolvedConfig } from './types.js';

/**
 * Settings as a user writes them: every field optional. The adapter sections
 * (`grpc`, `mock`, `protobuf`, `offload`) are typed by their packages.
 */
export type SnakeBridgeSettings = Omit<z.input<typeof settingsSchema>, AdapterSection> & AdapterSectionsInput;

/**
 * A config as a user writes it: settings, plus `environments` whose entries
 * override them when `SNAKEBRIDGE_ENV` (or else `NODE_ENV`) names that
 * environment.
 */
export type SnakeBridgeConfig = SnakeBridgeSettings & {
  readonly environments?: Readonly<Record<string, SnakeBridgeSettings>> | undefined;
};

/**
 * Declares a config, checking it at once so a typo fails where it was made.
 * Returns it unchanged; pass it to `createBridge`.
 *
 * @throws ConfigError naming each bad field and, where the set is fixed, the allowed values.
 * @example
 * export default defineConfig({
 *   serializer: 'msgpack',
 *   pool: { max: 4, preload: ['numpy'] },
 *   environments: { test: { invoker: 'mock' } },
 * });
 */
export function defineConfig(config: SnakeBridgeConfig): SnakeBridgeConfig {
  parseOrThrow(configSchema, config, '');
  return config;
}

export interface ResolveOptions {
  /** Environment variables to read. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** The environment to resolve for. @default SNAKEBRIDGE_ENV, else NODE_ENV, else 'development' */
  readonly environment?: string | undefined;
}

/**
 * The settings in force: the defaults, overridden by the config, by its
 * environment's overrides, then by `SNAKEBRIDGE_*` environment variables.
 *
 * @throws ConfigError for an invalid config, env var or combination.
 */
export function resolveConfig(config: SnakeBridgeConfig = {}, options: ResolveOptions = {}): ResolvedConfig {
  const { environments, ...base } = parseOrThrow(configSchema, config, '');
  const env = options.env ?? process.env;
  const environment = options.environment ?? nonEmpty(env.SNAKEBRIDGE_ENV) ?? nonEmpty(env.NODE_ENV) ?? 'development';
  const overrides = environments?.[environment];
  const fromEnv = settingsFromEnv(env);
  const resolved = mergeSettings(
    mergeSettings(mergeSettings(defaultConfig(environment), base), overrides),
    fromEnv,
  ) as ResolvedConfig;
  const maxWasSet = [base, overrides, fromEnv].some((s) => s?.pool?.max !== undefined);
  const evalWasSet = [base, overrides, fromEnv].some((s) => s?.security?.allowEval !== undefined);
  return checkCombinations(restrictedDefaults(resolved, evalWasSet), maxWasSet);
}

// --- environment variables --------------------------------------------------

interface EnvSetting {
  readonly name: string;
  /** Where the value goes, e.g. ['pool', 'min']. Several paths: all get it. */
  readonly paths: readonly (readonly string[])[];
  readonly parse: (raw: string) => unknown;
}

const asString = (raw: string): string => raw;
const asInteger = (raw: string): unknown => (/^\d+$/.test(raw.trim()) ? Number(raw) : raw);
const asList = (raw: string): string[] =>
  raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/** The environment variables SnakeBridge reads; docs/operations.md lists them. */
export const ENV_SETTINGS: readonly EnvSetting[] = [
  { name: 'SNAKEBRIDGE_PYTHON', paths: [['python', 'executable']], parse: asString },
  { name: 'SNAKEBRIDGE_VENV', paths: [['python', 'venv']], parse: asString },
  { name: 'SNAKEBRIDGE_INVOKER', paths: [['invoker']], parse: asString },
  { name: 'SNAKEBRIDGE_SERIALIZER', paths: [['serializer']], parse: asString },
  {
    name: 'SNAKEBRIDGE_POOL_SIZE',
    paths: [
      ['pool', 'min'],
      ['pool', 'max'],
    ],
    parse: asInteger,
  },
  { name: 'SNAKEBRIDGE_TIMEOUT_MS', paths: [['timeouts', 'callMs']], parse: asInteger },
  { name: 'SNAKEBRIDGE_LOG_LEVEL', paths: [['logLevel']], parse: asString },
  { name: 'SNAKEBRIDGE_GRPC_ENDPOINTS', paths: [['grpc', 'endpoints']], parse: asList },
  { name: 'SNAKEBRIDGE_GRPC_TOKEN', paths: [['grpc', 'token']], parse: asString },
];

function settingsFromEnv(env: Readonly<Record<string, string | undefined>>): SnakeBridgeSettings {
  const settings: Record<string, unknown> = {};
  const issues: ConfigIssue[] = [];
  for (const setting of ENV_SETTINGS) {
    const raw = nonEmpty(env[setting.name]);
    if (raw === undefined) continue;
    const value = setting.parse(raw);
    const single: Record<string, unknown> = {};
    for (const path of setting.paths) setPath(single, path, value);
    const result = settingsSchema.safeParse(single);
    if (result.success) {
      for (const path of setting.paths) setPath(settings, path, value);
    } else {
      // Name the variable, not the setting it feeds: that is what the user must fix.
      for (const issue of toConfigIssues(result.error, settingsSchema)) {
        issues.push({ ...issue, field: `${setting.name} (sets ${issue.field})` });
      }
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return settings as SnakeBridgeSettings;
}

// --- helpers ----------------------------------------------------------------

function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ConfigError(toConfigIssues(result.error, schema, prefix));
  return result.data;
}

function checkCombinations(config: ResolvedConfig, maxWasSet: boolean): ResolvedConfig {
  const issues: ConfigIssue[] = [];
  let pool = config.pool;
  if (pool.min > pool.max) {
    if (maxWasSet) {
      issues.push({ field: 'pool.min', message: `must not exceed pool.max (${pool.max})` });
    } else {
      pool = { ...pool, max: pool.min };
    }
  }
  if (config.python.reload && config.environment === 'production') {
    issues.push({
      field: 'python.reload',
      message: "live reload is for development; set it in environments.development, not in 'production'",
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return pool === config.pool ? config : { ...config, pool };
}

/** Restricted mode (an allowlist) turns eval off unless the config says otherwise: eval would walk around it. */
function restrictedDefaults(config: ResolvedConfig, evalWasSet: boolean): ResolvedConfig {
  if (evalWasSet || config.security.allowedModules === undefined) return config;
  return { ...config, security: { ...config.security, allowEval: false } };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
