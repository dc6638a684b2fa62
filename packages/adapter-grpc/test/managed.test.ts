// Managed mode: servers this host starts, supervised by the shared WorkerPool
// like stdio workers: crashes fail calls at once, typed; nothing outlives the host.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  CancelledError,
  ClosedError,
  createContainer,
  INVOKER,
  type Invoker,
  PythonError,
  silentLogger,
  WorkerCrashedError,
  WorkerStartError,
} from '@snakebridge/core';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcInvoker, serverArguments } from '../src/index.js';
import { alive, delay, fn, rejection, testConfig, testInvoker, waitUntil } from './helpers.js';

const HOST = fileURLToPath(new URL('./fixtures/host.ts', import.meta.url));
const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));

let invoker: GrpcInvoker | undefined;
afterEach(async () => {
  await invoker?.close();
  invoker = undefined;
});

function serverPid(of: GrpcInvoker): number {
  const pid = of.pool?.stats().workers[0]?.pid;
  if (pid === undefined) throw new Error('no server running');
  return pid;
}

describe('managed servers', () => {
  it('fails every call in flight at once with WorkerCrashedError when its server is killed, then replaces it', async () => {
    invoker = testInvoker();
    await invoker.start();
    const pid = serverPid(invoker);
    const calls = [1, 2, 3].map(() => rejection((invoker as GrpcInvoker).call(fn('grpc_work.whoami', [30]))));
    const asyncCall = rejection(invoker.call(fn('snakebridge.testing.contract.cancellable_sleep', ['crash', 30])));
    await delay(300);
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const errors = await Promise.all([...calls, asyncCall]);
    expect(Date.now() - killedAt).toBeLessThan(2_000);
    for (const error of errors) {
      expect(WorkerCrashedError.is(error), String(error)).toBe(true);
      expect((error as WorkerCrashedError).signal).toBe('SIGKILL');
      expect((error as WorkerCrashedError).exit.pid).toBe(pid);
    }
    const replacement = await invoker.call<number>(fn('grpc_work.whoami'));
    expect(replacement).not.toBe(pid);
  });

  it('fails a stream with WorkerCrashedError when its server dies mid-stream', async () => {
    invoker = testInvoker();
    await invoker.start();
    const pid = serverPid(invoker);
    const items: unknown[] = [];
    const error = await rejection(
      (async () => {
        for await (const item of (invoker as GrpcInvoker).stream(fn('grpc_work.ticks', [0.02]), { window: 4 })) {
          items.push(item);
          if (items.length === 5) process.kill(pid, 'SIGKILL');
        }
      })(),
    );
    expect(WorkerCrashedError.is(error), String(error)).toBe(true);
    expect(items.slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
  });

  it('retries an idempotent call on the replacement of a server that died under it', async () => {
    invoker = testInvoker();
    await invoker.start();
    const pid = serverPid(invoker);
    const call = invoker.call<number>(fn('grpc_work.whoami', [0.5]), { idempotent: true });
    await delay(200);
    process.kill(pid, 'SIGKILL');
    const servedBy = await call;
    expect(servedBy).not.toBe(pid);
  });

  it('reports a server that cannot start as a WorkerStartError with its stderr', async () => {
    invoker = testInvoker({ pool: { preload: ['no_such_module_for_grpc'], restart: { maxRestarts: 0 } } });
    const error = await rejection(invoker.start());
    expect(WorkerStartError.is(error), String(error)).toBe(true);
    expect(error.message).toMatch(/exited with code 3/);
    expect(error.message).toMatch(/No module named 'no_such_module_for_grpc'/);
  });

  it('reports a serializer the server cannot load as a WorkerStartError naming it', async () => {
    const serializer = {
      id: 'yaml',
      wireId: 9,
      contentType: 'application/yaml',
      supports: new Set<never>(),
      encode: () => new Uint8Array(),
      decode: () => null,
    };
    invoker = new GrpcInvoker({
      config: testConfig({ pool: { restart: { maxRestarts: 0 } } }),
      serializer,
      logger: silentLogger,
    });
    const error = await rejection(invoker.start());
    expect(WorkerStartError.is(error), String(error)).toBe(true);
    expect(error.message).toMatch(/refused the handshake: the yaml serializer cannot be loaded/);
  });

  it('interrupts a call still running after the shutdown grace period, and stops the server', async () => {
    invoker = testInvoker({ timeouts: { shutdownGraceMs: 300 } });
    await invoker.start();
    const pid = serverPid(invoker);
    const stuck = rejection(invoker.call(fn('grpc_work.whoami', [60])));
    await delay(100);
    const started = Date.now();
    await invoker.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    const error = await stuck;
    expect(CancelledError.is(error) || WorkerCrashedError.is(error), String(error)).toBe(true);
    expect(await waitUntil(() => !alive(pid), 3_000)).toBe(true);
    expect(ClosedError.is(await rejection(invoker.call(fn('grpc_work.whoami'))))).toBe(true);
  });

  it('applies the security settings to its servers', async () => {
    invoker = testInvoker({ security: { allowEval: false, allowedModules: ['grpc_work'] } });
    expect(await invoker.call(fn('grpc_work.length', ['abc']))).toBe(3);
    const evalError = await rejection(invoker.call({ op: 'eval', target: '1 + 1' }));
    expect(evalError.name).toBe('ForbiddenError');
    const moduleError = await rejection(invoker.call(fn('os.getpid')));
    expect(moduleError.name).toBe('ForbiddenError');
    expect(serverArguments(testConfig({ security: { allowedModules: [] } }))).toContain('--allowed-module');
  });

  it('gives Python errors the call site of the awaiting code', async () => {
    invoker = testInvoker();
    const error = await rejection(invoker.call(fn('snakebridge.testing.contract.fail', ['KeyError', 'id'])));
    expect(PythonError.is(error, 'PYTHON_KEY_ERROR')).toBe(true);
    expect(error.stack).toMatch(/Traceback \(most recent call last\) in Python/);
    expect(error.stack).toMatch(/managed\.test\.ts/);
  });

  it('round-trips a payload encoded and decoded in worker threads (offload)', async () => {
    invoker = testInvoker({ offload: { thresholdBytes: 1024 * 1024, threads: 1 } });
    const samples = new Float64Array(2_000_000).map((_, i) => Math.sin(i));
    const echoed = await invoker.call<Float64Array>(fn('snakebridge.testing.contract.echo', [samples]));
    expect(echoed).toBeInstanceOf(Float64Array);
    expect(
      Buffer.compare(Buffer.from(echoed.buffer, echoed.byteOffset, echoed.byteLength), Buffer.from(samples.buffer)),
    ).toBe(0);
    // Small calls on the same invoker stay on the main thread and still work.
    expect(await invoker.call(fn('snakebridge.testing.contract.echo', [[1, 'two']]))).toEqual([1, 'two']);
  }, 60_000);

  it('is what the container binds for invoker: grpc', async () => {
    const container = await createContainer({ invoker: 'grpc' }, { env: {} });
    const bound = container.get<Invoker>(INVOKER);
    expect(bound).toBeInstanceOf(GrpcInvoker);
    expect(bound.kind).toBe('grpc');
    await bound.close();
  });

  it('leaves no server behind when the host is killed with SIGKILL', async () => {
    const host = spawn(process.execPath, ['--import', 'tsx', '--conditions=@snakebridge/source', HOST], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: REPOSITORY,
    });
    const line = await new Promise<string>((resolve) => {
      createInterface({ input: host.stdout }).once('line', resolve);
    });
    const pids = JSON.parse(line) as number[];
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);
    host.kill('SIGKILL');
    expect(await waitUntil(() => !pids.some(alive), 5_000)).toBe(true);
  });
});
