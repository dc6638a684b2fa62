// The `protobuf` section of the config: the .proto files and the message
// types of each callable. Declared here, validated by core when it loads this package.

import { defineAdapterOptions, z } from '@snakebridge/core';

/** The `protobuf` settings, resolved. */
export interface ProtobufSettings {
  /** The .proto files that define your request and response messages. @default [] */
  readonly protoFiles: readonly string[];
  /** Per callable (dotted name), the message types of its arguments and result. @default {} */
  readonly callables: Readonly<
    Record<string, { readonly request?: string | undefined; readonly response?: string | undefined }>
  >;
}

const protobufSchema = z.strictObject({
  protoFiles: z.array(z.string().min(1)).optional(),
  callables: z
    .record(z.string(), z.strictObject({ request: z.string().optional(), response: z.string().optional() }))
    .optional(),
});

/** The `protobuf` settings as a user writes them. */
export type ProtobufSettingsInput = z.input<typeof protobufSchema>;

/** The `protobuf` section: its schema and defaults. */
export const protobufOptions = defineAdapterOptions<typeof protobufSchema, ProtobufSettings>({
  section: 'protobuf',
  schema: protobufSchema,
  defaults: { protoFiles: [], callables: {} },
});

declare module '@snakebridge/core' {
  interface AdapterSettings {
    protobuf: ProtobufSettingsInput;
  }
}
