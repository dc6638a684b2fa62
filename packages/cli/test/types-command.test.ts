// `snakebridge types` with real Python: it writes declarations that compile,
// a lockfile, and a coverage report; `--check` passes when nothing changed
// and fails with a diff when a signature did; `--strict` enforces coverage.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Lockfile } from '../src/typegen/lockfile.js';
import { cli, PYTHON, removeTemporaryDirectories, scratchDirectory, typecheck } from './helpers.js';

const FIXTURE = 'snakebridge.testing.typing_fixture';
const STDLIB = ['math', 'json', 'statistics', 'dataclasses', 'fractions'];

afterAll(removeTemporaryDirectories);

/** A project in this package (so it resolves @snakebridge/core) with a config and, optionally, Python modules. */
function project(prefix: string, bindings: Record<string, unknown>, pythonFiles: Record<string, string> = {}): string {
  const dir = scratchDirectory(prefix);
  const config = { python: { executable: PYTHON, path: [dir] }, bindings };
  writeFileSync(join(dir, 'snakebridge.config.json'), JSON.stringify(config, null, 2));
  for (const [name, source] of Object.entries(pythonFiles)) writeFileSync(join(dir, name), source);
  return dir;
}

/** A tsconfig that checks the generated declarations themselves (skipLibCheck off) and the given files. */
function tsconfig(dir: string, files: readonly string[]): string {
  const path = join(dir, 'tsconfig.json');
  const config = {
    extends: '../../../../tsconfig.base.json',
    compilerOptions: { noEmit: true, skipLibCheck: false },
    include: ['python-types/*.d.ts', ...files],
  };
  writeFileSync(path, JSON.stringify(config));
  return path;
}

