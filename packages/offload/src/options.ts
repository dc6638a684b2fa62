// The `offload` section of the config: when payloads are encoded and decoded
// in worker threads. Declared here, validated by core when an invoker that
// offloads is loaded.

import { defineAdapterOptions, z } from '@snakebridge/core';

/** The `offload` settings, resolved. */
export interface OffloadSettings {
  /**
   * Payloads at least this big are encoded and decoded in worker threads, so
   * the event loop stays responsive; 0 keeps everything on the main thread.
   * @default 4 MiB
   */
  readonly thresholdBytes: number;
  /** Worker threads for that. @default 2 */
  readonly threads: number;
}

const offloadSchema = z.strictObject({
  /** Payloads at least this big are encoded and decoded in worker threads; 0 never. */
  thresholdBytes: z.number().int().nonnegative().optional(),
  /** Worker threads for that. */
  threads: z.number().int().positive().optional(),
});

/** The `offload` settings as a user writes them. */
export type OffloadSettingsInput = z.input<typeof offloadSchema>;

/** The `offload` section: its schema and defaults. `offloadOptions.resolve(config)` gives the settings. */
export const offloadOptions = defineAdapterOptions<typeof offloadSchema, OffloadSettings>({
  section: 'offload',
  schema: offloadSchema,
  defaults: { thresholdBytes: 4 * 1024 * 1024, threads: 2 },
});

declare module '@snakebridge/core' {
  interface AdapterSettings {
    offload: OffloadSettingsInput;
  }
}
