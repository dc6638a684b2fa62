// A logger for tests that wait on records: it keeps every record and resolves a
// wait for the first one that matches, whether it came before or after the wait.
// Used by the output tests of both adapters and the trace-context tests.

import type { LogFields, Logger } from '@snakebridge/core';

/** One record as the logger received it. */
export interface Entry {
  readonly level: string;
  readonly message: string;
  readonly fields: LogFields;
}

/** A logger that keeps what it gets, and resolves waits for the first record that matches. */
export function watchingLogger(): Logger & {
  entries: Entry[];
  next(matches: (entry: Entry) => boolean): Promise<Entry>;
} {
  const entries: Entry[] = [];
  const waiters: { matches: (entry: Entry) => boolean; resolve: (entry: Entry) => void }[] = [];
  const keep = (level: string) => (message: string, fields?: LogFields) => {
    const entry = { level, message, fields: fields ?? {} };
    entries.push(entry);
    for (const waiter of waiters.filter((w) => w.matches(entry))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(entry);
    }
  };
  return {
    entries,
    next: (matches) =>
      new Promise((resolve) => {
        const seen = entries.find(matches);
        if (seen !== undefined) resolve(seen);
        else waiters.push({ matches, resolve });
      }),
    debug: keep('debug'),
    info: keep('info'),
    warn: keep('warn'),
    error: keep('error'),
  };
}
