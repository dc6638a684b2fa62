// `make bench`: runs each benchmark target in a process of its own, then prints
// one table of medians and ratios to the baselines measured in the same run,
// and writes it to bench/results/ for docs/performance.md.

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runtimePath } from '@snakebridge/process-pool';
import type { Results } from './measure.js';
import { python } from './python.js';

/** Compared with each other: run in interleaved rounds, and each figure is the median over the rounds. */
const COMPARED = ['ipc-floor', 'python-echo', 'snakebridge'];
const ROUNDS = 3;
/** Run once each. */
const ONCE: [name: string, script: string, args: string[]][] = [
  ['snakebridge-soak', 'snakebridge', ['soak']],
  ['snakebridge-arrow', 'snakebridge-arrow', []],
  ['serializers', 'serializers', []],
  ['offload', 'offload', []],
  ['typed-bindings', 'typed-bindings', []],
  ['pipelining', 'pipelining', []],
];

async function runTarget(name: string, args: string[] = []): Promise<Results> {
  const script = fileURLToPath(new URL(`./targets/${name}.js`, import.meta.url));
  const child = spawn(process.execPath, ['--expose-gc', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const line = output.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`benchmark target ${name} failed (exit ${code})`);
  return (JSON.parse(line) as { results: Results }).results;
}

function machine(): Record<string, string> {
  const interpreter = execFileSync(process.env.BENCH_PYTHON ?? 'python3', ['--version'])
    .toString()
    .trim();
  return {
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    python: interpreter,
    date: new Date().toISOString().slice(0, 10),
  };
}

const format = (n: number | undefined, digits = 1) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits));

interface Row {
  readonly workload: string;
  readonly floor?: number | undefined;
  readonly echo?: number | undefined;
  readonly snakebridge?: number | undefined;
  /** SnakeBridge as a ratio to its baseline (lower is better unless `higherIsBetter`). */
  readonly ratio?: number | undefined;
  readonly target?: string | undefined;
  readonly met?: boolean | undefined;
}

const metric = (results: Results | undefined, workload: string, name: string) => results?.[workload]?.[name];
const divide = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : a / b;

