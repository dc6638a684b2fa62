// One Vitest run for the whole workspace. Packages resolve to their TypeScript
// sources through the "@snakebridge/source" export condition, so tests need no build.

import { defineConfig } from 'vitest/config';

const conditions = ['@snakebridge/source', 'import', 'module', 'node', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests spawn real Python processes; two files at a time suit a two-core machine.
    maxWorkers: 2,
  },
});
