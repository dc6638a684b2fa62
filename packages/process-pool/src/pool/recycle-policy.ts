// When a healthy worker should still be replaced: it has served its share of
// calls, its Python process grew too big, it is too old, or it sits idle
// above `min`. The policy only decides; the pool drains and replaces.

import type { PoolSettings } from '@snakebridge/core';
import type { SupervisedWorker } from './supervised-worker.js';
import type { Slot } from './worker-slots.js';

/** Why a worker is recycled, as the `recycle` event says it. */
export type RecycleReason = 'max-calls' | 'max-rss' | 'ttl' | 'idle' | 'reload';

/** What the policy reads of a worker: any pool's slot will do. */
type SlotFigures = Pick<
  Slot<SupervisedWorker>,
  'served' | 'rssBytes' | 'startedAt' | 'lastActive' | 'leases' | 'sessions' | 'handles'
>;

type RecycleSettings = Pick<PoolSettings, 'maxCallsPerWorker' | 'maxRssBytes' | 'ttlMs' | 'idleTimeoutMs' | 'min'>;

/** The recycling limits of `config.pool`, applied to one worker at a time. */
export class RecyclePolicy {
  readonly #settings: RecycleSettings;

  constructor(settings: RecycleSettings) {
    this.#settings = settings;
  }

  /** After a call: 'max-calls' once the worker has served `maxCallsPerWorker`. */
  afterCall(slot: SlotFigures): RecycleReason | undefined {
    const { maxCallsPerWorker } = this.#settings;
    return maxCallsPerWorker > 0 && slot.served >= maxCallsPerWorker ? 'max-calls' : undefined;
  }

  /** After a health reading: 'max-rss' once its resident memory passed `maxRssBytes`. */
  afterPing(slot: SlotFigures): RecycleReason | undefined {
    const { maxRssBytes } = this.#settings;
    return maxRssBytes > 0 && (slot.rssBytes ?? 0) > maxRssBytes ? 'max-rss' : undefined;
  }

  /**
   * On a periodic check at `now`: 'ttl' once it has lived `ttlMs`, else 'idle'
   * once it has had no call for `idleTimeoutMs` while more than `min` workers are ready.
   */
  onCheck(slot: SlotFigures, now: number, readyWorkers: number): RecycleReason | undefined {
    const { ttlMs, idleTimeoutMs, min } = this.#settings;
    if (ttlMs > 0 && now - slot.startedAt >= ttlMs) return 'ttl';
    const idle = idleTimeoutMs > 0 && slot.leases === 0 && now - slot.lastActive >= idleTimeoutMs;
    return idle && readyWorkers > min ? 'idle' : undefined;
  }

  /**
   * Sessions and handles live in the worker: only memory pressure, or new code
   * the user asked for (reload), justifies losing them.
   */
  allows(slot: SlotFigures, reason: RecycleReason): boolean {
    return reason === 'max-rss' || reason === 'reload' || (slot.sessions === 0 && slot.handles === 0);
  }
}
