// Encodes and decodes large payloads in a piscina worker-thread pool, so that a
// 100 MB result does not stall the host's event loop while it is decoded.

import { availableParallelism } from 'node:os';
import {
  type DecodeContext,
  type EncodeContext,
  type HandleWire,
  type Serializer,
  toHandleRef,
} from '@snakebridge/core';
import type { Piscina } from 'piscina';
import { clonesFaithfully, leavesThreadIntact } from './clone.js';
import { HANDLE_MARK, type ThreadTask } from './thread-task.js';

/** How a PayloadOffloader is built: usually `{ serializer, ...config.offload }`. */
export interface PayloadOffloaderOptions {
  /** The serializer to run, here and (rebuilt from its `recipe`) in the threads. */
  readonly serializer: Serializer;
  /** Payloads at least this big go to a worker thread. */
  readonly thresholdBytes: number;
  /** Most worker threads. */
  readonly threads: number;
}

/** Nodes visited when sizing a value before giving up and encoding it here. */
const SIZING_BUDGET = 10_000;

/**
 * Encodes or decodes on the event loop when the payload is small (a promise
 * is not even created), and in a worker thread when it is large. Values that
 * hold handles or functions stay on the main thread: they cannot be cloned.
 */
export class PayloadOffloader {
  readonly #serializer: Serializer;
  readonly #threshold: number;
  readonly #threads: number;
  /** The worker threads, started by the first payload sent to one (piscina is imported then, not at start-up). */
  #pool: Promise<Piscina> | undefined;

  constructor(options: PayloadOffloaderOptions) {
    this.#serializer = options.serializer;
    this.#threshold = options.thresholdBytes;
    this.#threads = Math.max(1, Math.min(options.threads, availableParallelism()));
  }

  /**
   * True if payloads may go to threads: a threshold is set, the serializer can
   * be rebuilt in a thread, and it transforms binary data (JSON's base64).
   * One that passes binary through gains nothing measurable (docs/performance.md).
   */
  get enabled(): boolean {
    const recipe = this.#serializer.recipe;
    return this.#threshold > 0 && recipe !== undefined && recipe.binaryPassesThrough !== true;
  }

  /**
   * Encodes here when the value is small or cannot leave this thread intact
   * (it holds a handle, a function or a class instance anywhere), else in a
   * worker thread: then the result is a promise.
   */
  encode(value: unknown, context: EncodeContext = {}): Uint8Array | Promise<Uint8Array> {
    if (!this.enabled || sizeOf(value) < this.#threshold || !leavesThreadIntact(value, isHandle)) {
      return this.#serializer.encode(value, context);
    }
    const task: ThreadTask = {
      kind: 'encode',
      recipe: this.#recipe(),
      value,
      target: context.target,
      role: context.role,
    };
    return (this.#run(task, []) as Promise<Uint8Array>).catch((error: unknown) => {
      // What the walk cannot see (a Proxy that is not a handle, say) fails to clone: encode it here after all.
      if ((error as Error).name === 'DataCloneError') return this.#serializer.encode(value, context);
      throw error;
    });
  }

  /** Decodes here when the bytes are few, else in a worker thread: then the result is a promise. */
  decode(bytes: Uint8Array, context: DecodeContext = {}): unknown {
    if (!this.enabled || bytes.byteLength < this.#threshold) return this.#serializer.decode(bytes, context);
    // A body that owns its whole buffer moves to the thread without a copy.
    const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const task: ThreadTask = {
      kind: 'decode',
      recipe: this.#recipe(),
      bytes,
      target: context.target,
      role: context.role,
    };
    return this.#run(task, owned ? [bytes.buffer as ArrayBuffer] : []).then((result) => {
      const decoded = result as { value: unknown; handles: number; faithful: boolean; bytes?: Uint8Array };
      const { value, handles, faithful } = decoded;
      // A value holding class instances (an NDArray) cannot cross threads intact: decode it here.
      if (!faithful) return this.#serializer.decode(decoded.bytes ?? bytes, context);
      return handles > 0 ? reviveHandles(value, context) : value;
    });
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    // A pool that never started (piscina failed to load) has failed its calls already: nothing to stop.
    await (await pool?.catch(() => undefined))?.destroy();
  }

  #recipe(): NonNullable<Serializer['recipe']> {
    return this.#serializer.recipe as NonNullable<Serializer['recipe']>;
  }

  async #run(task: ThreadTask, transferList: ArrayBuffer[]): Promise<unknown> {
    this.#pool ??= this.#startThreads();
    return (await this.#pool).run(task, { transferList });
  }

  async #startThreads(): Promise<Piscina> {
    const { Piscina } = await import('piscina');
    return new Piscina({
      filename: THREAD_MODULE.href,
      maxThreads: this.#threads,
      minThreads: 0,
      idleTimeout: 30_000,
      execArgv: FROM_SOURCES ? ['--conditions=@snakebridge/source'] : [],
    });
  }
}

function isHandle(item: object): boolean {
  return toHandleRef(item) !== undefined;
}

/** Running from TypeScript sources (tests, development) rather than compiled output. */
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const THREAD_MODULE = new URL(FROM_SOURCES ? './thread-dev.mjs' : './thread.js', import.meta.url);

/**
 * A lower bound of a value's encoded size: the bytes of its typed arrays and
 * strings (a number counts 8), from the first nodes only, so that small
 * values cost little. Returns -1 for a value that cannot leave this thread (a
 * handle, a function) as far as those nodes show; the encoder checks the
 * whole of a large value before it goes to a thread.
 */
export function sizeOf(value: unknown): number {
  let total = 0;
  let budget = SIZING_BUDGET;
  const stack: unknown[] = [value];
  const visit = (items: Iterable<unknown>, length: number) => {
    if (length > budget) {
      total += 8 * (length - budget); // past the budget, elements count as numbers
    }
    let taken = 0;
    for (const item of items) {
      if (taken++ >= budget) break;
      stack.push(item);
    }
  };
  while (stack.length > 0 && budget-- > 0) {
    const item = stack.pop();
    if (typeof item === 'string') total += item.length;
    else if (typeof item === 'number') total += 8;
    else if (typeof item === 'function' || toHandleRef(item) !== undefined || !clonesFaithfully(item)) return -1;
    else if (ArrayBuffer.isView(item)) total += item.byteLength;
    else if (item instanceof Map) visit([...item.keys(), ...item.values()], item.size * 2);
    else if (Array.isArray(item)) visit(item, item.length);
    else if (item instanceof Set) visit(item, item.size);
    else if (typeof item === 'object' && item !== null) {
      const values = Object.values(item);
      visit(values, values.length);
    }
  }
  return total + 8 * stack.length; // what the budget left unvisited
}

/** Replaces the handle markers a thread left in a decoded value with what the context makes of each handle. */
function reviveHandles(value: unknown, context: DecodeContext): unknown {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value;
  if (HANDLE_MARK in value) {
    const wire = (value as Record<string, unknown>)[HANDLE_MARK] as HandleWire;
    return context.handle ? context.handle(wire) : wire;
  }
  if (Array.isArray(value)) return value.map((item) => reviveHandles(item, context));
  if (value instanceof Map)
    return new Map([...value].map(([k, v]) => [reviveHandles(k, context), reviveHandles(v, context)]));
  if (value instanceof Set) return new Set([...value].map((item) => reviveHandles(item, context)));
  if (value instanceof Date) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = reviveHandles(item, context);
  return copy;
}
