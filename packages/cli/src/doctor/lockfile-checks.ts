// The lockfile of typed bindings (written by `snakebridge types`) against the
// interpreter: each locked distribution whose installed version differs means
// declarations that may no longer match the Python they describe.

import { existsSync, readFileSync } from 'node:fs';
import type { ResolvedConfig } from '@snakebridge/core';
import { pipInstallLine } from '../python/commands.js';
import type { PythonDoctorReport } from '../python/doctor-probe.js';
import { LOCKFILE_FORMAT, type Lockfile } from '../typegen/lockfile.js';
import { type Check, fail, ok, warn } from './checks.js';

/** A locked distribution, with the modules generated from it. */
export interface LockedDistribution {
  readonly name: string;
  readonly version: string;
  readonly modules: readonly string[];
}

export type LockfileReading =
  | { readonly kind: 'absent' }
  | { readonly kind: 'unreadable'; readonly path: string; readonly reason: string }
  | {
      readonly kind: 'read';
      readonly path: string;
      readonly python: Lockfile['python'];
      readonly distributions: readonly LockedDistribution[];
    };

/** The lockfile at `path`, if there is one, reduced to what the doctor compares. */
export function readLockfile(path: string): LockfileReading {
  if (!existsSync(path)) return { kind: 'absent' };
  let lockfile: Lockfile;
  try {
    lockfile = JSON.parse(readFileSync(path, 'utf8')) as Lockfile;
  } catch (error) {
    return { kind: 'unreadable', path, reason: (error as Error).message };
  }
  if (lockfile?.format !== LOCKFILE_FORMAT || typeof lockfile.modules !== 'object' || lockfile.modules === null) {
    return { kind: 'unreadable', path, reason: `not a lockfile of format ${LOCKFILE_FORMAT}` };
  }
  const byName = new Map<string, { version: string; modules: string[] }>();
  for (const [module, locked] of Object.entries(lockfile.modules)) {
    const distribution = locked.distribution;
    if (distribution === null) continue;
    const entry = byName.get(distribution.name) ?? { version: distribution.version, modules: [] };
    entry.modules.push(module);
    byName.set(distribution.name, entry);
  }
  const distributions = [...byName].map(([name, { version, modules }]) => ({ name, version, modules }));
  return { kind: 'read', path, python: lockfile.python, distributions };
}

/**
 * One warning per locked distribution whose installed version differs (a
 * failure when `bindings.guard` is `error`: workers would refuse to start),
 * and one for another Python minor version; a single ok when all match.
 */
export function lockfileChecks(reading: LockfileReading, report: PythonDoctorReport, config: ResolvedConfig): Check[] {
  if (reading.kind === 'absent') return [];
  if (reading.kind === 'unreadable') {
    return [warn('lockfile', 'Lockfile', `${reading.path} cannot be read: ${reading.reason}`, 'snakebridge types')];
  }
  const drifted = config.bindings.guard === 'error' ? fail : warn;
  const guardNote = config.bindings.guard === 'error' ? ' (bindings.guard is error: workers will refuse to start)' : '';
  const checks: Check[] = [];
  const minor = report.version_info.slice(0, 2).join('.');
  if (reading.python.version !== minor) {
    checks.push(
      warn(
        'lockfile.python',
        'Locked Python',
        `the declarations were generated with Python ${reading.python.version}, this interpreter is ${minor}`,
        'snakebridge types',
      ),
    );
  }
  for (const locked of reading.distributions) {
    const installed = report.distributions[locked.name] ?? null;
    if (installed === locked.version) continue;
    const found = installed === null ? 'not installed' : `${installed} installed`;
    checks.push(
      drifted(
        `lockfile.${locked.name}`,
        `Locked ${locked.name}`,
        `locked ${locked.version} (for ${locked.modules.join(', ')}), ${found}${guardNote}`,
        `snakebridge types (to regenerate the declarations), or ${pipInstallLine(report.executable, [`${locked.name}==${locked.version}`], report.distributions.pip != null)}`,
      ),
    );
  }
  if (checks.length === 0) {
    const count = reading.distributions.length;
    checks.push(
      ok('lockfile', 'Lockfile', `${reading.path}: the ${count} locked distribution(s) are installed as locked`),
    );
  }
  return checks;
}
