// The `mock` section of the config: strictness and recorded fixtures to
// replay. Declared here, validated by core when it loads this package.

import { defineAdapterOptions, z } from '@snakebridge/core';

/** The `mock` settings, resolved. */
export interface MockSettings {
  /** Fail calls nobody programmed, listing what was programmed. @default true */
  readonly strict: boolean;
  /** A fixture file of recorded calls to replay. @default undefined */
  readonly fixtures: string | undefined;
}

const mockSchema = z.strictObject({
  strict: z.boolean().optional(),
  fixtures: z.string().min(1).optional(),
});

/** The `mock` settings as a user writes them. */
export type MockSettingsInput = z.input<typeof mockSchema>;

/** The `mock` section: its schema and defaults. */
export const mockOptions = defineAdapterOptions<typeof mockSchema, MockSettings>({
  section: 'mock',
  schema: mockSchema,
  defaults: { strict: true, fixtures: undefined },
});

declare module '@snakebridge/core' {
  interface AdapterSettings {
    mock: MockSettingsInput;
  }
}
