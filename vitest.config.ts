// One Vitest run for the whole workspace. Packages resolve to their TypeScript
// sources through the "@snakebridge/source" export condition, so tests need no build.
//
// Two projects: `unit` runs files side by side; `serial` (files named
// *.serial.test.ts: CPU speed-ups, chaos) runs them one at a time, after the
// others, because they need the machine's cores to themselves.

import { defineConfig } from 'vitest/config';

// No "module" condition: it names bundler builds, and some (@opentelemetry/api's) import files without
// extensions, which Node's ESM loader refuses when it loads them for the tests.
const conditions = ['@snakebridge/source', 'import', 'node', 'default'];
const shared = {
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
};
const everywhere = ['packages/*/test/**/', 'examples/**/', 'bench/**/'];

export default defineConfig({
  ...shared,
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        ...shared,
        test: {
          name: 'unit',
          include: everywhere.map((dir) => `${dir}*.test.ts`),
          exclude: ['**/*.serial.test.ts', '**/node_modules/**'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          // Tests spawn real Python processes; two files at a time suit a two-core machine.
          maxWorkers: 2,
        },
      },
      {
        ...shared,
        test: {
          name: 'serial',
          include: everywhere.map((dir) => `${dir}*.serial.test.ts`),
          testTimeout: 120_000,
          hookTimeout: 60_000,
          fileParallelism: false,
          maxWorkers: 1,
        },
      },
    ],
  },
});
