// One generated declaration file: the interface of a Python module, its
// classes as handle-proxy interfaces (or by-value types), and the module
// augmentation that registers both with @snakebridge/core.

import type {
  AliasDescription,
  ClassDescription,
  ConstantDescription,
  FunctionDescription,
  ModuleDescription,
  PropertyDescription,
  TypeVarDescription,
} from './introspection.js';
import { labelFor, literalText, NameTable, propertyKey, quote } from './names.js';
import { typeParamList, type WrittenSignature, writeSignature } from './signatures.js';
import { tsdoc } from './tsdoc.js';
import { type ClassRef, type Direction, type IntMapping, type MappingScope, TypeWriter } from './type-mapping.js';

/** How one callable came out, for the coverage report. */
export interface CallableCoverage {
  /** Dotted name: `module.function`, `module.Class`, `module.Class.method`. */
  readonly name: string;
  readonly status: 'typed' | 'partial' | 'untyped';
}

/** A class declared in another generated file, and how to import it. */
export interface ForeignClass {
  readonly description: ClassDescription;
  /** The file that declares it, as an import specifier (`./numpy.js`). */
  readonly from: string;
}

export interface ModuleFileOptions {
  readonly serializer: string;
  readonly ints: IntMapping;
  /** Classes this file declares (and registers in PythonClasses). */
  readonly owned: readonly ClassDescription[];
  /** Classes another generated file declares, by qualified name. */
  readonly foreign: ReadonlyMap<string, ForeignClass>;
  /** Qualified names of each class's bases, transitively, for the brand of its proxies. */
  readonly ancestry: (qualname: string) => readonly string[];
  /** The line that says what generated the file. */
  readonly header: string;
}

export interface ModuleFile {
  readonly text: string;
  readonly coverage: readonly CallableCoverage[];
}

interface AliasNames {
  readonly out: string;
  /** The `…Input` alias, once the alias is known to read differently as an argument. */
  readonly in: string;
  readonly split: boolean;
  readonly typeParams: number;
}

interface MethodShape {
  readonly result?: string | undefined;
  readonly call?: boolean | undefined;
  readonly typeParams?: string | undefined;
}

interface DeclaredClass extends ClassRef {
  readonly description: ClassDescription;
  readonly local: boolean;
}

/** Writes the declaration file of one module. */
export function writeModuleFile(module: ModuleDescription, options: ModuleFileOptions): ModuleFile {
  return new ModuleFileWriter(module, options).write();
}

class ModuleFileWriter implements MappingScope {
  readonly serializer: string;
  readonly ints: IntMapping;
  typeVars: ReadonlyMap<string, string> = new Map();
  readonly #module: ModuleDescription;
  readonly #options: ModuleFileOptions;
  readonly #names = new NameTable();
  readonly #helpers = new Set<string>();
  readonly #classes = new Map<string, DeclaredClass>();
  readonly #aliases = new Map<string, AliasNames>();
  readonly #imports = new Map<string, string[]>();
  readonly #coverage: CallableCoverage[] = [];
  readonly #writer: TypeWriter;

  constructor(module: ModuleDescription, options: ModuleFileOptions) {
    this.#module = module;
    this.#options = options;
    this.serializer = options.serializer;
    this.ints = options.ints;
    this.#writer = new TypeWriter(this);
  }

  // --- MappingScope ---------------------------------------------------------------

  classRef(qualname: string): ClassRef | undefined {
    return this.#classes.get(qualname);
  }

  aliasRef(name: string, direction: Direction): { name: string; typeParams: number } | undefined {
    const alias = this.#aliases.get(name);
    if (alias === undefined) return undefined;
    return { name: direction === 'in' && alias.split ? alias.in : alias.out, typeParams: alias.typeParams };
  }

  use(helper: string): void {
    this.#helpers.add(helper);
  }

  // --- the file ----------------------------------------------------------------------