/** The headline rows: each SnakeBridge figure beside its baselines, with the targets of issue #7. */
function rows(all: Record<string, Results>): Row[] {
  const sb = all.snakebridge;
  const echo = all['python-echo'];
  const floor = all['ipc-floor'];
  const p50 = (r: Results | undefined, w: string) => metric(r, w, 'p50');
  const smallRatio = divide(p50(sb, 'small call'), p50(echo, 'small call'));
  const rateRatio = divide(
    metric(sb, 'small call', 'callsPerSecond64'),
    metric(echo, 'small call', 'callsPerSecond64'),
  );
  const floatRatio = divide(p50(sb, '1M floats'), p50(floor, '1M floats'));
  const recordRatio = divide(p50(sb, '10k records'), p50(echo, '10k records'));
  const soak = all['snakebridge-soak'];
  const pipeliningSpeedUp = metric(all.pipelining, 'pipelining speed-up', 'awaitedOverPipelined');
  const hostGrowth = metric(soak, '1M-call soak', 'hostGrowthMB');
  const heapGrowth = metric(soak, '1M-call soak', 'hostHeapGrowthMB');
  const workerGrowth = metric(soak, '1M-call soak', 'workerGrowthMB');
  return [
    {
      workload: 'small call add(1, 2), p50 µs',
      floor: p50(floor, 'small call'),
      echo: p50(echo, 'small call'),
      snakebridge: p50(sb, 'small call'),
      ratio: smallRatio,
      target: '≤ 1.1× echo',
      met: smallRatio === undefined ? undefined : smallRatio <= 1.1,
    },
    {
      workload: 'small call, p99 µs',
      floor: metric(floor, 'small call', 'p99'),
      echo: metric(echo, 'small call', 'p99'),
      snakebridge: metric(sb, 'small call', 'p99'),
      ratio: divide(metric(sb, 'small call', 'p99'), metric(echo, 'small call', 'p99')),
    },
    {
      workload: '64 in flight on one worker, calls/s',
      floor: metric(floor, 'small call', 'callsPerSecond64'),
      echo: metric(echo, 'small call', 'callsPerSecond64'),
      snakebridge: metric(sb, 'small call', 'callsPerSecond64'),
      ratio: rateRatio,
      target: '≥ 1.2× echo',
      met: rateRatio === undefined ? undefined : rateRatio >= 1.2,
    },
    {
      workload: '1M floats, Float64Array ↔ numpy, p50 µs',
      floor: p50(floor, '1M floats'),
      snakebridge: p50(sb, '1M floats'),
      ratio: floatRatio,
      target: '≤ 1.2× the pipe copy',
      met: floatRatio === undefined ? undefined : floatRatio <= 1.2,
    },
    { workload: '1M floats, plain array ↔ list, p50 µs', snakebridge: p50(sb, '1M floats as a plain array') },
    ...sharedMemoryRows(floor, sb),
    {
      workload: '10k records, p50 µs',
      echo: p50(echo, '10k records'),
      snakebridge: p50(sb, '10k records'),
      ratio: recordRatio,
      target: '≤ 1.1× echo',
      met: recordRatio === undefined ? undefined : recordRatio <= 1.1,
    },
    { workload: '1M-row, 3-column Arrow table, p50 µs', snakebridge: p50(all['snakebridge-arrow'], '1M-row table') },
    {
      workload: '10 dependent calls on a handle, each awaited, p50 µs',
      snakebridge: p50(all.pipelining, '10 dependent calls, each awaited'),
    },
    {
      workload: '10 dependent calls on a handle, pipelined, p50 µs',
      snakebridge: p50(all.pipelining, '10 dependent calls, pipelined'),
      ratio: pipeliningSpeedUp,
      target: '≥ 5× faster than each awaited',
      met: pipeliningSpeedUp === undefined ? undefined : pipeliningSpeedUp >= 5,
    },
    { workload: 'stream of 100k items, ms', snakebridge: metric(sb, 'stream of 100k items', 'ms') },
    ...startUpRows(sb),
    { workload: 'CPU-bound: 2 workers vs 1, speed-up', snakebridge: metric(sb, 'CPU-bound calls', 'speedup') },
    ...['numpy', 'pandas', 'sklearn.ensemble'].map((module) => {
      const ms = metric(all['typed-bindings'], `snakebridge types ${module}`, 'introspectionMs');
      return {
        workload: `snakebridge types: introspect ${module} in a fresh interpreter, ms`,
        snakebridge: ms,
        target: '≤ 15000 ms (the budget)',
        met: ms === undefined ? undefined : ms <= 15_000,
      };
    }),
    {
      workload: '1M-call soak: host RSS growth 100k → 1M, MB',
      snakebridge: hostGrowth,
      target: '≤ 10 MB',
      met: hostGrowth === undefined ? undefined : hostGrowth <= 10,
    },
    // RSS growth with a flat heap is the allocator keeping pages, not a leak.
    { workload: '1M-call soak: host JS heap growth 100k → 1M, MB', snakebridge: heapGrowth },
    {
      workload: '1M-call soak: worker RSS growth 100k → 1M, MB',
      snakebridge: workerGrowth,
      target: '≤ 10 MB',
      met: workerGrowth === undefined ? undefined : workerGrowth <= 10,
    },
  ];
}

/**
 * The shared-memory lane (issue #13): a Float64Array round trip against the
 * pipe copy of as many bytes; the target is to be at least 3× faster from 8 MB.
 */
function sharedMemoryRows(floor: Results | undefined, sb: Results | undefined): Row[] {
  const p50 = (r: Results | undefined, w: string) => metric(r, w, 'p50');
  return (
    [
      ['1 MB', '1 MB'],
      ['8 MB', '1M floats'],
      ['100 MB', '100 MB'],
    ] as const
  ).map(([size, floorName]) => {
    const ratio = divide(p50(sb, `${size} through shared memory`), p50(floor, floorName));
    const targeted = size !== '1 MB';
    return {
      workload: `Float64Array ${size} through shared memory, p50 µs`,
      floor: p50(floor, floorName),
      snakebridge: p50(sb, `${size} through shared memory`),
      ratio,
      target: targeted ? '≤ 0.33× the pipe copy' : undefined,
      met: targeted && ratio !== undefined ? ratio <= 1 / 3 : undefined,
    };
  });
}

