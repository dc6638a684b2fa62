// Where remote endpoints come from. An entry of grpc.endpoints that is an
// address (an IP, localhost, a Unix socket) is one endpoint. An entry that is
// a DNS name is resolved here, not by gRPC: gRPC would connect to one of its
// addresses only, so a name for many servers (a Kubernetes headless Service)
// becomes one endpoint per address, and is resolved again periodically.

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { hostOf, isLocalEndpoint } from '../wire/credentials.js';

/** Resolves a host name to its addresses. */
export type Lookup = (name: string) => Promise<readonly string[]>;

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), every address. */
export const systemLookup: Lookup = async (name) => (await lookup(name, { all: true })).map((entry) => entry.address);

/** One entry of grpc.endpoints. */
export interface Source {
  /** As configured. */
  readonly configured: string;
  /** The DNS name to resolve into endpoints; undefined when the entry is used as it is. */
  readonly name: string | undefined;
  readonly port: string;
}

export function parseSource(configured: string): Source {
  if (configured.startsWith('unix:') || configured.startsWith('unix-abstract:') || isLocalEndpoint(configured)) {
    return { configured, name: undefined, port: '' };
  }
  const target = configured.replace(/^dns:(\/\/[^/]*\/)?/, '');
  const host = hostOf(target);
  const port = target.slice(target.lastIndexOf(':') + 1);
  // An address already, or no port to put after the addresses: leave it to gRPC.
  if (isIP(host) !== 0 || host === target || !/^\d+$/.test(port)) return { configured, name: undefined, port };
  return { configured, name: host, port };
}

/** `ip:port`, with an IPv6 address in brackets. */
export function addressOf(ip: string, port: string): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}
