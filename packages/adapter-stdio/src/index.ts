// @snakebridge/adapter-stdio: Python worker processes over pipes.

export { containerModule, createStdioInvoker, options } from './container.js';
export {
  CALL_META_SIZE,
  type CallMeta,
  callMetaSize,
  decodeCallMeta,
  encodeCallMeta,
  META_TRACE,
  OP_CODES,
  writeCallMeta,
} from './protocol/call.js';
export {
  encodeFrame,
  FLAG_PIPELINED,
  FLAG_STREAM,
  type Frame,
  type FrameHeader,
  FrameReader,
  type FrameTooLarge,
  HEADER_SIZE,
  Kind,
  MalformedFrameError,
} from './protocol/frames.js';
export { StdioInvoker, type StdioInvokerOptions } from './stdio-invoker.js';
export { StdioTransport, type StdioTransportOptions } from './stdio-transport.js';
export { PROTOCOL_VERSION, StdioWorker, type StdioWorkerOptions } from './worker/stdio-worker.js';
