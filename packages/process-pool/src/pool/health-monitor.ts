// The pool's periodic check of its ready workers: each is pinged (when pings
// are on), and one that misses `maxMissedPings` in a row is reported
// unhealthy and killed, so its exit is handled, and counted, like a crash.
// The same tick lets the pool recycle workers that are too old or idle.

import type { PoolSettings } from '@snakebridge/core';
import type { PoolEvents } from './pool-events.js';
import type { SupervisedWorker } from './supervised-worker.js';
import type { Slot } from './worker-slots.js';

/** How often the check runs when pings are off: recycling for age and idleness still needs it. */
const CHECK_WITHOUT_PINGS_MS = 1_000;

/** What a HealthMonitor is built from. */
export interface HealthMonitorOptions<W extends SupervisedWorker> {
  readonly settings: Pick<PoolSettings, 'pingIntervalMs' | 'pingTimeoutMs' | 'maxMissedPings'>;
  /** Where `unhealthy` goes. */
  readonly events: PoolEvents;
  /** The workers that are up. */
  readonly slots: () => Iterable<Slot<W>>;
  /** Called for each ready worker on each check, with the time of the check. */
  readonly checked: (slot: Slot<W>, now: number) => void;
  /** Called when a worker answered a ping; its reading is on the slot (`rssBytes`, `handles`). */
  readonly measured: (slot: Slot<W>) => void;
}

/** Pings ready workers on a timer and kills those that stop answering. */
export class HealthMonitor<W extends SupervisedWorker> {
  readonly #options: HealthMonitorOptions<W>;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: HealthMonitorOptions<W>) {
    this.#options = options;
  }

  start(): void {
    const { pingIntervalMs } = this.#options.settings;
    this.#timer = setInterval(() => this.#check(), pingIntervalMs > 0 ? pingIntervalMs : CHECK_WITHOUT_PINGS_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #check(): void {
    const now = Date.now();
    // A copy: the callbacks may recycle workers as we go.
    for (const slot of [...this.#options.slots()]) {
      if (slot.state !== 'ready') continue;
      if (this.#options.settings.pingIntervalMs > 0) this.#ping(slot);
      this.#options.checked(slot, now);
    }
  }

  #ping(slot: Slot<W>): void {
    if (slot.pinging) return;
    slot.pinging = true;
    slot.worker.ping(this.#options.settings.pingTimeoutMs).then(
      (health) => {
        slot.pinging = false;
        slot.missedPings = 0;
        slot.rssBytes = health.rssBytes ?? slot.rssBytes;
        slot.handles = health.handles ?? slot.handles;
        this.#options.measured(slot);
      },
      () => {
        slot.pinging = false;
        if (slot.state === 'ready') this.#missed(slot);
      },
    );
  }

  #missed(slot: Slot<W>): void {
    slot.missedPings += 1;
    if (slot.missedPings < this.#options.settings.maxMissedPings) return;
    this.#options.events.emit({ type: 'unhealthy', workerId: slot.worker.id, missedPings: slot.missedPings });
    slot.state = 'unhealthy';
    // Not a planned stop: its exit counts towards the circuit breaker like a crash.
    slot.worker.kill(`missed ${slot.missedPings} pings in a row`);
  }
}