  write(): ModuleFile {
    this.#nameEverything();
    const aliases = this.#writeAliases();
    const body = [
      ...aliases,
      this.#moduleInterface(),
      ...[...this.#classes.values()].filter((c) => c.local).map((c) => this.#classDeclarations(c)),
      this.#augmentation(),
    ];
    const text = [this.#options.header, this.#importLines(), ...body].filter((part) => part !== '').join('\n');
    return { text, coverage: this.#coverage };
  }

  /** Claims every name first, so that the order of declarations cannot change what a name refers to. */
  #nameEverything(): void {
    this.#names.claim('Module');
    const foreign = [...this.#options.foreign.values()].sort((a, b) =>
      a.description.qualname.localeCompare(b.description.qualname),
    );
    for (const { description, from } of foreign) this.#declareClass(description, false, from);
    const owned = new Set(this.#options.owned.map((c) => c.qualname));
    for (const description of [...this.#module.classes, ...this.#module.types]) {
      if (this.#classes.has(description.qualname)) continue;
      if (owned.has(description.qualname) || !this.#options.foreign.has(description.qualname)) {
        this.#declareClass(description, true, undefined);
      }
    }
    for (const alias of this.#module.aliases) {
      const out = this.#names.claim(shortName(alias.name));
      this.#aliases.set(alias.name, { out, in: out, split: false, typeParams: alias.type_params.length });
    }
  }

  #declareClass(description: ClassDescription, local: boolean, from: string | undefined): void {
    const shape = shapeOf(description);
    const out = this.#names.claim(description.name);
    const input = shape === 'object' || shape === 'tuple' ? this.#names.claim(`${description.name}Input`) : out;
    const constructorName = shape === 'handle' ? this.#names.claim(`${description.name}Constructor`) : undefined;
    const typeParams = description.type_params.length;
    this.#classes.set(description.qualname, { description, local, shape, out, in: input, constructorName, typeParams });
    if (from !== undefined) {
      const names = [out, ...(input !== out ? [input] : []), ...(constructorName ? [constructorName] : [])];
      const originals = [
        description.name,
        ...(input !== out ? [`${description.name}Input`] : []),
        ...(constructorName ? [`${description.name}Constructor`] : []),
      ];
      const list = this.#imports.get(from) ?? [];
      names.forEach((name, i) => {
        list.push(originals[i] === name ? name : `${originals[i]} as ${name}`);
      });
      this.#imports.set(from, list);
    }
  }

  #importLines(): string {
    const core = [...this.#helpers].filter((h) => h !== 'Table' && h !== 'RecordBatch').sort();
    const arrow = [...this.#helpers].filter((h) => h === 'Table' || h === 'RecordBatch').sort();
    const lines = [`import type { ${core.join(', ')} } from '@snakebridge/core';`];
    if (arrow.length > 0) lines.push(`import type { ${arrow.join(', ')} } from 'apache-arrow';`);
    for (const [from, names] of [...this.#imports].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`import type { ${names.join(', ')} } from '${from}';`);
    }
    return `${lines.join('\n')}\n`;
  }

  // --- aliases -------------------------------------------------------------------------

  /**
   * The aliases' declarations. An alias reads differently as an argument than
   * as a result (`int` is `number | bigint` when sent) gets a second, `…Input`
   * declaration; whether it does depends on the aliases it refers to, so the
   * split is found by repeating until nothing changes.
   */
  #writeAliases(): string[] {
    const texts = new Map<string, { out: string; in: string; params: string }>();
    for (let changed = true; changed; ) {
      changed = false;
      for (const alias of this.#module.aliases) {
        const written = this.#aliasTexts(alias);
        texts.set(alias.name, written);
        const names = this.#aliases.get(alias.name) as AliasNames;
        if (written.out !== written.in && !names.split) {
          this.#aliases.set(alias.name, { ...names, split: true, in: this.#names.claim(`${names.out}Input`) });
          changed = true;
        }
      }
    }
    return this.#module.aliases.map((alias) => {
      const names = this.#aliases.get(alias.name) as AliasNames;
      const { out, in: input, params } = texts.get(alias.name) as { out: string; in: string; params: string };
      if (!names.split) return `export type ${names.out}${params} = ${out};\n`;
      return `export type ${names.out}${params} = ${out};\nexport type ${names.in}${params} = ${input};\n`;
    });
  }

  #aliasTexts(alias: AliasDescription): { out: string; in: string; params: string } {
    let texts = { out: '', in: '', params: '' };
    this.#withTypeVars(alias.type_params, (params) => {
      texts = {
        out: this.#writer.write(alias.type, 'out').text,
        in: this.#writer.write(alias.type, 'in').text,
        params,
      };
      return '';
    });
    return texts;
  }

  // --- the module ----------------------------------------------------------------------

