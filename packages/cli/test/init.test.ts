// `snakebridge init` in temporary directories, without installing: the venv
// it creates, the config it writes (loaded as createBridge would), and its
// refusal to overwrite one.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.js';
import { venvPython } from '../src/python/commands.js';
import { which } from '../src/python/which.js';
import { cli, PYTHON, removeTemporaryDirectories, temporaryDirectory } from './helpers.js';

afterAll(removeTemporaryDirectories);

/** One project, set up once: the venv takes a few seconds to create. */
let dir: string;
let first: Awaited<ReturnType<typeof cli>>;
beforeAll(async () => {
  dir = temporaryDirectory('init');
  first = await cli(['init', '--no-install', '--json', '--python', PYTHON], dir);
}, 120_000);

describe('snakebridge init --no-install', () => {
  it('creates the virtual environment and says what it would install', () => {
    expect(first.code).toBe(0);
    expect(existsSync(venvPython(join(dir, '.venv')))).toBe(true);
    const summary = JSON.parse(first.stdout);
    expect(summary).toMatchObject({
      ok: true,
      config: join(dir, 'snakebridge.config.ts'),
      venv: { path: join(dir, '.venv'), created: true },
      packages: ['msgpack'],
      installed: null,
    });
    expect(summary.nextSteps[0]).toContain(`${venvPython(join(dir, '.venv'))} -m pip install msgpack`);
    expect(summary.nextSteps.join('\n')).toContain('@snakebridge/adapter-stdio @snakebridge/serializer-msgpack');
  });

  it('writes a config that loads, points python.venv at the venv, and uses the mock invoker in tests', async () => {
    const development = await loadConfig({ cwd: dir, environment: 'development', env: {} });
    expect(development.path).toBe(join(dir, 'snakebridge.config.ts'));
    expect(development.resolved).toMatchObject({ invoker: 'stdio', serializer: 'msgpack', python: { venv: '.venv' } });
    expect(development.resolved.bindings.modules).toEqual([]);
    const test = await loadConfig({ cwd: dir, environment: 'test', env: {} });
    expect(test.resolved.invoker).toBe('mock');
    expect(readFileSync(join(dir, 'snakebridge.config.ts'), 'utf8')).toContain(
      "import { defineConfig } from '@snakebridge/core';",
    );
  });

  it('refuses to overwrite the config without --force, and changes nothing', async () => {
    const before = readFileSync(join(dir, 'snakebridge.config.ts'), 'utf8');
    const again = await cli(['init', '--no-install', '--serializer', 'json'], dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/snakebridge\.config\.ts already exists .*Pass --force/);
    expect(readFileSync(join(dir, 'snakebridge.config.ts'), 'utf8')).toBe(before);
  });

  it('overwrites it with --force, keeping the venv that is there', async () => {
    const forced = await cli(
      ['init', '--no-install', '--force', '--json', '--serializer', 'json', '--invoker', 'grpc'],
      dir,
    );
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout).venv.created).toBe(false);
    const { resolved } = await loadConfig({ cwd: dir, environment: 'development', env: {} });
    expect(resolved).toMatchObject({ invoker: 'grpc', serializer: 'json', grpc: { mode: 'managed' } });
    expect(JSON.parse(forced.stdout).packages).toEqual([
      'grpcio',
      'grpcio-health-checking',
      'grpcio-tools',
      'protobuf',
    ]);
  });

  it('refuses a config of another kind too: a new .ts would silently take its place', async () => {
    const other = temporaryDirectory('init-json');
    writeFileSync(join(other, 'snakebridge.config.json'), '{}');
    const ran = await cli(['init', '--no-install'], other);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain('snakebridge.config.json already exists');
    expect(existsSync(join(other, '.venv'))).toBe(false);
  });

  it.skipIf(which('uv') !== undefined)(
    'keeps an existing environment without pip, and says to bootstrap pip before installing',
    async () => {
      const bare = temporaryDirectory('init-bare');
      execFileSync(PYTHON, ['-m', 'venv', '--without-pip', join(bare, '.venv')]);
      const ran = await cli(['init', '--no-install', '--json'], bare);
      expect(ran.code).toBe(0);
      const python = venvPython(join(bare, '.venv'));
      expect(JSON.parse(ran.stdout).venv.created).toBe(false);
      expect(JSON.parse(ran.stdout).nextSteps[0]).toContain(
        `${python} -m ensurepip && ${python} -m pip install msgpack`,
      );
    },
  );

  it('rejects an unknown serializer or invoker with the allowed values, before creating anything', async () => {
    const empty = temporaryDirectory('init-usage');
    const serializer = await cli(['init', '--serializer', 'yaml'], empty);
    expect(serializer.code).toBe(2);
    expect(serializer.stderr).toContain("--serializer must be one of json, msgpack, arrow, protobuf; not 'yaml'");
    const invoker = await cli(['init', '--invoker', 'mock'], empty);
    expect(invoker.code).toBe(2);
    expect(invoker.stderr).toContain("--invoker must be one of stdio, grpc; not 'mock'");
    expect(existsSync(join(empty, '.venv'))).toBe(false);
  });
});
