// Mocked Python exceptions follow the standard hierarchy (exception-table.ts,
// kept true by python/tests/test_mock_exception_table.py): the same codes and
// isInstance answers as the errors real workers send.

import { describe, expect, it } from 'vitest';
import { pythonError } from '../src/index.js';

describe('pythonError', () => {
  it('gives a standard exception found by its short name its real module, bases and code', () => {
    const error = pythonError('JSONDecodeError', 'Expecting value: line 1 column 1 (char 0)');
    expect(error.code).toBe('PYTHON_VALUE_ERROR');
    expect(error.pythonType).toBe('JSONDecodeError');
    expect(error.mro).toEqual([
      'json.decoder.JSONDecodeError',
      'builtins.ValueError',
      'builtins.Exception',
      'builtins.BaseException',
    ]);
    expect(error.isInstance('ValueError')).toBe(true);
  });

  it('answers isInstance for every base of a builtin, as Python would', () => {
    expect(pythonError('KeyError').isInstance('LookupError')).toBe(true);
    expect(pythonError('ModuleNotFoundError').code).toBe('PYTHON_IMPORT_ERROR');
    expect(pythonError('ConnectionRefusedError').code).toBe('PYTHON_OS_ERROR');
    expect(pythonError('ConnectionRefusedError').isInstance('ConnectionError')).toBe(true);
    const interrupt = pythonError('KeyboardInterrupt');
    expect(interrupt.code).toBe('PYTHON_KEYBOARD_INTERRUPT');
    expect(interrupt.isInstance('Exception')).toBe(false);
  });

  it('builds the bases of a class of your own from the standard ones it names', () => {
    const error = pythonError('shop.errors.OutOfStock', 'no more', { bases: ['KeyError'] });
    expect(error.code).toBe('PYTHON_KEY_ERROR');
    expect(error.mro).toEqual([
      'shop.errors.OutOfStock',
      'builtins.KeyError',
      'builtins.LookupError',
      'builtins.Exception',
      'builtins.BaseException',
    ]);
    expect(pythonError('shop.errors.Unknown').mro).toEqual([
      'shop.errors.Unknown',
      'builtins.Exception',
      'builtins.BaseException',
    ]);
  });
});
