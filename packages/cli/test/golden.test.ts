// The generator pinned by a golden file: the introspection vector of the
// fixture module (which pytest checks Python still produces) must give
// exactly vectors/introspect/typing_fixture.d.ts.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixtureDeclarations, GOLDEN } from './write-golden.js';

describe('the golden declarations of the fixture module', () => {
  it('are what the generator writes from the golden introspection (regenerate with test/write-golden.ts)', () => {
    expect(fixtureDeclarations()).toBe(readFileSync(GOLDEN, 'utf8'));
  });
});
