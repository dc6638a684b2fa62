// @snakebridge/core/testing: the contract suites every adapter runs, so that
// all invokers and all serializers behave the same way.

export { CONTRACT_MODULE, describeInvokerContract, type InvokerContractOptions } from './invoker-contract.js';
export { eventually, type TestFn, type TestRunner } from './runner.js';
export { describeSerializerContract, SAMPLES, type SerializerContractOptions } from './serializer-contract.js';
export { describeProcessPoolContract, type ProcessPoolContractOptions } from './process-pool-contract.js';
