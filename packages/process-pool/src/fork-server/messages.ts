// What the host and its fork server say to each other: one JSON object per
// line (docs/protocol.md, "Fork server"; pinned by
// vectors/protocol/fork-server.json, which pytest reads too). The server's
// lines are untrusted: each is checked before anything acts on it.

/** Bytes of a fork's token: random, one per fork, 32 hex digits on the wire. */
export const TOKEN_BYTES = 16;
/** What opens each connection of a forked worker: its fork's token, then one byte naming the fd it stands for. */
export const PREAMBLE_BYTES = TOKEN_BYTES + 1;
/** The fds a forked worker connects back: stdout, stderr, and the data, output and control channels. */
export const WORKER_FDS: readonly number[] = [1, 2, 3, 4, 5];
/** Longest event line the host reads; a longer one is a broken server. */
export const MAX_EVENT_LINE = 64 * 1024;

/** Signals the host asks the server to send its workers. */
export type ForkSignal = 'SIGTERM' | 'SIGKILL' | 'SIGINT' | 'SIGUSR1';
const SIGNALS: ReadonlySet<string> = new Set<ForkSignal>(['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGUSR1']);

/** Host to server. */
export type ForkServerRequest =
  | { readonly op: 'fork'; readonly id: number; readonly workerId: string; readonly token: string }
  | { readonly op: 'signal'; readonly pid: number; readonly signal: ForkSignal };

/** Server to host. */
export type ForkServerEvent =
  | { readonly event: 'ready'; readonly pid: number }
  | { readonly event: 'forked'; readonly id: number; readonly pid: number }
  | { readonly event: 'fork-failed'; readonly id: number; readonly message: string }
  | {
      readonly event: 'exit';
      readonly pid: number;
      readonly code: number | null;
      readonly signal: NodeJS.Signals | null;
    };

/** A request as its line, keys in the documented order. */
export function encodeRequest(request: ForkServerRequest): string {
  const ordered =
    request.op === 'fork'
      ? { op: request.op, id: request.id, workerId: request.workerId, token: request.token }
      : { op: request.op, pid: request.pid, signal: request.signal };
  return `${JSON.stringify(ordered)}\n`;
}

/** True for the signals a worker may be sent through its fork server. */
export function isForkSignal(signal: string): signal is ForkSignal {
  return SIGNALS.has(signal);
}

/**
 * An event line (without its newline).
 *
 * @throws Error saying what is wrong, for a line that is not one of the events.
 */
export function decodeEvent(line: string): ForkServerEvent {
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch {
    throw new Error(`an event that is not JSON: ${line.slice(0, 200)}`);
  }
  const fields = (typeof message === 'object' && message !== null ? message : {}) as Record<string, unknown>;
  switch (fields.event) {
    case 'ready':
      if (isPid(fields.pid)) return { event: 'ready', pid: fields.pid };
      break;
    case 'forked':
      if (isU32(fields.id) && isPid(fields.pid)) return { event: 'forked', id: fields.id, pid: fields.pid };
      break;
    case 'fork-failed':
      if (isU32(fields.id) && typeof fields.message === 'string')
        return { event: 'fork-failed', id: fields.id, message: fields.message };
      break;
    case 'exit': {
      const { pid, code, signal } = fields;
      const codeOk = code === null || (Number.isInteger(code) && (code as number) >= 0 && (code as number) <= 255);
      const signalOk = signal === null || (typeof signal === 'string' && /^SIG[A-Z0-9]+$/.test(signal));
      if (isPid(pid) && codeOk && signalOk && (code === null) !== (signal === null)) {
        return { event: 'exit', pid, code: code as number | null, signal: signal as NodeJS.Signals | null };
      }
      break;
    }
  }
  throw new Error(`not an event the fork server sends: ${line.slice(0, 200)}`);
}

function isU32(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffffffff;
}

function isPid(value: unknown): value is number {
  return isU32(value) && value > 0;
}
