// Signature coverage: how many callables of a module came out fully typed,
// partly typed (some parameter or the result unknown) or untyped.

import type { CallableCoverage } from './module-file.js';

export interface ModuleCoverage {
  readonly typed: number;
  readonly partial: number;
  readonly untyped: number;
}

export function summarize(callables: readonly CallableCoverage[]): ModuleCoverage {
  const count = (status: CallableCoverage['status']) => callables.filter((c) => c.status === status).length;
  return { typed: count('typed'), partial: count('partial'), untyped: count('untyped') };
}

/** The share of callables fully typed; 1 for a module without callables. */
export function typedShare(coverage: ModuleCoverage): number {
  const total = coverage.typed + coverage.partial + coverage.untyped;
  return total === 0 ? 1 : coverage.typed / total;
}
