// The lockfile records what the declarations were generated from: the
// interpreter, each module's distribution version and a hash of its
// signatures (docs excluded). `snakebridge types --check` compares a fresh
// introspection with it; workers compare their packages with it at start
// (bindings.guard).

import { createHash } from 'node:crypto';
import type { ModuleCoverage } from './coverage.js';
import type { IntrospectionDocument, ModuleDescription } from './introspection.js';

export const LOCKFILE_FORMAT = 1;

export interface Lockfile {
  readonly format: number;
  /** What wrote it: `@snakebridge/cli 0.1.0`. */
  readonly generator: string;
  readonly python: {
    /** `major.minor`: the standard library's signatures change with it, not with patch releases. */
    readonly version: string;
    readonly implementation: string;
  };
  readonly serializer: string;
  readonly ints: 'number' | 'bigint';
  /** By module name, in name order. */
  readonly modules: Readonly<Record<string, LockedModule>>;
}

export interface LockedModule {
  /** The distribution providing the module; null for the standard library. */
  readonly distribution: { readonly name: string; readonly version: string } | null;
  /** `sha256:` of the module's signatures: names, parameters, types; not docs. */
  readonly signatures: string;
  /** The declaration file, relative to the lockfile. */
  readonly file: string;
  readonly coverage: ModuleCoverage;
}

export interface LockInputs {
  readonly document: IntrospectionDocument;
  readonly modules: readonly ModuleDescription[];
  readonly files: ReadonlyMap<string, string>;
  readonly coverage: ReadonlyMap<string, ModuleCoverage>;
  readonly generator: string;
  readonly serializer: string;
  readonly ints: 'number' | 'bigint';
}

export function buildLockfile(inputs: LockInputs): Lockfile {
  const modules: Record<string, LockedModule> = {};
  for (const module of [...inputs.modules].sort((a, b) => a.module.localeCompare(b.module))) {
    modules[module.module] = {
      distribution: module.distribution,
      signatures: signatureHash(module),
      file: inputs.files.get(module.module) as string,
      coverage: inputs.coverage.get(module.module) as ModuleCoverage,
    };
  }
  return {
    format: LOCKFILE_FORMAT,
    generator: inputs.generator,
    python: {
      version: minorVersion(inputs.document.python.version),
      implementation: inputs.document.python.implementation,
    },
    serializer: inputs.serializer,
    ints: inputs.ints,
    modules,
  };
}

export function formatLockfile(lockfile: Lockfile): string {
  return `${JSON.stringify(lockfile, null, 2)}\n`;
}

/** What differs between the lockfile and a fresh one, as lines for the user; empty when nothing does. */
export function lockfileDrift(locked: Lockfile, fresh: Lockfile): string[] {
  const drift: string[] = [];
  if (locked.python.version !== fresh.python.version || locked.python.implementation !== fresh.python.implementation) {
    drift.push(
      `Python: locked ${locked.python.implementation} ${locked.python.version}, found ${fresh.python.implementation} ${fresh.python.version}`,
    );
  }
  if (locked.serializer !== fresh.serializer)
    drift.push(`serializer: locked ${locked.serializer}, config says ${fresh.serializer}`);
  if (locked.ints !== fresh.ints) drift.push(`bindings.ints: locked ${locked.ints}, config says ${fresh.ints}`);
  const names = [...new Set([...Object.keys(locked.modules), ...Object.keys(fresh.modules)])].sort();
  for (const name of names) {
    const before = locked.modules[name];
    const after = fresh.modules[name];
    if (before === undefined) drift.push(`${name}: not in the lockfile (new in the config)`);
    else if (after === undefined) drift.push(`${name}: in the lockfile, no longer in the config`);
    else drift.push(...moduleDrift(name, before, after));
  }
  return drift;
}

function moduleDrift(name: string, before: LockedModule, after: LockedModule): string[] {
  const drift: string[] = [];
  const version = (m: LockedModule) =>
    m.distribution === null ? 'the standard library' : `${m.distribution.name} ${m.distribution.version}`;
  if (version(before) !== version(after)) drift.push(`${name}: locked ${version(before)}, installed ${version(after)}`);
  if (before.signatures !== after.signatures) drift.push(`${name}: its signatures changed`);
  return drift;
}

/**
 * A hash of what the declarations are made of: the module's description
 * without docs, without measurements (the budget's time) and without
 * constants' values, as canonical JSON (keys sorted).
 */
export function signatureHash(module: ModuleDescription): string {
  const valueless = { ...module, constants: module.constants.map(({ value: _value, ...constant }) => constant) };
  const canonical = JSON.stringify(withoutNoise(valueless));
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

const NOISE = new Set(['doc', 'returns_doc', 'budget', 'warnings', 'repr']);

/** A copy without the noisy keys, with every object's keys in order. */
function withoutNoise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNoise);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value)
    .filter(([name]) => !NOISE.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, item]) => [name, withoutNoise(item)]);
  return Object.fromEntries(entries);
}

function minorVersion(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}