describe('snakebridge types', () => {
  it('writes declarations for standard library modules and the fixture that compile, a lockfile and a coverage report', async () => {
    const dir = project('stdlib', { modules: [FIXTURE, ...STDLIB] });
    const ran = await cli(['types'], dir);
    expect(ran.stderr).toContain('wrote 6 declaration file(s)');
    expect(ran.code).toBe(0);
    for (const module of [FIXTURE, ...STDLIB])
      expect(existsSync(join(dir, 'python-types', `${module}.d.ts`))).toBe(true);
    expect(ran.stdout).toMatch(/^module\s+typed\s+partial\s+untyped\s+coverage$/m);
    expect(ran.stdout).toMatch(/^math\s+\d+\s+0\s+0\s+100%$/m);

    const lockfile = JSON.parse(readFileSync(join(dir, 'snakebridge.lock.json'), 'utf8')) as Lockfile;
    expect(lockfile.python.implementation).toBe('cpython');
    expect(lockfile.modules.math?.distribution).toBeNull();
    expect(lockfile.modules.math?.signatures).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(lockfile.modules.math?.file).toBe('python-types/math.d.ts');

    writeFileSync(
      join(dir, 'use.ts'),
      [
        "import { type Bridge, kwargs } from '@snakebridge/core';",
        'export async function use(bridge: Bridge): Promise<number> {',
        "  const math = bridge.module('math');",
        "  const fractions = bridge.module('fractions');",
        '  const half = await fractions.Fraction(1, 2);',
        '  await half.limit_denominator(kwargs({ max_denominator: 10 }));',
        '  // @ts-expect-error a misspelled keyword',
        '  await half.limit_denominator(kwargs({ max_denominatr: 10 }));',
        '  // @ts-expect-error a misspelled function',
        '  await math.hyopt(3, 4);',
        "  const stats = bridge.module('statistics');",
        '  await stats.mean([1, 2, 3]);',
        "  const json = bridge.module('json');",
        '  const text: string = await json.dumps({ a: 1 }, kwargs({ indent: 2, sort_keys: true }));',
        '  // json.dumps takes **kw, so any name goes, but its own keywords keep their types',
        '  await json.dumps({ a: 1 }, kwargs({ anything: 2 }));',
        '  // @ts-expect-error sort_keys is a bool',
        "  await json.dumps({ a: 1 }, kwargs({ sort_keys: 'yes' }));",
        '  return (await math.hypot(3, 4)) + text.length;',
        '}',
      ].join('\n'),
    );
    expect(await typecheck(tsconfig(dir, ['use.ts']))).toBe('');

    const checked = await cli(['types', '--check'], dir);
    expect(checked.stderr).toContain('the declarations match the installed Python');
    expect(checked.code).toBe(0);
  }, 120_000);

  it('fails --check with the drift and a diff when a signature changed, and passes again after regenerating', async () => {
    const dir = project(
      'drift',
      { modules: ['shapes'] },
      { 'shapes.py': 'def area(side: int) -> int:\n    return side * side\n' },
    );
    expect((await cli(['types'], dir)).code).toBe(0);
    writeFileSync(join(dir, 'shapes.py'), 'def area(side: float, sides: int = 4) -> float:\n    return side * side\n');

    const drifted = await cli(['types', '--check'], dir);
    expect(drifted.code).toBe(1);
    expect(drifted.stderr).toContain('shapes: its signatures changed');
    expect(drifted.stderr).toContain('no longer matches the lockfile');
    expect(drifted.stdout).toMatch(/^-.*side: number \| bigint/m);
    expect(drifted.stdout).toMatch(/^\+.*sides\?: number \| bigint/m);
    // --check writes nothing.
    expect(readFileSync(join(dir, 'python-types', 'shapes.d.ts'), 'utf8')).toContain('side: number | bigint');

    expect((await cli(['types'], dir)).code).toBe(0);
    expect((await cli(['types', '--check'], dir)).code).toBe(0);
  }, 60_000);

  it('fails --check when a declaration file was edited by hand, though the lockfile still matches', async () => {
    const dir = project('edited', { modules: ['math'] });
    expect((await cli(['types'], dir)).code).toBe(0);
    const file = join(dir, 'python-types', 'math.d.ts');
    writeFileSync(file, readFileSync(file, 'utf8').replace('hypot', 'hypotenuse'));
    const checked = await cli(['types', '--check'], dir);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toMatch(/^\+.*hypot\(/m);
  }, 60_000);

  it('removes the declarations of a module no longer listed', async () => {
    const dir = project('prune', { modules: ['math', 'json'] });
    expect((await cli(['types'], dir)).code).toBe(0);
    expect((await cli(['types', 'math'], dir)).code).toBe(0);
    expect(existsSync(join(dir, 'python-types', 'json.d.ts'))).toBe(false);
    expect(existsSync(join(dir, 'python-types', 'math.d.ts'))).toBe(true);
  }, 60_000);

  it('fails with --strict when a module has too few fully typed callables, after writing', async () => {
    const dir = project('strict', { modules: [FIXTURE] });
    const lenient = await cli(['types', '--strict', '--min-coverage', '0.5'], dir);
    expect(lenient.code).toBe(0);
    const strict = await cli(['types', '--strict', '--min-coverage', '1'], dir);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain(`--strict: fewer than 100% of the callables are fully typed in ${FIXTURE}`);
    expect(existsSync(join(dir, 'python-types', `${FIXTURE}.d.ts`))).toBe(true);
  }, 60_000);

  it('reports a module that does not import with the command that installs it, and writes nothing', async () => {
    const dir = project('missing', { modules: ['math', 'no_such_module_xyz'] });
    const ran = await cli(['types'], dir);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain("no_such_module_xyz: No module named 'no_such_module_xyz'");
    expect(ran.stderr).toContain(`${PYTHON} -m pip install no_such_module_xyz`);
    expect(existsSync(join(dir, 'python-types'))).toBe(false);
  }, 60_000);

  it('gives the result as JSON with --json', async () => {
    const dir = project('json', { modules: ['math'] });
    const ran = await cli(['types', '--json'], dir);
    expect(ran.code).toBe(0);
    const result = JSON.parse(ran.stdout) as { ok: boolean; coverage: Record<string, { typed: number }> };
    expect(result.ok).toBe(true);
    expect(result.coverage.math?.typed).toBeGreaterThan(40);
  }, 60_000);

  it('refuses a run without modules, and bad numbers, as usage errors', async () => {
    const dir = project('usage', {});
    const none = await cli(['types'], dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('bindings.modules');
    expect((await cli(['types', 'math', '--min-coverage', '2'], dir)).code).toBe(2);
    expect((await cli(['types', 'math', '--budget-ms', 'soon'], dir)).code).toBe(2);
    expect((await cli(['types', '--no-such-flag'], dir)).code).toBe(2);
  });
});

describe('snakebridge types for numpy and scikit-learn', () => {
  it('writes declarations that compile, and catch misspelled keywords and literals', async () => {
    const dir = project('scientific', { modules: ['numpy', 'numpy.linalg', 'sklearn.ensemble'] });
    const ran = await cli(['types'], dir);
    expect(ran.code).toBe(0);
    writeFileSync(
      join(dir, 'use.ts'),
      [
        "import { type Bridge, kwargs } from '@snakebridge/core';",
        'export async function use(bridge: Bridge): Promise<unknown[]> {',
        "  const np = bridge.module('numpy');",
        '  const norm = await np.linalg.norm([3, 4]);',
        '  const mean = await np.mean(new Float64Array([1, 2]), kwargs({ keepdims: true }));',
        "  const sk = bridge.module('sklearn.ensemble');",
        "  const model = await sk.RandomForestClassifier(kwargs({ n_estimators: 10, criterion: 'gini' }));",
        '  await model.fit([[0, 1], [1, 0]], [0, 1]);',
        '  const importances = await model.feature_importances_;',
        '  // @ts-expect-error a misspelled keyword',
        '  await sk.RandomForestClassifier(kwargs({ n_estimator: 10 }));',
        '  // @ts-expect-error not one of the criterion literals',
        "  await sk.RandomForestClassifier(kwargs({ criterion: 'gin' }));",
        '  // @ts-expect-error a misspelled function',
        '  await np.linalg.nrom([3, 4]);',
        '  return [norm, mean, importances];',
        '}',
      ].join('\n'),
    );
    expect(await typecheck(tsconfig(dir, ['use.ts']))).toBe('');
  }, 180_000);
});
