// The declarations generated for the fixture module compile under
// `tsc --strict` with their own checking on (skipLibCheck off), and the
// compile-time tests beside them hold: what must fail to compile does
// (each `@ts-expect-error` is used), what must compile does.

import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { typecheck } from './helpers.js';

describe('generated declarations of the fixture module', () => {
  it('compile, and reject misspelled names, wrong argument types and wrong keywords', async () => {
    expect(await typecheck(fileURLToPath(new URL('./typing/tsconfig.json', import.meta.url)))).toBe('');
  }, 60_000);
});
