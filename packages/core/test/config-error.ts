// Shared by the config tests: the ConfigError a piece of code throws.

import { ConfigError } from '../src/index.js';

/** The ConfigError `run` throws; fails the test if it throws something else, or nothing. */
export function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (ConfigError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}
