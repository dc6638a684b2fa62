// The introspection format that `python -m snakebridge.introspect` writes
// (vectors/introspect/README.md, version 1), as TypeScript types. The
// generator reads it and nothing else of Python.

/** The format this generator reads. */
export const INTROSPECTION_FORMAT = 1;

/** What one run of the introspector writes. */
export interface IntrospectionDocument {
  readonly format: number;
  readonly python: PythonDescription;
  readonly modules: readonly (ModuleDescription | ModuleFailure)[];
}

export interface PythonDescription {
  readonly version: string;
  readonly implementation: string;
  readonly executable: string;
}

/** A module that failed to import. */
export interface ModuleFailure {
  readonly module: string;
  readonly error: { readonly type: string; readonly message: string };
}

export interface ModuleDescription {
  readonly module: string;
  readonly doc: string | null;
  readonly distribution: { readonly name: string; readonly version: string } | null;
  readonly stub: 'inline' | 'stub-package' | 'typeshed' | null;
  readonly functions: readonly FunctionDescription[];
  readonly classes: readonly ClassDescription[];
  readonly constants: readonly ConstantDescription[];
  readonly submodules: readonly { readonly name: string; readonly module: string }[];
  readonly aliases: readonly AliasDescription[];
  readonly types: readonly ClassDescription[];
  readonly budget: {
    readonly limit_ms: number;
    readonly elapsed_ms: number;
    readonly exceeded: boolean;
    readonly skipped: readonly string[];
  };
  readonly warnings: readonly string[];
}

export interface AliasDescription {
  readonly name: string;
  readonly type_params: readonly TypeVarDescription[];
  readonly type: PyType;
}

export type FunctionKind = 'function' | 'generator' | 'async' | 'async_generator';
export type SignatureSource = 'annotations' | 'stub' | 'docstring' | 'signature' | 'none';

export interface FunctionDescription {
  readonly name: string;
  readonly kind: FunctionKind;
  readonly doc: string | null;
  readonly source: SignatureSource;
  readonly overloads: readonly SignatureDescription[];
  /** Methods only. */
  readonly binding?: 'instance' | 'class' | 'static';
}

export interface SignatureDescription {
  readonly params: readonly ParamDescription[];
  readonly returns: PyType | null;
  readonly returns_doc: string | null;
  readonly type_params: readonly TypeVarDescription[];
}

export type ParamKind = 'positional_only' | 'positional_or_keyword' | 'var_positional' | 'keyword_only' | 'var_keyword';

export interface ParamDescription {
  readonly name: string;
  readonly kind: ParamKind;
  readonly type: PyType | null;
  /** `repr()` of the default; null when the parameter is required. */
  readonly default: string | null;
  readonly doc: string | null;
}

export type ClassKind = 'class' | 'protocol' | 'typeddict' | 'namedtuple' | 'enum' | 'dataclass' | 'exception';

export interface ClassDescription {
  readonly name: string;
  readonly qualname: string;
  readonly kind: ClassKind;
  readonly doc: string | null;
  readonly bases: readonly string[];
  readonly type_params: readonly TypeVarDescription[];
  readonly constructor: FunctionDescription | null;
  readonly methods: readonly FunctionDescription[];
  readonly properties: readonly PropertyDescription[];
  readonly fields: readonly FieldDescription[];
  readonly members: readonly EnumMemberDescription[];
  readonly call: FunctionDescription | null;
  readonly iterates: PyType | null;
}

export interface PropertyDescription {
  readonly name: string;
  readonly type: PyType | null;
  readonly readonly: boolean;
  readonly doc: string | null;
}

export interface FieldDescription {
  readonly name: string;
  readonly type: PyType | null;
  readonly required: boolean;
  readonly doc: string | null;
}

export interface EnumMemberDescription {
  readonly name: string;
  readonly value: string | number | boolean | null;
  readonly repr: string;
}

export interface ConstantDescription {
  readonly name: string;
  readonly type: PyType | null;
  /** The value, when it is a bool, a safe integer, a finite float, a short str or None. */
  readonly value: string | number | boolean | null;
  readonly doc: string | null;
}

export interface TypeVarDescription {
  readonly name: string;
  readonly bound: PyType | null;
  readonly constraints: readonly PyType[];
}

/** A Python type, as the introspector describes it. */
export type PyType =
  | { readonly kind: 'any' }
  | { readonly kind: 'none' }
  | { readonly kind: 'never' }
  | { readonly kind: 'class'; readonly name: string; readonly args: readonly PyType[] }
  | { readonly kind: 'tuple'; readonly items: readonly PyType[] }
  | { readonly kind: 'union'; readonly options: readonly PyType[] }
  | { readonly kind: 'literal'; readonly values: readonly (string | number | boolean | null)[] }
  | { readonly kind: 'callable'; readonly params: readonly PyType[] | null; readonly returns: PyType }
  | { readonly kind: 'typevar'; readonly name: string }
  | { readonly kind: 'type'; readonly of: PyType }
  | { readonly kind: 'alias'; readonly name: string; readonly args: readonly PyType[] }
  | { readonly kind: 'unknown'; readonly text: string };

export function isModuleFailure(entry: ModuleDescription | ModuleFailure): entry is ModuleFailure {
  return 'error' in entry;
}
