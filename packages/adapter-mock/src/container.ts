// Wires the mock invoker into a SnakeBridge container, configured by the
// `mock` section of the config, and finds it again for a test to program.

import { type Bridge, invokerModule, type ResolvedConfig, type Serializer } from '@snakebridge/core';
import { replayFixtures } from './fixtures.js';
import { MockInvoker } from './mock-invoker.js';
import { type MockSettingsInput, mockOptions } from './options.js';

/**
 * Creates the mock the config describes: strictness, recorded fixtures to
 * replay, and the stream window.
 *
 * @throws ConfigError for a bad `mock` section.
 */
export function createMockInvoker(
  config: { readonly mock?: MockSettingsInput | Readonly<Record<string, unknown>> | undefined } & Partial<
    Pick<ResolvedConfig, 'streams'>
  >,
  serializer?: Serializer,
): MockInvoker {
  const settings = mockOptions.parse(config.mock);
  const mock = new MockInvoker({ strict: settings.strict, serializer, streamWindow: config.streams?.window });
  if (settings.fixtures !== undefined) replayFixtures(mock, settings.fixtures);
  return mock;
}

/** The config section this adapter reads (`mock`): core validates it when it loads the package. */
export const options = [mockOptions];

/** Binds INVOKER to a MockInvoker; loaded by createBridge when the config says `invoker: 'mock'`. */
export const containerModule = invokerModule(({ config, serializer }) => createMockInvoker(config, serializer));

/**
 * The MockInvoker behind a bridge, to program and inspect in a test.
 *
 * @throws TypeError if the bridge does not use the mock invoker (check the
 *   environment: `SNAKEBRIDGE_ENV=test` with `environments.test.invoker: 'mock'`).
 */
export function mockOf(bridge: Bridge): MockInvoker {
  const { invoker } = bridge;
  if (!(invoker instanceof MockInvoker)) {
    throw new TypeError(
      `This bridge uses the '${invoker.kind}' invoker, not the mock. ` +
        `Set invoker: 'mock' for this environment (environment now: '${bridge.config.environment}').`,
    );
  }
  return invoker;
}
