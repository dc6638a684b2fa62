// The endpoint probe `snakebridge doctor` runs: security as the invoker would
// set it up, then health, token and handshake against real servers.

import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { SnakeBridgeSettings } from '@snakebridge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcOptions, probeEndpoint, probeSecurity } from '../src/index.js';
import { type Certificates, makeCertificates, startServer, stopServers, testConfig } from './helpers.js';

const TOKEN = 'correct horse battery staple';

let certs: Certificates;
beforeAll(async () => {
  certs = await makeCertificates();
}, 30_000);
afterAll(async () => {
  await stopServers();
  rmSync(certs.dir, { recursive: true, force: true });
});

/** Resolved gRPC settings for remote mode. */
function grpc(settings: NonNullable<SnakeBridgeSettings['grpc']>) {
  return grpcOptions.resolve(testConfig({ grpc: { mode: 'remote', ...settings } }));
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('probeSecurity', () => {
  it('accepts plaintext to this machine, and TLS with readable files', () => {
    expect(probeSecurity(grpc({ endpoints: ['127.0.0.1:1'] }))).toMatchObject({ ok: true, tls: false });
    const tls = probeSecurity(grpc({ endpoints: ['10.0.0.7:50051'], tls: { ca: certs.ca } }));
    expect(tls).toMatchObject({ ok: true, tls: true });
    expect(tls.detail).toContain('grpc.tls.ca');
  });

  it('refuses plaintext beyond this machine, unless grpc.insecure allows it with a warning', () => {
    const refused = probeSecurity(grpc({ endpoints: ['10.0.0.7:50051'] }));
    expect(refused.ok).toBe(false);
    expect(refused.detail).toMatch(/10\.0\.0\.7:50051 is not on this machine/);
    const allowed = probeSecurity(grpc({ endpoints: ['10.0.0.7:50051'], insecure: true }));
    expect(allowed).toMatchObject({ ok: true, tls: false });
    expect(allowed.warning).toMatch(/plaintext to 10\.0\.0\.7:50051/);
  });

  it('names a TLS file it cannot read', () => {
    const result = probeSecurity(grpc({ endpoints: ['127.0.0.1:1'], tls: { ca: '/no/such/ca.pem' } }));
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/grpc\.tls\.ca: cannot read '\/no\/such\/ca\.pem'/);
  });
});

describe('probeEndpoint', () => {
  it('finds a TLS server healthy, its token accepted and the handshake agreed', async () => {
    const server = await startServer(['--tls-cert', certs.serverCert, '--tls-key', certs.serverKey], {
      env: { SNAKEBRIDGE_TOKEN: TOKEN },
    });
    const settings = grpc({ endpoints: [server.endpoint], tls: { ca: certs.ca }, token: TOKEN });
    const probe = await probeEndpoint({ settings, endpoint: server.endpoint, serializer: 'msgpack' });
    expect(probe.reachable.ok).toBe(true);
    expect(probe.health).toEqual({ ok: true, detail: 'grpc.health.v1 says SERVING' });
    expect(probe.token?.ok).toBe(true);
    expect(probe.hello?.ok).toBe(true);
    expect(probe.hello?.detail).toContain(`serializer msgpack`);
    expect(probe.hello?.detail).toContain(`pid ${server.pid}`);
  });

  it('reports a wrong token in the server’s words, and goes no further', async () => {
    const server = await startServer([], { env: { SNAKEBRIDGE_TOKEN: TOKEN } });
    const settings = grpc({ endpoints: [server.endpoint], token: 'not the token' });
    const probe = await probeEndpoint({ settings, endpoint: server.endpoint, serializer: 'json' });
    expect(probe.health?.ok).toBe(true);
    expect(probe.token).toMatchObject({ ok: false });
    expect(probe.token?.detail).toMatch(/bearer token is wrong/);
    expect(probe.hello).toBeUndefined();
  });

  it('reports a serializer the server cannot load as a failed handshake', async () => {
    const server = await startServer();
    const settings = grpc({ endpoints: [server.endpoint] });
    const probe = await probeEndpoint({ settings, endpoint: server.endpoint, serializer: 'no-such-serializer' });
    expect(probe.token?.ok).toBe(true);
    expect(probe.hello?.ok).toBe(false);
    expect(probe.hello?.detail).toMatch(/unknown serializer 'no-such-serializer'/);
  });

  it('reports an endpoint nothing listens on as unreachable', async () => {
    const endpoint = `127.0.0.1:${await closedPort()}`;
    const probe = await probeEndpoint({ settings: grpc({ endpoints: [endpoint] }), endpoint, serializer: 'json' });
    expect(probe.reachable.ok).toBe(false);
    expect(probe.reachable.detail).toMatch(/^could not connect/);
    expect(probe.health).toBeUndefined();
  });

  it('does not contact an endpoint the config would reach in plaintext beyond this machine', async () => {
    const endpoint = '10.255.255.1:50051';
    const probe = await probeEndpoint({ settings: grpc({ endpoints: [endpoint] }), endpoint, serializer: 'json' });
    expect(probe.reachable).toMatchObject({ ok: false });
    expect(probe.reachable.detail).toMatch(/^not contacted: .*not on this machine/);
  });
});
