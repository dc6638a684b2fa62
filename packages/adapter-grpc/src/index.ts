// @snakebridge/adapter-grpc: Python gRPC servers, started and supervised here
// (managed) or running elsewhere (remote).

export { containerModule, createGrpcInvoker } from './container.js';
export { GrpcInvoker, type GrpcInvokerOptions } from './grpc-invoker.js';
export { ManagedServer, type ManagedServerOptions, serverArguments } from './managed/managed-server.js';
export {
  type EndpointProbe,
  type EndpointProbeOptions,
  type ProbeStep,
  probeEndpoint,
  probeSecurity,
  type SecurityProbe,
} from './probe.js';
export type { EndpointEvent } from './remote/balancer.js';
export type { EndpointState, EndpointStats } from './remote/endpoint.js';
export type { Lookup } from './remote/sources.js';
export { isLocalEndpoint } from './wire/credentials.js';
