// @snakebridge/core: the ports every adapter implements, the errors, the
// config, the container that wires adapters by config, and the Bridge API.

/** The schema builder (zod) adapter packages declare their config sections with (`defineAdapterOptions`). */
export { z } from 'zod';
export {
  Bridge,
  CallScope,
  handleOf,
  release,
  Session,
  setattr,
} from './bridge/bridge.js';
export { type CallOptionsMarker, callOptions, type Kwargs, kwargs } from './bridge/markers.js';
export { handleProxy, moduleProxy, type ProxyScope, type PyProxy } from './bridge/python-proxy.js';
export {
  CallbackRef,
  callbackIndex,
  FUNCTION_REFUSED,
  type HostFunction,
  PYTHON_PROXY,
  proxyRefusal,
} from './callbacks/callback-ref.js';
export {
  ADAPTER_SECTIONS,
  type AdapterOptions,
  type AdapterOptionsSpec,
  type AdapterSection,
  type AdapterSectionSettings,
  type AdapterSettings,
  defineAdapterOptions,
  isAdapterOptions,
} from './config/adapter-options.js';
export {
  defineConfig,
  ENV_SETTINGS,
  type ResolveOptions,
  resolveConfig,
  type SnakeBridgeConfig,
  type SnakeBridgeSettings,
} from './config/resolve.js';
export {
  ESCAPE_MODES,
  type EscapeMode,
  INVALID_UTF8_MODES,
  INVOKER_NAMES,
  type InvalidUtf8Mode,
  type InvokerName,
  PYTHON_LOGGING_LEVELS,
  type PythonLoggingLevel,
  SERIALIZER_NAMES,
  type SerializerName,
} from './config/schema.js';
export * from './config/types.js';
export {
  type InvokerDependencies,
  invokerModule,
  type SerializerDependencies,
  serializerModule,
} from './container/adapter-modules.js';
export { CONTAINER_MODULE_EXPORT, INVOKER_PACKAGES, SERIALIZER_PACKAGES } from './container/adapter-packages.js';
export { type CreateBridgeOptions, createBridge, createContainer } from './container/create-bridge.js';
export { type ImportPackage, importPackage } from './container/load-package.js';
export * from './errors/index.js';
export { HANDLE_REF, HandleRef, type HandleWire, toHandleRef } from './handles/handle-ref.js';
export { CallCounts, handleIdsByOwner } from './invoker/call-counts.js';
export { type DeadlineOptions, withDeadline } from './invoker/deadline.js';
export { describeCall, sessionOfHandle } from './invoker/describe-call.js';
export * from './invoker/invoker.js';
export * from './logger/logger.js';
export * from './process-pool/process-pool.js';
export * from './serializer/ndarray.js';
export * from './serializer/serializer.js';
export { createJsonSerializer, JSON_TAG, JsonSerializer } from './serializer-json/json-serializer.js';
export { PoolTelemetry } from './telemetry/pool-telemetry.js';
export { type CallRecord, CallTelemetry, TELEMETRY_SCOPE, type TelemetryIdentity } from './telemetry/telemetry.js';
export {
  MAX_TRACEPARENT_LENGTH,
  MAX_TRACESTATE_LENGTH,
  type TraceContext,
  traceContextOf,
} from './telemetry/trace-context.js';
export { EXPIRED_BODY, HostCallbacks, refuseExpired } from './transport/host-callbacks.js';
export { type StreamChannel, StreamReceiver } from './transport/stream-receiver.js';
export * from './transport/transport.js';
export { type PayloadCodec, TransportInvoker, type TransportInvokerOptions } from './transport/transport-invoker.js';
export type {
  CallableAt,
  CallableName,
  CheckedTarget,
  NDArrayLike,
  PositionalArgs,
  PyArray,
  PyAttribute,
  PyCallable,
  PyDynamic,
  PyHandle,
  PyInstance,
  PyInstanceArg,
  PyIterator,
  PyModule,
  PyObject,
  PyResult,
  PythonClasses,
  PythonModules,
  ResultOf,
  Trailing,
} from './typing/python-types.js';
