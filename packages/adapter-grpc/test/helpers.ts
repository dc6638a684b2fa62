// Shared by the gRPC adapter's tests: configs, invokers, and real Python
// servers started as separate processes (for remote mode), all cleaned up.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Logger, resolveConfig, type SnakeBridgeSettings, silentLogger } from '@snakebridge/core';
import { findPython, runtimePath } from '@snakebridge/process-pool';
import { GrpcInvoker } from '../src/index.js';

// The tests call TLS servers by IP address on purpose (certificates with IP names work). grpc-js then
// sets the TLS server name to the IP, and Node warns (DEP0123) though nothing is wrong with the call:
// grpc/grpc-node#1919, open upstream. Only that warning is dropped, and only in these tests; a user
// connecting by IP sees it, which docs/deployment.md explains.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1];
  if (code === 'DEP0123') return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

/** Python modules written for these tests (grpc_work.py). */
export const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));

/** A resolved config for tests: gRPC, one server unless told otherwise, no env vars, the fixtures importable. */
export function testConfig(settings: SnakeBridgeSettings = {}) {
  return resolveConfig(
    {
      invoker: 'grpc',
      ...settings,
      python: { ...settings.python, path: [FIXTURES, ...(settings.python?.path ?? [])] },
      pool: { min: 1, max: 1, ...settings.pool },
      timeouts: { cancelGraceMs: 1_000, shutdownGraceMs: 2_000, ...settings.timeouts },
    },
    { env: {} },
  );
}

/** A gRPC invoker over real Python servers (managed, unless the settings say remote). */
export function testInvoker(settings: SnakeBridgeSettings = {}, logger: Logger = silentLogger): GrpcInvoker {
  return new GrpcInvoker({ config: testConfig(settings), logger });
}

/** A remote-mode invoker over these endpoints, checking their health every 200 ms. */
export function remoteInvoker(
  endpoints: readonly string[],
  grpc: NonNullable<SnakeBridgeSettings['grpc']> = {},
  logger: Logger = silentLogger,
): GrpcInvoker {
  return testInvoker(
    { grpc: { mode: 'remote', endpoints: [...endpoints], healthCheckIntervalMs: 200, ...grpc } },
    logger,
  );
}

/** A call by dotted name, for brevity. */
export function fn(target: string, args: unknown[] = [], kwargs?: Record<string, unknown>) {
  return { op: 'call' as const, target, args, kwargs };
}

/** Resolves with the rejection of `promise`, failing if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it holds or `timeoutMs` passes; resolves with whether it held. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await delay(25);
  }
  return check();
}

/** True if a process with this pid is running (a zombie, exited but not yet reaped, is not). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

export interface LogLine {
  readonly level: string;
  readonly message: string;
}

/** A logger that keeps what it is given, for assertions. */
export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const keep = (level: string) => (message: string) => void lines.push({ level, message });
  return { lines, debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };
}

// --- standalone servers (remote mode) ---------------------------------------------------------

/** A `python -m snakebridge.server` this test started, as an operator would. */
export interface ServerHandle {
  readonly port: number;
  readonly pid: number;
  readonly endpoint: string;
  readonly process: ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Resolves with its exit code or signal once it has exited. */
  readonly exited: Promise<number | string>;
}

const started = new Set<ServerHandle>();

/**
 * Starts a server on loopback (a free port unless `port` is given) and
 * resolves once it serves. Its lifeline is this test process: if the test
 * runner dies, the server exits too.
 */
export async function startServer(
  args: readonly string[] = [],
  options: { port?: number; env?: Record<string, string> } = {},
): Promise<ServerHandle> {
  const python = await findPython(testConfig().python, REPOSITORY);
  const child = spawn(
    python.executable,
    ['-m', 'snakebridge.server', '--port', String(options.port ?? 0), '--ready-fd', '3', '--lifeline-fd', '4', ...args],
    {
      cwd: REPOSITORY,
      env: {
        ...process.env,
        PYTHONPATH: [runtimePath(), FIXTURES].join(delimiter),
        SNAKEBRIDGE_HOST_PID: String(process.pid),
        ...options.env,
      },
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ?? code ?? -1));
  });
  const ready = child.stdio[3] as NodeJS.ReadableStream;
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    ready.setEncoding('utf8');
    ready.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
    void exited.then((how) => reject(new Error(`the server exited (${how}) before it was ready:\n${stderr}`)));
  });
  const { port, pid } = JSON.parse(line) as { port: number; pid: number };
  const handle: ServerHandle = {
    port,
    pid,
    endpoint: `127.0.0.1:${port}`,
    process: child,
    stderr: () => stderr,
    exited,
  };
  started.add(handle);
  void exited.then(() => started.delete(handle));
  return handle;
}

/** Kills every server a test started and waits for them to exit: no process outlives a test file. */
export async function stopServers(): Promise<void> {
  const running = [...started];
  for (const server of running) server.process.kill('SIGKILL');
  await Promise.all(running.map((server) => server.exited));
}

// --- certificates ---------------------------------------------------------------------------------

export interface Certificates {
  readonly dir: string;
  readonly ca: string;
  /** For 127.0.0.1 and localhost. */
  readonly serverCert: string;
  readonly serverKey: string;
  /** For the name bridge.internal only: reachable at 127.0.0.1 only with grpc.tls.serverName. */
  readonly namedCert: string;
  readonly namedKey: string;
  /** A client certificate signed by the same CA, for mutual TLS. */
  readonly clientCert: string;
  readonly clientKey: string;
  /** A CA that signed nothing here. */
  readonly otherCa: string;
}

const run = promisify(execFile);

/** A CA, server certificates and a client certificate, made with the openssl CLI in a temporary directory. */
export async function makeCertificates(): Promise<Certificates> {
  const dir = mkdtempSync(join(tmpdir(), 'snakebridge-tls-'));
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const makeCa = async (name: string) => {
    await openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      at(`${name}.key`),
      '-out',
      at(`${name}.pem`),
    );
  };
  const issue = async (name: string, subject: string, extensions: string) => {
    writeFileSync(at(`${name}.ext`), `${extensions}\n`);
    await openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      subject,
      '-keyout',
      at(`${name}.key`),
      '-out',
      at(`${name}.csr`),
    );
    await openssl(
      'x509',
      '-req',
      '-in',
      at(`${name}.csr`),
      '-CA',
      at('ca.pem'),
      '-CAkey',
      at('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      at(`${name}.pem`),
      '-extfile',
      at(`${name}.ext`),
    );
  };
  await Promise.all([makeCa('ca'), makeCa('other-ca')]);
  await issue('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  await issue('named', '/CN=bridge.internal', 'subjectAltName=DNS:bridge.internal\nextendedKeyUsage=serverAuth');
  await issue('client', '/CN=snakebridge-host', 'extendedKeyUsage=clientAuth');
  return {
    dir,
    ca: at('ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    namedCert: at('named.pem'),
    namedKey: at('named.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
    otherCa: at('other-ca.pem'),
  };
}
