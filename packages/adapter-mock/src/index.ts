// @snakebridge/adapter-mock: an in-memory invoker for unit tests that need no Python.

export { containerModule, createMockInvoker, mockOf, options } from './container.js';
export { type FixtureFile, loadFixtures, type RecordedFixture, RecordingInvoker, replayFixtures } from './fixtures.js';
export { type Fallback, MockInvoker, type MockInvokerOptions, type RecordedCall } from './mock-invoker.js';
export { pyObject } from './mock-objects.js';
export { type MockSettings, type MockSettingsInput, mockOptions } from './options.js';
export { type PythonErrorSpec, pythonError, pythonErrorPayload } from './python-errors.js';
export {
  type ItemOf,
  type MockCall,
  type MockObject,
  type MockValue,
  type Responder,
  ResponseBuilder,
  type UntypedCallable,
} from './responses.js';
