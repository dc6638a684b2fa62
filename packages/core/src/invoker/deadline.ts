// Races a call against its deadline and its AbortSignal, so that it rejects
// at the deadline (never later) and settles exactly once. Shared by adapters.

import { CancelledError, TimeoutError } from '../errors/errors.js';

/** When a call gives up: at its deadline, or when its signal aborts. */
export interface DeadlineOptions {
  /** 0 or undefined: no deadline. */
  readonly timeoutMs?: number | undefined;
  /** Aborting it rejects the call with CancelledError at once. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Runs `work`, rejecting with TimeoutError when `timeoutMs` passes or with
 * CancelledError when `signal` aborts, whichever comes first. `work` receives
 * a signal that aborts at that moment, so it can stop the work in Python; its
 * own late result or error is then ignored.
 */
export function withDeadline<T>(
  target: string,
  options: DeadlineOptions,
  work: (abandoned: AbortSignal) => Promise<T>,
): Promise<T> {
  const { timeoutMs, signal } = options;
  if (signal?.aborted) return Promise.reject(new CancelledError(target, signal.reason));
  if (!timeoutMs && signal === undefined) return work(new AbortController().signal);

  const abandon = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const giveUp = (error: Error): void => {
      finish();
      reject(error);
      abandon.abort(error);
    };
    const onAbort = (): void => giveUp(new CancelledError(target, signal?.reason));
    if (timeoutMs) timer = setTimeout(() => giveUp(new TimeoutError(target, timeoutMs)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    // A `work` that throws instead of rejecting still settles the call, and clears the timer.
    let running: Promise<T>;
    try {
      running = work(abandon.signal);
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (value) => {
        if (abandon.signal.aborted) return;
        finish();
        resolve(value);
      },
      (error: unknown) => {
        if (abandon.signal.aborted) return;
        finish();
        reject(error);
      },
    );
  });
}
