// The user's schema: .proto files loaded with protobufjs, the message types
// named per callable, and the FileDescriptorSet (plus its hash) that the
// Python worker builds the same message classes from.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { ConfigError, type ConfigIssue } from '@snakebridge/core';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor.js';
import { SNAKEBRIDGE_PROTO, SNAKEBRIDGE_PROTO_FILE } from './snakebridge-proto.js';

/** The request and response message types of one callable; either may be absent. */
export interface CallableTypes {
  readonly request?: protobuf.Type | undefined;
  readonly response?: protobuf.Type | undefined;
}

/** What a schema is loaded from. */
export interface SchemaSource {
  readonly protoFiles: readonly string[];
  readonly callables: Readonly<
    Record<string, { readonly request?: string | undefined; readonly response?: string | undefined }>
  >;
  readonly includePaths: readonly string[];
  readonly baseDir: string;
}

/** A loaded schema. */
export interface Schema {
  readonly root: protobuf.Root;
  /** Message types per callable (dotted target). */
  readonly callables: ReadonlyMap<string, CallableTypes>;
  /** The schema as a serialized google.protobuf.FileDescriptorSet, snakebridge.proto included. */
  readonly descriptorSet: Uint8Array;
  /** sha256 of `descriptorSet`, lowercase hex: the schema's identity. */
  readonly hash: string;
  /** Names of the files in the descriptor set, dependencies first. */
  readonly files: readonly string[];
}

/**
 * Loads the .proto files, resolves the callables' message types and builds
 * the descriptor set.
 *
 * @throws ConfigError naming `protobuf.protoFiles` (a file that is missing or
 *   does not parse) or `protobuf.callables.<name>` (an unknown message type).
 */
export function loadSchema(source: SchemaSource): Schema {
  const root = newRoot(source.includePaths.map((path) => resolve(source.baseDir, path)));
  const files = source.protoFiles.map((file) => resolve(source.baseDir, file));
  try {
    if (files.length > 0) root.loadSync(files, { keepCase: true });
    root.resolveAll();
  } catch (error) {
    throw new ConfigError(
      [{ field: 'protobuf.protoFiles', message: `could not load the .proto files: ${(error as Error).message}` }],
      { cause: error },
    );
  }
  const callables = resolveCallables(root, source.callables);
  let set: ReturnType<typeof buildDescriptorSet>;
  try {
    set = buildDescriptorSet(root);
  } catch (error) {
    if (ConfigError.is(error)) throw error;
    throw new ConfigError([{ field: 'protobuf.protoFiles', message: (error as Error).message }], { cause: error });
  }
  const descriptorSet = descriptor.FileDescriptorSet.encode(set).finish();
  return {
    root,
    callables,
    descriptorSet,
    hash: createHash('sha256').update(descriptorSet).digest('hex'),
    files: set.file.map((file) => file.name as string),
  };
}

/** A Root holding snakebridge.proto, whose imports are also looked up in `includePaths`. */
function newRoot(includePaths: readonly string[]): protobuf.Root {
  const root = new protobuf.Root();
  // The parser stamps this name on what it reads, as Root#load does for files.
  (protobuf.parse as unknown as { filename: string | null }).filename = SNAKEBRIDGE_PROTO_FILE;
  protobuf.parse(SNAKEBRIDGE_PROTO, root, { keepCase: true });
  root.files.push(SNAKEBRIDGE_PROTO_FILE);
  root.resolvePath = (origin, target) => {
    if (target === SNAKEBRIDGE_PROTO_FILE) return SNAKEBRIDGE_PROTO_FILE;
    const besideOrigin = protobuf.util.path.resolve(origin, target);
    if (isAbsolute(target) || origin === '' || existsSync(besideOrigin)) return besideOrigin;
    for (const path of includePaths) {
      const candidate = join(path, target);
      if (existsSync(candidate)) return candidate;
    }
    return besideOrigin;
  };
  return root;
}

