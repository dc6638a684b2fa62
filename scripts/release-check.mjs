#!/usr/bin/env node
// The release check: what a user gets from the registries, tried as a user
// would, outside this workspace. Packs every npm package and builds the
// Python wheel and sdist; installs the tarballs with plain npm into a fresh
// project and the wheel into a fresh virtual environment; then compiles the
// README example with tsc and runs it against real Python, and runs a user's
// vitest test on the mock. Run by `make test` (as `pnpm run release-check`).

import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VENV_PYTHON = join(ROOT, '.venv', 'bin', 'python');
const rootPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'snakebridge-release-'));
const keep = process.env.RELEASE_CHECK_KEEP === '1';

/** Runs a command, its output shown; throws (ending the check) if it fails. */
function run(command, args, options = {}) {
  execFileSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
}

/** Runs a command and returns what it printed. */
function output(command, args, options = {}) {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...options });
}

function step(title, work_) {
  const started = Date.now();
  process.stdout.write(`release check: ${title}\n`);
  work_();
  process.stdout.write(`release check: ${title}: done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

/** The npm packages a user installs: every non-private one under packages/. */
function publishedPackages() {
  return readdirSync(join(ROOT, 'packages'))
    .map((name) => join(ROOT, 'packages', name))
    .filter((dir) => {
      try {
        return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private !== true;
      } catch {
        return false;
      }
    });
}

function packNpm(tarballs) {
  // pnpm pack runs each package's prepack (its build) and writes the manifest as published:
  // workspace ranges become versions, and publishConfig replaces the development exports.
  const pnpm = process.env.npm_execpath;
  const quiet = { stdio: ['ignore', 'ignore', 'inherit'] };
  for (const dir of publishedPackages()) {
    // Built afresh: a stale file left in dist/ by an older build would be published too.
    rmSync(join(dir, 'dist'), { recursive: true, force: true });
    if (pnpm === undefined) run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: dir, ...quiet });
    else run(process.execPath, [pnpm, 'pack', '--pack-destination', tarballs], { cwd: dir, ...quiet });
  }
  for (const tarball of readdirSync(tarballs)) checkTarball(join(tarballs, tarball));
}

/** What must hold of every published package: a license, no development-only export condition. */
function checkTarball(tarball) {
  const listing = output('tar', ['-tzf', tarball]);
  if (!listing.includes('package/LICENSE')) throw new Error(`${tarball} has no LICENSE`);
  const manifest = JSON.parse(output('tar', ['-xzOf', tarball, 'package/package.json']));
  if (JSON.stringify(manifest.exports ?? {}).includes('@snakebridge/source')) {
    throw new Error(`${manifest.name}'s published exports still name the @snakebridge/source condition`);
  }
  // A registry shows the README alone: a link out of the package is a broken link there.
  const readme = output('tar', ['-xzOf', tarball, 'package/README.md']);
  if (/\]\(\.\.\//.test(readme)) throw new Error(`${manifest.name}'s README links outside the package`);
  for (const field of ['license', 'description', 'engines']) {
    if (manifest[field] === undefined) throw new Error(`${manifest.name} is published without "${field}"`);
  }
}

function buildPython(dist) {
  // Quiet unless it fails: setuptools' notes on a good build would make a good run look broken.
  try {
    output(VENV_PYTHON, ['-m', 'build', '--sdist', '--wheel', '--outdir', dist, join(ROOT, 'python')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    process.stderr.write(`${error.stdout ?? ''}${error.stderr ?? ''}`);
    throw error;
  }
}

function installPython(dist, venv) {
  const base = output(VENV_PYTHON, ['-c', 'import sys; print(sys._base_executable)']).trim();
  run(base, ['-m', 'venv', venv]);
  const wheel = readdirSync(dist).find((name) => name.endsWith('.whl'));
  if (wheel === undefined) throw new Error('python -m build made no wheel');
  // msgpack is the default serializer's; numpy is the README example's.
  const python = join(venv, 'bin', 'python');
  run(python, ['-m', 'pip', 'install', '--quiet', `${join(dist, wheel)}[msgpack,numpy]`]);
  // The wheel's runtime, not the repository's: what a user with `pip install snakebridge` runs.
  const where = output(python, ['-c', 'import snakebridge.worker.main, snakebridge; print(snakebridge.__file__)'], {
    cwd: venv,
    env: { ...process.env, PYTHONPATH: '' },
  });
  if (!where.startsWith(venv)) throw new Error(`snakebridge was imported from ${where.trim()}, not from the wheel`);
}

function installNpm(app, tarballs) {
  mkdirSync(app, { recursive: true });
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'a-user-app', private: true, type: 'module' })}\n`,
  );
  const tools = ['typescript', 'vitest', '@types/node'].map((name) => `${name}@${rootPackage.devDependencies[name]}`);
  const packs = readdirSync(tarballs).map((name) => join(tarballs, name));
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...packs, ...tools], { cwd: app });
}

/** The README example as a user has it: the example, its config and the generated declarations. */
function writeApp(app) {
  for (const file of ['readme.ts', 'snakebridge.config.ts', 'snakebridge.lock.json']) {
    cpSync(join(ROOT, 'examples', file), join(app, file));
  }
  cpSync(join(ROOT, 'examples', 'python-types'), join(app, 'python-types'), { recursive: true });
  const tsconfig = {
    compilerOptions: {
      target: 'ES2023',
      lib: ['ES2023', 'ESNext.Disposable'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      skipLibCheck: true,
      types: ['node'],
      outDir: 'dist',
    },
    include: ['readme.ts', 'snakebridge.config.ts', 'python-types'],
  };
  writeFileSync(join(app, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
  mkdirSync(join(app, 'test'));
  writeFileSync(
    join(app, 'test', 'norm.test.ts'),
    `import { createBridge, defineConfig } from '@snakebridge/core';
import { mockOf } from '@snakebridge/adapter-mock';
import { expect, it } from 'vitest';

const config = defineConfig({ serializer: 'json', environments: { test: { invoker: 'mock' } } });

it('asks numpy for the norm, through the mock', async () => {
  await using bridge = await createBridge(config, { env: { SNAKEBRIDGE_ENV: 'test' } });
  mockOf(bridge).on('numpy.linalg.norm').withArgs([3, 4]).returns(5);
  expect(await bridge.module('numpy').linalg.norm([3, 4])).toBe(5);
});
`,
  );
}

function runApp(app, venv) {
  run(join(app, 'node_modules', '.bin', 'tsc'), ['-p', app]);
  const printed = output(process.execPath, [join(app, 'dist', 'readme.js')], {
    cwd: app,
    env: { ...process.env, SNAKEBRIDGE_PYTHON: join(venv, 'bin', 'python'), NODE_OPTIONS: '' },
  });
  process.stdout.write(printed);
  for (const expected of ['5\n', "[ 'fig', 'apple', 'banana' ]", 'JSONDecodeError']) {
    if (!printed.includes(expected)) throw new Error(`the README example did not print ${JSON.stringify(expected)}`);
  }
  run(join(app, 'node_modules', '.bin', 'vitest'), ['run', '--root', app], {
    cwd: app,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
}

try {
  const tarballs = join(work, 'tarballs');
  const dist = join(work, 'python-dist');
  const venv = join(work, 'venv');
  const app = join(work, 'app');
  mkdirSync(tarballs);
  step('pack the npm packages', () => packNpm(tarballs));
  step('build the Python wheel and sdist', () => buildPython(dist));
  step('install the wheel into a fresh virtual environment', () => installPython(dist, venv));
  step('install the tarballs with npm into a fresh project', () => {
    installNpm(app, tarballs);
    writeApp(app);
  });
  step('compile the README example with tsc, run it, and run a user test on the mock', () => runApp(app, venv));
} finally {
  if (keep) process.stdout.write(`release check: kept ${work}\n`);
  else rmSync(work, { recursive: true, force: true });
}
