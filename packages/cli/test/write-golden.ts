// Regenerates vectors/introspect/typing_fixture.d.ts from the introspection
// vector beside it: `npx tsx --conditions=@snakebridge/source packages/cli/test/write-golden.ts`.
// golden.test.ts checks the two agree.

import { readFileSync, writeFileSync } from 'node:fs';
import { generateDeclarations } from '../src/typegen/generate.js';
import type { ModuleDescription } from '../src/typegen/introspection.js';

export const VECTOR = new URL('../../../vectors/introspect/typing_fixture.json', import.meta.url);
export const GOLDEN = new URL('../../../vectors/introspect/typing_fixture.d.ts', import.meta.url);

/** The declarations the generator writes for the fixture's introspection, under msgpack. */
export function fixtureDeclarations(): string {
  const module = JSON.parse(readFileSync(VECTOR, 'utf8')) as ModuleDescription;
  const [file] = generateDeclarations([module], { serializer: 'msgpack', generator: 'snakebridge types' });
  return (file as { text: string }).text;
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop() as string)) {
  writeFileSync(GOLDEN, fixtureDeclarations());
  console.log(`wrote ${GOLDEN.pathname}`);
}