function resolveCallables(root: protobuf.Root, callables: SchemaSource['callables']): Map<string, CallableTypes> {
  const issues: ConfigIssue[] = [];
  const result = new Map<string, CallableTypes>();
  const lookup = (target: string, role: 'request' | 'response', name: string | undefined) => {
    if (name === undefined) return undefined;
    const found = root.lookup(name.startsWith('.') ? name : `.${name}`);
    if (found instanceof protobuf.Type) return found;
    issues.push({
      field: `protobuf.callables.${target}.${role}`,
      message:
        found === null
          ? `no message type '${name}' in protobuf.protoFiles; known: ${messageNames(root).join(', ') || 'none'}`
          : `'${name}' is a ${found.constructor.name.toLowerCase()}, not a message type`,
    });
    return undefined;
  };
  for (const [target, types] of Object.entries(callables)) {
    result.set(target, {
      request: lookup(target, 'request', types.request),
      response: lookup(target, 'response', types.response),
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return result;
}

/** Full names of the message types in the user's files (snakebridge.* left out). */
function messageNames(root: protobuf.Root): string[] {
  const names: string[] = [];
  const walk = (namespace: protobuf.NamespaceBase): void => {
    for (const nested of namespace.nestedArray) {
      if (nested instanceof protobuf.Type && !nested.fullName.startsWith('.snakebridge.')) {
        names.push(nested.fullName.slice(1));
      }
      if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) walk(nested);
    }
  };
  walk(root);
  return names.sort();
}

// --- the descriptor set ------------------------------------------------------------------

type FileDescriptor = descriptor.IFileDescriptorProto & {
  name: string;
  dependency: string[];
  messageType: descriptor.IDescriptorProto[];
  enumType: descriptor.IEnumDescriptorProto[];
};

/**
 * The schema as protoc would describe it: one FileDescriptorProto per source
 * file, with fully qualified type names, map entries named `<Field>Entry`,
 * dependencies listed, and proto3 `optional` oneofs last. protobufjs's own
 * `Root#toDescriptor` groups types by package and leaves these out, which
 * Python's descriptor pool refuses.
 */
function buildDescriptorSet(root: protobuf.Root): descriptor.IFileDescriptorSet & { file: FileDescriptor[] } {
  const names = canonicalNames(root.files);
  const files = new Map<string, FileDescriptor>();
  const fileOf = (object: protobuf.ReflectionObject): FileDescriptor => {
    const name =
      object.filename !== null
        ? names.get(object.filename)
        : (BUNDLED_FILES.get(topLevel(object).fullName) ?? `${packageOf(object).replaceAll('.', '_') || 'root'}.proto`);
    if (name === undefined) throw new Error(`no file name for ${object.fullName}`);
    let file = files.get(name);
    if (file === undefined) {
      const edition = editionOf(object);
      file = { name, package: packageOf(object), dependency: [], messageType: [], enumType: [] };
      if (edition === 'proto2' || edition === 'proto3') file.syntax = edition;
      else throw new Error(`${name}: edition ${edition} is not supported; use syntax = "proto3" or "proto2"`);
      files.set(name, file);
    }
    return file;
  };
  const walk = (namespace: protobuf.NamespaceBase): void => {
    for (const nested of namespace.nestedArray) {
      if (nested instanceof protobuf.Type) {
        const file = fileOf(nested);
        file.messageType.push(describeType(nested, editionOf(nested), (target) => addDependency(file, target)));
      } else if (nested instanceof protobuf.Enum) {
        fileOf(nested).enumType.push(nested.toDescriptor());
      } else if (nested instanceof protobuf.Namespace && !(nested instanceof protobuf.Service)) {
        walk(nested);
      }
    }
  };
  const addDependency = (file: FileDescriptor, target: protobuf.ReflectionObject): void => {
    const name = fileOf(topLevel(target)).name;
    if (name !== file.name && !file.dependency.includes(name)) file.dependency.push(name);
  };
  walk(root);
  for (const file of files.values()) file.dependency.sort();
  return descriptor.FileDescriptorSet.create({ file: topologicalOrder(files) }) as never;
}

/** Full names of the types protobufjs bundles (google/protobuf/*.proto, read from JSON, so without a file name) → their file. */
const BUNDLED_FILES: ReadonlyMap<string, string> = (() => {
  const files = new Map<string, string>();
  const walk = (nested: Record<string, { nested?: unknown }> | undefined, prefix: string, file: string): void => {
    for (const [name, child] of Object.entries(nested ?? {})) {
      files.set(`${prefix}.${name}`, file);
      walk(child.nested as Record<string, { nested?: unknown }> | undefined, `${prefix}.${name}`, file);
    }
  };
  for (const [file, json] of Object.entries(protobuf.common as unknown as Record<string, unknown>)) {
    if (file.endsWith('.proto')) walk((json as { nested?: Record<string, { nested?: unknown }> }).nested, '', file);
  }
  return files;
})();

/** File names relative to the directory all the user's files share; bundled files keep their import path. */
function canonicalNames(loaded: readonly string[]): Map<string, string> {
  const absolute = loaded.filter((file) => isAbsolute(file));
  let common = absolute.length > 0 ? dirname(absolute[0] as string) : '';
  for (const file of absolute) {
    while (common !== dirname(common) && !file.startsWith(common.endsWith(sep) ? common : common + sep)) {
      common = dirname(common);
    }
  }
  const names = new Map<string, string>();
  for (const file of loaded) {
    names.set(file, isAbsolute(file) ? relative(common, file).split(sep).join(posix.sep) : file);
  }
  return names;
}

function topLevel(object: protobuf.ReflectionObject): protobuf.ReflectionObject {
  let current = object;
  while (current.parent instanceof protobuf.Type) current = current.parent;
  return current;
}

function packageOf(object: protobuf.ReflectionObject): string {
  return topLevel(object).parent?.fullName.slice(1) ?? '';
}

function editionOf(object: protobuf.ReflectionObject): string {
  return (topLevel(object) as unknown as { _edition?: string | null })._edition ?? 'proto2';
}

/** `by_id` → `ById`, as protoc names map entries. */
function camel(name: string): string {
  return name.replace(/(^|_+)([a-z0-9])/gi, (_match, _underscores, letter: string) => letter.toUpperCase());
}

function describeType(
  type: protobuf.Type,
  edition: string,
  reference: (target: protobuf.ReflectionObject) => void,
): descriptor.IDescriptorProto {
  const proto = type.toDescriptor(edition);
  const fieldsById = new Map(type.fieldsArray.map((field) => [field.id, field]));
  const renamedEntries = new Map<string, string>();
  proto.field = (proto.field ?? []).filter((field) => !field.extendee);
  for (const field of proto.field) {
    const reflected = fieldsById.get(field.number as number);
    if (reflected === undefined) continue;
    const target = reflected.resolve().resolvedType;
    if (reflected.map) {
      const entry = `${camel(reflected.name)}Entry`;
      renamedEntries.set(field.typeName as string, entry);
      field.typeName = `${type.fullName}.${entry}`;
      if (target !== null) reference(target);
    } else if (target !== null) {
      field.typeName = target.fullName;
      reference(target);
    }
  }
  const nestedTypes = new Map(
    type.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type).map((n) => [n.name, n]),
  );
  for (const nested of proto.nestedType ?? []) {
    const entryName = renamedEntries.get(nested.name as string);
    if (entryName !== undefined && nested.options?.mapEntry) {
      const owner = type.fieldsArray.find((f) => f.map && `${camel(f.name)}Entry` === entryName);
      const valueTarget = owner?.resolve().resolvedType;
      nested.name = entryName;
      const value = nested.field?.[1];
      if (value !== undefined && valueTarget) value.typeName = valueTarget.fullName;
      continue;
    }
    const reflected = nestedTypes.get(nested.name as string);
    if (reflected !== undefined) Object.assign(nested, describeType(reflected, edition, reference));
  }
  orderOneofs(proto);
  return proto;
}

/** protoc puts the synthetic oneofs of proto3 `optional` fields after the real ones; upb insists. */
function orderOneofs(proto: descriptor.IDescriptorProto): void {
  const decls = proto.oneofDecl ?? [];
  if (decls.length < 2) return;
  const synthetic = new Set(
    (proto.field ?? []).filter((f) => f.proto3Optional && inOneof(f)).map((f) => f.oneofIndex as number),
  );
  const order = [...decls.keys()].sort((a, b) => Number(synthetic.has(a)) - Number(synthetic.has(b)) || a - b);
  const newIndex = new Map(order.map((old, index) => [old, index]));
  proto.oneofDecl = order.map((old) => decls[old] as descriptor.IOneofDescriptorProto);
  for (const field of proto.field ?? []) {
    if (inOneof(field)) field.oneofIndex = newIndex.get(field.oneofIndex as number) as number;
  }
}

/** Decoded descriptor messages read defaults from their prototype: only an own oneofIndex is set. */
function inOneof(field: descriptor.IFieldDescriptorProto): boolean {
  return Object.hasOwn(field, 'oneofIndex') && field.oneofIndex != null;
}

function topologicalOrder(files: Map<string, FileDescriptor>): FileDescriptor[] {
  const ordered: FileDescriptor[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, from: string[]): void => {
    const mark = state.get(name);
    if (mark === 'done') return;
    if (mark === 'visiting') {
      throw new ConfigError([
        {
          field: 'protobuf.protoFiles',
          message: `the .proto files import each other in a cycle: ${[...from, name].join(' → ')}`,
        },
      ]);
    }
    state.set(name, 'visiting');
    const file = files.get(name) as FileDescriptor;
    for (const dependency of file.dependency) visit(dependency, [...from, name]);
    state.set(name, 'done');
    ordered.push(file);
  };
  for (const name of [...files.keys()].sort()) visit(name, []);
  return ordered;
}
