// Baseline 2: a hand-written Node ↔ Python echo, length-prefixed msgpack and no
// framework (bench/python/echo.py). SnakeBridge's targets are ratios to this.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pack, unpack } from 'msgpackr';
import { FrameChannel } from '../frame-channel.js';
import { records, report, sample, throughput } from '../measure.js';
import { python } from '../python.js';

const child = spawn(await python(), [fileURLToPath(new URL('../../python/echo.py', import.meta.url))], {
  stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'pipe'],
});
const channel = new FrameChannel(child);
const call = async (value: unknown) => unpack(await channel.request(pack(value)));
const table = records(10_000);

report('python-echo', {
  'small call': {
    ...(await sample(5_000, 500, () => call([1, 2]))),
    callsPerSecond64: await throughput(20_000, 64, () => call([1, 2])),
  },
  '10k records': { ...(await sample(20, 3, () => call(table))) },
});
child.kill();
