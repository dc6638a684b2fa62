// Prints the doctor's report: sections of checks with ✔ ⚠ ✖ marks, the fix
// under each that is not ok, and a summary line; or the report as JSON.

import type { Style, Terminal } from '../output/terminal.js';
import type { Check, CheckStatus, DoctorReport } from './checks.js';

/** Sections, by the first part of a check's id, in the order they print. */
const SECTIONS: readonly (readonly [string, string])[] = [
  ['config', 'Config'],
  ['python', 'Python'],
  ['packages', 'Python packages'],
  ['runtime', 'Runtime'],
  ['platform', 'Platform'],
  ['lockfile', 'Lockfile'],
  ['grpc', 'gRPC endpoints'],
];

const MARKS: Readonly<Record<CheckStatus, readonly [string, Style]>> = {
  ok: ['✔', 'green'],
  warn: ['⚠', 'yellow'],
  fail: ['✖', 'red'],
};

/** The report for people, on stdout. */
export function printReport(report: DoctorReport, terminal: Terminal): void {
  for (const [prefix, heading] of SECTIONS) {
    const checks = report.checks.filter((check) => sectionOf(check) === prefix);
    if (checks.length === 0) continue;
    terminal.out(terminal.style('bold', heading));
    for (const check of checks) printCheck(check, terminal);
    terminal.out();
  }
  terminal.out(summary(report, terminal));
}

/** The report for scripts, on stdout. */
export function printJson(report: DoctorReport, terminal: Terminal): void {
  terminal.out(JSON.stringify(report, null, 2));
}

function printCheck(check: Check, terminal: Terminal): void {
  const [mark, style] = MARKS[check.status];
  terminal.out(`  ${terminal.style(style, mark)} ${check.title}: ${check.detail}`);
  if (check.status !== 'ok' && check.fix !== null) terminal.out(`      ${terminal.style('cyan', 'fix:')} ${check.fix}`);
}

function sectionOf(check: Check): string {
  const prefix = check.id.split('.')[0] ?? '';
  return SECTIONS.some(([name]) => name === prefix) ? prefix : 'config';
}

function summary(report: DoctorReport, terminal: Terminal): string {
  const count = (status: CheckStatus) => report.checks.filter((check) => check.status === status).length;
  const failures = count('fail');
  const warnings = count('warn');
  const line = `${count('ok')} ok, ${warnings} warning(s), ${failures} failure(s)`;
  if (failures > 0) return terminal.style('red', `${line}: something would fail at run time`);
  if (warnings > 0) return terminal.style('yellow', line);
  return terminal.style('green', `${line}: all set`);
}
