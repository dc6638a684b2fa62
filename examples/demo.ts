// `make demo`: a short tour of SnakeBridge calling real Python.

import { callOptions, createBridge, kwargs, PythonError, release, TimeoutError } from '@snakebridge/core';

const bridge = await createBridge({ pool: { min: 1, max: 2 }, logLevel: 'warn' });
const section = (title: string) => console.log(`\n── ${title} ${'─'.repeat(Math.max(0, 60 - title.length))}`);

section('a function call');
const math = bridge.module('math');
console.log('math.hypot(3, 4) =', await math.hypot(3, 4));

section('keyword arguments');
const text = 'SnakeBridge lets TypeScript call Python as if it were a local library';
console.log(await bridge.module('textwrap').shorten(text, kwargs({ width: 40, placeholder: ' …' })));

section('a Python object, used through a handle');
const fraction = await bridge.module('fractions').Fraction(355, 113);
console.log('Fraction(355, 113):', fraction, '≈', await bridge.call('float', [fraction]));
console.log('limit_denominator(10) =', await bridge.call('str', [await fraction.limit_denominator(10)]));
await release(fraction);

section('a stream from a generator');
const squares = await bridge.eval('(n * n for n in range(5))');
const seen: number[] = [];
for await (const n of squares) seen.push(n as number);
console.log('(n * n for n in range(5)) yields', seen.join(', '));

section('a Python exception, with its traceback');
try {
  await bridge.module('json').loads('{"unterminated": ');
} catch (error) {
  if (PythonError.is(error)) {
    console.log(`${error.pythonType} (code ${error.code}): ${error.pythonMessage}`);
    console.log(error.traceback.join('').trimEnd());
  }
}

section('a timeout');
const started = Date.now();
try {
  await bridge.module('time').sleep(10, callOptions({ timeoutMs: 300 }));
} catch (error) {
  if (TimeoutError.is(error)) console.log(`time.sleep(10) stopped after ${Date.now() - started} ms: ${error.message}`);
}
console.log('the worker is still there:', await math.sqrt(2));

await bridge.close();
