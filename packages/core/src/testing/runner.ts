// The test runner a contract suite is given: Vitest's and Jest's globals fit.

export type TestFn = () => unknown | Promise<unknown>;

/** The parts of a test runner the contract suites use. Pass `vitest` itself: `import * as vitest from 'vitest'`. */
export interface TestRunner {
  describe(name: string, body: () => void): void;
  it(name: string, body: TestFn, timeoutMs?: number): void;
  beforeAll(body: TestFn, timeoutMs?: number): void;
  afterAll(body: TestFn, timeoutMs?: number): void;
}

/** Polls `check` until it returns true or `timeoutMs` passes. For effects that land asynchronously in Python. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
