// Python signatures as TypeScript call signatures. Python lets a caller pass
// a positional-or-keyword parameter either way, so one signature becomes a
// union of argument tuples: the positional arguments alone, then for each
// split point, the first j positionally and the rest as `kwargs({...})`,
// each optionally followed by `callOptions(...)` (core's `Trailing`).
//
// Overloads are merged into one signature (every overload's arguments are
// accepted; the result is the union of their results): TypeScript fixes the
// type of `kwargs({...})` against the first overload it tries, so real
// overloads would reject keyword arguments meant for a later one. Overloads
// with the same parameters merge parameter by parameter (mergeOverloads).

import type {
  FunctionDescription,
  ParamDescription,
  ParamKind,
  PyType,
  SignatureDescription,
  TypeVarDescription,
} from './introspection.js';
import { labelFor, propertyKey, uniqueLabels } from './names.js';
import { element, type TypeWriter, union } from './type-mapping.js';

/** A call signature's parts, written: `<T>`, the argument list, and the result (before `Promise<>`). */
export interface WrittenSignature {
  readonly typeParams: string;
  readonly params: string;
  readonly result: string;
  /** Parameters and results with a known type, and those without, for the coverage report. */
  readonly typed: number;
  readonly untyped: number;
}

/** The untyped fallback: Python gave no signature at all. */
export const UNTYPED_SIGNATURE: WrittenSignature = {
  typeParams: '',
  params: '...args: unknown[]',
  result: 'unknown',
  typed: 0,
  untyped: 1,
};

interface Element {
  readonly label: string;
  readonly type: string;
  readonly optional: boolean;
  readonly rest: boolean;
}

interface Counts {
  typed: number;
  untyped: number;
}

/**
 * Writes a callable's signature. `result` overrides the result type (a
 * constructor returns its instance); otherwise it follows the function's
 * kind: a generator gives a `PyIterator`, anything else its return type.
 */
export function writeSignature(
  fn: FunctionDescription,
  withTypeVars: (typeParams: readonly TypeVarDescription[]) => {
    writer: TypeWriter;
    keywordWriter: TypeWriter;
    declared: string;
  },
  result?: string,
): WrittenSignature {
  if (fn.overloads.length === 0) return result === undefined ? UNTYPED_SIGNATURE : { ...UNTYPED_SIGNATURE, result };
  const counts: Counts = { typed: 0, untyped: 0 };
  const overloads = mergeOverloads(fn.overloads);
  const typeParams = mergeTypeParams(overloads);
  const scoped = withTypeVars(typeParams);
  const variants = overloads.flatMap((signature) => variantsOf(signature, scoped.writer, scoped.keywordWriter, counts));
  const results = overloads.map((signature) => result ?? resultOf(fn, signature, scoped.writer, counts));
  return {
    typeParams: scoped.declared,
    params: formatParams([...new Set(variants)]),
    result: union(results),
    typed: counts.typed,
    untyped: counts.untyped,
  };
}

function resultOf(
  fn: FunctionDescription,
  signature: SignatureDescription,
  writer: TypeWriter,
  counts: Counts,
): string {
  const returns = signature.returns;
  if (fn.kind === 'generator' || fn.kind === 'async_generator') {
    // The declared type is the iterator's (`Iterator[int]`); the call resolves to the iterator, as a handle.
    const item = returns?.kind === 'class' ? (returns.args[0] ?? null) : null;
    const written = writer.iteratorOf(item);
    count(counts, returns === null || written.unknown);
    return written.text;
  }
  const written = writer.write(returns, 'out');
  count(counts, returns === null || written.unknown);
  return written.text;
}

