// @snakebridge/core/testing: the contract suites every adapter runs, so that
// all transports, invokers and serializers behave the same way.

export { CALLBACK_MODULE, type CallbackContractOptions, describeCallbackContract } from './callback-contract.js';
export { CONTRACT_MODULE, describeInvokerContract, type InvokerContractOptions } from './invoker-contract.js';
export {
  describePipeliningContract,
  PIPELINING_MODULE,
  type PipeliningContractOptions,
} from './pipelining-contract.js';
export { describeProcessPoolContract, type ProcessPoolContractOptions } from './process-pool-contract.js';
export { eventually, type TestFn, type TestRunner } from './runner.js';
export { describeSerializerContract, SAMPLES, type SerializerContractOptions } from './serializer-contract.js';
export { describeTransportContract, type TransportContractOptions } from './transport-contract.js';
