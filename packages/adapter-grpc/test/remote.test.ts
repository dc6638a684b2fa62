// Remote mode: servers started as separate processes, as an operator would,
// balanced by the adapter: spread, failover when one dies, and back again.

import { createServer } from 'node:net';
import { HandleError, type HandleRef, SessionError, silentLogger, UnavailableError } from '@snakebridge/core';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcInvoker } from '../src/index.js';
import {
  fn,
  rejection,
  remoteInvoker,
  type ServerHandle,
  startServer,
  stopServers,
  testConfig,
  waitUntil,
} from './helpers.js';

let invoker: GrpcInvoker | undefined;
afterEach(async () => {
  await invoker?.close();
  invoker = undefined;
  await stopServers();
});

const whoami = (seconds = 0) => fn('grpc_work.whoami', [seconds]);

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Outcome {
  readonly pid?: number;
  readonly error?: Error;
  /** When the call started: before the kill, after it but before the balancer saw it, or after that. */
  readonly phase: 'before' | 'killed' | 'detected';
}

describe('remote mode', () => {
  it('spreads calls over them, moves calls off one killed mid-load, and takes it back when it returns', async () => {
    const servers = await Promise.all([startServer(), startServer(), startServer()]);
    const [first, victim, third] = servers as [ServerHandle, ServerHandle, ServerHandle];
    invoker = remoteInvoker(servers.map((server) => server.endpoint));
    await invoker.start();
    const own = invoker;

    // Spread: every server serves a fair share.
    const pids = await Promise.all(Array.from({ length: 60 }, () => own.call<number>(whoami(0.02))));
    for (const server of servers) expect(pids.filter((pid) => pid === server.pid).length).toBeGreaterThan(5);

    // Load, with one server SIGKILLed while calls are in flight on it. The test follows events (calls
    // in flight, the balancer marking the server down), not the clock, so a loaded machine only slows it.
    const endpointOf = (server: ServerHandle) => own.endpoints().find((e) => e.endpoint === server.endpoint);
    const outcomes: Outcome[] = [];
    let phase: Outcome['phase'] = 'before';
    let afterDetection = 0;
    const load = async () => {
      while (afterDetection < 40) {
        const startedIn = phase;
        try {
          outcomes.push({ pid: await own.call<number>(whoami(0.05)), phase: startedIn });
        } catch (error) {
          outcomes.push({ error: error as Error, phase: startedIn });
        }
        if (startedIn === 'detected') afterDetection += 1;
      }
    };
    const running = Promise.all(Array.from({ length: 12 }, load));
    expect(await waitUntil(() => (endpointOf(victim)?.inFlight ?? 0) > 0, 10_000)).toBe(true);
    const inFlightOnVictim = endpointOf(victim)?.inFlight ?? 0;
    victim.process.kill('SIGKILL');
    phase = 'killed';
    expect(await waitUntil(() => endpointOf(victim)?.state === 'unhealthy', 10_000)).toBe(true);
    phase = 'detected';
    await running;

    const failures = outcomes.filter((outcome) => outcome.error !== undefined);
    // Only calls sent to the dead server fail: those in flight when it died, and those routed to it before the
    // balancer saw it go; each with a typed error naming it. None started after it was marked down.
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.filter((f) => f.phase === 'before').length).toBeLessThanOrEqual(inFlightOnVictim);
    for (const failure of failures) {
      expect(UnavailableError.is(failure.error), String(failure.error)).toBe(true);
      expect((failure.error as UnavailableError).endpoint).toBe(victim.endpoint);
      expect(failure.phase).not.toBe('detected');
    }
    // Calls made once it was marked down all succeeded, on the two survivors.
    const after = outcomes.filter((outcome) => outcome.phase === 'detected');
    expect(after.every((outcome) => outcome.pid === first.pid || outcome.pid === third.pid)).toBe(true);
    expect(after.some((outcome) => outcome.pid === first.pid) && after.some((o) => o.pid === third.pid)).toBe(true);

    // Restarted on the same port, it is back in rotation.
    const reborn = await startServer([], { port: victim.port });
    const back = await waitUntil(
      () => own.endpoints().find((endpoint) => endpoint.endpoint === victim.endpoint)?.state === 'serving',
      10_000,
    );
    expect(back).toBe(true);
    const later = await Promise.all(Array.from({ length: 30 }, () => own.call<number>(whoami(0.02))));
    expect(later.filter((pid) => pid === reborn.pid).length).toBeGreaterThan(3);
  }, 40_000);

  it('keeps handles and sessions on the server that holds them, and says they are gone when it restarts', async () => {
    const servers = await Promise.all([startServer(), startServer()]);
    invoker = remoteInvoker(servers.map((server) => server.endpoint));
    const own = invoker;
    const counter = await own.call<HandleRef>(fn('snakebridge.testing.contract.make_counter', [0]));
    for (let i = 1; i <= 6; i++) {
      expect(await own.call({ op: 'call', target: 'increment', handle: counter })).toBe(i);
    }
    const session = await own.openSession();
    const sessionPid = await own.call<number>(whoami(), { session });
    for (let i = 0; i < 5; i++) expect(await own.call(whoami(), { session })).toBe(sessionPid);

    const holder = servers.find((server) => counter.owner?.startsWith(server.endpoint));
    if (holder === undefined) throw new Error('no server holds the counter');
    holder.process.kill('SIGKILL');
    await holder.exited;
    const unreachable = await rejection(own.call({ op: 'call', target: 'increment', handle: counter }));
    expect(UnavailableError.is(unreachable) || HandleError.is(unreachable), String(unreachable)).toBe(true);

    await startServer([], { port: holder.port });
    await waitUntil(() => own.endpoints().every((endpoint) => endpoint.state === 'serving'), 10_000);
    const gone = await rejection(own.call({ op: 'call', target: 'increment', handle: counter }));
    expect(HandleError.is(gone), String(gone)).toBe(true);
    expect(gone.message).toMatch(/restarted/);
    if (holder.pid === sessionPid) {
      expect(SessionError.is(await rejection(own.call(whoami(), { session })))).toBe(true);
    }
  }, 30_000);

  it('fails fast with an UnavailableError naming every endpoint when none is healthy', async () => {
    const endpoints = [`127.0.0.1:${await closedPort()}`, `127.0.0.1:${await closedPort()}`];
    invoker = remoteInvoker(endpoints);
    const startError = await rejection(invoker.start());
    expect(UnavailableError.is(startError), String(startError)).toBe(true);
    const started = Date.now();
    const error = await rejection(invoker.call(whoami()));
    expect(Date.now() - started).toBeLessThan(500);
    expect(UnavailableError.is(error), String(error)).toBe(true);
    for (const endpoint of endpoints) {
      expect(error.message).toContain(endpoint);
      expect((error as UnavailableError).endpoint).toContain(endpoint);
    }
  });

  it('fails a stream with a typed error when its server is killed mid-stream', async () => {
    const server = await startServer();
    invoker = remoteInvoker([server.endpoint]);
    const items: unknown[] = [];
    const error = await rejection(
      (async () => {
        for await (const item of (invoker as GrpcInvoker).stream(fn('grpc_work.ticks', [0.02]), { window: 4 })) {
          items.push(item);
          if (items.length === 5) server.process.kill('SIGKILL');
        }
      })(),
    );
    expect(UnavailableError.is(error), String(error)).toBe(true);
    expect((error as UnavailableError).endpoint).toBe(server.endpoint);
    expect(items.slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
  });

  it('expands a DNS name into one endpoint per address, and follows the name as servers come and go', async () => {
    const first = await startServer(['--host', '127.0.0.1']);
    const second = await startServer(['--host', '127.0.0.2'], { port: first.port });
    let addresses = ['127.0.0.1', '127.0.0.2'];
    invoker = new GrpcInvoker({
      config: testConfig({
        grpc: { mode: 'remote', endpoints: [`python.test:${first.port}`], insecure: true, healthCheckIntervalMs: 200 },
      }),
      logger: silentLogger,
      lookup: async (name) => (name === 'python.test' ? addresses : []),
      resolveIntervalMs: 200,
    });
    const own = invoker;
    const pids = await Promise.all(Array.from({ length: 30 }, () => own.call<number>(whoami(0.02))));
    expect(new Set(pids)).toEqual(new Set([first.pid, second.pid]));
    expect(own.endpoints().map((endpoint) => endpoint.endpoint)).toEqual([
      `127.0.0.1:${first.port} (python.test)`,
      `127.0.0.2:${first.port} (python.test)`,
    ]);

    addresses = ['127.0.0.1'];
    expect(await waitUntil(() => own.endpoints().length === 1, 5_000)).toBe(true);
    const after = await Promise.all(Array.from({ length: 10 }, () => own.call<number>(whoami())));
    expect(after.every((pid) => pid === first.pid)).toBe(true);

    addresses = [];
    await waitUntil(() => own.endpoints()[0]?.lastError?.includes('resolves to no address') === true, 5_000);
    const error = await rejection(own.call(whoami()));
    expect(UnavailableError.is(error), String(error)).toBe(true);
    expect(error.message).toContain(`python.test:${first.port}`);
  });
});
