// `snakebridge doctor` against real interpreters in temporary projects: a
// healthy one, a venv missing a package, a Python too old, a lockfile that
// drifted, and what it prints for people.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { venvPython } from '../src/python/commands.js';
import {
  check,
  cli,
  doctor,
  fakePython,
  PYTHON,
  project,
  removeTemporaryDirectories,
  temporaryDirectory,
} from './helpers.js';

afterAll(removeTemporaryDirectories);

/** The installed version of a distribution in the repository's interpreter. */
function installedVersion(distribution: string): string {
  const code = `from importlib import metadata; print(metadata.version(${JSON.stringify(distribution)}))`;
  return execFileSync(PYTHON, ['-c', code]).toString().trim();
}

describe('snakebridge doctor', () => {
  it('passes a healthy setup, saying which interpreter is used and why, with every package and feature', async () => {
    const dir = project('doctor-healthy', { python: { executable: PYTHON } });
    const { code, report } = await doctor(dir);

    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(check(report, 'config').detail).toMatch(
      /snakebridge\.config\.json, environment \w+: invoker stdio, serializer msgpack/,
    );
    expect(check(report, 'python.interpreter').detail).toContain('chosen by python.executable in the config');
    expect(check(report, 'python.version')).toMatchObject({ status: 'ok', fix: null });
    expect(check(report, 'python.environment')).toMatchObject({ status: 'ok' });
    expect(check(report, 'packages.msgpack')).toMatchObject({
      status: 'ok',
      detail: `${installedVersion('msgpack')}, for the msgpack serializer`,
    });
    expect(check(report, 'packages.numpy').detail).toMatch(/optional: needed to send typed arrays/);
    expect(check(report, 'runtime.version')).toMatchObject({ status: 'ok' });
    for (const id of ['platform.extra-fds', 'platform.parent-death', 'platform.rlimits']) {
      expect(check(report, id).status).toBe('ok');
    }
    for (const entry of report.checks)
      expect(Object.keys(entry).sort()).toEqual(['detail', 'fix', 'id', 'status', 'title']);
  });

  it('fails a venv without the serializer’s package, naming it and the pip command of that venv’s interpreter', async () => {
    const dir = project('doctor-missing', { python: { venv: 'env' } });
    execFileSync(PYTHON, ['-m', 'venv', '--without-pip', join(dir, 'env')]);
    const { code, report } = await doctor(dir);

    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    const msgpack = check(report, 'packages.msgpack');
    expect(msgpack.status).toBe('fail');
    expect(msgpack.detail).toMatch(/not installed .*the msgpack serializer needs it/);
    expect(msgpack.fix).toContain(`${venvPython(join(dir, 'env'))} -m pip install msgpack`);
    // That venv has no pip: the fix bootstraps it first.
    expect(msgpack.fix).toContain(`${venvPython(join(dir, 'env'))} -m ensurepip`);
    expect(check(report, 'python.interpreter').detail).toContain('chosen by python.venv in the config');
    expect(check(report, 'python.environment').detail).toContain(`a virtual environment at ${join(dir, 'env')}`);
  });

  it('needs the gRPC server’s packages for managed gRPC, and none for JSON over stdio', async () => {
    const grpc = await doctor(project('doctor-grpc-managed', { invoker: 'grpc', python: { executable: PYTHON } }));
    for (const name of ['grpcio', 'grpcio-health-checking', 'grpcio-tools', 'protobuf']) {
      expect(check(grpc.report, `packages.${name}`).detail).toContain('the gRPC server');
    }
    const json = await doctor(project('doctor-json', { serializer: 'json', python: { executable: PYTHON } }));
    expect(check(json.report, 'packages').detail).toMatch(/need no Python packages/);
    expect(json.report.checks.some((c) => c.id === 'packages.msgpack')).toBe(false);
  });

  it('fails a Python older than 3.10, with the setting that fixes it', async () => {
    const python = fakePython(temporaryDirectory('doctor-old-python'), [3, 8, 18]);
    const { code, report } = await doctor(project('doctor-old', { python: { executable: python } }));

    expect(code).toBe(1);
    const version = check(report, 'python.version');
    expect(version.status).toBe('fail');
    expect(version.detail).toBe('Python 3.8.18 is older than 3.10, the oldest the runtime supports');
    expect(version.fix).toMatch(/set python\.executable in the config to a Python 3\.10\+ interpreter/);
  });

  it('fails an interpreter that is not there, with what to set', async () => {
    const missing = join(temporaryDirectory('doctor-no-python'), 'python');
    const { code, report } = await doctor(project('doctor-none', { python: { executable: missing } }));

    expect(code).toBe(1);
    const interpreter = check(report, 'python.interpreter');
    expect(interpreter).toMatchObject({ status: 'fail' });
    expect(interpreter.detail).toContain(`No Python interpreter at '${missing}'`);
    expect(interpreter.fix).toMatch(/python\.executable/);
    expect(report.checks.some((c) => c.id.startsWith('packages.'))).toBe(false);
  });

  it('warns for each locked distribution whose installed version differs, and still exits 0', async () => {
    const dir = project('doctor-lockfile', { python: { executable: PYTHON } });
    writeLockfile(dir, { msgpack: installedVersion('msgpack'), numpy: '0.0.1' });
    const { code, report } = await doctor(dir);

    expect(code).toBe(0);
    const numpy = check(report, 'lockfile.numpy');
    expect(numpy.status).toBe('warn');
    expect(numpy.detail).toMatch(
      new RegExp(`locked 0\\.0\\.1 \\(for numpy\\), ${installedVersion('numpy')} installed`),
    );
    expect(numpy.fix).toContain('snakebridge types');
    expect(numpy.fix).toContain(`${PYTHON} -m pip install numpy==0.0.1`);
    expect(report.checks.some((c) => c.id === 'lockfile.msgpack')).toBe(false);
  });

  it('fails a drifted lockfile when bindings.guard would make workers refuse to start', async () => {
    const dir = project('doctor-guard', { python: { executable: PYTHON }, bindings: { guard: 'error' } });
    writeLockfile(dir, { numpy: '0.0.1' });
    const { code, report } = await doctor(dir);
    expect(code).toBe(1);
    expect(check(report, 'lockfile.numpy')).toMatchObject({ status: 'fail' });
  });

  it('checks no interpreter where the mock invoker runs the calls', async () => {
    const dir = project('doctor-mock', { invoker: 'mock', python: { executable: '/no/such/python' } });
    const { code, report } = await doctor(dir);
    expect(code).toBe(0);
    expect(check(report, 'python').detail).toMatch(/mock invoker runs no Python/);
    expect(report.checks.some((c) => c.id === 'python.interpreter')).toBe(false);
  });

  it('prints sections with marks and fixes for people, without colours when not on a terminal', async () => {
    const dir = project('doctor-human', { python: { venv: 'env' } });
    execFileSync(PYTHON, ['-m', 'venv', '--without-pip', join(dir, 'env')]);
    const { code, stdout } = await cli(['doctor'], dir);

    expect(code).toBe(1);
    expect(stdout).toMatch(/^Config\n {2}✔ Config: /);
    expect(stdout).toContain('\nPython packages\n');
    expect(stdout).toMatch(/ {2}✖ msgpack: not installed/);
    expect(stdout).toMatch(/ {6}fix: .* -m pip install msgpack/);
    expect(stdout).toMatch(/failure\(s\): something would fail at run time\n$/);
    expect(stdout).not.toContain('\x1b[');
  });
});

/** A lockfile as `snakebridge types` writes it, with one module per distribution (named after it). */
function writeLockfile(dir: string, distributions: Record<string, string>): void {
  const modules = Object.fromEntries(
    Object.entries(distributions).map(([name, version]) => [
      name,
      {
        distribution: { name, version },
        signatures: 'sha256:0',
        file: `python-types/${name}.d.ts`,
        coverage: { typed: 0, partial: 0, untyped: 0 },
      },
    ]),
  );
  const [major, minor] = execFileSync(PYTHON, ['-c', 'import sys; print(*sys.version_info[:2])'])
    .toString()
    .trim()
    .split(' ');
  const lockfile = {
    format: 1,
    generator: '@snakebridge/cli 0.1.0',
    python: { version: `${major}.${minor}`, implementation: 'CPython' },
    serializer: 'msgpack',
    ints: 'number',
    modules,
  };
  writeFileSync(join(dir, 'snakebridge.lock.json'), JSON.stringify(lockfile, null, 2));
}
