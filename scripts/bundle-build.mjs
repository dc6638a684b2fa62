// After tsc, in a package's build: bundles its compiled modules into one file
// per entry point (index.js, and the entries named after it), and removes the
// modules that went into them. Node 20 loads ES modules one file at a time,
// and a fresh process spent more time resolving, reading and compiling our
// ninety small files than running them (docs/performance.md, "Start-up").
// Other packages stay imports, except those named with --inline (core inlines
// inversify, zod and @opentelemetry/api, each dozens of files, so that one
// copy of each is loaded). The .d.ts files are tsc's, unchanged; the sources
// and the tests are untouched (the workspace runs the TypeScript sources).
//
//   node ../../scripts/bundle-build.mjs [--inline a,b] [extra-entry.js ...]

import { readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const { values, positionals } = parseArgs({
  options: { inline: { type: 'string', default: '' } },
  allowPositionals: true,
});
const inline = new Set(values.inline.split(',').filter((name) => name !== ''));
const DIST = resolve('dist');
const entries = ['index.js', ...positionals].map((entry) => join(DIST, entry));

const result = await build({
  entryPoints: entries,
  outdir: DIST,
  outbase: DIST,
  allowOverwrite: true,
  bundle: true,
  // Entries that share modules (core's index and testing) share one chunk, so that a class is defined once.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  legalComments: 'inline',
  metafile: true,
  logLevel: 'warning',
  plugins: [externalPackages(inline)],
});

// What went into the bundles is no longer needed beside them: only the outputs (and the .d.ts files) stay.
const outputs = new Set(Object.keys(result.metafile.outputs).map((file) => resolve(file)));
for (const file of compiledModules(DIST)) {
  if (!outputs.has(file)) rmSync(file);
  if (!outputs.has(file) && !outputs.has(`${file}.map`)) rmSync(`${file}.map`, { force: true });
}
if (outputs.size === 0) throw new Error(`bundle-build: nothing was built in ${relative('.', DIST)}`);

/** Every bare import of the package's own modules stays an import, but those in `inline` (with all they import). */
function externalPackages(names) {
  return {
    name: 'external-packages',
    setup(context) {
      context.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.importer.includes(`${sep}node_modules${sep}`)) return undefined;
        const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
        return names.has(name) ? undefined : { path: args.path, external: true };
      });
    },
  };
}

/** Every .js file under `dir`. */
function compiledModules(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return compiledModules(path);
    return path.endsWith('.js') ? [path] : [];
  });
}
