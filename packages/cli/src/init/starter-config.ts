// The snakebridge.config.ts that `snakebridge init` writes: the chosen
// invoker and serializer, python.venv pointing at the environment it made,
// the mock invoker for tests, and an empty list of modules to type.

export interface StarterConfigInputs {
  readonly invoker: 'stdio' | 'grpc';
  readonly serializer: string;
  /** The virtual environment, as the config should name it (relative to the project, or absolute). */
  readonly venv: string;
}

/** The file's text. */
export function starterConfig(inputs: StarterConfigInputs): string {
  const grpc =
    inputs.invoker === 'grpc'
      ? [
          '  // Python gRPC servers started and supervised here. For servers running elsewhere:',
          "  // mode: 'remote', endpoints: ['host:50051'], tls: { ca: 'ca.pem' }, token: process.env.TOKEN.",
          "  grpc: { mode: 'managed' },",
        ]
      : [];
  return [
    '// SnakeBridge config, read by createBridge() and the snakebridge command line.',
    '// Every setting and its default: docs/operations.md; check the setup with `snakebridge doctor`.',
    "import { defineConfig } from '@snakebridge/core';",
    '',
    'export default defineConfig({',
    `  invoker: ${quote(inputs.invoker)},`,
    `  serializer: ${quote(inputs.serializer)},`,
    '  python: {',
    '    // The virtual environment `snakebridge init` created: its interpreter runs the workers.',
    `    venv: ${quote(inputs.venv)},`,
    '  },',
    ...grpc,
    '  bindings: {',
    "    // Python modules to write TypeScript declarations for with `snakebridge types`, e.g. ['numpy', 'myapp.model'].",
    '    modules: [],',
    '  },',
    '  environments: {',
    '    // Unit tests need no Python: program the answers with @snakebridge/adapter-mock.',
    "    test: { invoker: 'mock' },",
    '  },',
    '});',
    '',
  ].join('\n');
}

/** A single-quoted TypeScript string literal. */
function quote(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}
