// Baseline 1, the IPC floor: a Node child process echoing length-prefixed
// frames over the same kind of pipe. Nothing can be faster than this.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pack } from 'msgpackr';
import { FrameChannel } from '../frame-channel.js';
import { FLOATS, report, sample, throughput } from '../measure.js';

const child = spawn(process.execPath, [fileURLToPath(new URL('./node-echo-child.js', import.meta.url))], {
  stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'pipe'],
});
const channel = new FrameChannel(child);
const small = pack([1, 2]);
const floats = new Uint8Array(new Float64Array(FLOATS).map((_, i) => i / 7).buffer);
// The shared-memory rows' sizes (the 8 MB one is `floats`): 1 MB and 100 MB.
const floatsOf = (megabytes: number) => new Uint8Array(megabytes * 1024 * 1024).fill(7);
const mb1 = floatsOf(1);
const mb100 = floatsOf(100);

report('ipc-floor', {
  'small call': {
    ...(await sample(5_000, 500, () => channel.request(small))),
    callsPerSecond64: await throughput(20_000, 64, () => channel.request(small)),
  },
  '1M floats': { ...(await sample(20, 3, () => channel.request(floats))) },
  '1 MB': { ...(await sample(20, 3, () => channel.request(mb1))) },
  '100 MB': { ...(await sample(5, 1, () => channel.request(mb100))) },
});
child.kill();
