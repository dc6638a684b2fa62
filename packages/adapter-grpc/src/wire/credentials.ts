// How channels are secured and tuned: TLS (with a client certificate for
// mutual TLS), the bearer token, and the refusal of plaintext to anything
// beyond this machine unless the config says `insecure`.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { type ChannelCredentials, type ChannelOptions, credentials, Metadata } from '@grpc/grpc-js';
import { ConfigError, type Logger } from '@snakebridge/core';
import type { GrpcSettings } from '../options.js';

/** Everything a channel to one server needs besides its address. */
export interface ChannelSecurity {
  readonly credentials: ChannelCredentials;
  readonly options: ChannelOptions;
  /** `authorization: Bearer …` metadata, or nothing. */
  readonly token: string | undefined;
  readonly tls: boolean;
}

/** Plaintext for servers this adapter started itself on the loopback interface. */
export function localSecurity(settings: GrpcSettings, token: string): ChannelSecurity {
  return { credentials: credentials.createInsecure(), options: channelOptions(settings), token, tls: false };
}

/**
 * TLS from `grpc.tls` (or plaintext, if every endpoint is on this machine or
 * `grpc.insecure` is set), for the remote endpoints.
 *
 * @throws ConfigError for plaintext to a remote endpoint without `grpc.insecure`, or an unreadable PEM file.
 */
export function remoteSecurity(settings: GrpcSettings, logger: Logger): ChannelSecurity {
  const options: Record<string, string | number> = { ...channelOptions(settings) };
  const { tls } = settings;
  if (tls !== undefined) {
    const serverName = tls.serverName;
    if (serverName !== undefined) {
      options['grpc.ssl_target_name_override'] = serverName;
      options['grpc.default_authority'] = serverName;
    }
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      throw new ConfigError([
        { field: 'grpc.tls', message: 'cert and key go together (a client certificate for mutual TLS)' },
      ]);
    }
    return {
      credentials: credentials.createSsl(
        pem(tls.ca, 'grpc.tls.ca'),
        pem(tls.key, 'grpc.tls.key'),
        pem(tls.cert, 'grpc.tls.cert'),
      ),
      options,
      token: settings.token,
      tls: true,
    };
  }
  const remote = settings.endpoints.filter((endpoint) => !isLocalEndpoint(endpoint));
  if (remote.length > 0) {
    if (!settings.insecure) {
      throw new ConfigError([
        {
          field: 'grpc.tls',
          message:
            `${remote.join(', ')} ${remote.length === 1 ? 'is' : 'are'} not on this machine, and calls (with the token) ` +
            'would travel in plaintext. Set grpc.tls (ca, and cert/key for mutual TLS), or grpc.insecure: true on a ' +
            'network you trust.',
        },
      ]);
    }
    logger.warn(
      `[grpc] plaintext to ${remote.join(', ')} (grpc.insecure): calls, results and the token can be read and ` +
        'changed by anyone on the network path',
    );
  }
  return { credentials: credentials.createInsecure(), options, token: settings.token, tls: false };
}

/** Metadata carrying the bearer token. */
export function tokenMetadata(token: string | undefined): Metadata {
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

/** True for endpoints only this machine can reach: Unix sockets, loopback addresses, localhost. */
export function isLocalEndpoint(endpoint: string): boolean {
  if (endpoint.startsWith('unix:') || endpoint.startsWith('unix-abstract:')) return true;
  const host = hostOf(endpoint);
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/** The host part of `host:port`, `[v6]:port`, `dns:///host:port`, `ipv4:host:port`. */
export function hostOf(endpoint: string): string {
  const target = endpoint.replace(/^dns:(\/\/[^/]*\/)?/, '').replace(/^ipv[46]:/, '');
  if (target.startsWith('[')) return target.slice(1, target.indexOf(']'));
  if (isIP(target) === 6) return target;
  const colon = target.lastIndexOf(':');
  return colon === -1 ? target : target.slice(0, colon);
}

function channelOptions(settings: GrpcSettings): ChannelOptions {
  return {
    'grpc.max_receive_message_length': settings.maxMessageBytes,
    'grpc.max_send_message_length': settings.maxMessageBytes,
    // Notice a peer that vanished without closing the connection (a pulled cable, a frozen VM) while calls wait.
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    // Reconnect soon after a server comes back: health checks can only see it once the channel has.
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': Math.max(1_000, settings.healthCheckIntervalMs),
    // Our own balancer picks servers; no service config from DNS TXT records.
    'grpc.service_config_disable_resolution': 1,
  };
}

function pem(value: string | undefined, field: string): Buffer | null {
  if (value === undefined) return null;
  if (value.includes('-----BEGIN')) return Buffer.from(value);
  try {
    return readFileSync(value);
  } catch (error) {
    throw new ConfigError([
      { field, message: `cannot read '${value}' (${(error as Error).message}); give a PEM file path or the PEM text` },
    ]);
  }
}
