import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '@snakebridge/core';
import { afterAll, describe, expect, it } from 'vitest';
import { findPython, runtimePath } from '../src/index.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = mkdtempSync(join(tmpdir(), 'snakebridge-runtime-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('the bundled Python runtime', () => {
  it('is found in the repository through the python/ link', () => {
    expect(existsSync(join(runtimePath(), 'snakebridge', '__main__.py'))).toBe(true);
  });

  it('is copied whole, without caches, by the pack script, and the copy runs', async () => {
    execFileSync(process.execPath, [join(packageRoot, 'scripts', 'bundle-runtime.mjs'), '--out', out]);
    expect(existsSync(join(out, 'snakebridge', '__main__.py'))).toBe(true);
    expect(existsSync(join(out, 'snakebridge', 'server', 'bridge.proto'))).toBe(true);
    expect(execFileSync('find', [out, '-name', '__pycache__']).toString()).toBe('');

    const python = await findPython(resolveConfig({}).python);
    const loadedFrom = execFileSync(python.executable, ['-c', 'import snakebridge; print(snakebridge.__file__)'], {
      env: { ...process.env, PYTHONPATH: out },
    }).toString();
    expect(loadedFrom.trim()).toBe(join(out, 'snakebridge', '__init__.py'));
  });

  it('is listed in the files npm publishes, with the scripts that make and remove it', () => {
    const manifest = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8'));
    expect(manifest.files).toContain('python-runtime');
    expect(manifest.scripts.prepack).toContain('bundle-runtime.mjs');
    expect(manifest.scripts.postpack).toContain('bundle-runtime.mjs clean');
  });
});