  #moduleInterface(): string {
    const module = this.#module;
    const members: string[] = [];
    for (const constant of module.constants) members.push(this.#constant(constant));
    for (const description of module.classes) {
      const declared = this.#classes.get(description.qualname) as DeclaredClass;
      members.push(this.#classMember(description.name, declared));
    }
    for (const fn of module.functions) members.push(this.#method(fn, `${module.module}.${fn.name}`));
    for (const sub of module.submodules) {
      this.use('PyModule');
      members.push(`  readonly ${propertyKey(sub.name)}: PyModule<'${sub.module}'>;\n`);
    }
    const doc = tsdoc({ text: module.doc }, '');
    return `${doc}export interface Module {\n${members.join('')}}\n`;
  }

  #constant(constant: ConstantDescription): string {
    this.use('PyAttribute');
    const type = this.#writer.write(constant.type, 'out').text;
    const value =
      constant.value === null
        ? ''
        : `Its value when these declarations were generated: \`${JSON.stringify(constant.value)}\`.`;
    const doc = tsdoc({ text: [constant.doc, value].filter(Boolean).join('\n\n') }, '  ');
    return `${doc}  readonly ${propertyKey(constant.name)}: PyAttribute<${type}>;\n`;
  }

  /** A class as a module member: its constructor interface, or for a by-value class, a function making one. */
  #classMember(name: string, declared: DeclaredClass): string {
    const doc = tsdoc({ text: declared.description.doc }, '  ');
    if (declared.constructorName !== undefined)
      return `${doc}  readonly ${propertyKey(name)}: ${declared.constructorName};\n`;
    const construct = declared.description.constructor;
    if (construct === null) return '';
    const qualified = `${this.#module.module}.${name}`;
    return this.#method({ ...construct, name, doc: declared.description.doc }, qualified, { result: declared.out });
  }

