// The `grpc` section of the config: managed or remote servers, TLS, tokens,
// message size and health checks. Declared here, validated by core when it
// loads this package (and by the invoker when it is built without a container).

import { type ConfigIssue, defineAdapterOptions, z } from '@snakebridge/core';

export interface GrpcTlsSettings {
  /** PEM of the CA that signed the server certificate (a path or the PEM text). */
  readonly ca: string | undefined;
  /** Client certificate and key, for mutual TLS. */
  readonly cert: string | undefined;
  readonly key: string | undefined;
  /** Name to check in the server certificate, if it differs from the host. */
  readonly serverName: string | undefined;
}

/** The `grpc` settings, resolved. */
export interface GrpcSettings {
  /** `managed` spawns local Python servers; `remote` connects to `endpoints`. @default 'managed' */
  readonly mode: 'managed' | 'remote';
  /** `host:port` (or `unix:/path`) of remote servers. @default [] */
  readonly endpoints: readonly string[];
  readonly tls: GrpcTlsSettings | undefined;
  /** Bearer token sent with every call. @default undefined */
  readonly token: string | undefined;
  /** Allow plaintext to a non-loopback endpoint (logs a warning). @default false */
  readonly insecure: boolean;
  /** Largest message either side accepts. @default 64 MiB */
  readonly maxMessageBytes: number;
  /** Health check period of remote endpoints. @default 2000 */
  readonly healthCheckIntervalMs: number;
}

const tlsSchema = z.strictObject({
  ca: z.string().optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
  serverName: z.string().optional(),
});

const grpcSchema = z.strictObject({
  mode: z.enum(['managed', 'remote']).optional(),
  endpoints: z.array(z.string().min(1)).optional(),
  tls: tlsSchema.optional(),
  token: z.string().min(1).optional(),
  insecure: z.boolean().optional(),
  maxMessageBytes: z.number().int().positive().optional(),
  healthCheckIntervalMs: z.number().int().positive().optional(),
});

/** The `grpc` settings as a user writes them. */
export type GrpcSettingsInput = z.input<typeof grpcSchema>;

/** The `grpc` section: its schema, defaults and combinations. `grpcOptions.resolve(config)` gives the settings. */
export const grpcOptions = defineAdapterOptions<typeof grpcSchema, GrpcSettings>({
  section: 'grpc',
  schema: grpcSchema,
  defaults: {
    mode: 'managed',
    endpoints: [],
    tls: undefined,
    token: undefined,
    insecure: false,
    maxMessageBytes: 64 * 1024 * 1024,
    healthCheckIntervalMs: 2_000,
  },
  check: (grpc, config) => {
    const issues: ConfigIssue[] = [];
    if (config.invoker === 'grpc' && grpc.mode === 'remote' && grpc.endpoints.length === 0) {
      issues.push({
        field: 'grpc.endpoints',
        message: "remote mode needs at least one endpoint ('host:port'); or use grpc.mode 'managed'",
      });
    }
    const { cert, key } = grpc.tls ?? {};
    if ((cert === undefined) !== (key === undefined)) {
      issues.push({ field: 'grpc.tls', message: 'cert and key go together (mutual TLS needs both)' });
    }
    return issues;
  },
});

declare module '@snakebridge/core' {
  interface AdapterSettings {
    grpc: GrpcSettingsInput;
  }
}
