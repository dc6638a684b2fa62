// @snakebridge/process-pool: what the adapters that run Python processes
// share: finding the interpreter, spawning workers, the supervised pool, and
// turning what workers write into log records.

export { ForkServer, type ForkServerOptions } from './fork-server/fork-server.js';
export {
  decodeEvent as decodeForkServerEvent,
  encodeRequest as encodeForkServerRequest,
  type ForkServerEvent,
  type ForkServerRequest,
  PREAMBLE_BYTES as FORK_PREAMBLE_BYTES,
} from './fork-server/messages.js';
export { LineSplitter, type LineSplitterOptions, type OutputPiece, type PieceKind } from './output/line-splitter.js';
export {
  forwardedPythonLevel,
  hostLevel,
  LOG_RECORD_MAX_BYTES,
  type PythonLogRecord,
  parseLogRecord,
} from './output/log-record.js';
export { safeString, type TextPolicy, textOfBytes } from './output/safe-text.js';
export { type OutputStream, WorkerOutput, type WorkerOutputOptions } from './output/worker-output.js';
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
export { PythonLauncher, type PythonLauncherOptions, whySpawn } from './python/launcher.js';
export {
  describeEarlyExit,
  type ProcessExit,
  PythonProcess,
  type PythonProcessOptions,
  type PythonWorkerOptions,
  pythonEnvironment,
  type StartedProcess,
} from './python/python-process.js';
export { runtimePath } from './python/runtime.js';
export { type SandboxOptions, sandboxOptions } from './python/sandbox.js';
export { type VersionGuardOptions, versionGuard } from './python/version-guard.js';
