// The commands that set up a project's Python, as argument lists: creating
// the virtual environment (uv, else the venv module) and installing packages
// into it (uv pip, else pip). Pure, so what runs for each case is tested
// without running it; `snakebridge init` runs them and `doctor` shows them as fixes.

import { posix, win32 } from 'node:path';
import { commandLine } from '../output/command-line.js';

/** The interpreter inside a virtual environment. */
export function venvPython(venv: string, platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? win32.join(venv, 'Scripts', 'python.exe') : posix.join(venv, 'bin', 'python');
}

/** The interpreter to create environments from when none is named, as findPython looks for it on PATH. */
export function defaultPython(platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? 'python' : 'python3';
}

export interface VenvCommandInputs {
  /** uv's path, when it is on PATH. */
  readonly uv: string | undefined;
  /** The interpreter to create it from; uv picks its own default when undefined. */
  readonly python: string | undefined;
  readonly venv: string;
  readonly platform?: NodeJS.Platform | undefined;
}

/** Creates the environment: `uv venv [--python P] DIR`, else `P -m venv DIR`. */
export function venvCommand(inputs: VenvCommandInputs): string[] {
  if (inputs.uv !== undefined) {
    return [inputs.uv, 'venv', ...(inputs.python === undefined ? [] : ['--python', inputs.python]), inputs.venv];
  }
  return [inputs.python ?? defaultPython(inputs.platform), '-m', 'venv', inputs.venv];
}

export interface InstallCommandInputs {
  /** uv's path, when it is on PATH. */
  readonly uv: string | undefined;
  /** The environment's interpreter. */
  readonly python: string;
  readonly packages: readonly string[];
}

/**
 * Installs packages into the interpreter's environment: `uv pip install
 * --python P …` (uv's environments have no pip), else `P -m pip install …`.
 */
export function installCommand(inputs: InstallCommandInputs): string[] {
  if (inputs.uv !== undefined) return [inputs.uv, 'pip', 'install', '--python', inputs.python, ...inputs.packages];
  return [inputs.python, '-m', 'pip', 'install', ...inputs.packages];
}

/**
 * The command a user runs to install packages into this interpreter, as a
 * line: with pip, or, where the environment has none (`--without-pip`, uv's),
 * after bootstrapping it with ensurepip.
 */
export function pipInstallLine(python: string, packages: readonly string[], hasPip: boolean): string {
  const install = commandLine(installCommand({ uv: undefined, python, packages }));
  return hasPip ? install : `${commandLine([python, '-m', 'ensurepip'])} && ${install}`;
}
