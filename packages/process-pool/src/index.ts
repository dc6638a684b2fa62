// @snakebridge/process-pool: what the adapters that run Python processes
// share: finding the interpreter, spawning workers, and the supervised pool.

export type { StartHooks, SupervisedWorker, WorkerFactory, WorkerHealth } from './pool/supervised-worker.js';
export { isWorkerFailure, WorkerPool, type WorkerPoolOptions } from './pool/worker-pool.js';
export {
  explainPython,
  findPython,
  MIN_PYTHON,
  type PythonEnvironmentInfo,
  type PythonExplanation,
  type PythonInfo,
  type PythonSource,
} from './python/interpreter.js';
export {
  describeEarlyExit,
  type ProcessExit,
  PythonProcess,
  type PythonProcessOptions,
  type PythonWorkerOptions,
  pythonEnvironment,
} from './python/python-process.js';
export { runtimePath } from './python/runtime.js';
export { type SandboxOptions, sandboxOptions } from './python/sandbox.js';
export { type VersionGuardOptions, versionGuard } from './python/version-guard.js';