  /**
   * A callable as an interface member: `name<T>(...args: …): PyResult<R>;`, or
   * a call signature (`<T>(...args: …): PyResult<R>;`) with `call`. `result`
   * overrides the result; `typeParams` are the enclosing generic class's.
   * PyResult: a Promise of R, and R's proxy before it arrives (pipelining).
   */
  #method(fn: FunctionDescription, qualified: string, shape: MethodShape = {}): string {
    const written = this.#signature(fn, shape.result);
    this.#record(qualified, fn, written);
    const first = fn.overloads[0];
    const doc = tsdoc(
      {
        text: fn.doc,
        params: first?.params.map((param) => ({ name: labelFor(param.name), doc: param.doc })),
        returns: first?.returns_doc,
        tags: remarks(fn),
      },
      '  ',
    );
    const name = shape.call ? '' : propertyKey(fn.name);
    const typeParams = joinTypeParams(shape.typeParams ?? '', written.typeParams);
    this.use('PyResult');
    return `${doc}  ${name}${typeParams}(${written.params}): PyResult<${written.result}>;\n`;
  }

  #signature(fn: FunctionDescription, result?: string): WrittenSignature {
    if (fn.overloads.length > 0 && fn.overloads.some((o) => o.params.length > 0 || o.returns !== null)) {
      this.use('CallOptionsMarker');
      this.use('Trailing');
    }
    return writeSignature(fn, (typeParams) => this.#scopeTypeVars(typeParams), result);
  }

  #record(name: string, fn: FunctionDescription, written: WrittenSignature): void {
    const status =
      fn.overloads.length === 0 || written.typed === 0 ? 'untyped' : written.untyped === 0 ? 'typed' : 'partial';
    this.#coverage.push({ name, status });
  }

  // --- classes -------------------------------------------------------------------------

  #classDeclarations(declared: DeclaredClass): string {
    const description = declared.description;
    return this.#withTypeVars(description.type_params, (params) => {
      switch (declared.shape) {
        case 'object':
          return this.#typedDict(declared, params);
        case 'tuple':
          return this.#namedTuple(declared, params);
        case 'literal':
          return this.#valueEnum(declared);
        default:
          return this.#handleInterfaces(declared, params);
      }
    });
  }

  #typedDict(declared: DeclaredClass, params: string): string {
    const fieldsFor = (direction: Direction) =>
      declared.description.fields
        .map((field) => {
          const doc = tsdoc({ text: field.doc }, '  ');
          const type = this.#writer.write(field.type, direction).text;
          return `${doc}  ${propertyKey(field.name)}${field.required ? '' : '?'}: ${type};\n`;
        })
        .join('');
    const doc = tsdoc({ text: declared.description.doc }, '');
    const out = `${doc}export interface ${declared.out}${params} {\n${fieldsFor('out')}}\n`;
    const input = `/** What may be sent as a {@link ${declared.out}}. */\nexport interface ${declared.in}${params} {\n${fieldsFor('in')}}\n`;
    return `${out}${input}`;
  }

  #namedTuple(declared: DeclaredClass, params: string): string {
    const items = (direction: Direction) =>
      declared.description.fields.map(
        (field) =>
          `${labelFor(field.name)}${field.required ? '' : '?'}: ${this.#writer.write(field.type, direction).text}`,
      );
    const doc = tsdoc({ text: declared.description.doc }, '');
    return (
      `${doc}export type ${declared.out}${params} = [${items('out').join(', ')}];\n` +
      `/** What may be sent as a {@link ${declared.out}}. */\nexport type ${declared.in}${params} = readonly [${items('in').join(', ')}];\n`
    );
  }

  #valueEnum(declared: DeclaredClass): string {
    const values = declared.description.members.map((member) => literalText(member.value));
    const doc = tsdoc({ text: declared.description.doc }, '');
    return `${doc}export type ${declared.out} = ${values.length === 0 ? 'never' : values.join(' | ')};\n`;
  }

  /** The proxy interface of instances and the constructor interface of the class. */
  #handleInterfaces(declared: DeclaredClass, params: string): string {
    const description = declared.description;
    const qualified = `${this.#module.module}.${description.name}`;
    const typeArgs = description.type_params.map((typeVar) => this.typeVars.get(typeVar.name) ?? 'unknown');
    const instanceType = typeArgs.length === 0 ? declared.out : `${declared.out}<${typeArgs.join(', ')}>`;
    const members: string[] = [];
    for (const property of propertiesOf(description)) members.push(this.#property(property));
    for (const method of description.methods.filter((m) => (m.binding ?? 'instance') === 'instance')) {
      members.push(this.#method(method, `${qualified}.${method.name}`));
    }
    if (description.call !== null)
      members.push(this.#method(description.call, `${qualified}.__call__`, { call: true }));
    if (description.kind === 'enum') members.push(...this.#enumInstanceMembers(description));
    const bases = [this.#brand(description)];
    if (description.iterates !== null)
      bases.push(`AsyncIterable<${this.#writer.write(description.iterates, 'out').text}>`);
    const doc = tsdoc({ text: description.doc }, '');
    const instance = `${doc}export interface ${declared.out}${params} extends ${bases.join(', ')} {\n${members.join('')}}\n`;
    if (declared.constructorName === undefined) return instance;
    return `${instance}${this.#constructorInterface(declared, instanceType, params, qualified)}`;
  }

  #constructorInterface(declared: DeclaredClass, instanceType: string, params: string, qualified: string): string {
    const description = declared.description;
    const members: string[] = [];
    if (description.constructor !== null) {
      // A generic class's type parameters belong to each construction, so they go on the call signature.
      members.push(
        this.#method(description.constructor, qualified, { result: instanceType, call: true, typeParams: params }),
      );
    }
    for (const member of description.members) {
      this.use('PyAttribute');
      members.push(`  readonly ${propertyKey(member.name)}: PyAttribute<${instanceType}>;\n`);
    }
    for (const method of description.methods.filter((m) => m.binding === 'class' || m.binding === 'static')) {
      members.push(this.#method(method, `${qualified}.${method.name}`));
    }
    const doc = `/** The class \`${description.qualname}\`: calling it makes an instance. */\n`;
    return `${doc}export interface ${declared.constructorName} {\n${members.join('')}}\n`;
  }

  /** An enum member's `name` and `value`, as the literals they can be. */
  #enumInstanceMembers(description: ClassDescription): string[] {
    this.use('PyAttribute');
    const names = description.members.map((member) => quote(member.name));
    const values = description.members.map((member) => (member.value === null ? 'unknown' : literalText(member.value)));
    const valueType = values.length === 0 || values.includes('unknown') ? 'unknown' : values.join(' | ');
    return [
      `  readonly name: PyAttribute<${names.length === 0 ? 'string' : names.join(' | ')}>;\n`,
      `  readonly value: PyAttribute<${valueType}>;\n`,
    ];
  }

  #property(property: PropertyDescription): string {
    this.use('PyAttribute');
    const type = this.#writer.write(property.type, 'out').text;
    return `${tsdoc({ text: property.doc }, '  ')}  readonly ${propertyKey(property.name)}: PyAttribute<${type}>;\n`;
  }

  /** `PyHandle<{ 'pkg.B': true; 'pkg.A': true }>`: the class and its bases, so subclasses are accepted. */
  #brand(description: ClassDescription): string {
    this.use('PyHandle');
    const names = [description.qualname, ...this.#options.ancestry(description.qualname)];
    return `PyHandle<{ ${names.map((name) => `${quote(name)}: true`).join('; ')} }>`;
  }

  // --- registration ---------------------------------------------------------------------

  #augmentation(): string {
    const classes = this.#options.owned
      .map((description) => this.#classes.get(description.qualname) as DeclaredClass)
      .filter((declared) => declared.shape === 'handle' || declared.shape === 'protocol')
      .map((declared) => {
        const args = declared.typeParams === 0 ? '' : `<${Array(declared.typeParams).fill('unknown').join(', ')}>`;
        return `    ${quote(declared.description.qualname)}: ${declared.out}${args};\n`;
      });
    // Inside the block, this file's names come before core's (a Python class may be called Session).
    return (
      `declare module '@snakebridge/core' {\n` +
      `  interface PythonModules {\n    ${quote(this.#module.module)}: Module;\n  }\n` +
      (classes.length === 0 ? '' : `  interface PythonClasses {\n${classes.join('')}  }\n`) +
      '}\n'
    );
  }

  // --- type variables ---------------------------------------------------------------------

  /** Runs `write` with these type variables in scope; it receives their `<…>` list. */
  #withTypeVars(typeVars: readonly TypeVarDescription[], write: (params: string) => string): string {
    // Declared without bounds: a bound would have to hold for every argument the mapping writes, and need not.
    const scoped = this.#scopeTypeVars(typeVars, false);
    const outer = this.typeVars;
    this.typeVars = scoped.names;
    try {
      return write(scoped.declared);
    } finally {
      this.typeVars = outer;
    }
  }

  #scopeTypeVars(
    typeVars: readonly TypeVarDescription[],
    bounded = true,
  ): {
    writer: TypeWriter;
    keywordWriter: TypeWriter;
    declared: string;
    names: ReadonlyMap<string, string>;
  } {
    const names = new Map(this.typeVars);
    for (const typeVar of typeVars) names.set(typeVar.name, labelFor(typeVar.name));
    const outer = this.typeVars;
    this.typeVars = names;
    const declared = typeParamList(typeVars, names, this.#writer, bounded);
    this.typeVars = outer;
    // In keyword arguments, the call's own type variables are `any`: TypeScript types `kwargs({...})`
    // from the call before it has inferred them, and would check the object against `never`.
    const loose = new Map(this.typeVars);
    for (const typeVar of typeVars) loose.set(typeVar.name, 'any');
    return { writer: this.#writerWith(names), keywordWriter: this.#writerWith(loose), declared, names };
  }

  #writerWith(typeVars: ReadonlyMap<string, string>): TypeWriter {
    return new TypeWriter({
      serializer: this.serializer,
      ints: this.ints,
      typeVars,
      classRef: (qualname) => this.classRef(qualname),
      aliasRef: (name, direction) => this.aliasRef(name, direction),
      use: (helper) => this.use(helper),
    });
  }
}

