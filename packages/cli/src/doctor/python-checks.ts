// The interpreter checks: which Python would run and why, its version, its
// virtual environment, and the packages the config needs in it.

import { dirname } from 'node:path';
import { MIN_PYTHON, type PythonExplanation, type PythonSource } from '@snakebridge/process-pool';
import { commandLine } from '../output/command-line.js';
import { defaultPython, pipInstallLine, venvPython } from '../python/commands.js';
import type { PythonDoctorReport } from '../python/doctor-probe.js';
import type { PythonRequirement } from '../python/requirements.js';
import { type Check, fail, ok, warn } from './checks.js';

const MIN = MIN_PYTHON.join('.');
/** An interpreter to name in fixes: new enough, and commonly installed. */
const SUGGESTED = 'python3.12';

/** Which interpreter, and why; warns when an activated environment is not the one used. */
export function interpreterCheck(explained: PythonExplanation): Check {
  const id = 'python.interpreter';
  const title = 'Interpreter';
  const why = `chosen by ${reason(explained)}`;
  if (explained.executable === undefined) {
    return fail(id, title, `${explained.error ?? 'it does not run'} (${why})`, missingFix(explained));
  }
  const detail = [`${explained.executable}, ${why}`, ...shimNote(explained), ...installerNote(explained)].join('; ');
  const activated = explained.ignoredActivation;
  if (activated !== undefined) {
    return warn(
      id,
      title,
      `${detail}; but ${activated} is activated in this shell, and is not the one used`,
      activationFix(explained.source, activated),
    );
  }
  return ok(id, title, detail);
}

/** The interpreter's version: the runtime needs MIN_PYTHON or newer. */
export function versionCheck(explained: PythonExplanation): Check | undefined {
  if (explained.version === undefined) return undefined;
  const id = 'python.version';
  const title = 'Python version';
  if (explained.supported === true) return ok(id, title, `Python ${explained.version}`);
  return fail(
    id,
    title,
    `Python ${explained.version} is older than ${MIN}, the oldest the runtime supports`,
    versionFix(explained),
  );
}

/** Whether the interpreter runs in a virtual (or conda) environment, and which. */
export function environmentCheck(report: PythonDoctorReport): Check {
  const id = 'python.environment';
  const title = 'Virtual environment';
  const { kind, path, activated } = report.venv;
  if (kind !== null && path !== null) {
    const name = kind === 'conda' ? 'a conda environment' : 'a virtual environment';
    return ok(id, title, `${name} at ${path}${activated ? ', activated in this shell' : ''}`);
  }
  return warn(
    id,
    title,
    `none: packages install into ${report.prefix}, shared with everything else that uses this Python`,
    `${commandLine([report.executable, '-m', 'venv', '.venv'])}, then set python: { venv: '.venv' } in the config ` +
      '(or run snakebridge init, which does both and installs the packages)',
  );
}

/** One check per distribution the config needs (or could use), with its version or the command that installs it. */
export function packageChecks(requirements: readonly PythonRequirement[], report: PythonDoctorReport): Check[] {
  const hasPip = report.distributions.pip !== undefined && report.distributions.pip !== null;
  const checks = requirements.map((requirement) => packageCheck(requirement, report, hasPip));
  if (requirements.every((requirement) => requirement.optional)) {
    checks.unshift(ok('packages', 'Required packages', 'none: this serializer and invoker need no Python packages'));
  }
  return checks;
}

function packageCheck(requirement: PythonRequirement, report: PythonDoctorReport, hasPip: boolean): Check {
  const { distribution, neededBy, optional } = requirement;
  const id = `packages.${distribution}`;
  const version = report.distributions[distribution] ?? null;
  const who = neededBy.join(' and ');
  if (version !== null)
    return ok(id, distribution, optional ? `${version} (optional: ${who})` : `${version}, for ${who}`);
  const fix = pipInstallLine(report.executable, [distribution], hasPip);
  if (optional) return warn(id, distribution, `not installed (optional: ${who})`, fix);
  return fail(id, distribution, `not installed in ${report.executable}; ${who} needs it`, fix);
}

// --- words --------------------------------------------------------------------------------------

function reason(explained: PythonExplanation): string {
  const reasons: Record<PythonSource, string> = {
    'python.executable': 'python.executable in the config',
    SNAKEBRIDGE_PYTHON: 'the SNAKEBRIDGE_PYTHON environment variable (it overrides python.executable)',
    'python.venv': 'python.venv in the config',
    SNAKEBRIDGE_VENV: 'the SNAKEBRIDGE_VENV environment variable (it overrides python.venv)',
    './.venv': './.venv in the working directory (no python.executable or python.venv is set)',
    PATH: `${explained.requested} on the PATH (no python setting, and no ./.venv)`,
  };
  return reasons[explained.source];
}

function shimNote(explained: PythonExplanation): string[] {
  if (explained.shim === undefined) return [];
  return [
    `behind the pyenv shim ${explained.shim.path}, resolved once (each run of the shim costs an extra process ` +
      'spawn), so workers start this interpreter directly',
  ];
}

function installerNote(explained: PythonExplanation): string[] {
  const names = { uv: 'a Python installed by uv', pyenv: 'a Python installed by pyenv', conda: 'a conda Python' };
  return explained.installer === undefined ? [] : [names[explained.installer]];
}

/** The environment directory of a `<venv>/bin/python` path. */
function venvOf(python: string): string {
  return dirname(dirname(python));
}

function missingFix(explained: PythonExplanation): string {
  switch (explained.source) {
    case 'python.executable':
      return `set python.executable in the config to a Python ${MIN}+ interpreter (a path, or a name on the PATH)`;
    case 'SNAKEBRIDGE_PYTHON':
      return `export SNAKEBRIDGE_PYTHON=<a Python ${MIN}+ interpreter>, or unset it`;
    case 'python.venv':
    case 'SNAKEBRIDGE_VENV':
    case './.venv':
      return `${commandLine([defaultPython(), '-m', 'venv', '--clear', venvOf(explained.requested)])}, then install the packages`;
    case 'PATH':
      return `install Python ${MIN}+, or create the project's environment: snakebridge init --python ${SUGGESTED}`;
  }
}

function versionFix(explained: PythonExplanation): string {
  switch (explained.source) {
    case 'python.executable':
      return `set python.executable in the config to a Python ${MIN}+ interpreter, e.g. ${SUGGESTED}`;
    case 'SNAKEBRIDGE_PYTHON':
      return `export SNAKEBRIDGE_PYTHON=${SUGGESTED} (any Python ${MIN}+)`;
    case 'python.venv':
    case 'SNAKEBRIDGE_VENV':
    case './.venv':
      return (
        `${commandLine([SUGGESTED, '-m', 'venv', '--clear', venvOf(explained.requested)])} ` +
        `(any Python ${MIN}+), then install the packages again`
      );
    case 'PATH':
      return `install Python ${MIN}+ and create the project's environment from it: snakebridge init --python ${SUGGESTED}`;
  }
}

function activationFix(source: PythonSource, activated: string): string {
  if (source === 'python.executable' || source === 'SNAKEBRIDGE_PYTHON') {
    const setting = source === 'python.executable' ? 'python.executable in the config' : 'SNAKEBRIDGE_PYTHON';
    return `to use the activated one, set ${setting} to ${venvPython(activated)}`;
  }
  return `to use the activated one, set python: { venv: '${activated}' } in the config (or SNAKEBRIDGE_VENV=${activated})`;
}
