// The protobuf Serializer: every payload is a snakebridge.Value; callables
// named in the config get their arguments checked against, and encoded as,
// their request message, and their results decoded as their response message.
// python/snakebridge/serializers/protobuf.py is the other side.

import {
  ConfigError,
  type DecodeContext,
  type EncodeContext,
  SerializationError,
  type Serializer,
  type SerializerRecipe,
  SerializerWireId,
  toHandleRef,
  type ValueKind,
} from '@snakebridge/core';
import protobuf from 'protobufjs';
import { checkType, readMessage, writeMessage, writeRequest } from './message-codec.js';
import { type CallableTypes, loadSchema, type Schema } from './schema.js';
import {
  type DecodeState,
  decodeState,
  type EmbeddedMessage,
  encodeState,
  type MessageHooks,
  readEmbedded,
  readValue,
  ValueField,
  writeEmbedded,
  writeValue,
} from './value-codec.js';
import { delimitedEnd, describe, FORMAT, plainBytes, type Reader, type Writer } from './wire.js';

export interface ProtobufSerializerOptions {
  /**
   * The .proto files that define your request and response messages, relative
   * to `baseDir`. Their imports are looked up beside the importing file, then
   * in `includePaths`; `import "snakebridge.proto";` gives `snakebridge.Value`.
   * @default []
   */
  readonly protoFiles?: readonly string[] | undefined;
  /**
   * Per callable (the dotted name a call targets, e.g. `users.create_user`),
   * the full names of its request and response message types.
   * @default {}
   */
  readonly callables?:
    | Readonly<Record<string, { readonly request?: string | undefined; readonly response?: string | undefined }>>
    | undefined;
  /** Directories searched for imported .proto files. @default [] */
  readonly includePaths?: readonly string[] | undefined;
  /** Where relative paths in `protoFiles` and `includePaths` start. @default process.cwd() */
  readonly baseDir?: string | undefined;
}

/** The options the Python side receives in the handshake (`ProtobufSerializer(**options)`). */
export type ProtobufPythonOptions = {
  /** The schema as a serialized FileDescriptorSet, base64. */
  readonly descriptor_set: string;
  /** sha256 of the descriptor set, hex: checked by the worker, and compared with a pinned hash. */
  readonly schema_hash: string;
  /** Per callable, the full names of its message types. */
  readonly callables: Readonly<Record<string, { readonly request?: string; readonly response?: string }>>;
};

const SUPPORTS: ReadonlySet<ValueKind> = new Set<ValueKind>([
  'null',
  'boolean',
  'number',
  'nonFiniteNumber',
  'negativeZero',
  'bigint',
  'string',
  'bytes',
  'array',
  'object',
  'map',
  'set',
  'date',
  'typedArray',
  'handle',
]);

/**
 * Encodes values as protobuf. Calls without a schema carry any value as a
 * dynamic `snakebridge.Value`; calls named in `callables` are checked against
 * their message types before anything is sent.
 *
 * @throws ConfigError from the constructor when a .proto file is missing or
 *   invalid, or a callable names a message type the files do not define.
 */
export class ProtobufSerializer implements Serializer {
  readonly id = 'protobuf';
  readonly wireId = SerializerWireId.protobuf;
  readonly contentType = 'application/x-protobuf';
  readonly supports = SUPPORTS;
  readonly pythonOptions: ProtobufPythonOptions;
  /** How to rebuild it in a worker thread (offload): the same options load the same schema. */
  readonly recipe: SerializerRecipe;
  /** The loaded schema: protobufjs Root, descriptor set and its hash. */
  readonly schema: Schema;
  readonly #callables: ReadonlyMap<string, CallableTypes>;
  readonly #types = new Map<string, protobuf.Type>();
  readonly #hooks: MessageHooks;

  constructor(options: ProtobufSerializerOptions = {}) {
    this.recipe = {
      module: import.meta.url,
      factory: 'createProtobufSerializer',
      options: { ...options, baseDir: options.baseDir ?? process.cwd() },
      binaryPassesThrough: true,
    };
    this.schema = loadSchema({
      protoFiles: options.protoFiles ?? [],
      callables: options.callables ?? {},
      includePaths: options.includePaths ?? [],
      baseDir: options.baseDir ?? process.cwd(),
    });
    this.#callables = this.schema.callables;
    const callables: Record<string, { request?: string; response?: string }> = {};
    for (const [target, types] of this.#callables) {
      for (const type of [types.request, types.response]) {
        try {
          if (type !== undefined) checkType(type);
        } catch (error) {
          throw new ConfigError([{ field: `protobuf.callables.${target}`, message: (error as Error).message }], {
            cause: error,
          });
        }
      }
      callables[target] = {
        ...(types.request && { request: types.request.fullName.slice(1) }),
        ...(types.response && { response: types.response.fullName.slice(1) }),
      };
    }
    this.pythonOptions = {
      descriptor_set: Buffer.from(this.schema.descriptorSet).toString('base64'),
      schema_hash: this.schema.hash,
      callables,
    };
    this.#hooks = {
      readMessage: (message, state) => this.#readEmbedded(message, state),
      readRequest: (message, state) => [[], this.#readEmbedded(message, state)],
    };
  }

  /** The schema's identity: sha256 of its descriptor set. Pin a worker to it with SNAKEBRIDGE_PROTOBUF_SCHEMA_HASH. */
  get schemaHash(): string {
    return this.schema.hash;
  }

