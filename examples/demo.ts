// `make demo`: a short tour of the Bridge API. Until the stdio adapter lands it
// runs on the mock invoker, programmed to answer as Python would.

import { mockOf, pythonError } from '@snakebridge/adapter-mock';
import { createBridge, kwargs, PythonError } from '@snakebridge/core';

const bridge = await createBridge({ invoker: 'mock' });
const mock = mockOf(bridge);
mock.on('math.hypot').calls(({ args }) => Math.hypot(...(args as number[])));
mock
  .on('textwrap.shorten')
  .calls(({ args: [text], kwargs }) => `${String(text).slice(0, Number(kwargs.width) - 5)}[...]`);
mock
  .on('json.loads')
  .throws(
    pythonError('json.decoder.JSONDecodeError', 'Expecting value: line 1 column 1 (char 0)', { bases: ['ValueError'] }),
  );

const math = bridge.module('math');
console.log('math.hypot(3, 4) =', await math.hypot(3, 4));
console.log(
  'textwrap.shorten(…, width=20) =',
  await bridge.module('textwrap').shorten('SnakeBridge calls Python from TypeScript', kwargs({ width: 20 })),
);
try {
  await bridge.module('json').loads('not json');
} catch (error) {
  if (PythonError.is(error)) console.log(`caught ${error.pythonType} (${error.code}): ${error.pythonMessage}`);
}
console.log('calls recorded by the mock:', mock.calls.map((call) => call.target).join(', '));
await bridge.close();