/** The argument tuples of one signature. */
function variantsOf(
  signature: SignatureDescription,
  writer: TypeWriter,
  keywordWriter: TypeWriter,
  counts: Counts,
): string[] {
  const params = signature.params;
  const labels = uniqueLabels(params.map((param) => param.name));
  const typeOf = (param: ParamDescription) => {
    const written = writer.write(param.type, 'in');
    count(counts, param.type === null || written.unknown);
    return written.text;
  };
  const types = new Map(params.map((param) => [param, typeOf(param)]));
  const keywordTypes = new Map(params.map((param) => [param, keywordWriter.write(param.type, 'in').text]));
  const positional = params.filter((p) => p.kind === 'positional_only' || p.kind === 'positional_or_keyword');
  const varPositional = params.find((p) => p.kind === 'var_positional');
  const keywordOnly = params.filter((p) => p.kind === 'keyword_only');
  const varKeyword = params.find((p) => p.kind === 'var_keyword');
  const label = (param: ParamDescription) => labels[params.indexOf(param)] as string;
  const element = (param: ParamDescription, optional: boolean): Element => ({
    label: label(param),
    type: types.get(param) as string,
    optional,
    rest: false,
  });
  const rest: Element[] =
    varPositional === undefined
      ? []
      : [{ label: label(varPositional), type: types.get(varPositional) as string, optional: false, rest: true }];

  const variants: string[] = [];
  if (keywordOnly.every((param) => param.default !== null)) {
    variants.push(plainTuple([...positional.map((param) => element(param, param.default !== null)), ...rest]));
  }
  // Positional-only parameters cannot be named, so the required ones always come first, positionally.
  const lastRequiredPositionalOnly = positional.findLastIndex(
    (param) => param.kind === 'positional_only' && param.default === null,
  );
  for (let j = lastRequiredPositionalOnly + 1; j <= positional.length; j++) {
    const prefix = positional.slice(0, j).map((param) => element(param, false));
    const byKeyword = positional.slice(j).filter((param) => param.kind === 'positional_or_keyword');
    const keywords = keywordObject([...byKeyword, ...keywordOnly], varKeyword, keywordTypes);
    const tail = j === positional.length ? rest : [];
    variants.push(markedTuple([...prefix, ...tail], keywords));
  }
  return variants;
}

/** The object type of keyword arguments, or undefined when nothing can be passed by keyword. */
function keywordObject(
  named: readonly ParamDescription[],
  varKeyword: ParamDescription | undefined,
  types: ReadonlyMap<ParamDescription, string>,
): string | undefined {
  if (named.length === 0 && varKeyword === undefined) return undefined;
  const fields = named.map(
    (param) => `${propertyKey(param.name)}${param.default === null ? '' : '?'}: ${types.get(param)}`,
  );
  if (varKeyword !== undefined) {
    // The index signature must admit the named fields' types too.
    const optional = named.some((param) => param.default !== null) ? ['undefined'] : [];
    const value = union([
      types.get(varKeyword) as string,
      ...named.map((param) => types.get(param) as string),
      ...optional,
    ]);
    fields.push(`[keyword: string]: ${value}`);
  }
  return fields.length === 0 ? '{}' : `{ ${fields.join('; ')} }`;
}

/** The arguments alone: `[a: A, b?: B, ...rest: C[]]`. */
function plainTuple(elements: readonly Element[]): string {
  return `[${elements.map(writeElement).join(', ')}]`;
}

/** Arguments followed by the markers: keyword arguments (if any can be named) and call options. */
function markedTuple(elements: readonly Element[], keywords: string | undefined): string {
  const written = elements.map(writeElement);
  if (keywords === undefined) return `[${[...written, 'options: CallOptionsMarker'].join(', ')}]`;
  return written.length === 0 ? `Trailing<${keywords}>` : `[${written.join(', ')}, ...Trailing<${keywords}>]`;
}

function writeElement(e: Element): string {
  if (e.rest) return `...${e.label}: ${element(e.type)}[]`;
  return `${e.label}${e.optional ? '?' : ''}: ${e.type}`;
}

/** The argument list: `...args:` and the union of tuples, one per line when there are several. */
function formatParams(variants: readonly string[]): string {
  if (variants.length === 1) return variants[0] === '[]' ? '' : `...args: ${variants[0]}`;
  if (variants.length === 2 && variants[0] === '[]' && variants[1] === '[options: CallOptionsMarker]') {
    return 'options?: CallOptionsMarker';
  }
  return `...args:\n${variants.map((variant) => `      | ${variant}`).join('\n')}\n  `;
}

