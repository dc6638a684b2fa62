// @snakebridge/adapter-grpc: Python gRPC servers, started and supervised here
// (managed) or running elsewhere (remote).

export { containerModule, createGrpcInvoker, options } from './container.js';
export { GrpcInvoker, type GrpcInvokerOptions } from './grpc-invoker.js';
export { GrpcTransport, type GrpcTransportOptions } from './grpc-transport.js';
export { ManagedServer, type ManagedServerOptions, serverArguments } from './managed/managed-server.js';
export { type GrpcSettings, type GrpcSettingsInput, type GrpcTlsSettings, grpcOptions } from './options.js';
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
export type { GrpcChannel } from './target.js';
export { isLocalEndpoint } from './wire/credentials.js';
