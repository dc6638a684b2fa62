// The serializer benchmark: encode and decode in this process, and the full
// round trip through a real worker, for each serializer and payload.

import { fileURLToPath } from 'node:url';
import { StdioInvoker } from '@snakebridge/adapter-stdio';
import { JsonSerializer, resolveConfig, type Serializer } from '@snakebridge/core';
import { createArrowSerializer } from '@snakebridge/serializer-arrow';
import { MsgpackSerializer } from '@snakebridge/serializer-msgpack';
import { ProtobufSerializer } from '@snakebridge/serializer-protobuf';
import { tableFromArrays } from 'apache-arrow';
import { FLOATS, medianMs, type Results, records, report } from '../measure.js';

const WORK = fileURLToPath(new URL('../../python', import.meta.url));

/** What each workload calls, and with what: `[args, kwargs]` is what the serializer encodes. */
const payloads: Record<string, { target: string; args: unknown[]; arrowOnly?: boolean }> = {
  'small call': { target: 'bench_work.add', args: [1, 2] },
  '1M floats': { target: 'bench_work.echo', args: [new Float64Array(FLOATS).map((_, i) => i / 7)] },
  '10k records': { target: 'bench_work.echo', args: [records(10_000)] },
  '1M-row table': {
    target: 'bench_work.echo',
    args: [
      tableFromArrays({
        id: BigInt64Array.from({ length: 1_000_000 }, (_, i) => BigInt(i)),
        value: new Float64Array(1_000_000).map((_, i) => i * 0.5),
        flag: Array.from({ length: 1_000_000 }, (_, i) => i % 2 === 0),
      }),
    ],
    arrowOnly: true,
  },
};

const serializers: Record<string, () => Serializer> = {
  json: () => new JsonSerializer(),
  msgpack: () => new MsgpackSerializer(),
  arrow: () => createArrowSerializer(),
  protobuf: () => new ProtobufSerializer(),
};

async function measure(name: string, make: () => Serializer): Promise<Results> {
  const serializer = make();
  const invoker = new StdioInvoker({
    config: resolveConfig(
      {
        pool: { min: 1, max: 1, pingIntervalMs: 0 },
        python: { path: [WORK] },
        offload: { thresholdBytes: 0 },
        logLevel: 'warn',
      },
      { env: {} },
    ),
    serializer,
  });
  await invoker.start();
  const results: Results = {};
  for (const [payload, { target, args, arrowOnly }] of Object.entries(payloads)) {
    if (arrowOnly && !serializer.supports.has('arrowTable')) continue;
    const runs = payload === 'small call' ? 2_000 : 5;
    const value = [args, {}];
    const bytes = serializer.encode(value);
    results[`${name}: ${payload}`] = {
      bytes: bytes.byteLength,
      encodeMs: await medianMs(runs, async () => serializer.encode(value)),
      decodeMs: await medianMs(runs, async () => serializer.decode(bytes)),
      roundTripMs: await medianMs(Math.min(runs, 200), () => invoker.call({ op: 'call', target, args })),
    };
  }
  await invoker.close();
  return results;
}

const all: Results = {};
for (const [name, make] of Object.entries(serializers)) Object.assign(all, await measure(name, make));
report('serializers', all);
