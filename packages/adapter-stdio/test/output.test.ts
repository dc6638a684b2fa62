// A library that prints cannot corrupt or stall the bridge; its output reaches the logger, tagged.

import { afterEach, describe, expect, it } from 'vitest';
import type { StdioInvoker } from '../src/index.js';
import { fn, LAUNCH_MODES, recordingLogger, testInvoker as stdioInvoker } from './helpers.js';

describe.each(LAUNCH_MODES)('worker output, workers $name', ({ forkServer }) => {
  let invoker: StdioInvoker | undefined;
  afterEach(() => invoker?.close());
  const testInvoker = (settings: Parameters<typeof stdioInvoker>[0], logger: Parameters<typeof stdioInvoker>[1]) =>
    stdioInvoker({ ...settings, pool: { forkServer, ...settings?.pool } }, logger);

  it('keeps frames intact while a library prints on import and on every call', async () => {
    invoker = testInvoker({}, recordingLogger());
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => invoker?.call(fn('noisy.shout', [`m${i}`]))),
    );
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => `M${i}`));
  });

  it('forwards stdout and stderr line by line, tagged with the worker id', async () => {
    const logger = recordingLogger();
    invoker = testInvoker({}, logger);
    await invoker.call(fn('noisy.shout', ['hello']));
    await invoker.close();
    const stdout = logger.lines.filter((line) => line.fields?.stream === 'stdout').map((line) => line.message);
    const stderr = logger.lines.filter((line) => line.fields?.stream === 'stderr').map((line) => line.message);
    expect(stdout).toContain('noisy: imported');
    expect(stdout).toContain('noisy: hello');
    expect(stderr).toContain('noisy: warning on import');
    expect(stderr).toContain('noisy: hello (stderr)');
    const tagged = logger.lines.find((line) => line.message === 'noisy: hello');
    expect(tagged?.fields).toMatchObject({ workerId: 'w1', stream: 'stdout' });
    expect(typeof tagged?.fields?.pid).toBe('number');
  });
});
