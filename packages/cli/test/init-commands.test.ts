// What `snakebridge init` runs and writes, and what `doctor` suggests, as
// pure functions: uv or venv/pip command lines, the packages a config needs,
// the starter config and the next steps.

import { describe, expect, it } from 'vitest';
import { nextSteps, runtimePackages } from '../src/init/next-steps.js';
import { starterConfig } from '../src/init/starter-config.js';
import { commandLine } from '../src/output/command-line.js';
import { installCommand, pipInstallLine, venvCommand, venvPython } from '../src/python/commands.js';
import { pythonRequirements, runsPythonHere } from '../src/python/requirements.js';

const REGISTRY = { json: [], msgpack: ['msgpack'], arrow: ['pyarrow', 'msgpack'], protobuf: ['protobuf'] };

describe('creating the environment', () => {
  it('uses uv venv when uv is on the PATH, passing --python only when one was named', () => {
    expect(venvCommand({ uv: '/usr/bin/uv', python: undefined, venv: '/p/.venv' })).toEqual([
      '/usr/bin/uv',
      'venv',
      '/p/.venv',
    ]);
    expect(venvCommand({ uv: '/usr/bin/uv', python: 'python3.12', venv: '/p/.venv' })).toEqual([
      '/usr/bin/uv',
      'venv',
      '--python',
      'python3.12',
      '/p/.venv',
    ]);
  });

  it('uses the venv module of the named interpreter, else of python3 (python on Windows)', () => {
    expect(venvCommand({ uv: undefined, python: 'python3.12', venv: '.venv' })).toEqual([
      'python3.12',
      '-m',
      'venv',
      '.venv',
    ]);
    expect(venvCommand({ uv: undefined, python: undefined, venv: '.venv', platform: 'linux' })).toEqual([
      'python3',
      '-m',
      'venv',
      '.venv',
    ]);
    expect(venvCommand({ uv: undefined, python: undefined, venv: '.venv', platform: 'win32' })[0]).toBe('python');
  });

  it('finds the environment’s interpreter where each platform puts it', () => {
    expect(venvPython('/p/.venv', 'linux')).toBe('/p/.venv/bin/python');
    expect(venvPython('C:\\p\\.venv', 'win32')).toBe('C:\\p\\.venv\\Scripts\\python.exe');
  });
});

describe('installing packages', () => {
  it('uses uv pip with --python when uv is there, since uv’s environments have no pip', () => {
    expect(installCommand({ uv: 'uv', python: '/p/.venv/bin/python', packages: ['msgpack'] })).toEqual([
      'uv',
      'pip',
      'install',
      '--python',
      '/p/.venv/bin/python',
      'msgpack',
    ]);
  });

  it('uses the interpreter’s own pip otherwise', () => {
    expect(installCommand({ uv: undefined, python: '/p/.venv/bin/python', packages: ['pyarrow', 'msgpack'] })).toEqual([
      '/p/.venv/bin/python',
      '-m',
      'pip',
      'install',
      'pyarrow',
      'msgpack',
    ]);
  });

  it('shows a fix that bootstraps pip first where the environment has none', () => {
    expect(pipInstallLine('/p/bin/python', ['msgpack'], true)).toBe('/p/bin/python -m pip install msgpack');
    expect(pipInstallLine('/p/bin/python', ['msgpack'], false)).toBe(
      '/p/bin/python -m ensurepip && /p/bin/python -m pip install msgpack',
    );
  });

  it('quotes arguments for the shell only where they need it', () => {
    expect(commandLine(['/my env/bin/python', '-m', 'pip', 'install', 'snakebridge==0.1.0'])).toBe(
      "'/my env/bin/python' -m pip install snakebridge==0.1.0",
    );
    expect(commandLine(["it's", ''])).toBe(`'it'\\''s' ''`);
  });
});

describe('the Python packages a config needs', () => {
  const required = (serializer: string, invoker: string, grpcMode: 'managed' | 'remote' = 'managed') =>
    pythonRequirements({ serializer, invoker, grpcMode, serializerPackages: REGISTRY }).filter((r) => !r.optional);

  it('takes the serializer’s packages from the runtime’s registry', () => {
    expect(required('arrow', 'stdio').map((r) => r.distribution)).toEqual(['pyarrow', 'msgpack']);
    expect(required('json', 'stdio')).toEqual([]);
  });

  it('adds the gRPC server’s packages in managed mode only, listing a shared one once with both reasons', () => {
    const protobuf = required('protobuf', 'grpc').find((r) => r.distribution === 'protobuf');
    expect(protobuf?.neededBy).toEqual(['the protobuf serializer', 'the gRPC server']);
    expect(required('protobuf', 'grpc').map((r) => r.distribution)).toEqual([
      'protobuf',
      'grpcio',
      'grpcio-health-checking',
      'grpcio-tools',
    ]);
    expect(required('json', 'grpc', 'remote')).toEqual([]);
  });

  it('reports numpy and typeshed_client as optional', () => {
    const optional = pythonRequirements({
      serializer: 'msgpack',
      invoker: 'stdio',
      grpcMode: 'managed',
      serializerPackages: REGISTRY,
    })
      .filter((r) => r.optional)
      .map((r) => r.distribution);
    expect(optional).toEqual(['numpy', 'typeshed_client']);
  });

  it('knows where Python runs on this machine', () => {
    expect(runsPythonHere('stdio', 'managed')).toBe(true);
    expect(runsPythonHere('grpc', 'managed')).toBe(true);
    expect(runsPythonHere('grpc', 'remote')).toBe(false);
    expect(runsPythonHere('mock', 'managed')).toBe(false);
  });
});

describe('the starter config and the next steps', () => {
  it('adds a managed grpc section only for the gRPC invoker', () => {
    expect(starterConfig({ invoker: 'stdio', serializer: 'msgpack', venv: '.venv' })).not.toContain('grpc:');
    expect(starterConfig({ invoker: 'grpc', serializer: 'json', venv: '.venv' })).toContain(
      "grpc: { mode: 'managed' },",
    );
  });

  it('quotes the venv path as a TypeScript string', () => {
    expect(starterConfig({ invoker: 'stdio', serializer: 'json', venv: "C:\\it's\\env" })).toContain(
      "venv: 'C:\\\\it\\'s\\\\env',",
    );
  });

  it('names the npm packages of the chosen adapters with the project’s package manager', () => {
    expect(runtimePackages('grpc', 'json')).toEqual(['@snakebridge/core', '@snakebridge/adapter-grpc']);
    const steps = nextSteps({ manager: 'pnpm', invoker: 'stdio', serializer: 'arrow', skippedInstall: undefined });
    expect(steps[0]).toBe('pnpm add @snakebridge/core @snakebridge/adapter-stdio @snakebridge/serializer-arrow');
    expect(steps[1]).toMatch(/^pnpm add -D @snakebridge\/adapter-mock @snakebridge\/cli/);
    expect(steps.some((step) => step.startsWith('snakebridge types'))).toBe(true);
    const npm = nextSteps({ manager: 'npm', invoker: 'stdio', serializer: 'json', skippedInstall: 'pip install x' });
    expect(npm[0]).toMatch(/^pip install x +# the Python packages/);
    expect(npm[1]).toBe('npm install @snakebridge/core @snakebridge/adapter-stdio');
  });
});