/**
 * Overloads with the same parameters (names and kinds, as typeshed's usually
 * have) as one signature whose parameter types and result are the unions of
 * theirs: one set of argument tuples, so `kwargs({...})` gets one type. Other
 * overloads stay apart and their tuples are joined.
 */
function mergeOverloads(overloads: readonly SignatureDescription[]): readonly SignatureDescription[] {
  const [first, ...rest] = overloads;
  if (first === undefined || rest.length === 0) return overloads;
  const names = (signature: SignatureDescription) => signature.params.map((p) => p.name).join(',');
  if (rest.some((signature) => names(signature) !== names(first))) return overloads;
  const params = first.params.map((param, i) => {
    const all = overloads.map((signature) => signature.params[i] as ParamDescription);
    const withDefault = all.find((p) => p.default !== null);
    return {
      ...param,
      kind: mergeKinds(all.map((p) => p.kind)),
      type: unionOf(all.map((p) => p.type)),
      // Optional when some overload lets it be left out.
      default: withDefault === undefined ? null : withDefault.default,
      doc: all.find((p) => p.doc !== null)?.doc ?? null,
    };
  });
  // Kinds must still come in Python's order (positional-only, …, **kwargs), or the merge would not be a signature.
  const ranks = params.map((p) => KIND_ORDER.indexOf(p.kind));
  if (ranks.some((rank, i) => i > 0 && rank < (ranks[i - 1] as number))) return overloads;
  return [
    {
      params,
      returns: unionOf(overloads.map((signature) => signature.returns)),
      returns_doc: first.returns_doc,
      type_params: mergeTypeParams(overloads),
    },
  ];
}

const KIND_ORDER: readonly ParamKind[] = [
  'positional_only',
  'positional_or_keyword',
  'var_positional',
  'keyword_only',
  'var_keyword',
];

/** The kind that allows every way the overloads allow: by position or keyword when they differ. */
function mergeKinds(kinds: readonly ParamKind[]): ParamKind {
  const [first] = kinds as [ParamKind];
  return kinds.every((kind) => kind === first) ? first : 'positional_or_keyword';
}

/** The union of types; null (nothing known) when any of them is. */
function unionOf(types: readonly (PyType | null)[]): PyType | null {
  if (types.some((type) => type === null)) return null;
  const unique = [...new Map((types as PyType[]).map((type) => [JSON.stringify(type), type])).values()];
  return unique.length === 1 ? (unique[0] as PyType) : { kind: 'union', options: unique };
}

/** Type parameters used by any overload, each once, in order of first appearance. */
function mergeTypeParams(overloads: readonly SignatureDescription[]): TypeVarDescription[] {
  const seen = new Map<string, TypeVarDescription>();
  for (const signature of overloads)
    for (const param of signature.type_params) if (!seen.has(param.name)) seen.set(param.name, param);
  return [...seen.values()];
}

function count(counts: Counts, unknown: boolean): void {
  if (unknown) counts.untyped++;
  else counts.typed++;
}

/** `<T, N extends number | bigint>` for these type variables, written for arguments. */
export function typeParamList(
  typeVars: readonly TypeVarDescription[],
  names: ReadonlyMap<string, string>,
  writer: TypeWriter,
  bounded = true,
): string {
  if (typeVars.length === 0) return '';
  const written = typeVars.map((typeVar) => {
    const name = names.get(typeVar.name) ?? labelFor(typeVar.name);
    // Written as arguments: a type variable is mostly bound by what the caller passes.
    const bound = !bounded
      ? 'unknown'
      : typeVar.constraints.length > 0
        ? union(typeVar.constraints.map((c) => writer.write(c, 'in').text))
        : typeVar.bound === null
          ? 'unknown'
          : writer.write(typeVar.bound, 'in').text;
    return bound === 'unknown' ? name : `${name} extends ${bound}`;
  });
  return `<${written.join(', ')}>`;
}
