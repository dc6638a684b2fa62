// snakebridge.config.ts: what createBridge gets, and the modules
// `snakebridge types` writes declarations for (python-types/).
import { defineConfig } from '@snakebridge/core';

export default defineConfig({
  pool: { max: 2 },
  bindings: { modules: ['builtins', 'json', 'math', 'numpy', 'numpy.linalg', 'textwrap'] },
});
