// The `snakebridge` command line: parses the arguments, runs a command, and
// turns what went wrong into a message and an exit code (errors.ts).

import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ErrorCode, SnakeBridgeError } from '@snakebridge/core';
import { doctorCommand } from './commands/doctor.js';
import { initCommand } from './commands/init.js';
import { typesCommand } from './commands/types.js';
import { CommandError, EXIT, type ExitCode } from './errors.js';
import { Terminal, type TerminalStreams } from './output/terminal.js';
import { cliVersion } from './version.js';

const USAGE = `snakebridge: typed bindings and health checks for SnakeBridge

Usage: snakebridge <command> [options]

Commands:
  types [modules…]   write TypeScript declarations for Python modules, and the lockfile
  doctor             check the interpreter, packages, platform and endpoints the config needs
  init               create a virtual environment, install what the config needs, write a starter config

Options for every command:
  --config <file>    the config file (default: snakebridge.config.{ts,mts,js,mjs,json} here)
  --env <name>       the environment to resolve the config for (default: SNAKEBRIDGE_ENV, NODE_ENV, development)
  --json             machine-readable output on stdout
  -h, --help         help for a command
  -v, --version      the version

Run snakebridge <command> --help for a command's options.`;

const COMMAND_HELP: Readonly<Record<string, string>> = {
  types: `Usage: snakebridge types [modules…] [options]

Introspects Python modules in the configured interpreter and writes one
declaration file per module (bindings.out, default python-types/) and the
lockfile (bindings.lockfile, default snakebridge.lock.json). Modules default
to bindings.modules in the config.

Options:
  --check                 write nothing; fail (exit 1) with a diff when the installed
                          Python no longer matches the lockfile and the declarations
  --strict                fail (exit 1) when a module's share of fully typed callables
                          is under bindings.minCoverage (default 0.8)
  --min-coverage <0..1>   the threshold for --strict
  --out <dir>             where declarations go (overrides bindings.out)
  --lockfile <file>       the lockfile (overrides bindings.lockfile)
  --budget-ms <n>         longest introspection of one module (overrides bindings.budgetMs)
  --verbose               every introspection warning, not only the first few per module
  --config, --env, --json as for every command

Exit codes: 0 written (or up to date), 1 drift, failed imports or coverage under
the threshold, 2 bad arguments, 3 could not run.`,
  doctor: `Usage: snakebridge doctor [options]

Checks what the config needs and says how to fix what is missing: which
interpreter would be used and why, its version and virtual environment, the
Python packages of the configured serializer and invoker, whether the runtime
matches this version of SnakeBridge, the platform features the pool relies on,
and for remote gRPC each endpoint's reachability, health, TLS and token.

Options:
  --config, --env, --json as for every command

Exit codes: 0 everything needed is there, 1 something would fail, 2 bad arguments.`,
  init: `Usage: snakebridge init [options]

Creates a virtual environment for the project (with uv when it is installed,
otherwise python -m venv), installs the Python packages the chosen serializer
and invoker need, and writes a starter snakebridge.config.ts.

Options:
  --python <exe>          the interpreter to create the environment from (default: python3)
  --venv <dir>            where to create it (default: .venv)
  --serializer <name>     json, msgpack, arrow or protobuf (default: msgpack)
  --invoker <name>        stdio or grpc (default: stdio)
  --no-install            create the environment, install nothing
  --force                 overwrite an existing config file
  --json                  as for every command

Exit codes: 0 done, 1 a step failed, 2 bad arguments.`,
};

/** Runs the command line; resolves with the exit code. */
export async function run(argv: readonly string[], streams: TerminalStreams, cwd = process.cwd()): Promise<ExitCode> {
  const terminal = new Terminal(streams);
  try {
    return await dispatch(argv, terminal, cwd);
  } catch (error) {
    return report(error, terminal);
  }
}

async function dispatch(argv: readonly string[], terminal: Terminal, cwd: string): Promise<ExitCode> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    const topic = command === 'help' ? rest[0] : undefined;
    terminal.out(topic !== undefined && COMMAND_HELP[topic] !== undefined ? COMMAND_HELP[topic] : USAGE);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command === '-v' || command === '--version') {
    terminal.out(cliVersion());
    return EXIT.ok;
  }
  const help = COMMAND_HELP[command];
  if (help === undefined) throw new CommandError(`Unknown command '${command}'.\n\n${USAGE}`, EXIT.usage);
  if (rest.includes('--help') || rest.includes('-h')) {
    terminal.out(help);
    return EXIT.ok;
  }
  switch (command) {
    case 'types':
      return typesCommand(typesOptions(rest, cwd), terminal);
    case 'doctor':
      return doctorCommand(commonOptions(rest, cwd), terminal);
    default:
      return initCommand(initOptions(rest, cwd), terminal);
  }
}

const COMMON = {
  config: { type: 'string' },
  env: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  args: readonly string[],
  options: T,
  positionals = false,
) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: positionals, strict: true });
  } catch (error) {
    throw new CommandError(`${(error as Error).message}\nRun with --help for the options.`, EXIT.usage);
  }
}

function typesOptions(args: readonly string[], cwd: string) {
  const { values, positionals } = parse(
    args,
    {
      ...COMMON,
      check: { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      'min-coverage': { type: 'string' },
      out: { type: 'string' },
      lockfile: { type: 'string' },
      'budget-ms': { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
    true,
  );
  return {
    cwd,
    modules: positionals,
    config: values.config,
    environment: values.env,
    json: values.json,
    verbose: values.verbose,
    check: values.check,
    strict: values.strict,
    minCoverage: numberOption(values['min-coverage'], '--min-coverage', (n) => n >= 0 && n <= 1, 'between 0 and 1'),
    out: values.out,
    lockfile: values.lockfile,
    budgetMs: numberOption(
      values['budget-ms'],
      '--budget-ms',
      (n) => Number.isInteger(n) && n > 0,
      'a positive integer',
    ),
  };
}

function commonOptions(args: readonly string[], cwd: string) {
  const { values } = parse(args, COMMON);
  return { cwd, config: values.config, environment: values.env, json: values.json };
}

function initOptions(args: readonly string[], cwd: string) {
  const { values } = parse(args, {
    json: { type: 'boolean', default: false },
    python: { type: 'string' },
    venv: { type: 'string' },
    serializer: { type: 'string' },
    invoker: { type: 'string' },
    'no-install': { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
  });
  return {
    cwd,
    json: values.json,
    python: values.python,
    venv: values.venv,
    serializer: values.serializer,
    invoker: values.invoker,
    install: !values['no-install'],
    force: values.force,
  };
}

function numberOption(
  raw: string | undefined,
  flag: string,
  valid: (n: number) => boolean,
  expected: string,
): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !valid(value))
    throw new CommandError(`${flag} must be ${expected}, not '${raw}'.`, EXIT.usage);
  return value;
}

function report(error: unknown, terminal: Terminal): ExitCode {
  if (error instanceof CommandError) {
    terminal.error(error.message);
    return error.exitCode;
  }
  if (SnakeBridgeError.is(error)) {
    // A bad config is the user's to fix, like a bad argument.
    terminal.error(error.message);
    return error.code === ErrorCode.CONFIG ? EXIT.usage : EXIT.broken;
  }
  terminal.error(`unexpected failure: ${(error as Error)?.stack ?? String(error)}`);
  return EXIT.broken;
}
