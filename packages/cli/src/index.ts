// @snakebridge/cli: the `snakebridge` command line, and its parts for use
// from code (generating declarations without the command line, for example).

export { run } from './cli.js';
export { type LoadConfigOptions, type LoadedConfig, loadConfig } from './config/load-config.js';
export { CommandError, EXIT, type ExitCode } from './errors.js';
export { type IntrospectOptions, type ProgressEvent, runIntrospector } from './introspect/run-introspector.js';
export { type ModuleCoverage, summarize, typedShare } from './typegen/coverage.js';
export { fileNameOf, type GeneratedFile, type GenerateOptions, generateDeclarations } from './typegen/generate.js';
export type * from './typegen/introspection.js';
export { INTROSPECTION_FORMAT, isModuleFailure } from './typegen/introspection.js';
export { buildLockfile, formatLockfile, type Lockfile, lockfileDrift, signatureHash } from './typegen/lockfile.js';
export type { CallableCoverage } from './typegen/module-file.js';
