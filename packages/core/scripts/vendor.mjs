// After tsc: bundles inversify, zod and @opentelemetry/api into one file each under dist/vendor/,
// and points core's built modules at them. Node loads each of those packages
// from dozens of small ESM files, which cost a fresh process about 200 ms
// (docs/performance.md, "Start-up"); one file each costs a tenth of that.
// The sources and the tests import the packages as usual (the TypeScript
// sources are what the workspace runs); only the published build is changed.
// The .d.ts files still name the packages, which stay dependencies for their types.

import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(PACKAGE, 'dist');
const VENDORED = ['inversify', 'zod', '@opentelemetry/api'];

for (const name of VENDORED) {
  await build({
    stdin: { contents: `export * from '${name}';`, resolveDir: PACKAGE, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outfile: join(DIST, 'vendor', `${fileName(name)}.js`),
    legalComments: 'inline',
    logLevel: 'warning',
  });
}

/** `@opentelemetry/api` → `opentelemetry-api`. */
function fileName(name) {
  return name.replace(/^@/, '').replace('/', '-');
}

/** Every .js file of the build, but the vendored ones. */
function builtModules(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return entry === 'vendor' ? [] : builtModules(path);
    return path.endsWith('.js') ? [path] : [];
  });
}

let rewritten = 0;
for (const file of builtModules(DIST)) {
  const text = readFileSync(file, 'utf8');
  let changed = text;
  for (const name of VENDORED) {
    let target = relative(dirname(file), join(DIST, 'vendor', `${fileName(name)}.js`))
      .split(sep)
      .join('/');
    if (!target.startsWith('.')) target = `./${target}`;
    changed = changed.replaceAll(`from '${name}'`, `from '${target}'`).replaceAll(`from "${name}"`, `from "${target}"`);
  }
  if (changed !== text) {
    writeFileSync(file, changed);
    rewritten += 1;
  }
}
if (rewritten === 0) throw new Error('vendor.mjs: no module imports the vendored packages any more; remove this step');
