// `snakebridge types`: introspects the configured Python modules in the
// configured interpreter, writes their TypeScript declarations and the
// lockfile, and reports signature coverage. `--check` writes nothing and
// fails when the installed Python no longer matches the lockfile.

import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { findPython } from '@snakebridge/process-pool';
import { createTwoFilesPatch } from 'diff';
import { loadConfig } from '../config/load-config.js';
import { CommandError, EXIT, type ExitCode } from '../errors.js';
import { runIntrospector } from '../introspect/run-introspector.js';
import type { Terminal } from '../output/terminal.js';
import { type ModuleCoverage, summarize, typedShare } from '../typegen/coverage.js';
import { type GeneratedFile, generateDeclarations } from '../typegen/generate.js';
import {
  type IntrospectionDocument,
  isModuleFailure,
  type ModuleDescription,
  type ModuleFailure,
} from '../typegen/introspection.js';
import { buildLockfile, formatLockfile, type Lockfile, lockfileDrift } from '../typegen/lockfile.js';
import { cliVersion } from '../version.js';

export interface TypesOptions {
  readonly cwd: string;
  /** Modules named on the command line; else the config's `bindings.modules`. */
  readonly modules: readonly string[];
  readonly config?: string | undefined;
  readonly environment?: string | undefined;
  readonly check: boolean;
  readonly strict: boolean;
  readonly minCoverage?: number | undefined;
  readonly out?: string | undefined;
  readonly lockfile?: string | undefined;
  readonly budgetMs?: number | undefined;
  readonly json: boolean;
  /** Every introspection warning, not only the first few of each module. */
  readonly verbose?: boolean | undefined;
}

/** Introspection warnings shown per module unless --verbose. */
const WARNINGS_SHOWN = 3;

/** Lines of a declaration diff shown before the rest is summed up. */
const MAX_DIFF_LINES = 200;

export async function typesCommand(options: TypesOptions, terminal: Terminal): Promise<ExitCode> {
  const { path: configPath, resolved } = await loadConfig({
    cwd: options.cwd,
    file: options.config,
    environment: options.environment,
  });
  const bindings = resolved.bindings;
  const modules = options.modules.length > 0 ? options.modules : bindings.modules;
  if (modules.length === 0) {
    throw new CommandError(
      'No modules to generate types for: name them (snakebridge types numpy) or list them in the config as bindings.modules.',
      EXIT.usage,
    );
  }
  const root = configPath === undefined ? options.cwd : dirname(configPath);
  const outDir = resolve(root, options.out ?? bindings.out);
  const lockPath = resolve(root, options.lockfile ?? bindings.lockfile);

  const python = await findPython(resolved.python);
  const document = await introspect(terminal, {
    executable: python.executable,
    settings: resolved.python,
    modules,
    budgetMs: options.budgetMs ?? bindings.budgetMs,
  });
  const described = describedModules(document, terminal);
  warnAboutModules(described, terminal, options.verbose === true);

  const generator = `@snakebridge/cli ${cliVersion()}`;
  const files = generateDeclarations(described, {
    serializer: resolved.serializer,
    ints: bindings.ints,
    generator: 'snakebridge types',
  });
  const coverage = new Map(files.map((file) => [file.module, summarize(file.coverage)]));
  const lockfile = buildLockfile({
    document,
    modules: described,
    files: new Map(
      files.map((file) => [file.module, toPosix(relative(dirname(lockPath), join(outDir, file.fileName)))]),
    ),
    coverage,
    generator,
    serializer: resolved.serializer,
    ints: bindings.ints,
  });

  const minCoverage = options.minCoverage ?? bindings.minCoverage;
  const underThreshold = [...coverage].filter(([, c]) => typedShare(c) < minCoverage).map(([module]) => module);
  const result = options.check
    ? await check(files, outDir, lockPath, lockfile, terminal, options.json)
    : await write(files, outDir, lockPath, lockfile);

  if (options.json) {
    terminal.out(
      JSON.stringify({ ...result, coverage: Object.fromEntries(coverage), minCoverage, underThreshold }, null, 2),
    );
  } else {
    reportCoverage(coverage, minCoverage, terminal);
    if (!options.check) {
      terminal.note(
        `${terminal.style('green', '✔')} wrote ${files.length} declaration file(s) to ${relativeTo(options.cwd, outDir)} and ${relativeTo(options.cwd, lockPath)}`,
      );
    }
  }
  if (!result.ok) return EXIT.failed;
  if (options.strict && underThreshold.length > 0) {
    terminal.error(
      `--strict: fewer than ${Math.round(minCoverage * 100)}% of the callables are fully typed in ${underThreshold.join(', ')}.`,
    );
    return EXIT.failed;
  }
  return EXIT.ok;
}

async function introspect(
  terminal: Terminal,
  options: Parameters<typeof runIntrospector>[0],
): Promise<IntrospectionDocument> {
  const progress = terminal.progress(`Introspecting ${options.modules.join(', ')} in ${options.executable}`);
  try {
    return await runIntrospector({
      ...options,
      onProgress: (event) => progress.update(`Introspecting ${event.module}: ${event.done}/${event.total} members`),
    });
  } finally {
    progress.stop();
  }
}

/** The modules that imported; a module that failed stops the command, with what to install. */
function describedModules(document: IntrospectionDocument, terminal: Terminal): ModuleDescription[] {
  const failures = document.modules.filter(isModuleFailure);
  for (const failure of failures) terminal.error(describeFailure(failure, document.python.executable));
  if (failures.length > 0) {
    throw new CommandError(`${failures.length} module(s) could not be introspected; nothing was written.`, EXIT.failed);
  }
  return document.modules.filter((entry): entry is ModuleDescription => !isModuleFailure(entry));
}

