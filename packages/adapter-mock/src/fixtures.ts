// Record and replay: record what a real invoker answered into a fixture file,
// then replay it with the mock so tests run without Python.

import { readFileSync, writeFileSync } from 'node:fs';
import {
  type Call,
  type CallOptions,
  type HandleRef,
  type Invoker,
  type InvokerStats,
  JsonSerializer,
  PythonError,
  type PythonErrorPayload,
  type SessionRef,
  type StreamOptions,
} from '@snakebridge/core';
import type { Fallback, MockInvoker } from './mock-invoker.js';

/** The fixture file format, version 1. Values are in the JSON serializer's tagged form. */
export interface FixtureFile {
  readonly version: 1;
  readonly recordedAt: string;
  readonly calls: readonly RecordedFixture[];
}

/** One recorded call and what it answered. */
export interface RecordedFixture {
  readonly op: Call['op'];
  readonly target: string;
  /** Id of the handle the call was on, as recorded. */
  readonly handle: number | null;
  readonly args: unknown;
  readonly kwargs: unknown;
  readonly outcome:
    | { readonly kind: 'result'; readonly value: unknown }
    | { readonly kind: 'error'; readonly error: PythonErrorPayload }
    | { readonly kind: 'stream'; readonly items: readonly unknown[]; readonly error?: PythonErrorPayload | undefined };
}

const json = new JsonSerializer();
const text = new TextDecoder();

/** A value in the tagged JSON form stored in fixture files (bytes, NaN, handles survive). */
function toTagged(value: unknown): unknown {
  return JSON.parse(text.decode(json.encode(value)));
}

function fromTagged(value: unknown): unknown {
  return json.decode(new TextEncoder().encode(JSON.stringify(value)));
}

function keyOf(op: string, target: string, handle: number | null, args: unknown, kwargs: unknown): string {
  return JSON.stringify([op, target, handle, args, kwargs]);
}

/**
 * Wraps a real invoker and records every call and its outcome. Call `save()`
 * to write the fixture file; load it with `replayFixtures`.
 *
 * @example
 * const recorder = new RecordingInvoker(realInvoker, 'test/fixtures/python.json');
 * const bridge = await createBridge(config, { invoker: recorder });
 * … exercise the code …
 * await bridge.close(); recorder.save();
 */
export class RecordingInvoker implements Invoker {
  readonly kind: string;
  readonly #inner: Invoker;
  readonly #file: string;
  readonly #recorded: RecordedFixture[] = [];

  constructor(inner: Invoker, file: string) {
    this.#inner = inner;
    this.#file = file;
    this.kind = `recording(${inner.kind})`;
  }

  start(): Promise<void> {
    return this.#inner.start();
  }

  async call<T = unknown>(call: Call, options?: CallOptions): Promise<T> {
    const [args, kwargs] = [toTagged(call.args ?? []), toTagged(call.kwargs ?? {})];
    const base = { op: call.op, target: call.target, handle: call.handle?.id ?? null, args, kwargs };
    try {
      const value = await this.#inner.call<T>(call, options);
      this.#recorded.push({ ...base, outcome: { kind: 'result', value: toTagged(value) } });
      return value;
    } catch (error) {
      if (PythonError.is(error)) this.#recorded.push({ ...base, outcome: { kind: 'error', error: error.toPayload() } });
      throw error;
    }
  }

  async *stream<T = unknown>(call: Call, options?: StreamOptions): AsyncIterableIterator<T> {
    const base = {
      op: call.op,
      target: call.target,
      handle: call.handle?.id ?? null,
      args: toTagged(call.args ?? []),
      kwargs: toTagged(call.kwargs ?? {}),
    };
    const items: unknown[] = [];
    try {
      for await (const item of this.#inner.stream<T>(call, options)) {
        items.push(toTagged(item));
        yield item;
      }
      this.#recorded.push({ ...base, outcome: { kind: 'stream', items } });
    } catch (error) {
      if (PythonError.is(error))
        this.#recorded.push({ ...base, outcome: { kind: 'stream', items, error: error.toPayload() } });
      throw error;
    }
  }

  release(handles: readonly HandleRef[]): Promise<void> {
    return this.#inner.release(handles);
  }
  openSession(): Promise<SessionRef> {
    return this.#inner.openSession();
  }
  closeSession(session: SessionRef): Promise<void> {
    return this.#inner.closeSession(session);
  }
  stats(): InvokerStats {
    return this.#inner.stats();
  }
  close(): Promise<void> {
    return this.#inner.close();
  }

  /** What has been recorded so far. */
  fixtures(): FixtureFile {
    return { version: 1, recordedAt: new Date().toISOString(), calls: [...this.#recorded] };
  }

  /** Writes the fixture file. */
  save(): void {
    writeFileSync(this.#file, `${JSON.stringify(this.fixtures(), null, 2)}\n`);
  }
}

/** Reads a fixture file, checking its version. */
export function loadFixtures(file: string): FixtureFile {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as FixtureFile;
  if (parsed.version !== 1) throw new Error(`${file}: unsupported fixture version ${String(parsed.version)}`);
  return parsed;
}

/**
 * Makes the mock answer recorded calls. Identical calls recorded several
 * times are answered in recorded order, the last answer repeating.
 * Programmed responses still take precedence.
 */
export function replayFixtures(mock: MockInvoker, fixtures: FixtureFile | string): void {
  const file = typeof fixtures === 'string' ? loadFixtures(fixtures) : fixtures;
  const byKey = new Map<string, RecordedFixture[]>();
  for (const fixture of file.calls) {
    const key = keyOf(fixture.op, fixture.target, fixture.handle, fixture.args, fixture.kwargs);
    byKey.set(key, [...(byKey.get(key) ?? []), fixture]);
  }
  const fallback: Fallback = (call, args, kwargs) => {
    const key = keyOf(call.op, call.target, call.handle?.id ?? null, toTagged(args), toTagged(kwargs));
    const queue = byKey.get(key);
    if (queue === undefined || queue.length === 0) return { found: false };
    const fixture = (queue.length > 1 ? queue.shift() : queue[0]) as RecordedFixture;
    return { found: true, respond: () => replay(fixture) };
  };
  mock.addFallback(fallback);
}

function replay(fixture: RecordedFixture): unknown {
  const { outcome } = fixture;
  switch (outcome.kind) {
    case 'result':
      return fromTagged(outcome.value);
    case 'error':
      throw new PythonError(outcome.error, fixture.target);
    case 'stream':
      return replayStream(outcome.items, outcome.error, fixture.target);
  }
}

function* replayStream(
  items: readonly unknown[],
  error: PythonErrorPayload | undefined,
  target: string,
): Generator<unknown> {
  for (const item of items) yield fromTagged(item);
  if (error !== undefined) throw new PythonError(error, target);
}
