// The command line's own failure: a message for the user and the exit code
// that says what kind of failure it was.

/** Exit codes: 0 all well, 1 a check failed (drift, doctor, coverage), 2 the command was wrong, 3 it could not run. */
export const EXIT = { ok: 0, failed: 1, usage: 2, broken: 3 } as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the command reports as a message, without a stack trace. */
export class CommandError extends Error {
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode = EXIT.broken) {
    super(message);
    this.name = 'CommandError';
    this.exitCode = exitCode;
  }
}
