// The shared-memory lane (docs/protocol.md, "Shared memory"), with real
// workers: large typed arrays go through /dev/shm both ways and arrive equal;
// numpy builds its (read-only) array on the mapping; nothing stays open or named after a
// call settles, whether it ended well, its worker was SIGKILLed, or its host
// was; and a worker that names segments it must not is refused, typed.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Bridge, ProtocolError, type PyProxy, silentLogger, WorkerCrashedError } from '@snakebridge/core';
import { createMsgpackSerializer } from '@snakebridge/serializer-msgpack';
import { afterEach, describe, expect, it } from 'vitest';
import { StdioInvoker } from '../src/index.js';
import { FileSegments, sharedMemoryLane } from '../src/shared-memory/file-segments.js';
import { fn, rejection, testConfig } from './helpers.js';

const MIB = 1024 * 1024;

function laneInvoker(sharedMemoryBytes = MIB): StdioInvoker {
  const config = testConfig({ serializer: 'msgpack', protocol: { sharedMemoryBytes } });
  return new StdioInvoker({ config, serializer: createMsgpackSerializer() });
}

/** Descriptors of `pid` open on a segment file (unlinked, so its link ends in "(deleted)"). */
function segmentsOpenIn(pid: number | 'self', prefix: string): number {
  let open = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).includes(prefix)) open += 1;
    } catch {
      // closed while listing
    }
  }
  return open;
}

const hostSegments = () => segmentsOpenIn('self', `/dev/shm/snakebridge-${process.pid}-`);
const namedSegments = (pid: number) => readdirSync('/dev/shm').filter((name) => name.startsWith(`snakebridge-${pid}-`));

describe.runIf(process.platform === 'linux')('the shared-memory lane', () => {
  let invoker: StdioInvoker | undefined;
  afterEach(() => invoker?.close());

  it('carries large Float64Arrays both ways, equal, with numpy on the mapping and no copy', async () => {
    invoker = laneInvoker();
    const data = Float64Array.from({ length: 300_000 }, (_, i) => i / 7); // 2.4 MB: over the 1 MiB threshold
    const seen = await invoker.call(fn('shm_work.describe', [data]));
    expect(seen).toEqual({
      mapped: true,
      writable: false,
      sum: expect.closeTo(
        data.reduce((a, b) => a + b, 0),
        0,
      ),
      first: 0,
    });
    const back = await invoker.call<Float64Array>(fn('shm_work.make', [300_000]));
    expect(back).toBeInstanceOf(Float64Array);
    expect(back).toEqual(Float64Array.from({ length: 300_000 }, (_, i) => i));
    expect(hostSegments()).toBe(0);
    // The RELEASE for the result's segment went before this call on the same pipe: it is closed by now.
    expect(await invoker.call(fn('shm_work.segments_held'))).toBe(0);
  });

  it('keeps small arrays in the message, and takes the arguments as they were when the call was made', async () => {
    invoker = laneInvoker();
    const small = new Float64Array(1000).fill(2);
    expect(await invoker.call(fn('shm_work.describe', [small]))).toMatchObject({ mapped: false, sum: 2000 });
    const large = new Float64Array(200_000).fill(1);
    const call = invoker.call(fn('shm_work.describe', [large]));
    large.fill(5); // after the call was made: the segment holds what was passed
    expect(await call).toMatchObject({ mapped: true, sum: 200_000 });
  });

  it('gives Python a read-only array whichever way it came, as an array read from the pipe is', async () => {
    invoker = laneInvoker();
    const small = await invoker.call(fn('shm_work.describe', [new Float64Array(10)]));
    const large = await invoker.call(fn('shm_work.describe', [new Float64Array(200_000)]));
    expect(small).toMatchObject({ mapped: false, writable: false });
    expect(large).toMatchObject({ mapped: true, writable: false });
  });

  it('streams large items through segments, and the worker holds none once they are read', async () => {
    invoker = laneInvoker();
    let items = 0;
    for await (const item of invoker.stream<Float64Array>(fn('shm_work.many', [200_000, 5]))) {
      expect(item[199_999]).toBe(199_999);
      items += 1;
    }
    expect(items).toBe(5);
    expect(await invoker.call(fn('shm_work.segments_held'))).toBe(0);
  });

  it('serves proxies too: their arguments go into segments when the call is made, freed when it settles', async () => {
    const lanes = laneInvoker();
    invoker = lanes;
    const bridge = new Bridge(lanes, testConfig({ serializer: 'msgpack' }), silentLogger);
    const shm: PyProxy = bridge.module('shm_work');
    const data = new Float64Array(200_000).fill(1);
    const described = shm.describe(data);
    data.fill(9); // after the call was made, in the same turn: the segment holds what was passed
    expect(await described).toMatchObject({ mapped: true, sum: 200_000 });
    // A call on the result of one that fails: it fails too, and its segment is freed all the same.
    const failing = shm.no_such_function();
    await expect(failing.method(new Float64Array(200_000))).rejects.toThrow();
    await expect(failing).rejects.toThrow();
    expect(hostSegments()).toBe(0);
  });

  it('frees the segments of proxy calls that fail before they are sent (a result they use could not be sent)', async () => {
    const lanes = laneInvoker();
    invoker = lanes;
    const bridge = new Bridge(lanes, testConfig({ serializer: 'msgpack' }), silentLogger);
    const shm: PyProxy = bridge.module('shm_work');
    const unsendable = shm.pair(Symbol('not a value'));
    // Each has its arguments, the large array too, encoded as it is made; neither can ever be sent.
    const onIt = unsendable.first(new Float64Array(200_000));
    const withIt = shm.pair(onIt, new Float64Array(200_000));
    expect(hostSegments()).toBe(2);
    for (const call of [unsendable, onIt, withIt]) await expect(call).rejects.toThrow();
    expect(hostSegments()).toBe(0);
  });

  it('sends everything through the pipe when the lane is off (sharedMemoryBytes: 0)', async () => {
    invoker = laneInvoker(0);
    const data = new Float64Array(300_000).fill(1);
    expect(await invoker.call(fn('shm_work.describe', [data]))).toMatchObject({ mapped: false, sum: 300_000 });
    expect(await invoker.call<Float64Array>(fn('shm_work.make', [300_000]))).toHaveLength(300_000);
  });

  it('frees the segment of a call whose worker is SIGKILLed while it holds the mapping', async () => {
    invoker = laneInvoker();
    const pid = await invoker.call<number>(fn('shm_work.pid'));
    let mapped!: (value: boolean) => void;
    const isMapped = new Promise<boolean>((resolve) => {
      mapped = resolve;
    });
    const call = rejection(invoker.call(fn('shm_work.hold', [new Float64Array(200_000), mapped])));
    expect(await isMapped).toBe(true);
    expect(hostSegments()).toBe(1);
    process.kill(pid, 'SIGKILL');
    expect(WorkerCrashedError.is(await call)).toBe(true);
    expect(hostSegments()).toBe(0);
    expect(namedSegments(process.pid)).toEqual([]);
  });

  it('leaves nothing in /dev/shm when the host is SIGKILLed mid-call: no name, and no process holding one', async () => {
    const before = readdirSync('/dev/shm').filter((name) => name.startsWith('snakebridge-'));
    const host = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@snakebridge/source',
        fileURLToPath(new URL('./fixtures/shm-host.ts', import.meta.url)),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    // The host prints its worker's pid once the worker has mapped a large argument and holds the call.
    const workerPid = await new Promise<number>((resolve, reject) => {
      host.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      host.once('exit', (code) => reject(new Error(`the host exited with ${code} before its call was held`)));
    });
    // The worker maps the host's segment (unlinked: the mapping is all that keeps it).
    expect(readFileSync(`/proc/${workerPid}/maps`, 'utf8')).toContain(`/dev/shm/snakebridge-${host.pid}-`);
    const workerGone = waitForExit(workerPid);
    host.kill('SIGKILL');
    await workerGone;
    const after = readdirSync('/dev/shm').filter((name) => name.startsWith('snakebridge-'));
    expect(after.filter((name) => !before.includes(name))).toEqual([]);
  });
});

