// A managed gRPC server's output becomes log records as a stdio worker's does:
// its `logging` records come on its log channel (fd 5) with their level, logger
// and call, and its stderr is split the same way (a progress bar shows while
// the call that draws it runs). Real servers; tests wait on records.

import { afterEach, describe, expect, it } from 'vitest';
import { type Entry, watchingLogger } from '../../adapter-stdio/test/watching-logger.js';
import { type GrpcInvoker, serverArguments } from '../src/index.js';
import { fn, testConfig, testInvoker } from './helpers.js';

describe('the output of a managed gRPC server', () => {
  let invoker: GrpcInvoker | undefined;
  afterEach(() => invoker?.close());

  it('asks the server for its records on fd 5, unless logging is off', () => {
    const args = serverArguments(testConfig());
    expect(args.slice(args.indexOf('--log-fd'), args.indexOf('--log-fd') + 4)).toEqual([
      '--log-fd',
      '5',
      '--log-records',
      'INFO',
    ]);
    expect(serverArguments(testConfig({ python: { output: { logging: 'off' } } }))).not.toContain('--log-fd');
  });

  it("passes on Python's logging records with their level, their logger and the call they were made in", async () => {
    const logger = watchingLogger();
    invoker = testInvoker({}, logger);
    expect(await invoker.call(fn('grpc_output.warn', ['from the server']))).toBe('logged');
    const record = await logger.next((entry) => entry.fields.stream === 'logging');
    expect(record).toEqual({
      level: 'warn',
      message: 'from the server',
      fields: {
        workerId: 'w1',
        workerPid: invoker.pool?.stats().workers[0]?.pid,
        stream: 'logging',
        logger: 'grpc_output',
        pythonLevel: 'WARNING',
        call: { target: 'grpc_output.warn' },
      },
    });
    expect(logger.entries.filter((entry) => entry.message.includes('from the server'))).toHaveLength(1);
  });

  it("leaves the server's logging alone when logging is 'off': records are stderr lines", async () => {
    const logger = watchingLogger();
    invoker = testInvoker({ python: { output: { logging: 'off' } } }, logger);
    await invoker.call(fn('grpc_output.warn', ['as text']));
    const line = await logger.next((entry) => entry.message.includes('as text'));
    expect(line).toMatchObject({ level: 'warn', fields: { stream: 'stderr', workerId: 'w1' } });
  });

  it('names the call of a record made in a coroutine, however the server started it', async () => {
    const logger = watchingLogger();
    invoker = testInvoker({}, logger);
    // The first call finds out it is a coroutine function; the second starts on the event loop at once.
    for (const message of ['first', 'second']) await invoker.call(fn('grpc_output.warn_async', [message]));
    // Records come on a pipe of their own, not with the results: wait for them.
    const records = await Promise.all(['first', 'second'].map((text) => logger.next((e) => e.message === text)));
    expect(records.map((entry) => [entry.message, entry.fields.call])).toEqual([
      ['first', { target: 'grpc_output.warn_async' }],
      ['second', { target: 'grpc_output.warn_async' }],
    ]);
  });

  it('shows a progress bar on its stderr while the call that draws it runs', async () => {
    const logger = watchingLogger();
    invoker = testInvoker({ python: { output: { progressIntervalMs: 600_000 } } }, logger);
    const progress = (entry: Entry) => entry.fields.progress === 'update';
    // The server waits in `release` (a host callback, over the Exchange RPC) until the host has seen the bar.
    const release = () => logger.next(progress).then(() => true);
    expect(await invoker.call(fn('grpc_output.progress_until', [release]))).toBe('drawn');
    expect(await logger.next(progress)).toMatchObject({
      level: 'info',
      message: '[#..] 1/3',
      fields: { workerId: 'w1', stream: 'stderr' },
    });
    expect(await logger.next((entry) => entry.fields.progress === 'final')).toMatchObject({ message: '[###] 3/3' });
  });
});
