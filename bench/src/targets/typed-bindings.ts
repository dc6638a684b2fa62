// `snakebridge types` on large modules: the introspection of numpy, pandas
// and sklearn.ensemble in a fresh interpreter (its budget is 15 s a module),
// the generation of their declarations, and what they weigh.

import { generateDeclarations, isModuleFailure, type ModuleDescription, runIntrospector } from '@snakebridge/cli';
import { resolveConfig } from '@snakebridge/core';
import { findPython } from '@snakebridge/process-pool';
import { type Results, report } from '../measure.js';

const MODULES = ['numpy', 'pandas', 'sklearn.ensemble'];
const RUNS = 3;

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

const settings = resolveConfig({}, { env: {} }).python;
const { executable } = await findPython(settings);
const results: Results = {};
for (const name of MODULES) {
  const wall: number[] = [];
  const inProcess: number[] = [];
  let module: ModuleDescription | undefined;
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    const document = await runIntrospector({ executable, settings, modules: [name], budgetMs: 15_000 });
    wall.push(performance.now() - started);
    const [entry] = document.modules;
    if (entry === undefined || isModuleFailure(entry)) throw new Error(`${name} did not import`);
    module = entry;
    inProcess.push(entry.budget.elapsed_ms);
  }
  const described = module as ModuleDescription;
  const started = performance.now();
  const [file] = generateDeclarations([described], { serializer: 'msgpack', generator: 'bench' });
  const generateMs = performance.now() - started;
  results[`snakebridge types ${name}`] = {
    introspectionMs: median(wall),
    inInterpreterMs: median(inProcess),
    generateMs,
    declarationKB: (file?.text.length ?? 0) / 1024,
    callables: file?.coverage.length ?? 0,
  };
}
report('typed-bindings', results);