function describeFailure(failure: ModuleFailure, executable: string): string {
  const { type, message } = failure.error;
  if (type === 'ModuleNotFoundError' || type === 'ImportError') {
    const top = failure.module.split('.')[0];
    return `${failure.module}: ${message}. Install it into ${executable} (${executable} -m pip install ${top}), or fix python.* in the config.`;
  }
  return `${failure.module}: importing it raised ${type}: ${message}`;
}

function warnAboutModules(modules: readonly ModuleDescription[], terminal: Terminal, verbose: boolean): void {
  for (const module of modules) {
    const shown = verbose ? module.warnings : module.warnings.slice(0, WARNINGS_SHOWN);
    for (const warning of shown) terminal.warn(`${module.module}: ${warning}`);
    const hidden = module.warnings.length - shown.length;
    if (hidden > 0) terminal.warn(`${module.module}: ${hidden} more warning(s) like these; --verbose shows them all`);
    if (module.budget.exceeded) {
      terminal.warn(
        `${module.module}: introspection passed its budget of ${module.budget.limit_ms} ms; ` +
          `${module.budget.skipped.length} member(s) are untyped. Raise bindings.budgetMs to type them.`,
      );
    }
  }
}

interface CommandResult {
  readonly ok: boolean;
  readonly drift: readonly string[];
  readonly changedFiles: readonly string[];
}

async function write(
  files: readonly GeneratedFile[],
  outDir: string,
  lockPath: string,
  lockfile: Lockfile,
): Promise<CommandResult> {
  await mkdir(outDir, { recursive: true });
  const previous = await readLockfile(lockPath);
  for (const file of files) await writeFile(join(outDir, file.fileName), file.text);
  // Files this lockfile no longer lists were ours: remove them rather than leave stale declarations.
  const kept = new Set(Object.values(lockfile.modules).map((m) => m.file));
  for (const old of Object.values(previous?.modules ?? {})) {
    if (!kept.has(old.file)) await rm(resolve(dirname(lockPath), old.file), { force: true });
  }
  await writeFile(lockPath, formatLockfile(lockfile));
  return { ok: true, drift: [], changedFiles: [] };
}

async function check(
  files: readonly GeneratedFile[],
  outDir: string,
  lockPath: string,
  fresh: Lockfile,
  terminal: Terminal,
  json: boolean,
): Promise<CommandResult> {
  const locked = await readLockfile(lockPath);
  if (locked === undefined) {
    throw new CommandError(`No lockfile at ${lockPath}: run snakebridge types (without --check) first.`, EXIT.failed);
  }
  const drift = lockfileDrift(locked, fresh);
  const changedFiles: string[] = [];
  for (const file of files) {
    const path = join(outDir, file.fileName);
    const current = existsSync(path) ? await readFile(path, 'utf8') : '';
    if (current === file.text) continue;
    changedFiles.push(path);
    if (!json) showDiff(terminal, path, current, file.text);
  }
  const ok = drift.length === 0 && changedFiles.length === 0;
  if (!json) {
    for (const line of drift) terminal.note(`${terminal.style('yellow', '≠')} ${line}`);
    if (ok) terminal.note(`${terminal.style('green', '✔')} the declarations match the installed Python`);
    else
      terminal.error(
        'the installed Python no longer matches the lockfile: run snakebridge types and commit the result.',
      );
  }
  return { ok, drift, changedFiles };
}

function showDiff(terminal: Terminal, path: string, before: string, after: string): void {
  const patch = createTwoFilesPatch(`${path} (committed)`, `${path} (from the installed Python)`, before, after);
  const lines = patch.split('\n').slice(1);
  for (const line of lines.slice(0, MAX_DIFF_LINES)) {
    const style = line.startsWith('+')
      ? 'green'
      : line.startsWith('-')
        ? 'red'
        : line.startsWith('@@')
          ? 'cyan'
          : undefined;
    terminal.out(style === undefined ? line : terminal.style(style, line));
  }
  if (lines.length > MAX_DIFF_LINES) terminal.out(`… ${lines.length - MAX_DIFF_LINES} more lines of diff`);
}

async function readLockfile(path: string): Promise<Lockfile | undefined> {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Lockfile;
  } catch (error) {
    throw new CommandError(
      `The lockfile ${path} is not valid JSON (${(error as Error).message}); delete it and run snakebridge types.`,
    );
  }
}

function reportCoverage(coverage: ReadonlyMap<string, ModuleCoverage>, minCoverage: number, terminal: Terminal): void {
  const width = Math.max(6, ...[...coverage.keys()].map((name) => name.length));
  terminal.out(`${'module'.padEnd(width)}  typed  partial  untyped  coverage`);
  for (const [module, c] of coverage) {
    const share = typedShare(c);
    const percent = `${Math.round(share * 100)}%`.padStart(8);
    const styled = share < minCoverage ? terminal.style('yellow', percent) : percent;
    terminal.out(
      `${module.padEnd(width)}  ${String(c.typed).padStart(5)}  ${String(c.partial).padStart(7)}  ${String(c.untyped).padStart(7)}  ${styled}`,
    );
  }
}

function relativeTo(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}

function toPosix(path: string): string {
  return path.split(sep).join('/');
}
