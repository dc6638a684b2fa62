// A SupervisedWorker without a process, for fast and exact tests of the pool's logic.

import type { WorkerExit } from '@snakebridge/core';
import type { StartHooks, SupervisedWorker, WorkerHealth } from '../src/index.js';

let nextPid = 10_000;

export class FakeWorker implements SupervisedWorker {
  readonly id: string;
  readonly pid = nextPid++;
  readonly exited: Promise<WorkerExit>;
  /** What the next pings answer; `undefined` never answers (a hung process). */
  health: WorkerHealth | undefined = { rssBytes: 1_000, handles: 0 };
  /** How long stop() takes before the process exits. */
  stopDelayMs = 0;
  stopped = false;
  /** The process has exited: stopped, killed or crashed. */
  hasExited = false;
  killedFor: string | undefined;
  /** What the pool gave its factory: tests call `paused`, `resumed` and `failed` through it, as a real worker would. */
  hooks: StartHooks | undefined;
  #exit!: (exit: WorkerExit) => void;

  constructor(id: string) {
    this.id = id;
    this.exited = new Promise((resolve) => {
      this.#exit = (exit) => {
        this.hasExited = true;
        resolve(exit);
      };
    });
  }

  ping(timeoutMs: number): Promise<WorkerHealth> {
    const health = this.health;
    if (health !== undefined) return Promise.resolve(health);
    return new Promise((_, reject) => setTimeout(() => reject(new Error('no pong')), timeoutMs));
  }

  async stop(): Promise<void> {
    if (this.stopDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.stopDelayMs));
    this.stopped = true;
    this.#exit({ workerId: this.id, pid: this.pid, exitCode: 0, signal: null });
  }

  kill(reason: string): void {
    this.killedFor = reason;
    this.crash('SIGKILL');
  }

  /** The process dies on its own. */
  crash(signal: string | null = null, exitCode: number | null = null): void {
    this.#exit({ workerId: this.id, pid: this.pid, exitCode, signal, reason: this.killedFor });
  }
}

/** A factory that records the workers it made; `failing` makes starts fail; the delays slow starts and stops. */
export function fakeFactory() {
  let starting = 0;
  const state = {
    workers: [] as FakeWorker[],
    failing: false,
    startDelayMs: 0,
    stopDelayMs: 0,
    /** Workers starting at the same moment, at most, so far: proves starts overlap without timing them. */
    mostStartingAtOnce: 0,
    factory: async (id: string, hooks: StartHooks): Promise<FakeWorker> => {
      starting += 1;
      state.mostStartingAtOnce = Math.max(state.mostStartingAtOnce, starting);
      try {
        if (state.startDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.startDelayMs));
      } finally {
        starting -= 1;
      }
      if (state.failing) throw new Error(`worker ${id} could not start`);
      const worker = new FakeWorker(id);
      worker.stopDelayMs = state.stopDelayMs;
      worker.hooks = hooks;
      hooks.spawned(worker.pid);
      state.workers.push(worker);
      return worker;
    },
  };
  return state;
}