/** Start-up (issue #13): a first call, a fresh Node process, and a pool of four against one worker. */
function startUpRows(sb: Results | undefined): Row[] {
  const ms = (workload: string, name = 'ms') => metric(sb, workload, name);
  const atMost = (value: number | undefined, limit: number) => (value === undefined ? undefined : value <= limit);
  const one = ms('one worker to ready');
  const poolRow = (workload: string, label: string, targeted: boolean): Row => {
    const ratio = divide(ms(workload), one);
    if (!targeted) return { workload: label, snakebridge: ms(workload), ratio };
    return { workload: label, snakebridge: ms(workload), ratio, target: '≤ 1.5× one worker', met: atMost(ratio, 1.5) };
  };
  return [
    {
      workload: 'spawn to first call, ms',
      snakebridge: ms('spawn to first call'),
      target: '≤ 60 ms',
      met: atMost(ms('spawn to first call'), 60),
    },
    {
      workload: 'fresh Node process to first answer, from its first line, ms',
      snakebridge: ms('fresh Node process to first answer', 'scriptMs'),
      target: '≤ 80 ms',
      met: atMost(ms('fresh Node process to first answer', 'scriptMs'), 80),
    },
    {
      workload: 'fresh Node process to first answer, Node start included, ms',
      snakebridge: ms('fresh Node process to first answer', 'processMs'),
    },
    { workload: 'one worker to ready, ms', snakebridge: one },
    poolRow('pool of 4 to all ready', 'pool of 4 to all ready (fork server), ms', true),
    // The same pool with every worker spawned, for comparison: the target is the default's.
    poolRow('pool of 4 to all ready, fork server off', 'pool of 4 to all ready, fork server off, ms', false),
  ];
}

function table(all: Record<string, Results>): string {
  const header = ['Workload', 'IPC floor', 'Python echo', 'SnakeBridge', 'Ratio', 'Target', 'Met'];
  const lines = rows(all).map((row) =>
    [
      row.workload,
      format(row.floor),
      format(row.echo),
      format(row.snakebridge, row.workload.includes('speed-up') ? 2 : 1),
      format(row.ratio, 2),
      row.target ?? '',
      row.met === undefined ? '' : row.met ? 'yes' : 'no',
    ].join(' | '),
  );
  return [
    `| ${header.join(' | ')} |`,
    `|${' --- |'.repeat(header.length)}`,
    ...lines.map((line) => `| ${line} |`),
  ].join('\n');
}

function details(all: Record<string, Results>): string {
  const lines: string[] = [];
  for (const [target, results] of Object.entries(all)) {
    for (const [workload, metrics] of Object.entries(results)) {
      const cells = Object.entries(metrics).map(([metric, value]) => `${metric} ${format(value, 2)}`);
      lines.push(`| ${target} | ${workload} | ${cells.join(', ')} |`);
    }
  }
  return ['| Target | Workload | Figures |', '| --- | --- | --- |', ...lines].join('\n');
}

/** Each figure's median over the rounds. */
function medianOfRounds(rounds: Results[]): Results {
  const merged: Results = {};
  for (const [workload, metrics] of Object.entries(rounds[0] ?? {})) {
    const figures: Record<string, number> = {};
    for (const metric of Object.keys(metrics)) {
      const values = rounds.map((round) => round[workload]?.[metric] ?? Number.NaN).sort((a, b) => a - b);
      figures[metric] = values[Math.floor(values.length / 2)] as number;
    }
    merged[workload] = figures;
  }
  return merged;
}

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  process.stderr.write(`bench: ${label}…`);
  const result = await work();
  process.stderr.write(` ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  return result;
}

process.env.BENCH_PYTHON = await python();
// Workers import the runtime's bytecode, as they do from an installed package (pip compiles it; a worker writes it
// on first use): with PYTHONDONTWRITEBYTECODE set and no __pycache__ yet, each start would compile it from source.
execFileSync(process.env.BENCH_PYTHON, ['-m', 'compileall', '-q', join(runtimePath(), 'snakebridge')]);
const all: Record<string, Results> = {};
// Interleaved, so a noisy minute on a shared machine hurts each target alike.
const rounds: Record<string, Results[]> = Object.fromEntries(COMPARED.map((name) => [name, []]));
for (let round = 1; round <= ROUNDS; round++) {
  for (const target of COMPARED)
    rounds[target]?.push(await timed(`${target} (round ${round})`, () => runTarget(target)));
}
for (const target of COMPARED) all[target] = medianOfRounds(rounds[target] ?? []);
for (const [name, script, args] of ONCE) all[name] = await timed(name, () => runTarget(script, args));
const about = machine();
const markdown = [
  `Machine: ${Object.entries(about)
    .map(([k, v]) => `${k} ${v}`)
    .join('; ')}.`,
  '',
  table(all),
  '',
  details(all),
  '',
].join('\n');
// The figures in the repository (bench/results/latest.*) change only when asked (`make bench-record`):
// a run to look at writes beside them, in a folder git ignores.
const record = process.env.BENCH_RECORD === '1';
const out = fileURLToPath(new URL(record ? '../results/' : '../results/local/', import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(`${out}latest.md`, markdown);
writeFileSync(`${out}latest.json`, `${JSON.stringify({ machine: about, results: all }, null, 2)}\n`);
console.log(markdown);
process.stderr.write(`bench: results in ${out}${record ? '' : ' (make bench-record to update the recorded ones)'}\n`);
