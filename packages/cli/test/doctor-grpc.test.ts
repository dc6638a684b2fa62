// `snakebridge doctor` for remote gRPC: an endpoint nothing listens on, a
// real server (healthy, and with a wrong token), channel security, and the
// adapter package missing.

import { resolveConfig } from '@snakebridge/core';
import { afterAll, describe, expect, it } from 'vitest';
import { grpcChecks } from '../src/doctor/grpc-checks.js';
import { check, closedPort, doctor, project, removeTemporaryDirectories, startServer, stopServers } from './helpers.js';

const TOKEN = 'correct horse battery staple';

afterAll(async () => {
  await stopServers();
  removeTemporaryDirectories();
});

/** A project calling these remote endpoints. */
function remote(prefix: string, grpc: Record<string, unknown>): string {
  return project(prefix, { invoker: 'grpc', grpc: { mode: 'remote', ...grpc } });
}

describe('snakebridge doctor with remote gRPC endpoints', () => {
  it('fails an endpoint nothing listens on, with what to check', async () => {
    const endpoint = `127.0.0.1:${await closedPort()}`;
    const { code, report } = await doctor(remote('doctor-grpc-closed', { endpoints: [endpoint] }));

    expect(code).toBe(1);
    expect(check(report, 'python').detail).toMatch(/remote servers/);
    expect(check(report, 'grpc.tls')).toMatchObject({
      status: 'ok',
      detail: 'plaintext, to endpoints on this machine only',
    });
    const reachable = check(report, `grpc.${endpoint}.reachable`);
    expect(reachable.status).toBe('fail');
    expect(reachable.detail).toMatch(/^could not connect/);
    expect(reachable.fix).toMatch(/grpc\.endpoints/);
    expect(report.checks.some((c) => c.id === `grpc.${endpoint}.health`)).toBe(false);
  });

  it('passes a real server: reachable, healthy, the token accepted and the handshake agreed', async () => {
    const endpoint = await startServer({ SNAKEBRIDGE_TOKEN: TOKEN });
    const { code, report } = await doctor(remote('doctor-grpc-ok', { endpoints: [endpoint], token: TOKEN }));

    expect(report.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(code).toBe(0);
    expect(check(report, `grpc.${endpoint}.health`).detail).toBe('grpc.health.v1 says SERVING');
    expect(check(report, `grpc.${endpoint}.token`).detail).toMatch(/the token is accepted/);
    expect(check(report, `grpc.${endpoint}.handshake`).detail).toMatch(/^protocol 2, serializer msgpack, Python 3\./);
  });

  it('detects a wrong token, and says where the right one comes from', async () => {
    const endpoint = await startServer({ SNAKEBRIDGE_TOKEN: TOKEN });
    const { code, report } = await doctor(remote('doctor-grpc-token', { endpoints: [endpoint], token: 'not it' }));

    expect(code).toBe(1);
    expect(check(report, `grpc.${endpoint}.health`).status).toBe('ok');
    const token = check(report, `grpc.${endpoint}.token`);
    expect(token.status).toBe('fail');
    expect(token.detail).toMatch(/bearer token is wrong/);
    expect(token.fix).toMatch(/grpc\.token \(or SNAKEBRIDGE_GRPC_TOKEN\)/);
  });

  it('fails plaintext beyond this machine without grpc.insecure, and contacts nothing', async () => {
    const endpoint = '10.255.255.1:50051';
    const { code, report } = await doctor(remote('doctor-grpc-plaintext', { endpoints: [endpoint] }));

    expect(code).toBe(1);
    expect(check(report, 'grpc.tls')).toMatchObject({ status: 'fail' });
    expect(check(report, 'grpc.tls').fix).toMatch(/grpc\.tls.*grpc\.insecure: true/);
    expect(check(report, `grpc.${endpoint}.reachable`).detail).toMatch(/^not contacted/);
  });

  it('fails when @snakebridge/adapter-grpc cannot be imported, with the command that installs it', async () => {
    const config = resolveConfig(
      { invoker: 'grpc', grpc: { mode: 'remote', endpoints: ['127.0.0.1:1'] } },
      { env: {} },
    );
    const missing = () => Promise.reject(new Error("Cannot find package '@snakebridge/adapter-grpc'"));
    const [only, ...rest] = await grpcChecks(config, missing);

    expect(rest).toEqual([]);
    expect(only).toMatchObject({
      id: 'grpc.adapter',
      status: 'fail',
      fix: expect.stringContaining('pnpm add @snakebridge/adapter-grpc'),
    });
    expect(only?.detail).toMatch(/Cannot find package/);
  });
});
