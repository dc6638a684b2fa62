// The IPC floor's other end: a Node process that echoes length-prefixed frames from fd 3 to fd 4.

import { createReadStream, createWriteStream } from 'node:fs';
import { FrameReader } from '../frame-reader.js';

const input = createReadStream('', { fd: 3, highWaterMark: 1 << 16 });
const output = createWriteStream('', { fd: 4 });
const reader = new FrameReader();
input.on('data', (chunk) => reader.push(chunk as Buffer, (frame) => output.write(frame)));
input.on('end', () => process.exit(0));
