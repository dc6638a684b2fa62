// The settings of adapter packages. Core knows where they go in a config (a
// section per package: `grpc`, `mock`, `protobuf`, `offload`) but not what
// they are: each package declares its section's schema and defaults, and
// validates it with the same ConfigErrors as core's own settings, when core
// loads the package (and when the package is used without a container).

import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors/errors.js';
import { toConfigIssues } from './issues.js';
import { mergeSettings } from './merge.js';
import type { ResolvedConfig } from './types.js';

/** The config sections that belong to adapter packages, not to core. */
export const ADAPTER_SECTIONS = ['grpc', 'mock', 'protobuf', 'offload'] as const;
export type AdapterSection = (typeof ADAPTER_SECTIONS)[number];

/**
 * The settings of each adapter section, as a user writes them. Empty here:
 * each adapter package adds its own, so that `defineConfig` types them once
 * the package is installed and imported:
 *
 * ```ts
 * declare module '@snakebridge/core' {
 *   interface AdapterSettings { grpc: GrpcSettingsInput }
 * }
 * ```
 * A section no package has described is typed as a plain object.
 */
// biome-ignore lint/suspicious/noEmptyInterface: adapter packages add their sections by declaration merging.
export interface AdapterSettings {}

/** The adapter sections of a config as a user writes them. */
export type AdapterSectionsInput = {
  readonly [S in AdapterSection]?: S extends keyof AdapterSettings
    ? AdapterSettings[S]
    : Readonly<Record<string, unknown>>;
};

/** An adapter section in a ResolvedConfig: merged over the environments and env vars, not yet validated. */
export type AdapterSectionSettings = Readonly<Record<string, unknown>>;

/** How an adapter package reads its section of the config. */
export interface AdapterOptions<T> {
  readonly section: AdapterSection;
  /**
   * The section, validated and with its defaults applied (computed once per config).
   *
   * @throws ConfigError naming each bad field (`grpc.endpoints`) and, where the set is fixed, the allowed values.
   */
  resolve(config: ResolvedConfig): T;
  /**
   * One section as a user writes it, validated and with the defaults applied:
   * for factories used without a config (`createMockInvoker({ mock: {…} })`).
   * Combinations with other sections are not checked.
   */
  parse(section: unknown): T;
}

/** What an adapter package declares about its section. */
export interface AdapterOptionsSpec<S extends z.ZodType, T> {
  readonly section: AdapterSection;
  /** The settings a user may write (every field optional). */
  readonly schema: S;
  /** Every default; the user's settings are merged over them. */
  readonly defaults: T;
  /** Checks settings that are valid alone but not together; returns the issues, with full field names. */
  readonly check?: ((options: T, config: ResolvedConfig) => readonly ConfigIssue[]) | undefined;
}

/** Declares an adapter's section of the config: its schema, its defaults, and how they combine. */
export function defineAdapterOptions<S extends z.ZodType, T>(spec: AdapterOptionsSpec<S, T>): AdapterOptions<T> {
  const resolved = new WeakMap<ResolvedConfig, T>();
  const parse = (section: unknown): T => {
    const parsed = spec.schema.safeParse(section ?? {});
    if (!parsed.success) throw new ConfigError(toConfigIssues(parsed.error, spec.schema, spec.section));
    return mergeSettings(spec.defaults, parsed.data) as T;
  };
  return {
    section: spec.section,
    parse,
    resolve(config: ResolvedConfig): T {
      const known = resolved.get(config);
      if (known !== undefined) return known;
      const options = parse(config[spec.section]);
      const issues = spec.check?.(options, config) ?? [];
      if (issues.length > 0) throw new ConfigError([...issues]);
      resolved.set(config, options);
      return options;
    },
  };
}

/** True if a package's `options` export is an AdapterOptions (duck-typed: the package may bundle its own core). */
export function isAdapterOptions(value: unknown): value is AdapterOptions<unknown> {
  const candidate = value as Partial<AdapterOptions<unknown>> | null;
  return typeof candidate?.resolve === 'function' && typeof candidate.section === 'string';
}
