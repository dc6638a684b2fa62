// Remote gRPC endpoints (`invoker: 'grpc'`, `grpc.mode: 'remote'`): channel
// security, then for each endpoint reachability, health, the token and the
// handshake, with @snakebridge/adapter-grpc's own connection code, imported
// only when a config needs it.

import type { EndpointProbe, ProbeStep, SecurityProbe } from '@snakebridge/adapter-grpc';
import type { ResolvedConfig } from '@snakebridge/core';
import { type Check, fail, ok, warn } from './checks.js';

/** What the doctor uses of @snakebridge/adapter-grpc. */
export type GrpcProbes = Pick<
  typeof import('@snakebridge/adapter-grpc'),
  'probeSecurity' | 'probeEndpoint' | 'grpcOptions'
>;

const ADAPTER = '@snakebridge/adapter-grpc';
/** Longest wait for each step of each endpoint's probe. */
const STEP_TIMEOUT_MS = 3_000;

/** Imports the adapter by name, so the command line works without it until a config needs it. */
export async function loadGrpcAdapter(): Promise<GrpcProbes> {
  return import('@snakebridge/adapter-grpc');
}

/** The checks of a remote gRPC config; a missing adapter package is one failed check. */
export async function grpcChecks(
  config: ResolvedConfig,
  load: () => Promise<GrpcProbes> = loadGrpcAdapter,
): Promise<Check[]> {
  let probes: GrpcProbes;
  try {
    probes = await load();
  } catch (error) {
    return [
      fail(
        'grpc.adapter',
        ADAPTER,
        `cannot be imported (${firstLine(error)}): invoker 'grpc' needs it`,
        `pnpm add ${ADAPTER} (or npm install ${ADAPTER})`,
      ),
    ];
  }
  const settings = probes.grpcOptions.resolve(config);
  const security = securityCheck(probes.probeSecurity(settings));
  const endpoints = await Promise.all(
    settings.endpoints.map((endpoint) =>
      probes.probeEndpoint({
        settings,
        endpoint,
        serializer: config.serializer,
        timeoutMs: STEP_TIMEOUT_MS,
      }),
    ),
  );
  return [security, ...endpoints.flatMap((probe) => endpointChecks(probe, config.serializer))];
}

function securityCheck(probe: SecurityProbe): Check {
  const id = 'grpc.tls';
  const title = 'Channel security';
  if (!probe.ok) {
    const fix = /cannot read/.test(probe.detail)
      ? 'point grpc.tls.ca, .cert and .key at readable PEM files (or give the PEM text)'
      : "set grpc.tls: { ca: '<ca.pem>' } (and start the servers with --tls-cert and --tls-key), " +
        'or grpc.insecure: true on a network you trust';
    return fail(id, title, probe.detail, fix);
  }
  if (probe.warning !== undefined) {
    return warn(
      id,
      title,
      `${probe.detail}: ${probe.warning}`,
      "set grpc.tls: { ca: '<ca.pem>' } and remove grpc.insecure",
    );
  }
  return ok(id, title, probe.detail);
}

function endpointChecks(probe: EndpointProbe, serializer: string): Check[] {
  const step = (name: string, title: string, result: ProbeStep | undefined, fix: string): Check[] => {
    if (result === undefined) return [];
    const id = `grpc.${probe.endpoint}.${name}`;
    const label = `${probe.endpoint}: ${title}`;
    return [result.ok ? ok(id, label, result.detail) : fail(id, label, result.detail, fix)];
  };
  return [
    ...step('reachable', 'connection', probe.reachable, reachFix(probe)),
    ...step('health', 'health', probe.health, "check the server's log: it says NOT_SERVING while it starts or drains"),
    ...step(
      'token',
      'token',
      probe.token,
      'set grpc.token (or SNAKEBRIDGE_GRPC_TOKEN) to the token the server was started with ' +
        '(its --token, --token-file or SNAKEBRIDGE_TOKEN)',
    ),
    ...step(
      'handshake',
      'handshake',
      probe.hello,
      `install matching versions of ${ADAPTER} and snakebridge on the server, with the serializer's packages ` +
        `(pip install 'snakebridge[${serializer}]')`,
    ),
  ];
}

function reachFix(probe: EndpointProbe): string {
  if (probe.reachable.detail.startsWith('not contacted')) {
    return "set grpc.tls: { ca: '<ca.pem>' }, or grpc.insecure: true on a network you trust";
  }
  return (
    `start the server there (python -m snakebridge.server --host <address> --port <port>), ` +
    'or fix grpc.endpoints (or SNAKEBRIDGE_GRPC_ENDPOINTS)'
  );
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0] ?? '';
}

/**
 * Where a gRPC config runs Python, read from the raw `grpc` section: the
 * adapter (which validates it) may not be installed where the doctor runs.
 */
export function grpcMode(config: ResolvedConfig): 'managed' | 'remote' {
  return config.grpc.mode === 'remote' ? 'remote' : 'managed';
}

/** The endpoints of a remote config as written, for progress messages. */
export function grpcEndpoints(config: ResolvedConfig): string[] {
  const endpoints = config.grpc.endpoints;
  return Array.isArray(endpoints) ? endpoints.map(String) : [];
}