  encode(value: unknown, context?: EncodeContext): Uint8Array {
    const writer = protobuf.Writer.create();
    const state = encodeState(context);
    const types = this.#typesFor(context);
    try {
      if (context?.role === 'args' && types?.request !== undefined) {
        const request = types.request;
        writeEmbedded(
          writer,
          'request',
          embed(request, (inner) => writeRequest(inner, request, value, state)),
        );
      } else if (isResultRole(context) && types?.response !== undefined && toHandleRef(value) === undefined) {
        const response = types.response;
        writeEmbedded(
          writer,
          'message',
          embed(response, (inner) => writeMessage(inner, response, value, state, 'result')),
        );
      } else {
        writeValue(writer, value, state, '');
      }
    } catch (error) {
      throw asSerializationError(error, 'encode');
    }
    return writer.finish();
  }

  decode(bytes: Uint8Array, context?: DecodeContext): unknown {
    if (bytes.length === 0) throw new SerializationError(FORMAT, 'no bytes to decode: an encoded Value is never empty');
    const reader = new protobuf.Reader(plainBytes(bytes));
    const state = decodeState(context, this.#hooks);
    const response = isResultRole(context) ? this.#typesFor(context)?.response : undefined;
    try {
      if (response !== undefined) return this.#readResponse(reader, response, state, context?.target as string);
      return readValue(reader, reader.len, state);
    } catch (error) {
      throw asSerializationError(error, 'decode');
    }
  }

  #typesFor(context: EncodeContext | DecodeContext | undefined): CallableTypes | undefined {
    return context?.target === undefined ? undefined : this.#callables.get(context.target);
  }

  /**
   * A result of a callable with a response type. The worker sends the message
   * itself when the function returned one (or when it was told the target);
   * otherwise the plain value it returned, which is checked and converted here.
   */
  #readResponse(reader: Reader, type: protobuf.Type, state: DecodeState, target: string): unknown {
    const name = type.fullName.slice(1);
    const key = reader.uint32();
    const kind = key >>> 3;
    if (kind === ValueField.message && (key & 7) === 2) {
      const message = readEmbedded(reader, delimitedEnd(reader));
      if (reader.pos !== reader.len) throw new SerializationError(FORMAT, 'trailing bytes after the result');
      if (message.type !== name) {
        throw new SerializationError(
          FORMAT,
          `${target} should return a ${name}, but the worker sent a ${message.type}`,
        );
      }
      return readMessage(new protobuf.Reader(message.data), type, message.data.length, state);
    }
    reader.pos = 0;
    // A handle is passed through: the callable itself (getattr), or an object that cannot travel by value.
    if (kind === ValueField.handle) return readValue(reader, reader.len, state);
    if (kind === ValueField.null) {
      throw new SerializationError(
        FORMAT,
        `${target} returned None, but its response is a ${name}: return a dict of its fields or a ${name} message`,
      );
    }
    // Handles inside are first read as plain HandleRefs, so that the real context meets each handle once.
    const plain = readValue(reader, reader.len, decodeState(undefined, this.#hooks));
    const fields = asFields(plain, type, target);
    const bytes = embedBytes((writer) => writeMessage(writer, type, fields, encodeState(undefined), 'result'));
    return readMessage(new protobuf.Reader(bytes), type, bytes.length, state);
  }

  #readEmbedded(message: EmbeddedMessage, state: DecodeState): unknown {
    const reader = new protobuf.Reader(message.data);
    if (message.type === 'snakebridge.Value') return readValue(reader, reader.len, state);
    const type = this.#lookup(message.type);
    if (type === null) {
      throw new SerializationError(
        FORMAT,
        `a ${message.type} message arrived, but no such type is in the schema; add its .proto to protobuf.protoFiles`,
      );
    }
    return readMessage(reader, type, reader.len, state);
  }

  #lookup(name: string): protobuf.Type | null {
    let type = this.#types.get(name);
    if (type === undefined) {
      const found = this.schema.root.lookup(`.${name}`);
      if (!(found instanceof protobuf.Type)) return null;
      // Only types of the schema are remembered: names from the wire cannot grow the cache.
      type = found;
      this.#types.set(name, type);
    }
    return type;
  }
}

/** The fields a plain result stands for: a dict as is, any other value as the only field of a one-field message. */
function asFields(value: unknown, type: protobuf.Type, target: string): unknown {
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) return value;
  const fields = type.fieldsArray;
  if (fields.length === 1) return { [(fields[0] as protobuf.Field).name]: value };
  const name = type.fullName.slice(1);
  throw new SerializationError(
    FORMAT,
    `${target} returned ${describe(value)}, but its response is a ${name}: return a dict of its fields or a ${name} message`,
    'result',
  );
}

function embed(type: protobuf.Type, write: (writer: Writer) => void): EmbeddedMessage {
  return { type: type.fullName.slice(1), data: embedBytes(write) };
}

function embedBytes(write: (writer: Writer) => void): Uint8Array {
  const writer = protobuf.Writer.create();
  write(writer);
  return writer.finish();
}

function isResultRole(context: EncodeContext | DecodeContext | undefined): boolean {
  return context?.role === 'result' || context?.role === 'item';
}

function asSerializationError(error: unknown, what: 'encode' | 'decode'): SerializationError {
  if (SerializationError.is(error)) return error;
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return new SerializationError(FORMAT, 'the value is nested too deeply', undefined, { cause: error });
  }
  const message = (error as Error).message;
  return new SerializationError(FORMAT, what === 'decode' ? `not a valid encoding: ${message}` : message, undefined, {
    cause: error,
  });
}

/** A protobuf serializer for the given schema options (the config's `protobuf` section fits). */
export function createProtobufSerializer(options: ProtobufSerializerOptions = {}): ProtobufSerializer {
  return new ProtobufSerializer(options);
}
