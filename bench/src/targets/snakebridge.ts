// SnakeBridge itself, over stdio with the default msgpack serializer: the
// workloads of docs/performance.md, each as a ratio to the baselines.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { StdioInvoker } from '@snakebridge/adapter-stdio';
import { type Bridge, createBridge, type SnakeBridgeSettings } from '@snakebridge/core';
import { FLOATS, medianMs, type Results, records, report, sample, throughput } from '../measure.js';

const WORK = fileURLToPath(new URL('../../python', import.meta.url));
const run = promisify(execFile);

function bridgeWith(settings: SnakeBridgeSettings = {}): Promise<Bridge> {
  return createBridge(
    {
      serializer: 'msgpack',
      logLevel: 'warn',
      python: { path: [WORK] },
      ...settings,
      pool: { min: 1, max: 1, maxConcurrency: 64, pingIntervalMs: 0, ...settings.pool },
    },
    { env: {} },
  );
}

/** Resident memory of a process, from /proc (Linux). */
function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

const results: Results = {};

/** A full collection, when run with --expose-gc (run.ts does), so RSS readings compare like with like. */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** (a) small calls, (b) floats, (c) records, (g) streams: one worker. */
async function calls(): Promise<void> {
  const bridge = await bridgeWith();
  const add = () => bridge.call('bench_work.add', [1, 2]);
  results['small call'] = { ...(await sample(5_000, 1_000, add)), callsPerSecond64: await throughput(20_000, 64, add) };

  const floats = new Float64Array(FLOATS).map((_, i) => i / 7);
  results['1M floats'] = { ...(await sample(20, 3, () => bridge.call('bench_work.numpy_echo', [floats]))) };
  const list = Array.from(floats);
  results['1M floats as a plain array'] = { ...(await sample(5, 1, () => bridge.call('bench_work.echo', [list]))) };

  const table = records(10_000);
  results['10k records'] = { ...(await sample(20, 3, () => bridge.call('bench_work.echo', [table]))) };

  results['stream of 100k items'] = {
    ms: await medianMs(3, async () => {
      let count = 0;
      for await (const _ of bridge.stream('bench_work.items', [100_000])) count++;
      if (count !== 100_000) throw new Error(`stream gave ${count} items`);
    }),
  };
  await bridge.close();
}

/** A fresh Node process, from its first line of script to its first answer (fresh-start.ts), median of `runs`. */
async function freshProcess(runs: number): Promise<{ scriptMs: number; processMs: number }> {
  const script = fileURLToPath(new URL('./fresh-start.js', import.meta.url));
  const timings: { scriptMs: number; processMs: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const { stdout } = await run(process.execPath, [script]);
    timings.push(JSON.parse(stdout.trim().split('\n').pop() ?? '{}'));
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  return { scriptMs: median(timings.map((t) => t.scriptMs)), processMs: median(timings.map((t) => t.processMs)) };
}

/** How long `start` takes to give a bridge that has done its work, median of `runs`; closing it is not timed. */
async function startUpMs(runs: number, start: () => Promise<Bridge>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const bridge = await start();
    times.push(performance.now() - started);
    await bridge.close();
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)] as number;
}

/**
 * (e) start-up: spawn to first call, one worker and a pool of four to all
 * ready (with the fork server and without), and a fresh Node process to its
 * first answer. The calls go to `operator.add`: bench_work imports numpy,
 * whose import (about 100 ms here) is the module's cost, not the bridge's.
 */
async function startUp(): Promise<void> {
  results['spawn to first call'] = {
    ms: await startUpMs(5, async () => {
      const bridge = await bridgeWith();
      await bridge.call('operator.add', [1, 2]);
      return bridge;
    }),
  };
  const ready = (pool: SnakeBridgeSettings['pool']) =>
    startUpMs(5, () => bridgeWith({ pool: { start: 'eager', ...pool } }));
  results['one worker to ready'] = { ms: await ready({ min: 1, max: 1 }) };
  results['pool of 4 to all ready'] = { ms: await ready({ min: 4, max: 4 }) };
  results['pool of 4 to all ready, fork server off'] = { ms: await ready({ min: 4, max: 4, forkServer: false }) };
  results['fresh Node process to first answer'] = await freshProcess(5);
}

/** (f) CPU-bound Python on one worker and on two. */
async function parallelism(): Promise<void> {
  const callsPerSecond = async (workers: number) => {
    const bridge = await bridgeWith({ pool: { min: workers, max: workers, start: 'eager' } });
    const burn = () => bridge.call('bench_work.burn', [1_000_000]);
    await burn();
    const rate = await throughput(16, 8, burn);
    await bridge.close();
    return rate;
  };
  const one = await callsPerSecond(1);
  const two = await callsPerSecond(2);
  results['CPU-bound calls'] = { oneWorkerPerSecond: one, twoWorkersPerSecond: two, speedup: two / one };
}

/** (h) soak: a million calls; resident memory after warm-up and at the end. */
async function soak(): Promise<void> {
  const bridge = await bridgeWith();
  const invoker = bridge.invoker as StdioInvoker;
  const add = (i: number) => bridge.call('bench_work.add', [i, 1]);
  await throughput(100_000, 64, add);
  const pid = invoker.pool.stats().workers[0]?.pid as number;
  collectGarbage();
  const hostAt100k = process.memoryUsage();
  const workerAt100k = rss(pid);
  const rate = await throughput(900_000, 64, add);
  collectGarbage();
  const hostAt1M = process.memoryUsage();
  results['1M-call soak'] = {
    callsPerSecond: rate,
    hostGrowthMB: (hostAt1M.rss - hostAt100k.rss) / 1e6,
    hostHeapGrowthMB: (hostAt1M.heapUsed - hostAt100k.heapUsed) / 1e6,
    workerGrowthMB: (rss(pid) - workerAt100k) / 1e6,
  };
  await bridge.close();
}

// The soak runs once, on its own (`snakebridge soak`); the rest is repeated by run.ts.
// `snakebridge start-up` runs the start-up workloads alone (docs/performance.md, "Start-up").
if (process.argv.includes('soak')) {
  await soak();
  report('snakebridge-soak', results);
} else if (process.argv.includes('start-up')) {
  await startUp();
  report('snakebridge-start-up', results);
} else {
  await calls();
  await startUp();
  await parallelism();
  report('snakebridge', results);
}
