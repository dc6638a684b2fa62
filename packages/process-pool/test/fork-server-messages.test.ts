// The host's side of the fork server's messages against the golden vectors
// shared with Python, and which pools fork their workers at all.

import { readFileSync } from 'node:fs';
import { resolveConfig, type SnakeBridgeSettings } from '@snakebridge/core';
import { describe, expect, it } from 'vitest';
import {
  decodeForkServerEvent,
  encodeForkServerRequest,
  FORK_PREAMBLE_BYTES,
  type ForkServerRequest,
  whySpawn,
} from '../src/index.js';

interface Vector {
  readonly name: string;
  readonly message: Record<string, unknown>;
  readonly line: string;
}

const DOCUMENT = JSON.parse(
  readFileSync(new URL('../../../vectors/protocol/fork-server.json', import.meta.url), 'utf8'),
) as {
  requests: Vector[];
  events: Vector[];
  preambles: { name: string; token: string; fd: number; hex: string }[];
};

describe('fork server messages, against the golden vectors', () => {
  it.each(DOCUMENT.requests)('writes the request: $name', ({ message, line }) => {
    expect(encodeForkServerRequest(message as unknown as ForkServerRequest)).toBe(`${line}\n`);
  });

  it('writes its keys in the documented order, whatever order the request object has', () => {
    const request = { token: '00112233445566778899aabbccddeeff', workerId: 'w2', id: 1, op: 'fork' } as const;
    expect(encodeForkServerRequest(request)).toBe(`${DOCUMENT.requests[0]?.line}\n`);
  });

  it.each(DOCUMENT.events)('reads the event: $name', ({ message, line }) => {
    expect(decodeForkServerEvent(line)).toEqual(message);
  });

  it.each([
    ['not JSON', 'ready'],
    ['an unknown event', '{"event":"exec","pid":1}'],
    ['a ready without a pid', '{"event":"ready"}'],
    ['a pid of 0', '{"event":"forked","id":1,"pid":0}'],
    ['an exit with both a code and a signal', '{"event":"exit","pid":5,"code":1,"signal":"SIGKILL"}'],
    ['an exit with neither', '{"event":"exit","pid":5,"code":null,"signal":null}'],
    ['an exit code past 255', '{"event":"exit","pid":5,"code":256,"signal":null}'],
    ['a signal that is not a signal name', '{"event":"exit","pid":5,"code":null,"signal":"rm -rf"}'],
    ['a fork-failed without its message', '{"event":"fork-failed","id":1}'],
  ])('refuses an event line that is %s', (_, line) => {
    expect(() => decodeForkServerEvent(line)).toThrow(/event/);
  });

  it.each(DOCUMENT.preambles)('opens a connection with the token, then the fd: $name', ({ token, fd, hex }) => {
    const preamble = Buffer.concat([Buffer.from(token, 'hex'), Buffer.of(fd)]);
    expect(preamble.toString('hex')).toBe(hex);
    expect(preamble.length).toBe(FORK_PREAMBLE_BYTES);
  });
});

describe('which pools fork their workers', () => {
  const config = (settings: SnakeBridgeSettings) => resolveConfig(settings, { env: {} });

  it('forks on Linux by default', () => {
    expect(whySpawn(config({}), 'linux')).toBeUndefined();
  });

  it('spawns when pool.forkServer is false', () => {
    expect(whySpawn(config({ pool: { forkServer: false } }), 'linux')).toMatch(/pool\.forkServer is false/);
  });

  it('spawns on other platforms', () => {
    expect(whySpawn(config({}), 'darwin')).toMatch(/Linux only/);
    expect(whySpawn(config({}), 'win32')).toMatch(/Linux only/);
  });

  it('spawns a sandboxed pool: its workers start from a fresh exec', () => {
    expect(whySpawn(config({ security: { sandbox: { enabled: true } } }), 'linux')).toMatch(/sandbox/);
  });
});
