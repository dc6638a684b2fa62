// The Python distributions a config needs in its interpreter: those of the
// serializer (as the runtime's serializer registry lists them, read through
// the doctor probe), those of the gRPC server when it runs here, and the
// optional ones that unlock a feature.

/** What the gRPC server (`python -m snakebridge.server`) imports: the `grpc` extra of python/pyproject.toml. */
export const GRPC_SERVER_PACKAGES = ['grpcio', 'grpcio-health-checking', 'grpcio-tools', 'protobuf'] as const;

/** Packages nothing requires, each with what it adds. */
export const OPTIONAL_PACKAGES: readonly { readonly distribution: string; readonly adds: string }[] = [
  { distribution: 'numpy', adds: 'needed to send typed arrays, which Python receives as numpy arrays' },
  { distribution: 'typeshed_client', adds: 'better standard-library types from snakebridge types' },
];

/** What pythonRequirements may name besides the serializers' packages (which the doctor probe reports unasked). */
export const OTHER_PACKAGES: readonly string[] = [
  ...GRPC_SERVER_PACKAGES,
  ...OPTIONAL_PACKAGES.map((optional) => optional.distribution),
];

export interface PythonRequirement {
  readonly distribution: string;
  /** Who needs it, in words: `the msgpack serializer`, `the gRPC server`. */
  readonly neededBy: readonly string[];
  readonly optional: boolean;
}

export interface RequirementInputs {
  readonly serializer: string;
  readonly invoker: string;
  readonly grpcMode: 'managed' | 'remote';
  /** Packages by serializer id: the runtime's REGISTRY, from the doctor probe. */
  readonly serializerPackages: Readonly<Record<string, readonly string[]>>;
}

/** True when calls run in Python processes on this machine (not in memory, not on remote servers). */
export function runsPythonHere(invoker: string, grpcMode: 'managed' | 'remote'): boolean {
  return invoker === 'stdio' || (invoker === 'grpc' && grpcMode === 'managed');
}

/** The distributions the config needs here, required ones first, each listed once with everyone who needs it. */
export function pythonRequirements(inputs: RequirementInputs): PythonRequirement[] {
  const required = new Map<string, string[]>();
  const need = (distribution: string, who: string) => {
    const list = required.get(distribution) ?? [];
    list.push(who);
    required.set(distribution, list);
  };
  for (const distribution of inputs.serializerPackages[inputs.serializer] ?? []) {
    need(distribution, `the ${inputs.serializer} serializer`);
  }
  if (inputs.invoker === 'grpc' && inputs.grpcMode === 'managed') {
    for (const distribution of GRPC_SERVER_PACKAGES) need(distribution, 'the gRPC server');
  }
  const requirements: PythonRequirement[] = [...required].map(([distribution, neededBy]) => ({
    distribution,
    neededBy,
    optional: false,
  }));
  for (const { distribution, adds } of OPTIONAL_PACKAGES) {
    if (!required.has(distribution)) requirements.push({ distribution, neededBy: [adds], optional: true });
  }
  return requirements;
}
