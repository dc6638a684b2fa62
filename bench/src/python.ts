// The interpreter the benchmarks run: the same one SnakeBridge finds (./.venv first).

import { resolveConfig } from '@snakebridge/core';
import { findPython } from '@snakebridge/process-pool';

export async function python(): Promise<string> {
  return (await findPython(resolveConfig({}, { env: {} }).python)).executable;
}