/** Resolves when `pid` has gone: its /proc entry disappears once it is reaped (its parent, the host, is gone too). */
function waitForExit(pid: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      try {
        process.kill(pid, 0);
        setTimeout(check, 20);
      } catch {
        resolve();
      }
    };
    check();
  });
}

describe.runIf(process.platform === 'linux')('a worker naming segments it must not', () => {
  let invoker: StdioInvoker | undefined;
  afterEach(() => invoker?.close());

  it.each([
    ['a FIFO', 'shm_work.forge_fifo', /is not a file of 8 bytes/],
    ['a file of another length than it says', 'shm_work.forge_wrong_length', /is not a file of 4096 bytes/],
    ['a descriptor it does not have', 'shm_work.forge_closed_fd', /could not be opened/],
    [
      'segments that together hold more than a frame may',
      'shm_work.forge_too_much',
      /more than protocol\.maxFrameBytes/,
    ],
    ['a table that does not fit its body', 'shm_work.forge_bad_table', /segment table/],
  ])(
    'fails the call with a ProtocolError for %s; the worker is replaced and the host carries on',
    async (_, target, message) => {
      const bridge = laneInvoker();
      invoker = bridge;
      await bridge.start();
      // The real RESULT follows the forged one, for a call the host has settled: the worker is replaced for it.
      const replaced = new Promise<void>((resolve) => {
        bridge.pool.on((event) => {
          if (event.type === 'ready' && event.workerId !== 'w1') resolve();
        });
      });
      const error = await rejection(bridge.call(fn(target)));
      expect(ProtocolError.is(error)).toBe(true);
      expect(error.message).toMatch(message);
      await replaced;
      expect(await bridge.call(fn('shm_work.make', [3]))).toEqual(new Float64Array([0, 1, 2]));
    },
  );
});

describe('where the lane is offered', () => {
  it('is off with the sandbox, with a threshold of 0, and without a writable directory', () => {
    expect(sharedMemoryLane(testConfig({ protocol: { sharedMemoryBytes: 0 } }))).toBeUndefined();
    expect(sharedMemoryLane(testConfig({ security: { sandbox: { enabled: true } } }))).toBeUndefined();
    expect(sharedMemoryLane(testConfig(), '/nonexistent-directory')).toBeUndefined();
  });

  it('gives no segment, rather than failing the call, when the directory cannot take one', () => {
    const lane = new FileSegments('/nonexistent-directory', 1);
    expect(lane.create(new Uint8Array(16))).toBeUndefined();
  });
});
