// `snakebridge init`: creates the project's virtual environment (uv, else
// the venv module), installs the Python packages the chosen serializer and
// invoker need, writes a starter snakebridge.config.ts and says what to do next.

import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { SERIALIZER_NAMES, type SerializerName } from '@snakebridge/core';
import { MIN_PYTHON } from '@snakebridge/process-pool';
import { CONFIG_FILES } from '../config/load-config.js';
import { CommandError, EXIT, type ExitCode } from '../errors.js';
import { nextSteps, packageManager } from '../init/next-steps.js';
import { runCommand } from '../init/run-command.js';
import { starterConfig } from '../init/starter-config.js';
import { commandLine } from '../output/command-line.js';
import type { Terminal } from '../output/terminal.js';
import { installCommand, venvCommand, venvPython } from '../python/commands.js';
import { type PythonDoctorReport, runPythonProbe } from '../python/doctor-probe.js';
import { pythonRequirements } from '../python/requirements.js';
import { which } from '../python/which.js';

export interface InitOptions {
  readonly cwd: string;
  readonly json: boolean;
  /** The interpreter to create the environment from. @default python3 (uv: its own choice) */
  readonly python?: string | undefined;
  /** Where to create it. @default .venv */
  readonly venv?: string | undefined;
  readonly serializer?: string | undefined;
  readonly invoker?: string | undefined;
  /** Install the Python packages (`--no-install` turns it off). */
  readonly install: boolean;
  /** Overwrite an existing config file. */
  readonly force: boolean;
}

/** The invokers a project starts with; `mock` is for tests, which the starter config sets up. */
export const INIT_INVOKERS = ['stdio', 'grpc'] as const;
type InitInvoker = (typeof INIT_INVOKERS)[number];

const CONFIG_FILE = 'snakebridge.config.ts';

/** Sets the project up; see the module comment. */
export async function initCommand(options: InitOptions, terminal: Terminal): Promise<ExitCode> {
  const plan = planFor(options);
  const created = await createVenv(terminal, plan);
  const report = await inspect(plan.venvDir, options.cwd);
  const packages = requiredPackages(plan, report);
  const install = packages.length === 0 ? undefined : installCommand({ uv: plan.uv, python: plan.python, packages });
  // An environment made without pip (uv's, --without-pip) gets it from ensurepip when uv is not there to install.
  const bootstrap = plan.uv === undefined && report.distributions.pip == null ? [plan.python, '-m', 'ensurepip'] : [];
  if (options.install && install !== undefined) {
    if (bootstrap.length > 0) await runStep(terminal, 'Installing pip', bootstrap, options.cwd);
    await runStep(terminal, `Installing ${packages.join(', ')}`, install, options.cwd);
  }
  const venv = configuredVenv(options.cwd, plan.venvDir);
  await writeFile(plan.configPath, starterConfig({ invoker: plan.invoker, serializer: plan.serializer, venv }));
  const summary: Summary = {
    ok: true,
    config: plan.configPath,
    venv: { path: plan.venvDir, python: plan.python, created: created !== undefined, command: created ?? null },
    python: report.version,
    packages,
    installed: options.install ? (install ?? null) : null,
    nextSteps: nextSteps({
      manager: packageManager(options.cwd),
      invoker: plan.invoker,
      serializer: plan.serializer,
      skippedInstall:
        options.install || install === undefined
          ? undefined
          : [bootstrap, install]
              .filter((argv) => argv.length > 0)
              .map(commandLine)
              .join(' && '),
    }),
  };
  if (options.json) terminal.out(JSON.stringify(summary, null, 2));
  else printSummary(terminal, summary, plan.existing);
  return EXIT.ok;
}

/** What init will do, checked before it does anything. */
interface Plan {
  readonly serializer: SerializerName;
  readonly invoker: InitInvoker;
  /** The config file already there (being replaced with --force). */
  readonly existing: string | undefined;
  readonly configPath: string;
  readonly venvDir: string;
  /** The environment's interpreter. */
  readonly python: string;
  /** The interpreter to create the environment from. */
  readonly basePython: string | undefined;
  readonly uv: string | undefined;
  readonly cwd: string;
}

function planFor(options: InitOptions): Plan {
  const venvDir = resolve(options.cwd, options.venv ?? '.venv');
  return {
    serializer: choose('--serializer', options.serializer ?? 'msgpack', SERIALIZER_NAMES),
    invoker: choose('--invoker', options.invoker ?? 'stdio', INIT_INVOKERS),
    existing: existingConfig(options.cwd, options.force),
    configPath: join(options.cwd, CONFIG_FILE),
    venvDir,
    python: venvPython(venvDir),
    basePython: options.python,
    uv: which('uv'),
    cwd: options.cwd,
  };
}

