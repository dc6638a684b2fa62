// The one hook for values this serializer does not carry itself: another
// package (the Arrow serializer, for tables) registers an extension type, and
// the Python side registers the same type number (MsgpackExtension in
// python/snakebridge/serializers/msgpack.py).

import type { ValueKind } from '@snakebridge/core';

/**
 * A msgpack extension type added to the serializer. Values it `accepts` are
 * written as extension `type` with the payload `encode` returns; that
 * extension type is read back with `decode`.
 *
 * @example
 * createMsgpackSerializer({
 *   extensions: [{
 *     type: 85,
 *     kind: 'arrowTable',
 *     accepts: (value) => value instanceof Table,
 *     encode: (table) => tableToIPC(table as Table),
 *     decode: (payload) => tableFromIPC(payload),
 *   }],
 * });
 */
export interface MsgpackExtension {
  /** The extension type, 0–127; not one of ours (80–84, 86) nor one msgpackr reads itself (see RESERVED_EXT_TYPES). */
  readonly type: number;
  /** The kind of value it carries, added to the serializer's `supports`. */
  readonly kind?: ValueKind | undefined;
  /** True for the values this extension writes. Asked before any built-in rule, for every object. */
  accepts(value: object): boolean;
  /** The payload for an accepted value. Throwing refuses the value with a SerializationError naming its path. */
  encode(value: object): Uint8Array;
  /**
   * The value for a payload. The payload is a view into the bytes being
   * decoded; copy it if the result must outlive them.
   */
  decode(payload: Uint8Array): unknown;
}
