export * from './errors.js';
export { errorFromPayload, parseErrorPayload } from './from-payload.js';
export {
  atCallSite,
  PythonError,
  type PythonErrorPayload,
  type PythonFrame,
  pythonErrorCode,
} from './python-error.js';
export {
  type ErrorClass,
  ErrorCode,
  PythonErrorCode,
  SnakeBridgeError,
  type SnakeBridgeErrorOptions,
} from './snakebridge-error.js';
