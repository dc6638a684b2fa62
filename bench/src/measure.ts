// Timing helpers shared by the benchmark targets: samples, percentiles, and
// the JSON line each target process prints for the orchestrator.

export interface Summary {
  /** Median, in microseconds. */
  readonly p50: number;
  readonly p99: number;
  readonly samples: number;
}

/** Runs `once` `warmup` times, then `count` times, timing each. */
export async function sample(count: number, warmup: number, once: () => Promise<unknown>): Promise<Summary> {
  for (let i = 0; i < warmup; i++) await once();
  const times = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await once();
    times[i] = (performance.now() - started) * 1000;
  }
  return summarize(times);
}

export function summarize(times: Float64Array): Summary {
  const sorted = Float64Array.from(times).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { p50: at(0.5), p99: at(0.99), samples: sorted.length };
}

/** Calls per second with `inFlight` calls kept going until `total` are done. */
export async function throughput(
  total: number,
  inFlight: number,
  once: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < total) await once(next++);
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return total / ((performance.now() - started) / 1000);
}

/** Milliseconds one run of `once` takes, median of `runs`. */
export async function medianMs(runs: number, once: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await once();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)] as number;
}

/** A target's results: workload name → metric name → number. */
export type Results = Record<string, Record<string, number>>;

/** Prints the results as the one JSON line the orchestrator reads. */
export function report(target: string, results: Results): void {
  process.stdout.write(`${JSON.stringify({ target, results })}\n`);
}

/** The records of workload (c). */
export function records(count: number): { id: number; name: string; score: number; tags: string[] }[] {
  return Array.from({ length: count }, (_, i) => ({
    id: i,
    name: `user ${i}`,
    score: i * 0.25,
    tags: ['a', `t${i % 7}`],
  }));
}

export const FLOATS = 1_000_000;
