// @snakebridge/adapter-stdio: Python worker processes over pipes.

export { containerModule, createStdioInvoker } from './container.js';
export {
  CALL_META_SIZE,
  type CallMeta,
  callMetaSize,
  decodeCallMeta,
  encodeCallMeta,
  OP_CODES,
  writeCallMeta,
} from './protocol/call.js';
export {
  encodeFrame,
  FLAG_STREAM,
  type Frame,
  FrameDecoder,
  type FrameHeader,
  HEADER_SIZE,
  Kind,
  MalformedFrameError,
  type OversizedFrame,
} from './protocol/frames.js';
export { StdioInvoker, type StdioInvokerOptions } from './stdio-invoker.js';
export { PROTOCOL_VERSION, StdioWorker, type StdioWorkerOptions, type WireCall } from './worker/stdio-worker.js';
