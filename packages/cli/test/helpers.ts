// Shared by the command line's tests: running it with in-memory streams,
// temporary projects with their own config files, fake interpreters,
// standalone gRPC servers (all cleaned up), and tsc.

import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pythonEnvironment } from '@snakebridge/process-pool';
import { run } from '../src/cli.js';
import type { Check, DoctorReport } from '../src/doctor/checks.js';

export const REPOSITORY = fileURLToPath(new URL('../../../', import.meta.url));
/** The repository's interpreter: it has every Python package the runtime can use. */
export const PYTHON = join(REPOSITORY, '.venv', 'bin', 'python');

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `snakebridge …` in `cwd`, on streams that are not a terminal (no colours, no spinner). */
export async function cli(argv: readonly string[], cwd: string): Promise<Ran> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await run(argv, { stdout, stderr, env: {} }, cwd);
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

/** `snakebridge doctor --json` in `cwd`: its exit code and report. */
export async function doctor(cwd: string): Promise<{ code: number; report: DoctorReport; stderr: string }> {
  const ran = await cli(['doctor', '--json'], cwd);
  return { code: ran.code, report: JSON.parse(ran.stdout) as DoctorReport, stderr: ran.stderr };
}

/** The check with this id; fails the test when there is none. */
export function check(report: DoctorReport, id: string): Check {
  const found = report.checks.find((c) => c.id === id);
  if (found === undefined) throw new Error(`no check '${id}' in: ${report.checks.map((c) => c.id).join(', ')}`);
  return found;
}

const made: string[] = [];

/** A temporary directory, removed by `removeTemporaryDirectories`. */
export function temporaryDirectory(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `snakebridge-${prefix}-`));
  made.push(dir);
  return dir;
}

export function removeTemporaryDirectories(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A project directory whose snakebridge.config.json is `config`. */
export function project(prefix: string, config: Record<string, unknown>): string {
  const dir = temporaryDirectory(prefix);
  writeFileSync(join(dir, 'snakebridge.config.json'), JSON.stringify(config, null, 2));
  return dir;
}

/**
 * A script that answers like a Python of another version: the interpreter
 * probe with `version`, and `-m snakebridge.doctor` with the real report of
 * the repository's interpreter, its version replaced.
 */
export function fakePython(dir: string, version: [number, number, number]): string {
  const path = join(dir, 'python');
  const real = JSON.parse(
    execFileSync(PYTHON, ['-m', 'snakebridge.doctor', '--json'], {
      env: pythonEnvironment({ env: {}, path: [] }),
    }).toString(),
  ) as Record<string, unknown>;
  const prefix = join(dir, 'prefix');
  const report = {
    ...real,
    version: version.join('.'),
    version_info: version,
    executable: path,
    prefix,
    base_prefix: prefix,
  };
  writeFileSync(join(dir, 'report.json'), JSON.stringify(report));
  const probe = JSON.stringify([path, version, prefix, prefix]);
  writeFileSync(
    path,
    `#!/bin/sh\ncase "$1" in\n  -c) echo '${probe}' ;;\n  *) cat '${join(dir, 'report.json')}' ;;\nesac\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const servers = new Set<ChildProcess>();

/**
 * Starts `python -m snakebridge.server` on a free loopback port, as an
 * operator would, and resolves with its endpoint once it serves. It exits
 * with this process (its lifeline is a pipe from here).
 */
export async function startServer(env: Record<string, string> = {}): Promise<string> {
  const child = spawn(PYTHON, ['-m', 'snakebridge.server', '--port', '0', '--ready-fd', '3', '--lifeline-fd', '4'], {
    env: { ...pythonEnvironment({ env: {}, path: [] }), ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
  });
  servers.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const ready = child.stdio[3] as NodeJS.ReadableStream;
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    ready.setEncoding('utf8');
    ready.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before it was ready:\n${stderr}`)));
  });
  const { port } = JSON.parse(line) as { port: number };
  return `127.0.0.1:${port}`;
}

/** Kills the servers the tests started and waits for them to exit. */
export async function stopServers(): Promise<void> {
  const running = [...servers].filter((child) => child.exitCode === null && child.signalCode === null);
  servers.clear();
  await Promise.all(
    running.map((child) => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      return exited;
    }),
  );
}

/** A fresh directory inside this package, so its files resolve @snakebridge/* and the workspace's types. */
export function scratchDirectory(prefix: string): string {
  const dir = mkdtempSync(join(fileURLToPath(new URL('./', import.meta.url)), `.scratch-${prefix}-`));
  made.push(dir);
  return dir;
}

/** Type-checks a TypeScript project; resolves with tsc's diagnostics ('' when there are none). */
export async function typecheck(project: string): Promise<string> {
  const tsc = join(REPOSITORY, 'node_modules', '.bin', 'tsc');
  try {
    await promisify(execFile)(tsc, ['-p', project, '--pretty', 'false'], { maxBuffer: 64 * 1024 * 1024 });
    return '';
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    return `${failure.stdout ?? ''}${failure.stderr ?? ''}` || failure.message;
  }
}
