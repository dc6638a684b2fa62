import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  ConfigError,
  errorFromPayload,
  ForbiddenError,
  HandleError,
  PythonError,
  type PythonErrorPayload,
  pythonErrorCode,
  SnakeBridgeError,
  TimeoutError,
  WorkerCrashedError,
} from '../src/index.js';

const keyError: PythonErrorPayload = {
  type: 'KeyError',
  module: 'builtins',
  message: "'missing'",
  mro: ['builtins.KeyError', 'builtins.LookupError', 'builtins.Exception', 'builtins.BaseException'],
  traceback: ['  File "/app/lookup.py", line 3, in find\n    return table[key]\n'],
  frames: [{ file: '/app/lookup.py', line: 3, name: 'find', source: 'return table[key]' }],
};

describe('SnakeBridgeError', () => {
  it('identifies every subclass by brand, with or without a code', () => {
    const error = new TimeoutError('m.f', 100);
    expect(SnakeBridgeError.is(error)).toBe(true);
    expect(TimeoutError.is(error)).toBe(true);
    expect(CancelledError.is(error)).toBe(false);
    expect(SnakeBridgeError.is(error, 'TIMEOUT')).toBe(true);
    expect(SnakeBridgeError.is(error, 'CANCELLED')).toBe(false);
    expect(SnakeBridgeError.is(new Error('plain'))).toBe(false);
    expect(error.name).toBe('TimeoutError');
  });

  it('still identifies an error whose prototype chain came from another copy of the package', () => {
    const foreign = Object.assign(Object.create(Error.prototype) as object, { code: 'TIMEOUT' });
    Object.defineProperty(foreign, Symbol.for('@snakebridge/core/error-kinds'), {
      value: ['TimeoutError', 'SnakeBridgeError'],
    });
    expect(TimeoutError.is(foreign)).toBe(true);
  });

  it('says what to do in its messages', () => {
    expect(new TimeoutError('m.f', 250).message).toMatch(/timeoutMs/);
    const crashed = new WorkerCrashedError('m.f', {
      workerId: 'w1',
      pid: 42,
      exitCode: null,
      signal: 'SIGKILL',
      stderrTail: ['MemoryError'],
    });
    expect(crashed.message).toMatch(/killed by SIGKILL/);
    expect(crashed.message).toMatch(/idempotent/);
    expect(crashed.message).toContain('| MemoryError');
    const config = new ConfigError([{ field: 'invoker', message: 'not an allowed value', allowed: ['stdio', 'grpc'] }]);
    expect(config.message).toContain('invoker: not an allowed value (allowed: "stdio", "grpc")');
    expect(config.field).toBe('invoker');
  });
});

describe('PythonError', () => {
  it('maps an exception to the code of its nearest mapped base', () => {
    expect(pythonErrorCode(keyError)).toBe('PYTHON_KEY_ERROR');
    expect(pythonErrorCode({ type: 'BadInput', module: 'app', mro: ['app.BadInput', 'builtins.ValueError'] })).toBe(
      'PYTHON_VALUE_ERROR',
    );
    expect(pythonErrorCode({ type: 'Odd', module: 'app', mro: ['app.Odd', 'builtins.Exception'] })).toBe(
      'PYTHON_ERROR',
    );
  });

  it('keeps type, message, traceback, isinstance checks and the cause chain', () => {
    const error = new PythonError({
      type: 'LookupFailed',
      module: 'app.errors',
      message: 'no user 7',
      mro: ['app.errors.LookupFailed', 'builtins.RuntimeError', 'builtins.Exception', 'builtins.BaseException'],
      traceback: ['  File "/app/users.py", line 9, in get_user\n    raise LookupFailed(...) from e\n'],
      cause: keyError,
    });
    expect(error.code).toBe('PYTHON_RUNTIME_ERROR');
    expect(error.message).toBe('app.errors.LookupFailed: no user 7');
    expect(error.isInstance('RuntimeError')).toBe(true);
    expect(error.isInstance('builtins.Exception')).toBe(true);
    expect(error.isInstance('ValueError')).toBe(false);
    expect(error.cause?.pythonType).toBe('KeyError');
    expect(error.cause?.code).toBe('PYTHON_KEY_ERROR');
  });

  it('prints the Python traceback, the chain, then the JavaScript call site', () => {
    const callSite = new Error('call site');
    const error = new PythonError(
      { type: 'ValueError', module: 'builtins', message: 'bad', cause: keyError },
      'm.f',
      callSite,
    );
    const stack = error.stack ?? '';
    expect(stack).toContain('File "/app/lookup.py", line 3, in find');
    expect(stack).toContain('The above exception was the direct cause of the following exception');
    expect(stack.indexOf('KeyError')).toBeLessThan(stack.indexOf('ValueError: bad', 30));
    expect(stack).toContain('errors.test.ts');
  });

  it('round-trips through its payload', () => {
    const error = new PythonError({ ...keyError, cause: keyError });
    expect(new PythonError(error.toPayload()).cause?.pythonMessage).toBe("'missing'");
  });
});

describe('errorFromPayload', () => {
  it('turns a worker refusal into the matching bridge error, and anything else into a PythonError', () => {
    expect(ForbiddenError.is(errorFromPayload({ ...keyError, code: 'FORBIDDEN' }, 'eval'))).toBe(true);
    expect(HandleError.is(errorFromPayload({ ...keyError, code: 'HANDLE_INVALID' }, 'm.f'))).toBe(true);
    expect(PythonError.is(errorFromPayload(keyError, 'm.f'))).toBe(true);
  });
});

describe('CancelledError messages', () => {
  it('name the signal once, with the reason when it gave one', () => {
    expect(new CancelledError('f()').message).toBe("Call to 'f()' was cancelled by its AbortSignal.");
    const aborted = new AbortController();
    aborted.abort();
    expect(new CancelledError('f()', aborted.signal.reason).message).toBe(
      "Call to 'f()' was cancelled by its AbortSignal.",
    );
    expect(new CancelledError('f()', new Error('user pressed stop')).message).toBe(
      "Call to 'f()' was cancelled by its AbortSignal (user pressed stop).",
    );
    expect(new CancelledError('f()', 'shutting down').message).toBe(
      "Call to 'f()' was cancelled by its AbortSignal (shutting down).",
    );
  });
});
