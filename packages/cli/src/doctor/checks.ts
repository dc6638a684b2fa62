// What `snakebridge doctor` reports: checks, each with a status, a one-line
// detail, and, when it is not ok, the command or setting that fixes it.

/** `fail`: something would fail at run time. `warn`: it works, worse or riskier than it could. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  /** Stable, dotted, for scripts: `python.version`, `packages.msgpack`, `grpc.127.0.0.1:50051.token`. */
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** The exact command or setting that fixes it; null when ok, or when nothing can be done. */
  readonly fix: string | null;
}

/** The whole report, as `--json` prints it. */
export interface DoctorReport {
  /** No check failed (warnings allowed). */
  readonly ok: boolean;
  readonly checks: readonly Check[];
}

export function ok(id: string, title: string, detail: string): Check {
  return { id, title, status: 'ok', detail, fix: null };
}

export function warn(id: string, title: string, detail: string, fix: string | null): Check {
  return { id, title, status: 'warn', detail, fix };
}

export function fail(id: string, title: string, detail: string, fix: string | null): Check {
  return { id, title, status: 'fail', detail, fix };
}

/** The report of these checks. */
export function doctorReport(checks: readonly Check[]): DoctorReport {
  return { ok: checks.every((check) => check.status !== 'fail'), checks };
}
