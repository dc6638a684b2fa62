// Checks remote endpoints the way the invoker would use them, for
// `snakebridge doctor`: the channel security the config asks for, whether a
// server answers, its grpc.health.v1 status, whether it accepts the token
// (Stats, an authenticated call that changes nothing), and whether it agrees
// on the protocol and loads the serializer (Hello). Same credentials, channel
// options and connection code as the invoker, so what passes here connects there.

import { status } from '@grpc/grpc-js';
import { ConfigError, type Logger, type Serializer, silentLogger } from '@snakebridge/core';
import type { GrpcSettings } from './options.js';
import { BridgeConnection } from './wire/connection.js';
import { type ChannelSecurity, remoteSecurity } from './wire/credentials.js';

/** One step of a probe: whether it passed, and what was found, in a line. */
export interface ProbeStep {
  readonly ok: boolean;
  readonly detail: string;
}

/** How channels to the remote endpoints would be secured. */
export interface SecurityProbe extends ProbeStep {
  readonly tls: boolean;
  /** Set when plaintext goes beyond this machine because `grpc.insecure` allows it. */
  readonly warning: string | undefined;
}

/** What one endpoint answered. A step is undefined when an earlier one failed and it was not tried. */
export interface EndpointProbe {
  readonly endpoint: string;
  /** The server answered at all. */
  readonly reachable: ProbeStep;
  /** grpc.health.v1 says SERVING. */
  readonly health: ProbeStep | undefined;
  /** An authenticated call went through with the configured token. */
  readonly token: ProbeStep | undefined;
  /** The handshake: the same protocol, and a serializer the server can load. */
  readonly hello: ProbeStep | undefined;
}

export interface EndpointProbeOptions {
  readonly settings: GrpcSettings;
  readonly endpoint: string;
  /** The serializer to agree on in the handshake, by id (`msgpack`). */
  readonly serializer: string;
  /** Longest wait for each step. @default 3000 */
  readonly timeoutMs?: number | undefined;
}

/**
 * How the invoker would secure channels to `settings.endpoints`: TLS from
 * `grpc.tls` (its PEM files read), plaintext on this machine, or plaintext
 * beyond it, refused unless `grpc.insecure` (then with a warning).
 */
export function probeSecurity(settings: GrpcSettings): SecurityProbe {
  const warnings: string[] = [];
  let security: ChannelSecurity;
  try {
    security = remoteSecurity(settings, collectingLogger(warnings));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const reasons = error.issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ');
    return { ok: false, tls: settings.tls !== undefined, detail: reasons, warning: undefined };
  }
  if (security.tls) {
    const mutual = settings.tls?.cert !== undefined ? ', with a client certificate (mutual TLS)' : '';
    const ca = settings.tls?.ca !== undefined ? 'the CA in grpc.tls.ca' : "the system's CAs";
    return { ok: true, tls: true, detail: `TLS, servers checked against ${ca}${mutual}`, warning: undefined };
  }
  const warning = warnings[0];
  const detail = warning === undefined ? 'plaintext, to endpoints on this machine only' : 'plaintext (grpc.insecure)';
  return { ok: true, tls: false, detail, warning };
}

/**
 * Probes one endpoint: health, then the token, then the handshake, each
 * within `timeoutMs`. Never throws for what the server does; an endpoint the
 * config would refuse to reach (plaintext beyond this machine) is not
 * contacted at all, so the token never travels in the clear.
 */
export async function probeEndpoint(options: EndpointProbeOptions): Promise<EndpointProbe> {
  const { endpoint } = options;
  let security: ChannelSecurity;
  try {
    security = remoteSecurity(options.settings, silentLogger);
  } catch (error) {
    const detail = `not contacted: ${(error as Error).message.replace(/\s+/g, ' ')}`;
    return { endpoint, reachable: { ok: false, detail }, health: undefined, token: undefined, hello: undefined };
  }
  const timeoutMs = options.timeoutMs ?? 3_000;
  const connection = new BridgeConnection({
    address: endpoint,
    label: endpoint,
    security,
    serializer: namedSerializer(options.serializer),
  });
  try {
    return await probeSteps(connection, endpoint, timeoutMs, options.settings.token !== undefined);
  } finally {
    connection.close();
  }
}

