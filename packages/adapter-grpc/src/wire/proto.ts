// The two services this adapter speaks, loaded once at run time: the Bridge
// service from the bridge.proto bundled with the Python runtime (the single
// source of truth, shared with the server), and grpc.health.v1, bundled here.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MethodDefinition } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition, type ServiceDefinition } from '@grpc/proto-loader';
import { runtimePath } from '@snakebridge/process-pool';

/** Ops as proto-loader gives enum values: by name. */
export type WireOp = 'OP_CALL' | 'OP_GETATTR' | 'OP_SETATTR' | 'OP_EVAL' | 'OP_EXEC' | 'OP_ITER';

export interface HelloRequest {
  readonly protocol: number;
  readonly serializer: string;
  readonly serializerOptions: Uint8Array;
}

export interface HelloReply {
  readonly protocol: number;
  readonly pid: number;
  readonly python: string;
  readonly serializer: string;
}

export interface CallRequest {
  readonly op: WireOp;
  readonly target: string;
  readonly handle: number;
  readonly session: string;
  readonly serializer: string;
  readonly payload: Uint8Array;
  /** Pipelining: the promised handle id the outcome is kept under, 0 (or absent) for none. */
  readonly promise?: number;
  /** Pipelining: the host's pipeline scope, when the call makes or names a promised handle; else absent. */
  readonly pipeline?: string;
}

export interface CallReply {
  /** Which of the oneof fields is set. */
  readonly outcome?: 'result' | 'error' | undefined;
  readonly result?: Uint8Array | undefined;
  readonly error?: Uint8Array | undefined;
}

/** What the host sends on an Exchange: the call first, then credit (streams) and callback answers. */
export type ExchangeRequest =
  | { readonly call: CallRequest; readonly window: number }
  | { readonly credit: number }
  | { readonly callbackResult: CallbackResult };

/** The host's answer to a callback: the function's encoded return value, or what it threw (JSON). */
export type CallbackResult = { readonly id: number } & (
  | { readonly result: Uint8Array }
  | { readonly error: Uint8Array }
);

/** What the server sends on an Exchange. */
export interface ExchangeReply {
  /** Which of the oneof fields is set. */
  readonly message?: 'item' | 'error' | 'result' | 'callback' | undefined;
  readonly item?: Uint8Array | undefined;
  readonly error?: Uint8Array | undefined;
  readonly result?: Uint8Array | undefined;
  readonly callback?: { readonly id: number; readonly payload: Uint8Array } | undefined;
}

export interface ReleaseRequest {
  readonly handles: readonly number[];
  readonly session: string;
  /** The pipeline scope of the promised handle ids among `handles`. */
  readonly pipeline: string;
}

export interface StatsReply {
  readonly rss: number;
  readonly inFlight: number;
  readonly handles: number;
}

export interface HealthCheckRequest {
  readonly service: string;
}

export interface HealthCheckResponse {
  readonly status: 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
}

/** The service names as the server registers them. */
export const BRIDGE_SERVICE = 'snakebridge.v1.Bridge';
const HEALTH_SERVICE = 'grpc.health.v1.Health';

export interface Services {
  readonly hello: MethodDefinition<HelloRequest, HelloReply>;
  readonly call: MethodDefinition<CallRequest, CallReply>;
  readonly exchange: MethodDefinition<ExchangeRequest, ExchangeReply>;
  readonly release: MethodDefinition<ReleaseRequest, Record<string, never>>;
  readonly stats: MethodDefinition<Record<string, never>, StatsReply>;
  readonly check: MethodDefinition<HealthCheckRequest, HealthCheckResponse>;
}

let loaded: Services | undefined;

/** The method definitions (paths and codecs) of both services, loaded on first use. */
export function services(): Services {
  if (loaded !== undefined) return loaded;
  const bridgeRoot = runtimePath();
  // src/wire/proto.ts and dist/wire/proto.js are both two levels below the package root.
  const healthRoot = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'proto');
  const definition: PackageDefinition = loadSync(['snakebridge/server/bridge.proto', 'grpc/health/v1/health.proto'], {
    includeDirs: [bridgeRoot, healthRoot],
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const bridge = definition[BRIDGE_SERVICE] as ServiceDefinition;
  const health = definition[HEALTH_SERVICE] as ServiceDefinition;
  loaded = {
    hello: bridge.Hello as MethodDefinition<HelloRequest, HelloReply>,
    call: bridge.Call as MethodDefinition<CallRequest, CallReply>,
    exchange: bridge.Exchange as MethodDefinition<ExchangeRequest, ExchangeReply>,
    release: bridge.Release as MethodDefinition<ReleaseRequest, Record<string, never>>,
    stats: bridge.Stats as MethodDefinition<Record<string, never>, StatsReply>,
    check: health.Check as MethodDefinition<HealthCheckRequest, HealthCheckResponse>,
  };
  return loaded;
}
