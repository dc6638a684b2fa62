// Securing remote servers: TLS (and mutual TLS), the bearer token, message
// size limits, and refusing plaintext beyond this machine.

import { rmSync } from 'node:fs';
import {
  ConfigError,
  ProtocolError,
  resolveConfig,
  silentLogger,
  UnauthenticatedError,
  UnavailableError,
} from '@snakebridge/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GrpcInvoker, isLocalEndpoint } from '../src/index.js';
import {
  type Certificates,
  fn,
  makeCertificates,
  recordingLogger,
  rejection,
  remoteInvoker,
  startServer,
  stopServers,
  testConfig,
} from './helpers.js';

const TOKEN = 'correct horse battery staple';
const MiB = 1024 * 1024;

let certs: Certificates;
let invokers: GrpcInvoker[] = [];

beforeAll(async () => {
  certs = await makeCertificates();
}, 30_000);
afterEach(async () => {
  await Promise.all(invokers.map((invoker) => invoker.close()));
  invokers = [];
});
afterAll(async () => {
  await stopServers();
  rmSync(certs.dir, { recursive: true, force: true });
});

function track(invoker: GrpcInvoker): GrpcInvoker {
  invokers.push(invoker);
  return invoker;
}

const recall = (key: string) => fn('snakebridge.testing.contract.recall', [key]);
const remember = (key: string) => fn('snakebridge.testing.contract.remember', [key, 'ran']);

describe('TLS and the token', () => {
  it('calls a server over TLS with a bearer token', async () => {
    const server = await startServer(['--tls-cert', certs.serverCert, '--tls-key', certs.serverKey], {
      env: { SNAKEBRIDGE_TOKEN: TOKEN },
    });
    const invoker = track(remoteInvoker([server.endpoint], { tls: { ca: certs.ca }, token: TOKEN }));
    await invoker.start();
    expect(await invoker.call(fn('grpc_work.whoami'))).toBe(server.pid);
    const localhost = track(remoteInvoker([`localhost:${server.port}`], { tls: { ca: certs.ca }, token: TOKEN }));
    expect(await localhost.call(fn('grpc_work.whoami'))).toBe(server.pid);
  });

  it('refuses a wrong or a missing token with UnauthenticatedError, before any code runs', async () => {
    const server = await startServer(['--tls-cert', certs.serverCert, '--tls-key', certs.serverKey], {
      env: { SNAKEBRIDGE_TOKEN: TOKEN },
    });
    const tag = `intruder-${Date.now()}`;
    for (const token of ['not the token', undefined]) {
      const intruder = track(remoteInvoker([server.endpoint], { tls: { ca: certs.ca }, token }));
      const startError = await rejection(intruder.start());
      expect(UnauthenticatedError.is(startError), String(startError)).toBe(true);
      const error = await rejection(intruder.call(remember(tag)));
      expect(UnauthenticatedError.is(error), String(error)).toBe(true);
      expect(error.message).toMatch(token === undefined ? /bearer token is required/ : /bearer token is wrong/);
      const streamError = await rejection(
        (async () => {
          for await (const _ of intruder.stream(fn('snakebridge.testing.contract.count', [3]))) {
            // never reached
          }
        })(),
      );
      expect(UnauthenticatedError.is(streamError), String(streamError)).toBe(true);
    }
    // The side effect the intruders asked for never happened.
    const owner = track(remoteInvoker([server.endpoint], { tls: { ca: certs.ca }, token: TOKEN }));
    expect(await owner.call(recall(tag))).toBe(null);
    await owner.call(remember(tag));
    expect(await owner.call(recall(tag))).toBe('ran');
  });

  it('checks the server certificate: another CA is refused, and serverName picks the name to check', async () => {
    const server = await startServer(['--tls-cert', certs.serverCert, '--tls-key', certs.serverKey]);
    const wrongCa = track(remoteInvoker([server.endpoint], { tls: { ca: certs.otherCa } }));
    expect(UnavailableError.is(await rejection(wrongCa.call(fn('grpc_work.whoami'))))).toBe(true);

    const named = await startServer(['--tls-cert', certs.namedCert, '--tls-key', certs.namedKey]);
    const byAddress = track(remoteInvoker([named.endpoint], { tls: { ca: certs.ca } }));
    expect(UnavailableError.is(await rejection(byAddress.call(fn('grpc_work.whoami'))))).toBe(true);
    const byName = track(remoteInvoker([named.endpoint], { tls: { ca: certs.ca, serverName: 'bridge.internal' } }));
    expect(await byName.call(fn('grpc_work.whoami'))).toBe(named.pid);
  });

  it('checks the certificate for the name when it expands a DNS name into addresses', async () => {
    const server = await startServer(['--tls-cert', certs.namedCert, '--tls-key', certs.namedKey]);
    const invoker = track(
      new GrpcInvoker({
        config: testConfig({
          grpc: { mode: 'remote', endpoints: [`bridge.internal:${server.port}`], tls: { ca: certs.ca } },
        }),
        logger: silentLogger,
        lookup: async () => ['127.0.0.1'],
      }),
    );
    expect(await invoker.call(fn('grpc_work.whoami'))).toBe(server.pid);
    expect(invoker.endpoints()[0]?.endpoint).toBe(`127.0.0.1:${server.port} (bridge.internal)`);
  });

  it('requires a client certificate signed by the given CA for mutual TLS', async () => {
    const server = await startServer([
      '--tls-cert',
      certs.serverCert,
      '--tls-key',
      certs.serverKey,
      '--tls-client-ca',
      certs.ca,
    ]);
    const anonymous = track(remoteInvoker([server.endpoint], { tls: { ca: certs.ca } }));
    expect(UnavailableError.is(await rejection(anonymous.call(fn('grpc_work.whoami'))))).toBe(true);
    const known = track(
      remoteInvoker([server.endpoint], { tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } }),
    );
    expect(await known.call(fn('grpc_work.whoami'))).toBe(server.pid);
  });
});

