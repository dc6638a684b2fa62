import { createBridge } from '@snakebridge/core';

// The same code over either transport: only the config changes.
for (const invoker of ['stdio', 'grpc'] as const) {
  await using bridge = await createBridge({ invoker, pool: { max: 1 } });
  const math = bridge.module('math');
  console.log(invoker, await math.hypot(3, 4)); // stdio 5, then grpc 5
}

// Servers run elsewhere: endpoints and token from SNAKEBRIDGE_GRPC_ENDPOINTS and SNAKEBRIDGE_GRPC_TOKEN.
await using remote = await createBridge({ invoker: 'grpc', grpc: { mode: 'remote' } });
const platform = remote.module('platform');
console.log(await platform.python_implementation()); // CPython
