import { createBridge, kwargs, PythonError } from '@snakebridge/core';
import config from './snakebridge.config.js';

await using bridge = await createBridge(config);

const math = bridge.module('math');
console.log(await math.hypot(3, 4)); // 5

const np = bridge.module('numpy');
console.log(await np.linalg.norm([3, 4])); // 5

const text = bridge.module('textwrap');
console.log(await text.shorten('SnakeBridge calls Python from TypeScript', kwargs({ width: 25 })));

// Python calls your functions back while the call runs: [ 'fig', 'apple', 'banana' ]
const byLength = (s: string) => s.length;
console.log(await bridge.module('builtins').sorted(['banana', 'fig', 'apple'], kwargs({ key: byLength })));

for await (const n of await bridge.eval('(n * n for n in range(4))')) console.log(n); // 0 1 4 9

try {
  await bridge.call('json.loads', ['not json']);
} catch (error) {
  if (PythonError.is(error, 'PYTHON_VALUE_ERROR')) console.log(error.pythonType, error.pythonMessage);
}
