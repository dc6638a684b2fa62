// The logger SnakeBridge writes to: workers' output, their Python `logging`
// records, and lifecycle notes.

/**
 * Fields attached to a record. A worker's output carries `workerId`,
 * `workerPid` and `stream` (`stdout`, `stderr`, `logging`); a `logging`
 * record also `logger`, `pythonLevel` and, when a call was running, `call`
 * (`{ target }`). docs/observability.md lists them all.
 */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * A minimal structured logger. winston fits it as it is, pino through
 * {@link toLogger} (which `createBridge` applies to the logger it is given),
 * console through {@link consoleLogger}.
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * Logs to the console, prefixed with `[snakebridge]` and the worker id when
 * there is one, and the Python logger's name for a `logging` record.
 */
export function consoleLogger(level: LogLevel = 'info'): Logger {
  const write = (at: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields): void => {
    if (RANK[at] < RANK[level]) return;
    const worker = fields?.workerId;
    const prefix = worker === undefined ? '[snakebridge]' : `[snakebridge ${String(worker)}]`;
    const logger = typeof fields?.logger === 'string' ? ` ${fields.logger}:` : '';
    console[at](`${prefix}${logger} ${message}`);
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

/** pino's loggers (pino 5 and later) carry this registered symbol; their methods take the fields first. */
const PINO = Symbol.for('pino.serializers');

/**
 * The Logger that writes to `logger`: the same object, unless it is a pino
 * logger. pino's methods take the fields first (`info(fields, message)`), and
 * called as a Logger (`info(message, fields)`) it would drop the fields; the
 * Logger returned for it passes them in pino's order. pino's own `pid`,
 * `hostname` and `time` stay the host's: the worker's pid is `workerPid`.
 */
export function toLogger(logger: Logger): Logger {
  if (!(PINO in logger)) return logger;
  const pino = logger as unknown as Record<Exclude<LogLevel, 'silent'>, (fields: LogFields, message: string) => void>;
  return {
    debug: (message, fields) => pino.debug(fields ?? {}, message),
    info: (message, fields) => pino.info(fields ?? {}, message),
    warn: (message, fields) => pino.warn(fields ?? {}, message),
    error: (message, fields) => pino.error(fields ?? {}, message),
  };
}

/** Container token of the Logger. */
export const LOGGER = Symbol.for('@snakebridge/core/Logger');