describe('message size limits', () => {
  it('refuses oversize messages in each direction with ProtocolError, and the connection stays usable', async () => {
    const server = await startServer(['--max-message-bytes', String(MiB)]);
    const invoker = track(remoteInvoker([server.endpoint], { maxMessageBytes: 4 * MiB }));
    const check = async (work: Promise<unknown>, pattern: RegExp) => {
      const error = await rejection(work);
      expect(ProtocolError.is(error), String(error)).toBe(true);
      expect(error.message).toMatch(pattern);
      expect(await invoker.call(fn('grpc_work.length', ['still usable']))).toBe(12);
    };
    // Host to server: the server's limit, then the host's own.
    await check(invoker.call(fn('grpc_work.length', ['x'.repeat(2 * MiB)])), /larger than max|RESOURCE_EXHAUSTED/i);
    await check(invoker.call(fn('grpc_work.length', ['x'.repeat(5 * MiB)])), /grpc\.maxMessageBytes \(4194304\)/);
    // Server to host: the server's limit, then the host's.
    await check(invoker.call(fn('grpc_work.big', [2 * MiB])), /--max-message-bytes/);
    const small = track(remoteInvoker([server.endpoint], { maxMessageBytes: MiB / 2 }));
    const error = await rejection(small.call(fn('grpc_work.big', [MiB - 1024])));
    expect(ProtocolError.is(error), String(error)).toBe(true);
    expect(await small.call(fn('grpc_work.length', ['ok']))).toBe(2);
  });
});

describe('exposure', () => {
  it('refuses plaintext to an endpoint beyond this machine unless grpc.insecure, which warns', () => {
    const config = (insecure: boolean) =>
      resolveConfig(
        { invoker: 'grpc', grpc: { mode: 'remote', endpoints: ['10.1.2.3:50051', '127.0.0.1:50051'], insecure } },
        { env: {} },
      );
    let refused: unknown;
    try {
      new GrpcInvoker({ config: config(false), logger: silentLogger });
    } catch (error) {
      refused = error;
    }
    expect(ConfigError.is(refused), String(refused)).toBe(true);
    expect((refused as ConfigError).field).toBe('grpc.tls');
    expect((refused as ConfigError).message).toContain('10.1.2.3:50051');
    const logger = recordingLogger();
    track(new GrpcInvoker({ config: config(true), logger }));
    expect(logger.lines.some((line) => line.level === 'warn' && line.message.includes('plaintext to 10.1.2.3'))).toBe(
      true,
    );
  });

  it('counts loopback addresses, localhost and Unix sockets as this machine, and nothing else', () => {
    for (const local of ['127.0.0.1:1', 'localhost:1', '[::1]:1', 'unix:/run/sb.sock', 'dns:///localhost:1']) {
      expect(isLocalEndpoint(local), local).toBe(true);
    }
    for (const remote of ['10.0.0.1:1', 'example.com:1', '[2001:db8::1]:1', '0.0.0.0:1', 'dns:///python.svc:1']) {
      expect(isLocalEndpoint(remote), remote).toBe(false);
    }
  });
});