async function probeSteps(
  connection: BridgeConnection,
  endpoint: string,
  timeoutMs: number,
  hasToken: boolean,
): Promise<EndpointProbe> {
  const { reachable, health } = await checkHealth(connection, timeoutMs);
  if (!reachable.ok) return { endpoint, reachable, health: undefined, token: undefined, hello: undefined };
  const token = await checkToken(connection, timeoutMs, hasToken);
  const hello = token.ok ? await checkHello(connection, timeoutMs) : undefined;
  return { endpoint, reachable, health, token, hello };
}

async function checkHealth(
  connection: BridgeConnection,
  timeoutMs: number,
): Promise<{ reachable: ProbeStep; health: ProbeStep | undefined }> {
  try {
    const serving = await connection.health(timeoutMs);
    return {
      reachable: { ok: true, detail: 'connected' },
      health:
        serving === 'SERVING'
          ? { ok: true, detail: 'grpc.health.v1 says SERVING' }
          : { ok: false, detail: `grpc.health.v1 says ${serving}: the server is starting, or shutting down` },
    };
  } catch (error) {
    const code = grpcCode(error);
    if (code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED) {
      const why = code === status.DEADLINE_EXCEEDED ? `no answer within ${timeoutMs} ms` : grpcDetails(error);
      return { reachable: { ok: false, detail: `could not connect: ${why}` }, health: undefined };
    }
    const detail =
      code === status.UNIMPLEMENTED
        ? 'it has no grpc.health.v1 service: is it a SnakeBridge server (python -m snakebridge.server)?'
        : `the health check failed: ${grpcDetails(error)}`;
    return { reachable: { ok: true, detail: 'connected' }, health: { ok: false, detail } };
  }
}

async function checkToken(connection: BridgeConnection, timeoutMs: number, hasToken: boolean): Promise<ProbeStep> {
  try {
    await connection.stats(timeoutMs);
    return {
      ok: true,
      detail: hasToken
        ? 'an authenticated call (Stats) went through: the token is accepted (or the server checks none)'
        : 'an authenticated call (Stats) went through without a token: the server asks for none',
    };
  } catch (error) {
    const code = grpcCode(error);
    if (code === status.UNAUTHENTICATED) return { ok: false, detail: `refused: ${grpcDetails(error)}` };
    if (code === status.PERMISSION_DENIED) {
      return { ok: false, detail: `refused: ${grpcDetails(error)} (the client certificate, grpc.tls.cert/key)` };
    }
    return { ok: false, detail: `an authenticated call (Stats) failed: ${grpcDetails(error)}` };
  }
}

async function checkHello(connection: BridgeConnection, timeoutMs: number): Promise<ProbeStep> {
  try {
    const reply = await connection.hello(timeoutMs);
    return {
      ok: true,
      detail: `protocol ${reply.protocol}, serializer ${reply.serializer}, Python ${reply.python} (pid ${reply.pid})`,
    };
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  }
}

/**
 * Hello only names the serializer and sends its Python options: a stand-in
 * that cannot encode is enough, and keeps the probe free of serializer packages.
 */
function namedSerializer(id: string): Serializer {
  const refuse = (): never => {
    throw new Error('the endpoint probe sends no values');
  };
  return {
    id,
    wireId: 0,
    contentType: 'application/octet-stream',
    supports: new Set(),
    encode: refuse,
    decode: refuse,
  };
}

function grpcCode(error: unknown): number | undefined {
  const code = (error as { grpcCode?: unknown } | null)?.grpcCode;
  return typeof code === 'number' ? code : undefined;
}

/** The server's own words (the gRPC status details) rather than our wrapping of them. */
function grpcDetails(error: unknown): string {
  const cause = (error as { cause?: { details?: unknown } }).cause;
  return typeof cause?.details === 'string' && cause.details !== '' ? cause.details : String((error as Error).message);
}

function collectingLogger(warnings: string[]): Logger {
  return { ...silentLogger, warn: (message: string) => void warnings.push(message) };
}