function shapeOf(description: ClassDescription): ClassRef['shape'] {
  switch (description.kind) {
    case 'typeddict':
      return 'object';
    case 'namedtuple':
      return 'tuple';
    case 'protocol':
      return 'protocol';
    case 'enum':
      return travelsAsValue(description) ? 'literal' : 'handle';
    default:
      return 'handle';
  }
}

/** An IntEnum or StrEnum member is an int or a str, so the serializer sends its value. */
function travelsAsValue(description: ClassDescription): boolean {
  const valueBases = ['builtins.int', 'builtins.str', 'enum.IntEnum', 'enum.StrEnum', 'enum.IntFlag'];
  return description.bases.some((base) => valueBases.includes(base));
}

/** Properties, then a dataclass's fields that are not also properties, by name. */
function propertiesOf(description: ClassDescription): PropertyDescription[] {
  const properties = [...description.properties];
  const named = new Set(properties.map((property) => property.name));
  for (const field of description.fields) {
    if (!named.has(field.name))
      properties.push({ name: field.name, type: field.type, readonly: false, doc: field.doc });
  }
  return properties.sort((a, b) => a.name.localeCompare(b.name));
}

/** `<A>` and `<B>` as `<A, B>`. */
function joinTypeParams(outer: string, inner: string): string {
  if (outer === '' || inner === '') return outer + inner;
  return `${outer.slice(0, -1)}, ${inner.slice(1)}`;
}

function shortName(qualified: string): string {
  return qualified.slice(qualified.lastIndexOf('.') + 1);
}

function remarks(fn: FunctionDescription): string[] {
  switch (fn.source) {
    case 'none':
      return [
        '@remarks Untyped: Python gives no signature for this callable, so its arguments and result are unknown.',
      ];
    case 'signature':
      return ['@remarks Python gives this callable a signature but no types.'];
    case 'docstring':
      return ['@remarks Types read from the docstring.'];
    default:
      return [];
  }
}
