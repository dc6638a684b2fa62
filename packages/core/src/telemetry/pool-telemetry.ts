// Metrics of a pool of workers, through @opentelemetry/api: its lifecycle
// events as counters (starts, crashes, restarts, recycles by reason, and every
// event by type), and what its stats say now as gauges read at each collection
// (queue depth, workers by state, the circuit, live handles and memory per
// worker). Nothing is made while no meter provider is registered.

import {
  type Attributes,
  type BatchObservableResult,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  type Observable,
  type ObservableGauge,
  type ObservableUpDownCounter,
} from '@opentelemetry/api';
import type { PoolEvent, PoolStats } from '../process-pool/process-pool.js';
import { isNoop, TELEMETRY_SCOPE } from './telemetry.js';

/** The instruments of one meter provider, made once for it. */
interface PoolInstruments {
  readonly provider: MeterProvider;
  readonly meter: Meter;
  readonly events: Counter;
  readonly starts: Counter;
  readonly startup: Histogram;
  readonly crashes: Counter;
  readonly restarts: Counter;
  readonly recycles: Counter;
  readonly queueDepth: ObservableUpDownCounter;
  readonly workers: ObservableUpDownCounter;
  readonly circuitOpen: ObservableGauge;
  readonly handles: ObservableUpDownCounter;
  readonly memory: ObservableUpDownCounter;
}

/**
 * The metrics of one pool. The pool tells it each lifecycle event; the gauges
 * read `stats()` when the SDK collects. Call `close()` when the pool closes, so
 * that a closed pool is no longer read (nor kept alive by the SDK).
 */
export class PoolTelemetry {
  readonly #pool: string;
  readonly #stats: () => PoolStats;
  #instruments: PoolInstruments | undefined;
  readonly #observe = (result: BatchObservableResult): void => this.#observeStats(result);
  #closed = false;

  /** `pool` names it in every data point (`snakebridge.pool`): `stdio pool`, `grpc pool`. */
  constructor(pool: string, stats: () => PoolStats) {
    this.#pool = pool;
    this.#stats = stats;
  }

  /** Counts a lifecycle event. The gauges start being read at the first event after an SDK is registered. */
  event(event: PoolEvent): void {
    const instruments = this.#current();
    if (instruments === undefined) return;
    const pool = { 'snakebridge.pool': this.#pool };
    instruments.events.add(1, { 'snakebridge.pool.event': event.type, ...eventAttributes(event), ...pool });
    switch (event.type) {
      case 'ready':
        instruments.starts.add(1, pool);
        instruments.startup.record(event.startupMs, pool);
        break;
      case 'exit':
        if (event.reason === undefined) instruments.crashes.add(1, pool);
        break;
      case 'restart':
        instruments.restarts.add(1, pool);
        break;
      case 'recycle':
        instruments.recycles.add(1, { ...pool, 'snakebridge.reason': event.reason });
        break;
      default:
        break;
    }
  }

  /** The pool is closed: its gauges are no longer read. */
  close(): void {
    this.#closed = true;
    this.#unobserve();
  }

  /** The instruments of the meter provider registered now; undefined while none is. */
  #current(): PoolInstruments | undefined {
    const provider = metrics.getMeterProvider();
    if (this.#closed || isNoop(provider)) return undefined;
    if (this.#instruments?.provider === provider) return this.#instruments;
    this.#unobserve();
    const instruments = makeInstruments(provider, provider.getMeter(TELEMETRY_SCOPE));
    instruments.meter.addBatchObservableCallback(this.#observe, observables(instruments));
    this.#instruments = instruments;
    return instruments;
  }

  #unobserve(): void {
    const instruments = this.#instruments;
    if (instruments !== undefined)
      instruments.meter.removeBatchObservableCallback(this.#observe, observables(instruments));
    this.#instruments = undefined;
  }

  #observeStats(result: BatchObservableResult): void {
    const instruments = this.#instruments;
    if (instruments === undefined) return;
    const stats = this.#stats();
    const pool = { 'snakebridge.pool': this.#pool };
    result.observe(instruments.queueDepth, stats.queueDepth, pool);
    result.observe(instruments.circuitOpen, stats.state === 'circuit-open' ? 1 : 0, pool);
    const byState = new Map<string, number>();
    for (const worker of stats.workers) {
      byState.set(worker.state, (byState.get(worker.state) ?? 0) + 1);
      const attributes = { ...pool, 'snakebridge.worker.id': worker.id };
      result.observe(instruments.handles, worker.handles, attributes);
      // Until a health check has measured it: no reading rather than a false one.
      if (worker.rssBytes !== undefined) result.observe(instruments.memory, worker.rssBytes, attributes);
    }
    for (const [state, count] of byState) {
      result.observe(instruments.workers, count, { ...pool, 'snakebridge.worker.state': state });
    }
  }
}

function observables(instruments: PoolInstruments): Observable[] {
  return [
    instruments.queueDepth,
    instruments.workers,
    instruments.circuitOpen,
    instruments.handles,
    instruments.memory,
  ];
}

/** Why, for recycles and exits (a crash has no reason). */
function eventAttributes(event: PoolEvent): Attributes {
  if (event.type === 'recycle') return { 'snakebridge.reason': event.reason };
  if (event.type === 'exit') return { 'snakebridge.exit': event.reason === undefined ? 'crash' : 'planned' };
  return {};
}

function makeInstruments(provider: MeterProvider, meter: Meter): PoolInstruments {
  return {
    provider,
    meter,
    events: meter.createCounter('snakebridge.pool.events', {
      unit: '{event}',
      description:
        'Worker lifecycle events: spawn, ready, exit, restart, recycle, unhealthy, circuit-open, circuit-close.',
    }),
    starts: meter.createCounter('snakebridge.worker.starts', {
      unit: '{worker}',
      description: 'Workers that started and took calls.',
    }),
    startup: meter.createHistogram('snakebridge.worker.startup.duration', {
      unit: 'ms',
      description: 'How long workers took from spawn to ready.',
    }),
    crashes: meter.createCounter('snakebridge.worker.crashes', {
      unit: '{worker}',
      description: 'Workers that exited when the pool had not asked them to (a crash, a kill, an os._exit).',
    }),
    restarts: meter.createCounter('snakebridge.worker.restarts', {
      unit: '{worker}',
      description: 'Replacements started for crashed workers.',
    }),
    recycles: meter.createCounter('snakebridge.worker.recycles', {
      unit: '{worker}',
      description: 'Workers replaced gracefully, by reason: max-calls, max-rss, ttl, idle, reload.',
    }),
    queueDepth: meter.createObservableUpDownCounter('snakebridge.pool.queue.depth', {
      unit: '{call}',
      description: 'Calls waiting for a free worker.',
    }),
    workers: meter.createObservableUpDownCounter('snakebridge.pool.workers', {
      unit: '{worker}',
      description: 'Workers in the pool, by state: ready, draining, unhealthy, stopping.',
    }),
    circuitOpen: meter.createObservableGauge('snakebridge.pool.circuit.open', {
      unit: '1',
      description: '1 while the pool refuses calls because its circuit breaker is open, else 0.',
    }),
    handles: meter.createObservableUpDownCounter('snakebridge.worker.handles', {
      unit: '{handle}',
      description: 'Python objects a worker holds for the host, at its last health check.',
    }),
    memory: meter.createObservableUpDownCounter('snakebridge.worker.memory.usage', {
      unit: 'By',
      description: 'Resident memory of a worker, at its last health check.',
    }),
  };
}
