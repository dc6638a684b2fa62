// The logger SnakeBridge writes to: workers' stdout/stderr lines and lifecycle notes.

/** Fields attached to a log line: the worker id, its pid, the stream a line came from. */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * A minimal structured logger. pino, winston and console all fit it (pino and
 * winston directly, console through {@link consoleLogger}).
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Logs to the console, prefixed with `[snakebridge]` and the worker id when there is one. */
export function consoleLogger(level: LogLevel = 'info'): Logger {
  const write = (at: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields): void => {
    if (RANK[at] < RANK[level]) return;
    const worker = fields?.workerId;
    const prefix = worker === undefined ? '[snakebridge]' : `[snakebridge ${String(worker)}]`;
    console[at](`${prefix} ${message}`);
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}

/** Discards everything. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** Container token of the Logger. */
export const LOGGER = Symbol.for('@snakebridge/core/Logger');