/** The packages the serializer (by the runtime's registry) and the invoker need. */
function requiredPackages(plan: Plan, report: PythonDoctorReport): string[] {
  const requirements = pythonRequirements({
    serializer: plan.serializer,
    invoker: plan.invoker,
    grpcMode: 'managed',
    serializerPackages: report.serializers,
  });
  return requirements.filter((requirement) => !requirement.optional).map((requirement) => requirement.distribution);
}

/** `value` if it is one of `allowed`; else a usage error listing them. */
function choose<const T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new CommandError(`${flag} must be one of ${allowed.join(', ')}; not '${value}'.`, EXIT.usage);
}

/** The config file already there, if any; refused unless `--force`. */
function existingConfig(cwd: string, force: boolean): string | undefined {
  const existing = CONFIG_FILES.find((name) => existsSync(join(cwd, name)));
  if (existing !== undefined && !force) {
    throw new CommandError(
      `${existing} already exists in ${cwd}; nothing was changed. Pass --force to replace it with a starter ${CONFIG_FILE}.`,
      EXIT.failed,
    );
  }
  return existing;
}

/** Creates the environment unless it has an interpreter already; resolves with the command that ran, if one did. */
async function createVenv(terminal: Terminal, plan: Plan): Promise<string[] | undefined> {
  if (existsSync(plan.python)) {
    if (plan.basePython !== undefined) {
      terminal.warn(`${plan.venvDir} exists: it is kept as it is, and --python ${plan.basePython} is not used.`);
    }
    return undefined;
  }
  const command = venvCommand({ uv: plan.uv, python: plan.basePython, venv: plan.venvDir });
  const tool = plan.uv === undefined ? 'python -m venv' : 'uv';
  await runStep(terminal, `Creating ${relativeTo(plan.cwd, plan.venvDir)} with ${tool}`, command, plan.cwd);
  return command;
}

async function runStep(terminal: Terminal, text: string, argv: readonly string[], cwd: string): Promise<void> {
  const progress = terminal.progress(`${text}…`);
  try {
    await runCommand(argv, cwd);
  } finally {
    progress.stop();
  }
}

/** What the environment's interpreter is, and what its serializers need; it must be new enough. */
async function inspect(venvDir: string, cwd: string): Promise<PythonDoctorReport> {
  const python = venvPython(venvDir);
  const probe = await runPythonProbe({
    executable: python,
    settings: { env: {}, path: [] },
    cwd,
    distributions: ['pip'],
  });
  if (!probe.ok) throw new CommandError(`The environment's Python (${python}) cannot be inspected: ${probe.error}`);
  const report = probe.report;
  const [major = 0, minor = 0] = report.version_info;
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    const min = MIN_PYTHON.join('.');
    throw new CommandError(
      `The environment's Python is ${report.version}; SnakeBridge needs ${min}+. ` +
        `Remove ${venvDir} and run snakebridge init --python python3.12 (any Python ${min}+).`,
      EXIT.failed,
    );
  }
  return report;
}

/** The venv as the config names it: relative to the project when inside it (portable), else absolute. */
function configuredVenv(cwd: string, venvDir: string): string {
  const rel = relative(cwd, venvDir);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return venvDir;
  return rel.split(sep).join('/');
}

function relativeTo(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}

/** What init did, as `--json` prints it. */
interface Summary {
  readonly ok: true;
  readonly config: string;
  readonly venv: {
    readonly path: string;
    readonly python: string;
    readonly created: boolean;
    /** The command that created it; null when it existed. */
    readonly command: readonly string[] | null;
  };
  /** The environment's Python version. */
  readonly python: string;
  /** What the serializer and invoker need. */
  readonly packages: readonly string[];
  /** The install command that ran; null with --no-install or nothing to install. */
  readonly installed: readonly string[] | null;
  readonly nextSteps: readonly string[];
}

function printSummary(terminal: Terminal, summary: Summary, replaced: string | undefined): void {
  const done = terminal.style('green', '✔');
  terminal.out(
    summary.venv.command === null
      ? `${done} using the existing environment ${summary.venv.path} (Python ${summary.python})`
      : `${done} created ${summary.venv.path} (Python ${summary.python}): ${commandLine(summary.venv.command)}`,
  );
  if (summary.installed !== null)
    terminal.out(`${done} installed ${summary.packages.join(', ')}: ${commandLine(summary.installed)}`);
  else if (summary.packages.length === 0) terminal.out(`${done} no Python packages needed`);
  terminal.out(`${done} wrote ${summary.config}${replaced === undefined ? '' : ` (replacing ${replaced})`}`);
  if (replaced !== undefined && replaced !== CONFIG_FILE) {
    terminal.warn(
      `${replaced} is still there; ${CONFIG_FILE} is read first. Delete ${replaced} if it is no longer needed.`,
    );
  }
  terminal.out();
  terminal.out(terminal.style('bold', 'Next steps:'));
  for (const step of summary.nextSteps) terminal.out(`  ${step}`);
}
