"""The protobuf serializer: the Python side of ``@snakebridge/serializer-protobuf``.

Every payload is one ``snakebridge.Value`` (vectors/serializers/snakebridge.proto).
Calls without a schema carry any value in it, written and read here field by
field: no message objects in between, no depth limit below Python's own, and
numpy arrays as raw bytes. Calls the host's config names in
``protobuf.callables`` carry their request or response message inside it.

The schema comes from the host: the FileDescriptorSet of its .proto files and
the sha256 of those bytes, sent in the handshake. Message classes are built
from it with ``descriptor_pool`` and ``message_factory`` (no protoc). A worker
refuses to start when the descriptors do not match their hash, when a callable
names a type they lack, when the host's ``snakebridge.proto`` differs from this
one, or when the worker is pinned to a schema and the host's is another:

- ``SNAKEBRIDGE_PROTOBUF_SCHEMA_HASH`` (or ``expected_schema_hash=``): the
  sha256 the host's schema must have (the host shows it as
  ``serializer.schemaHash``).
- ``SNAKEBRIDGE_PROTOBUF_DESCRIPTORS`` (or ``local_descriptors=``): a
  FileDescriptorSet file the worker was built with (``protoc
  --include_imports --descriptor_set_out=...``); the callables' message types
  must have the same fields, numbers and types on both sides.

Request messages reach the callee as keyword arguments, one per field (fields
with presence that were not set are left out, so the function's defaults
apply). A function with a response type may return a message, a dict of its
fields, or, for a response with one field, that field's value.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import numbers
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import DecodeError, EncodeError, Message

from ..errors import SerializationError, SnakeBridgeError
from .base import MAX_NESTING_DEPTH, NESTING_REFUSAL, FromCallback, FromHandle, ToHandle
from .ndarray import decode_ndarray, describe_ndarray, is_ndarray, numpy_scalar_value

#: Pins the worker to the host schema with this sha256.
SCHEMA_HASH_ENV = "SNAKEBRIDGE_PROTOBUF_SCHEMA_HASH"
#: A FileDescriptorSet file the worker's schema must match.
DESCRIPTORS_ENV = "SNAKEBRIDGE_PROTOBUF_DESCRIPTORS"
#: The file that defines snakebridge.Value.
VALUE_FILE = "snakebridge.proto"

_TIMESTAMP = "google.protobuf.Timestamp"
_VALUE = "snakebridge.Value"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_INT64 = (-(1 << 63), (1 << 63) - 1)
_MASK64 = (1 << 64) - 1


class SchemaError(SnakeBridgeError):
    """The worker cannot use the schema it was given; it refuses to start."""

    code = "WORKER_START_FAILED"


# --- snakebridge.proto, built in code ------------------------------------------------------

_F = descriptor_pb2.FieldDescriptorProto


def _value_file() -> descriptor_pb2.FileDescriptorProto:
    """The descriptor of snakebridge.proto (vectors/serializers/snakebridge.proto), without protoc."""
    file = descriptor_pb2.FileDescriptorProto(name=VALUE_FILE, package="snakebridge", syntax="proto3")
    message = _F.TYPE_MESSAGE

    def add(name: str, fields: list[tuple[Any, ...]], oneofs: tuple[str, ...] = ()) -> None:
        proto = file.message_type.add(name=name)
        for oneof in oneofs:
            proto.oneof_decl.add(name=oneof)
        for spec in fields:
            field_name, number, kind, type_name, label, oneof, optional = (*spec, None, None, None, None)[:7]
            field = proto.field.add(name=field_name, number=number, type=kind, label=label or _F.LABEL_OPTIONAL)
            if type_name:
                field.type_name = f".snakebridge.{type_name}"
            if oneof is not None:
                field.oneof_index = oneof
            if optional:
                field.proto3_optional = True

    kinds = [
        ("null_value", 1, _F.TYPE_ENUM, "NullValue"),
        ("bool_value", 2, _F.TYPE_BOOL, None),
        ("int_value", 3, _F.TYPE_SINT64, None),
        ("double_value", 4, _F.TYPE_DOUBLE, None),
        ("string_value", 5, _F.TYPE_STRING, None),
        ("bytes_value", 6, _F.TYPE_BYTES, None),
        ("bigint_value", 7, _F.TYPE_BYTES, None),
        ("list_value", 8, message, "ListValue"),
        ("struct_value", 9, message, "Struct"),
        ("map_value", 10, message, "MapValue"),
        ("set_value", 11, message, "ListValue"),
        ("timestamp_value", 12, message, "Timestamp"),
        ("ndarray_value", 13, message, "NDArray"),
        ("handle_value", 14, message, "Handle"),
        ("message_value", 15, message, "Message"),
        ("request_value", 16, message, "Message"),
    ]
    add("Value", [(*kind, None, 0) for kind in kinds], oneofs=("kind",))
    file.enum_type.add(name="NullValue").value.add(name="NULL_VALUE", number=0)
    repeated = _F.LABEL_REPEATED
    add("ListValue", [("values", 1, message, "Value", repeated)])
    add("Struct", [("entries", 1, message, "StructEntry", repeated)])
    add("StructEntry", [("key", 1, _F.TYPE_STRING), ("value", 2, message, "Value")])
    add("MapValue", [("entries", 1, message, "MapEntry", repeated)])
    add("MapEntry", [("key", 1, message, "Value"), ("value", 2, message, "Value")])
    add("Timestamp", [("seconds", 1, _F.TYPE_INT64), ("nanos", 2, _F.TYPE_INT32)])
    add(
        "NDArray",
        [("dtype", 1, _F.TYPE_STRING), ("shape", 2, _F.TYPE_UINT64, None, repeated), ("data", 3, _F.TYPE_BYTES)],
    )
    add(
        "Handle",
        [("id", 1, _F.TYPE_UINT32), ("type", 2, _F.TYPE_STRING), ("repr", 3, _F.TYPE_STRING, None, None, 0, True)],
        oneofs=("_repr",),
    )
    add("Message", [("type", 1, _F.TYPE_STRING), ("data", 2, _F.TYPE_BYTES)])
    return file


# --- wire helpers ------------------------------------------------------------------------------

_SMALL_VARINTS = [bytes([n]) for n in range(128)]


def _varint(n: int) -> bytes:
    """An unsigned varint; negative numbers are taken as their 64-bit two's complement."""
    if 0 <= n < 128:
        return _SMALL_VARINTS[n]
    n &= _MASK64
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates become U+FFFD, as TextEncoder does on the TypeScript side.
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")


def _tag(number: int, wire_type: int) -> bytes:
    return _varint((number << 3) | wire_type)


# Tags of snakebridge.Value's kinds, and of fields 1/2/3 of the small messages.
_T_NULL = _tag(1, 0) + b"\x00"
_T_TRUE = _tag(2, 0) + b"\x01"
_T_FALSE = _tag(2, 0) + b"\x00"
_T_INT = _tag(3, 0)
_T_DOUBLE = _tag(4, 1)
_T_STRING = _tag(5, 2)
_T_BYTES = _tag(6, 2)
_T_BIGINT = _tag(7, 2)
_T_LIST = _tag(8, 2)
_T_STRUCT = _tag(9, 2)
_T_MAP = _tag(10, 2)
_T_SET = _tag(11, 2)
_T_TIMESTAMP = _tag(12, 2)
_T_NDARRAY = _tag(13, 2)
_T_HANDLE = _tag(14, 2)
_T_MESSAGE = _tag(15, 2)
_T_REQUEST = _tag(16, 2)
_T1_LEN = _tag(1, 2)
_T2_LEN = _tag(2, 2)
_T3_LEN = _tag(3, 2)
_T1_VARINT = _tag(1, 0)
_T2_VARINT = _tag(2, 0)
_DOUBLE = struct.Struct("<d")
#: Value kinds that hold other values: list, struct, map, set.
_CONTAINER_KINDS = frozenset({8, 9, 10, 11})


# Encoding appends chunks to a list and returns how many bytes it added; a nested
# message reserves a slot for its tag and length, filled once its content is written.
_Out = list


def _open(out: _Out) -> int:
    out.append(b"")
    return len(out) - 1


def _close(out: _Out, slot: int, tag: bytes, size: int) -> int:
    prefix = tag + _varint(size)
    out[slot] = prefix
    return size + len(prefix)


def _delimited(out: _Out, tag: bytes, data: bytes | memoryview) -> int:
    """A length-delimited field whose content is known; large content is not copied."""
    prefix = tag + _varint(len(data))
    out.append(prefix)
    out.append(data)
    return len(prefix) + len(data)


def _scalar(value: Any) -> bytes | None:
    """The whole encoding of a Value holding a common scalar, or None for anything else."""
    kind = type(value)
    if kind is int:
        if -0x8000000000000000 <= value <= 0x7FFFFFFFFFFFFFFF:
            zigzag = (value << 1) ^ (value >> 63)
            return _T_INT + (_SMALL_VARINTS[zigzag] if zigzag < 128 else _varint(zigzag))
        return None
    if kind is str:
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError:
            data = _utf8(value)
        size = len(data)
        return _T_STRING + (_SMALL_VARINTS[size] if size < 128 else _varint(size)) + data
    if kind is float:
        return _T_DOUBLE + _DOUBLE.pack(value)
    if value is None:
        return _T_NULL
    if kind is bool:
        return _T_TRUE if value else _T_FALSE
    return None


def _field_of(tag: bytes, data: bytes) -> bytes:
    size = len(data)
    return tag + (_SMALL_VARINTS[size] if size < 128 else _varint(size)) + data


class _Malformed(Exception):
    """Bytes that are not a valid encoding; turned into a SerializationError at the entry point."""


def _read_varint(buf: memoryview, pos: int, end: int) -> tuple[int, int]:
    if pos >= end:
        raise _Malformed("a varint runs past the end of its field")
    byte = buf[pos]
    if byte < 0x80:
        return byte, pos + 1
    result = byte & 0x7F
    shift = 7
    pos += 1
    while True:
        if pos >= end:
            raise _Malformed("a varint runs past the end of its field")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise _Malformed("a varint longer than 10 bytes")


def _read_length(buf: memoryview, pos: int, end: int) -> tuple[int, int]:
    """Reads a length prefix; returns where the field's content starts and ends."""
    length, pos = _read_varint(buf, pos, end)
    if pos + length > end:
        raise _Malformed(f"a field of {length} bytes runs past the end of its message")
    return pos, pos + length


def _skip(buf: memoryview, pos: int, end: int, wire_type: int) -> int:
    if wire_type == 0:
        return _read_varint(buf, pos, end)[1]
    if wire_type == 1:
        pos += 8
    elif wire_type == 2:
        return _read_length(buf, pos, end)[1]
    elif wire_type == 5:
        pos += 4
    else:
        raise _Malformed(f"wire type {wire_type} is not supported")
    if pos > end:
        raise _Malformed("a field runs past the end of its message")
    return pos


def _string(buf: memoryview, start: int, end: int) -> str:
    try:
        return str(buf[start:end], "utf-8")
    except UnicodeDecodeError as exc:
        raise _Malformed("a string is not valid UTF-8") from exc


def _expect(wire_type: int, expected: int, what: str) -> None:
    if wire_type != expected:
        raise _Malformed(f"{what} arrived with wire type {wire_type}, expected {expected}")


def _signed64(n: int) -> int:
    n &= _MASK64
    return n - (1 << 64) if n >= 1 << 63 else n


def _describe(value: Any) -> str:
    if isinstance(value, (str, bytes, int, float)) or value is None:
        text = repr(value)
        return text if len(text) <= 42 else text[:41] + "…"
    return f"a {type(value).__qualname__}"


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _refuse(message: str, path: str) -> SerializationError:
    return SerializationError(f"[protobuf] at {path or '(root)'}: {message}")


def _hashable(value: Any) -> Any:
    """Lists become tuples so they can be dict keys or set members, as JavaScript allows."""
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    return value


# --- the serializer ------------------------------------------------------------------------------


class ProtobufSerializer:
    """protobuf with a dynamic ``snakebridge.Value``, and the host's message types per callable."""

    id = "protobuf"
    wire_id = 4
    #: ``encode`` takes ``target=`` and ``role=``: a worker that passes them lets Python check results itself.
    accepts_target = True

    def __init__(
        self,
        descriptor_set: str | bytes | None = None,
        schema_hash: str | None = None,
        callables: Mapping[str, Mapping[str, str]] | None = None,
        expected_schema_hash: str | None = None,
        local_descriptors: str | bytes | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise SchemaError(
                f"[protobuf] unknown serializer options {', '.join(sorted(unknown))}: the host's "
                "@snakebridge/serializer-protobuf is newer than this snakebridge package; install matching versions"
            )
        self._pool = descriptor_pool.DescriptorPool()
        _add(self._pool, _value_file())
        self._classes: dict[str, type[Message]] = {}
        self._checked: dict[Any, list[str]] = {}
        self.schema_hash: str | None = None
        #: Top-level message types of the host's own files, compared with pinned local descriptors.
        self._host_messages: list[str] = []
        self.callables: dict[str, tuple[Descriptor | None, Descriptor | None]] = {}
        if descriptor_set is not None:
            self._load_host_schema(descriptor_set, schema_hash)
        elif callables:
            raise SchemaError(
                "[protobuf] the host named message types for its callables but sent no schema descriptors; "
                "install matching versions of @snakebridge/serializer-protobuf and snakebridge"
            )
        self._resolve_callables(callables or {})
        self._check_pins(expected_schema_hash or os.environ.get(SCHEMA_HASH_ENV) or None, local_descriptors)

    # --- start-up checks ---------------------------------------------------------------------------

    def _load_host_schema(self, descriptor_set: str | bytes, schema_hash: str | None) -> None:
        try:
            raw = base64.b64decode(descriptor_set, validate=True) if isinstance(descriptor_set, str) else descriptor_set
        except ValueError as exc:
            raise SchemaError(f"[protobuf] the schema descriptors are not valid base64: {exc}") from exc
        digest = hashlib.sha256(raw).hexdigest()
        if schema_hash is None or digest != schema_hash.lower():
            raise SchemaError(
                f"[protobuf] the schema descriptors do not match their hash (received {schema_hash}, computed "
                f"{digest}): they were damaged on the way, or come from an incompatible host"
            )
        self.schema_hash = digest
        try:
            files = descriptor_pb2.FileDescriptorSet.FromString(raw).file
        except DecodeError as exc:
            raise SchemaError(f"[protobuf] the host's schema is not a FileDescriptorSet: {exc}") from exc
        for file in files:
            if file.name == VALUE_FILE:
                self._check_value_file(file)
                continue
            self._host_messages.extend(f"{file.package}.{m.name}".lstrip(".") for m in file.message_type)
            try:
                _add(self._pool, file)
            except (TypeError, ValueError, KeyError) as exc:
                raise SchemaError(f"[protobuf] the host's {file.name} cannot be loaded: {exc}") from exc

    def _check_value_file(self, file: descriptor_pb2.FileDescriptorProto) -> None:
        """The host's snakebridge.proto must be this worker's: the dynamic values depend on it."""
        host = descriptor_pool.DescriptorPool()
        _add(host, file)
        differences = _differences(
            host.FindMessageTypeByName(_VALUE), self._pool.FindMessageTypeByName(_VALUE), "host", "worker"
        )
        if differences:
            raise SchemaError(
                "[protobuf] the host's snakebridge.proto differs from this worker's ("
                + "; ".join(differences[:3])
                + "): install matching versions of @snakebridge/serializer-protobuf and snakebridge"
            )

    def _resolve_callables(self, callables: Mapping[str, Mapping[str, str]]) -> None:
        for target, types in callables.items():
            found: list[Descriptor | None] = []
            for role in ("request", "response"):
                name = types.get(role)
                if name is None:
                    found.append(None)
                    continue
                try:
                    found.append(self._pool.FindMessageTypeByName(name))
                except KeyError as exc:
                    raise SchemaError(
                        f"[protobuf] the schema descriptors lack {name}, the {role} type of {target}: "
                        "the host sent an incomplete schema"
                    ) from exc
            self.callables[target] = (found[0], found[1])

    def _check_pins(self, expected_hash: str | None, local: str | bytes | None) -> None:
        if expected_hash is not None and expected_hash.lower() != self.schema_hash:
            raise SchemaError(
                f"[protobuf] the host and this worker were built from different .proto files: the host's schema "
                f"has sha256 {self.schema_hash or '(none sent)'}, but the worker is pinned to {expected_hash} "
                f"({SCHEMA_HASH_ENV}). Deploy them from the same .proto files, or update the pin."
            )
        if local is None:
            local = os.environ.get(DESCRIPTORS_ENV) or None
        if local is not None:
            self._check_local_descriptors(local)

    def _check_local_descriptors(self, local: str | bytes) -> None:
        """Compares the callables' message types with the worker's own compiled descriptors."""
        where = f"{DESCRIPTORS_ENV}={local}" if isinstance(local, str) else "local_descriptors"
        try:
            raw = local if isinstance(local, bytes) else Path(local).read_bytes()
            files = descriptor_pb2.FileDescriptorSet.FromString(raw).file
        except (OSError, DecodeError) as exc:
            raise SchemaError(f"[protobuf] cannot read the worker's descriptors ({where}): {exc}") from exc
        pool = _pool_of(files)
        problems: list[str] = []
        # The callables' types must be there; any other type both sides define must agree too.
        required = {host.full_name: target for target, types in self.callables.items() for host in types if host}
        for name in dict.fromkeys([*required, *self._host_messages]):
            try:
                mine = pool.FindMessageTypeByName(name)
            except KeyError:
                if name in required:
                    problems.append(f"{name} (used by {required[name]}) is not in the worker's descriptors")
                continue
            problems.extend(_differences(self._pool.FindMessageTypeByName(name), mine, "host", "worker"))
        if problems:
            unique = list(dict.fromkeys(problems))
            raise SchemaError(
                "[protobuf] the host and this worker were built from different .proto files: "
                + "; ".join(unique[:5])
                + ("; …" if len(unique) > 5 else "")
                + f" (worker descriptors from {where})"
            )

    # --- the Serializer interface ------------------------------------------------------------

    def encode(
        self,
        value: Any,
        to_handle: ToHandle | None = None,
        *,
        target: str | None = None,
        role: str | None = None,
    ) -> bytes:
        """Encodes ``value`` as a snakebridge.Value.

        With ``target`` (and ``role`` "result" or "item", the default) the
        value is made into the callable's response message when it has one;
        with ``role="args"`` a ``(args, kwargs)`` pair into its request message.
        """
        out: _Out = []
        types = self.callables.get(target) if target is not None else None
        try:
            if types is not None and role == "args" and types[0] is not None:
                message = self._request_message(types[0], value, to_handle)
                self._embedded(out, _T_REQUEST, message)
            elif types is not None and role != "args" and types[1] is not None:
                self._response(out, types[1], value, to_handle, target or "")
            else:
                self._value(out, value, to_handle, "", set())
        except SerializationError:
            raise
        except RecursionError as exc:
            raise SerializationError(f"[protobuf] {NESTING_REFUSAL}") from exc
        except (TypeError, ValueError, OverflowError, EncodeError) as exc:
            raise SerializationError(f"[protobuf] {exc}") from exc
        return b"".join(out)

    def decode(
        self,
        data: bytes | bytearray | memoryview,
        from_handle: FromHandle | None = None,
        from_callback: FromCallback | None = None,
        *,
        target: str | None = None,
        role: str | None = None,
    ) -> Any:
        """Decodes a snakebridge.Value.

        A request message becomes ``([], kwargs)``; any other message an
        instance of its class. ``target`` and ``role`` are accepted for
        symmetry with ``encode``: the bytes name their message types.
        ``from_callback`` is accepted for the Serializer interface: protobuf
        has no callback references (the host refuses functions with it).
        """
        del from_callback, target, role
        # Small inputs are copied to bytes, which index faster; large ones (arrays) are read in place.
        buf: Any = bytes(data) if len(data) < 1 << 20 else memoryview(data).cast("B")
        if not len(buf):
            raise SerializationError("[protobuf] no bytes to decode: an encoded Value is never empty")
        try:
            return self._read_value(buf, 0, len(buf), from_handle, 0)
        except SnakeBridgeError:
            raise  # ours, or a HandleError from from_handle, which keeps its code
        except _Malformed as exc:
            raise SerializationError(f"[protobuf] not a valid encoding: {exc}") from exc
        except RecursionError as exc:
            raise SerializationError(f"[protobuf] {NESTING_REFUSAL}") from exc
        except Exception as exc:  # DecodeError from a message's parser, or a gap in the checks: still typed
            raise SerializationError(f"[protobuf] not a valid encoding: {type(exc).__name__}: {exc}") from exc

    # --- public helpers --------------------------------------------------------------------------

    def message_class(self, full_name: str) -> type[Message]:
        """The message class of a type in the schema (``KeyError`` if there is none)."""
        cls = self._classes.get(full_name)
        if cls is None:
            cls = message_factory.GetMessageClass(self._pool.FindMessageTypeByName(full_name))
            self._classes[full_name] = cls
        return cls

    def to_python(self, message: Message, from_handle: FromHandle | None = None) -> dict[str, Any]:
        """A message as plain Python: what a callee receives as keyword arguments.

        Unset fields with presence are left out; others get their defaults.
        Enums become their value names, Timestamps aware datetimes, nested
        messages dicts, and snakebridge.Value fields the value they hold.
        """
        try:
            return self._to_python(message, from_handle, 0)
        except _Malformed as exc:
            raise SerializationError(f"[protobuf] {exc}") from None

    def _to_python(self, message: Message, from_handle: FromHandle | None, depth: int) -> dict[str, Any]:
        """to_python for a message inside ``depth`` containers: the dict it becomes is one level deeper."""
        if depth >= MAX_NESTING_DEPTH:
            raise _Malformed(NESTING_REFUSAL)
        depth += 1
        descriptor = message.DESCRIPTOR
        result: dict[str, Any] = {}
        for field in descriptor.fields:
            if _is_map(field):
                value_field = field.message_type.fields_by_name["value"]
                result[field.name] = {
                    key: self._field_to_python(value_field, item, from_handle, depth)
                    for key, item in getattr(message, field.name).items()
                }
            elif _is_repeated(field):
                result[field.name] = [
                    self._field_to_python(field, item, from_handle, depth) for item in getattr(message, field.name)
                ]
            elif field.has_presence and not message.HasField(field.name):
                continue
            else:
                result[field.name] = self._field_to_python(field, getattr(message, field.name), from_handle, depth)
        return result

    # --- encoding the dynamic value --------------------------------------------------------------

    def _value(self, out: _Out, value: Any, to_handle: ToHandle | None, path: str, seen: set[int]) -> int:
        """Writes the fields of a Value holding ``value``; returns their size."""
        data = _scalar(value)
        if data is not None:
            out.append(data)
            return len(data)
        if isinstance(value, bool):
            out.append(_T_TRUE if value else _T_FALSE)
            return 2
        if isinstance(value, int):
            if _INT64[0] <= value <= _INT64[1]:
                return self._value(out, int(value), to_handle, path, seen)
            return _delimited(out, _T_BIGINT, _bigint_bytes(int(value)))
        if isinstance(value, float):
            return self._value(out, float(value), to_handle, path, seen)
        if isinstance(value, str):
            return self._value(out, str(value), to_handle, path, seen)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return _delimited(out, _T_BYTES, memoryview(value).cast("B") if isinstance(value, memoryview) else value)
        if isinstance(value, (list, tuple, dict, set, frozenset)):
            if id(value) in seen:
                raise _refuse("the value contains a cycle, which protobuf cannot represent", path)
            # ``seen`` holds the containers around this one: its size is the depth.
            if len(seen) >= MAX_NESTING_DEPTH:
                raise _refuse(NESTING_REFUSAL, path)
            seen.add(id(value))
            try:
                return self._container(out, value, to_handle, path, seen)
            finally:
                seen.discard(id(value))
        if isinstance(value, dt.date):
            data = _timestamp_fields(value)
            out.append(_field_of(_T_TIMESTAMP, data))
            return len(out[-1])
        if is_ndarray(value):
            return self._ndarray(out, value)
        if isinstance(value, Message):
            return self._message_value(out, value, to_handle, path, seen)
        scalar = numpy_scalar_value(value)
        if scalar is not None:
            return self._value(out, scalar, to_handle, path, seen)
        if to_handle is None:
            raise _refuse(f"cannot send a {type(value).__qualname__} by value", path)
        wire = to_handle(value)
        data = _T1_VARINT + _varint(wire.id)
        if wire.type:
            data += _field_of(_T2_LEN, _utf8(wire.type))
        if wire.repr is not None:
            data += _field_of(_T3_LEN, _utf8(wire.repr))
        out.append(_field_of(_T_HANDLE, data))
        return len(out[-1])

    def _item(
        self, out: _Out, tag: bytes, value: Any, to_handle: ToHandle | None, path: str, key: Any, seen: set[int]
    ) -> int:
        """A field holding a nested Value (a list item, a struct or map value) at ``path`` + ``key``."""
        data = _scalar(value)
        if data is not None:
            chunk = _field_of(tag, data)
            out.append(chunk)
            return len(chunk)
        slot = _open(out)
        # The path is only spelled out for values that can hold something refused.
        where = path if key is None else _child(path, key)
        return _close(out, slot, tag, self._value(out, value, to_handle, where, seen))

    def _container(self, out: _Out, value: Any, to_handle: ToHandle | None, path: str, seen: set[int]) -> int:
        item = self._item
        slot = _open(out)
        size = 0
        if isinstance(value, (list, tuple)):
            for i, entry in enumerate(value):
                size += item(out, _T1_LEN, entry, to_handle, path, i, seen)
            return _close(out, slot, _T_LIST, size)
        if isinstance(value, dict):
            if all(type(key) is str or isinstance(key, str) for key in value):
                for key, entry in value.items():
                    entry_slot = _open(out)
                    entry_size = 0
                    if key:
                        data = _field_of(_T1_LEN, _utf8(key))
                        out.append(data)
                        entry_size = len(data)
                    entry_size += item(out, _T2_LEN, entry, to_handle, path, key, seen)
                    size += _close(out, entry_slot, _T1_LEN, entry_size)
                return _close(out, slot, _T_STRUCT, size)
            for key, entry in value.items():
                entry_slot = _open(out)
                entry_size = item(out, _T1_LEN, key, to_handle, path, None, seen)
                entry_size += item(out, _T2_LEN, entry, to_handle, f"{path}[{key!r}]", None, seen)
                size += _close(out, entry_slot, _T1_LEN, entry_size)
            return _close(out, slot, _T_MAP, size)
        for entry in value:
            size += item(out, _T1_LEN, entry, to_handle, path, None, seen)
        return _close(out, slot, _T_SET, size)

    def _ndarray(self, out: _Out, array: Any) -> int:
        dtype, shape, raw = describe_ndarray(array)
        head = _field_of(_T1_LEN, dtype.encode("ascii"))
        if shape:
            head += _field_of(_T2_LEN, b"".join(_varint(size) for size in shape))
        slot = _open(out)
        out.append(head)
        size = len(head) + (_delimited(out, _T3_LEN, raw) if len(raw) else 0)
        return _close(out, slot, _T_NDARRAY, size)

    def _message_value(self, out: _Out, message: Message, to_handle: ToHandle | None, path: str, seen: set[int]):
        """A message returned where no schema applies: by type when the host knows it, else as a dict."""
        name = message.DESCRIPTOR.full_name
        try:
            known = self._pool.FindMessageTypeByName(name)
        except KeyError:
            return self._value(out, self.to_python(message), to_handle, path, seen)
        self._check_same(known, message.DESCRIPTOR, path)
        return self._embedded(out, _T_MESSAGE, message)

    def _embedded(self, out: _Out, tag: bytes, message: Message) -> int:
        head = _field_of(_T1_LEN, message.DESCRIPTOR.full_name.encode("utf-8"))
        data = message.SerializeToString(deterministic=True)
        slot = _open(out)
        out.append(head)
        size = len(head) + (_delimited(out, _T2_LEN, data) if data else 0)
        return _close(out, slot, tag, size)

    def _check_same(self, host: Descriptor, local: Descriptor, path: str) -> None:
        """A message class of the worker's own (from its _pb2 modules) must match the host's type."""
        if local is host:
            return
        differences = self._checked.get(local)
        if differences is None:
            differences = _differences(host, local, "host", "worker")
            self._checked[local] = differences
        if differences:
            raise _refuse(
                f"the worker's {local.full_name} ({local.file.name}) is not the host's: "
                + "; ".join(differences[:3])
                + ". The host and this worker were built from different .proto files.",
                path,
            )

    # --- encoding schema'd messages ------------------------------------------------------------

    def _response(self, out: _Out, descriptor: Descriptor, value: Any, to_handle: ToHandle | None, target: str):
        name = descriptor.full_name
        if value is None:
            raise SerializationError(
                f"[protobuf] {target} returned None, but its response is a {name}: "
                f"return a dict of its fields or a {name} message"
            )
        fields = descriptor.fields
        if isinstance(value, (Message, Mapping)):
            fill = value
        elif len(fields) == 1 and _carried_by_value(value):
            fill = {fields[0].name: value}
        else:
            # A handle (or a value the host will refuse with the callable's name).
            self._value(out, value, to_handle, "", set())
            return
        message = self.message_class(name)()
        self._fill(message, fill, "result", to_handle)
        self._embedded(out, _T_MESSAGE, message)

    def _request_message(self, descriptor: Descriptor, value: Any, to_handle: ToHandle | None) -> Message:
        """Positional arguments fill fields in declaration order, keyword arguments by name."""
        if not (isinstance(value, (list, tuple)) and len(value) == 2):
            raise _refuse(f"call arguments must be (args, kwargs) to fill a {descriptor.full_name}", "args")
        args, kwargs = value
        fields = descriptor.fields
        if len(args) > len(fields):
            raise _refuse(
                f"{descriptor.full_name} has {len(fields)} field(s), so at most {len(fields)} positional "
                f"argument(s) fit; got {len(args)}",
                "args",
            )
        given: dict[str, Any] = {field.name: item for field, item in zip(fields, args, strict=False)}
        for key, item in (kwargs or {}).items():
            field = _field_named(descriptor, key)
            if field is not None and field.name in given:
                raise _refuse(f"{field.name} is given twice: by position and as a keyword", _child("args", key))
            given[field.name if field is not None else key] = item
        message = self.message_class(descriptor.full_name)()
        self._fill(message, given, "args", to_handle)
        return message

    def _fill(self, message: Message, value: Any, path: str, to_handle: ToHandle | None) -> None:
        descriptor = message.DESCRIPTOR
        if isinstance(value, Message):
            if value.DESCRIPTOR.full_name != descriptor.full_name:
                raise _refuse(f"expected a {descriptor.full_name}, got a {value.DESCRIPTOR.full_name}", path)
            self._check_same(descriptor, value.DESCRIPTOR, path)
            message.MergeFromString(value.SerializeToString())
            return
        if descriptor.full_name == _TIMESTAMP and isinstance(value, dt.date):
            seconds, nanos = _timestamp_parts(value)
            message.seconds, message.nanos = seconds, nanos  # type: ignore[attr-defined]
            return
        if not isinstance(value, Mapping):
            raise _refuse(f"expected a {descriptor.full_name} (a dict of its fields), got {_describe(value)}", path)
        oneofs: dict[str, str] = {}
        for key, item in value.items():
            field = _field_named(descriptor, key) if isinstance(key, str) else None
            if field is None:
                names = ", ".join(f.name for f in descriptor.fields)
                raise _refuse(
                    f"{descriptor.full_name} has no field {key!r}; its fields: {names}", _child(path, str(key))
                )
            if item is None and (field.message_type is None or field.message_type.full_name != _VALUE):
                continue
            oneof = field.containing_oneof
            if oneof is not None and not _is_synthetic(oneof):
                if oneof.name in oneofs:
                    raise _refuse(
                        f"{oneofs[oneof.name]} and {field.name} are both set, but only one field of the oneof "
                        f"{oneof.name} may be",
                        _child(path, field.name),
                    )
                oneofs[oneof.name] = field.name
            self._set_field(message, field, item, _child(path, field.name), to_handle)
        for field in descriptor.fields:
            if _is_required(field) and not message.HasField(field.name):
                raise _refuse(f"the required field {field.name} of {descriptor.full_name} is missing", path)

    def _set_field(self, message: Message, field: FieldDescriptor, item: Any, path: str, to_handle):
        name = field.name
        if _is_map(field):
            if not isinstance(item, Mapping):
                raise _refuse(f"expected a map (a dict), got {_describe(item)}", path)
            key_field = field.message_type.fields_by_name["key"]
            value_field = field.message_type.fields_by_name["value"]
            target = getattr(message, name)
            for key, entry in item.items():
                entry_path = f"{path}[{key!r}]"
                checked_key = _check_scalar(key_field, key, entry_path)
                if value_field.message_type is not None:
                    self._fill_field_message(target[checked_key], value_field, entry, entry_path, to_handle)
                else:
                    target[checked_key] = _check_scalar(value_field, entry, entry_path)
        elif _is_repeated(field):
            if isinstance(item, (str, bytes, bytearray, Mapping)) or not hasattr(item, "__iter__"):
                raise _refuse(f"expected a list, got {_describe(item)}", path)
            target = getattr(message, name)
            for i, entry in enumerate(item):
                if field.message_type is not None:
                    self._fill_field_message(target.add(), field, entry, f"{path}[{i}]", to_handle)
                else:
                    target.append(_check_scalar(field, entry, f"{path}[{i}]"))
        elif field.message_type is not None:
            sub = getattr(message, name)
            sub.SetInParent()
            self._fill_field_message(sub, field, item, path, to_handle)
        else:
            setattr(message, name, _check_scalar(field, item, path))

    def _fill_field_message(self, sub: Message, field: FieldDescriptor, item: Any, path: str, to_handle) -> None:
        if field.message_type.full_name == _VALUE:
            out: _Out = []
            self._value(out, item, to_handle, path, set())
            sub.MergeFromString(b"".join(out))
        else:
            if item is None:
                raise _refuse(f"expected a {field.message_type.full_name}, got None", path)
            self._fill(sub, item, path, to_handle)

    # --- decoding ---------------------------------------------------------------------------------

    def _read_value(self, buf: memoryview, pos: int, end: int, from_handle: FromHandle | None, depth: int) -> Any:
        """The Value in ``buf[pos:end]``, inside ``depth`` containers."""
        if pos >= end:
            raise _Malformed("a Value with no kind set")
        # Fast paths for the commonest kinds, written in their shortest form.
        first = buf[pos]
        if end - pos == 2:
            if first == 0x18:
                n = buf[pos + 1]
                if n < 0x80:
                    return (n >> 1) ^ -(n & 1)
            elif first == 0x08 and buf[pos + 1] == 0:
                return None
            elif first == 0x10 and buf[pos + 1] < 2:
                return buf[pos + 1] == 1
        elif first == 0x21 and end - pos == 9:
            return _DOUBLE.unpack_from(buf, pos + 1)[0]
        elif first == 0x2A and pos + 1 < end and buf[pos + 1] == end - pos - 2:
            return _string(buf, pos + 2, end)
        key, pos = _read_varint(buf, pos, end)
        kind, wire_type = key >> 3, key & 7
        if not 1 <= kind <= 16:
            raise _Malformed(
                f"unknown kind of Value (field {kind}); is the other side a newer version of snakebridge.proto?"
            )
        if kind == 3:
            _expect(wire_type, 0, "int_value")
            n, pos = _read_varint(buf, pos, end)
            result: Any = (n >> 1) ^ -(n & 1)
        elif kind == 4:
            _expect(wire_type, 1, "double_value")
            if pos + 8 > end:
                raise _Malformed("a double runs past the end of its field")
            result = _DOUBLE.unpack_from(buf, pos)[0]
            pos += 8
        elif kind in (1, 2):
            _expect(wire_type, 0, "null_value" if kind == 1 else "bool_value")
            n, pos = _read_varint(buf, pos, end)
            result = None if kind == 1 else bool(n)
        else:
            _expect(wire_type, 2, f"Value field {kind}")
            start, pos = _read_length(buf, pos, end)
            result = self._read_kind(kind, buf, start, pos, from_handle, depth)
        if pos != end:
            raise _Malformed("a Value has more than one kind set")
        return result

    def _read_items(self, buf: Any, start: int, end: int, from_handle: FromHandle | None, depth: int) -> list[Any]:
        """The values of a ListValue, small ints read inline: lists of numbers are common and long."""
        items: list[Any] = []
        append = items.append
        read = self._read_value
        pos = start
        while pos < end:
            if buf[pos] == 0x0A and pos + 1 < end and buf[pos + 1] < 0x80:
                s = pos + 2
                pos = s + buf[pos + 1]
                if pos > end:
                    raise _Malformed("a list item runs past the end of its list")
                if buf[s] == 0x18 and pos - s > 1:
                    n, after = _read_varint(buf, s + 1, pos)
                    if after != pos:
                        raise _Malformed("a Value has more than one kind set")
                    append((n >> 1) ^ -(n & 1))
                else:
                    append(read(buf, s, pos, from_handle, depth))
                continue
            key, pos = _read_varint(buf, pos, end)
            if key >> 3 == 1:
                _expect(key & 7, 2, "a list item")
                s, pos = _read_length(buf, pos, end)
                append(read(buf, s, pos, from_handle, depth))
            else:
                pos = _skip(buf, pos, end, key & 7)
        return items

    def _read_kind(
        self, kind: int, buf: memoryview, start: int, end: int, from_handle: FromHandle | None, depth: int
    ) -> Any:
        if kind in _CONTAINER_KINDS:
            # Lists, structs, maps and sets are a level each; what they hold is one deeper.
            if depth >= MAX_NESTING_DEPTH:
                raise _Malformed(NESTING_REFUSAL)
            depth += 1
        if kind == 5:
            return _string(buf, start, end)
        if kind == 6:
            return bytes(buf[start:end])
        if kind == 7:
            if start == end:
                raise _Malformed("an empty bigint_value")
            return int.from_bytes(buf[start:end], "big", signed=True)
        if kind in (8, 11):
            items = self._read_items(buf, start, end, from_handle, depth)
            return items if kind == 8 else {_hashable(item) for item in items}
        if kind == 9:
            result: dict[Any, Any] = {}
            for s, e in _repeated(buf, start, end, 1):
                key_start, key_end, value_start, value_end = _struct_entry(buf, s, e)
                key = _string(buf, key_start, key_end) if key_start < key_end else ""
                result[key] = self._read_value(buf, value_start, value_end, from_handle, depth)
            return result
        if kind == 10:
            result = {}
            for s, e in _repeated(buf, start, end, 1):
                fields = _fields(buf, s, e)
                if 1 not in fields or 2 not in fields:
                    raise _Malformed("a map entry lacks its key or its value")
                key = _hashable(self._read_value(buf, *fields[1], from_handle, depth))
                result[key] = self._read_value(buf, *fields[2], from_handle, depth)
            return result
        if kind == 12:
            return _read_timestamp(buf, start, end)
        if kind == 13:
            return _read_ndarray(buf, start, end)
        if kind == 14:
            handle_id = _read_handle_id(buf, start, end)
            if from_handle is None:
                raise SerializationError("[protobuf] a handle arrived where no handles can be resolved")
            return from_handle(handle_id)
        if kind in (15, 16):
            fields = _fields(buf, start, end)
            if 1 not in fields:
                raise _Malformed("a Message without a type name")
            name = _string(buf, *fields[1])
            data = bytes(buf[slice(*fields[2])]) if 2 in fields else b""
            return self._read_message(name, data, kind == 16, from_handle, depth)
        raise _Malformed(f"unknown kind of Value (field {kind})")

    def _read_message(self, name: str, data: bytes, request: bool, from_handle: FromHandle | None, depth: int) -> Any:
        try:
            cls = self.message_class(name)
        except KeyError:
            raise SerializationError(
                f"[protobuf] a {name} message arrived, but no such type is in the schema the host sent"
            ) from None
        message = cls.FromString(data)
        if name == _VALUE:
            return self._read_value(memoryview(data), 0, len(data), from_handle, depth)
        if request:
            return [], self._to_python(message, from_handle, depth)
        return message

    def _field_to_python(self, field: FieldDescriptor, value: Any, from_handle: FromHandle | None, depth: int) -> Any:
        if field.message_type is not None:
            name = field.message_type.full_name
            if name == _VALUE:
                data = value.SerializeToString()
                return self._read_value(memoryview(data), 0, len(data), from_handle, depth)
            if name == _TIMESTAMP:
                return _datetime(value.seconds, value.nanos)
            return self._to_python(value, from_handle, depth)
        if field.enum_type is not None:
            named = field.enum_type.values_by_number.get(value)
            return named.name if named is not None else value
        return value


# --- schema helpers ------------------------------------------------------------------------------


def _add(pool: descriptor_pool.DescriptorPool, file: descriptor_pb2.FileDescriptorProto) -> None:
    pool.AddSerializedFile(file.SerializeToString())


def _is_repeated(field: FieldDescriptor) -> bool:
    repeated = getattr(field, "is_repeated", None)
    return bool(repeated) if repeated is not None else field.label == FieldDescriptor.LABEL_REPEATED


def _is_required(field: FieldDescriptor) -> bool:
    required = getattr(field, "is_required", None)
    return bool(required) if required is not None else field.label == FieldDescriptor.LABEL_REQUIRED


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry and _is_repeated(field)


def _is_synthetic(oneof: Any) -> bool:
    fields = oneof.fields
    return len(fields) == 1 and getattr(fields[0], "has_presence", False) and fields[0].name == oneof.name[1:]


def _field_named(descriptor: Descriptor, key: str) -> FieldDescriptor | None:
    field = descriptor.fields_by_name.get(key)
    return field if field is not None else descriptor.fields_by_camelcase_name.get(key)


_TYPE_NAMES = {
    getattr(FieldDescriptor, name): name[5:].lower()
    for name in dir(FieldDescriptor)
    if name.startswith("TYPE_") and name != "TYPE_GROUP"
}


def _field_shape(field: FieldDescriptor) -> str:
    if field.message_type is not None and not _is_map(field):
        kind = field.message_type.full_name
    elif field.enum_type is not None:
        kind = field.enum_type.full_name
    elif _is_map(field):
        entry = field.message_type.fields_by_name
        kind = f"map<{_field_shape(entry['key'])}, {_field_shape(entry['value'])}>"
    else:
        kind = _TYPE_NAMES.get(field.type, str(field.type))
    label = "repeated " if _is_repeated(field) and not _is_map(field) else ""
    presence = "optional " if field.has_presence and field.message_type is None else ""
    oneof = field.containing_oneof
    in_oneof = f" in oneof {oneof.name}" if oneof is not None and not _is_synthetic(oneof) else ""
    return f"{presence}{label}{kind} {field.name}{in_oneof}"


def _differences(a: Descriptor, b: Descriptor, a_side: str, b_side: str, seen: set | None = None) -> list[str]:
    """How message type ``b`` differs from ``a``, field by field, nested types included."""
    seen = set() if seen is None else seen
    if (a.full_name, b.full_name) in seen:
        return []
    seen.add((a.full_name, b.full_name))
    found: list[str] = []
    a_fields = {f.number: f for f in a.fields}
    b_fields = {f.number: f for f in b.fields}
    for number in sorted(a_fields.keys() | b_fields.keys()):
        x, y = a_fields.get(number), b_fields.get(number)
        if x is None or y is None:
            side, present = (b_side, y) if x is None else (a_side, x)
            found.append(f"{a.full_name} field {number} ({present.name}) is only in the {side}'s")
            continue
        if _field_shape(x) != _field_shape(y):
            found.append(
                f"{a.full_name} field {number}: the {a_side} has {_field_shape(x)}, the {b_side} {_field_shape(y)}"
            )
        elif x.message_type is not None:
            found.extend(_differences(x.message_type, y.message_type, a_side, b_side, seen))
        elif x.enum_type is not None:
            found.extend(_enum_differences(x.enum_type, y.enum_type, a_side, b_side))
    return found


def _enum_differences(a: EnumDescriptor, b: EnumDescriptor, a_side: str, b_side: str) -> list[str]:
    x = {v.number: v.name for v in a.values}
    y = {v.number: v.name for v in b.values}
    if x == y:
        return []
    return [f"{a.full_name} has values {x} on the {a_side}, {y} on the {b_side}"]


def _pool_of(files: Any) -> descriptor_pool.DescriptorPool:
    """A pool of the worker's own descriptors; well-known and snakebridge files it leaves out are added."""
    pool = descriptor_pool.DescriptorPool()
    by_name = {file.name: file for file in files}
    added: set[str] = set()

    def add(name: str) -> None:
        if name in added:
            return
        added.add(name)
        file = by_name.get(name)
        if file is None:
            if name == VALUE_FILE:
                file = _value_file()
            else:
                try:
                    known = descriptor_pool.Default().FindFileByName(name)
                except KeyError:
                    raise SchemaError(
                        f"[protobuf] the worker's descriptors import {name} but do not include it"
                    ) from None
                file = descriptor_pb2.FileDescriptorProto.FromString(known.serialized_pb)
        for dependency in file.dependency:
            add(dependency)
        try:
            _add(pool, file)
        except (TypeError, ValueError, KeyError) as exc:
            raise SchemaError(f"[protobuf] the worker's descriptor {name} cannot be loaded: {exc}") from exc

    for file in files:
        add(file.name)
    return pool


# --- values ----------------------------------------------------------------------------------------

_NUMBERS = {
    FieldDescriptor.TYPE_INT32: (-(1 << 31), (1 << 31) - 1),
    FieldDescriptor.TYPE_SINT32: (-(1 << 31), (1 << 31) - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(1 << 31), (1 << 31) - 1),
    FieldDescriptor.TYPE_UINT32: (0, (1 << 32) - 1),
    FieldDescriptor.TYPE_FIXED32: (0, (1 << 32) - 1),
    FieldDescriptor.TYPE_INT64: _INT64,
    FieldDescriptor.TYPE_SINT64: _INT64,
    FieldDescriptor.TYPE_SFIXED64: _INT64,
    FieldDescriptor.TYPE_UINT64: (0, _MASK64),
    FieldDescriptor.TYPE_FIXED64: (0, _MASK64),
}


def _check_scalar(field: FieldDescriptor, value: Any, path: str) -> Any:
    """``value`` as the field's type takes it, or a SerializationError saying what was expected."""
    kind = field.type
    name = _TYPE_NAMES.get(kind, str(kind))
    scalar = numpy_scalar_value(value)
    if scalar is not None:
        value = scalar
    if kind in _NUMBERS:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            low, high = _NUMBERS[kind]
            if not low <= int(value) <= high:
                raise _refuse(f"expected {name} ({low} to {high}), got {value}", path)
            return int(value)
    elif kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
    elif kind == FieldDescriptor.TYPE_BOOL:
        if isinstance(value, bool):
            return value
    elif kind == FieldDescriptor.TYPE_STRING:
        if isinstance(value, str):
            return _utf8(value).decode("utf-8")
    elif kind == FieldDescriptor.TYPE_BYTES:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
    elif kind == FieldDescriptor.TYPE_ENUM:
        return _check_enum(field.enum_type, value, path)
    raise _refuse(f"expected {name}, got {_describe(value)}", path)


def _check_enum(enum: EnumDescriptor, value: Any, path: str) -> int:
    if isinstance(value, str):
        named = enum.values_by_name.get(value)
        if named is None:
            raise _refuse(
                f"{value!r} is not a value of {enum.full_name}; its values: {', '.join(enum.values_by_name)}", path
            )
        return named.number
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and -(1 << 31) <= int(value) < 1 << 31:
        if getattr(enum, "is_closed", False) and int(value) not in enum.values_by_number:
            raise _refuse(f"{value} is not a value of {enum.full_name}", path)
        return int(value)
    raise _refuse(f"expected {enum.full_name} (a value name or number), got {_describe(value)}", path)


def _carried_by_value(value: Any) -> bool:
    """True for what the dynamic Value carries by value, rather than as a handle."""
    return (
        isinstance(value, (str, int, float, bytes, bytearray, memoryview, list, tuple, set, frozenset, dt.date))
        or is_ndarray(value)
        or numpy_scalar_value(value) is not None
    )


def _bigint_bytes(value: int) -> bytes:
    length = ((value if value >= 0 else ~value).bit_length() + 8) // 8
    return value.to_bytes(length, "big", signed=True)


def _timestamp_parts(value: dt.date) -> tuple[int, int]:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)  # naive datetimes are taken as UTC, as the JSON serializer does
    delta = value - _EPOCH
    return delta.days * 86400 + delta.seconds, delta.microseconds * 1000


def _timestamp_fields(value: dt.date) -> bytes:
    seconds, nanos = _timestamp_parts(value)
    return (_T1_VARINT + _varint(seconds) if seconds else b"") + (_T2_VARINT + _varint(nanos) if nanos else b"")


def _datetime(seconds: int, nanos: int) -> dt.datetime:
    if not 0 <= nanos <= 999_999_999:
        raise _Malformed(f"Timestamp.nanos {nanos} is out of range")
    try:
        return _EPOCH + dt.timedelta(seconds=seconds, microseconds=nanos // 1000)
    except OverflowError as exc:
        raise _Malformed(f"a Timestamp of {seconds} s is outside the range of a Python datetime") from exc


def _repeated(buf: memoryview, start: int, end: int, number: int) -> list[tuple[int, int]]:
    """The extents of each length-delimited occurrence of field ``number``; other fields are skipped."""
    spans: list[tuple[int, int]] = []
    append = spans.append
    tag = (number << 3) | 2
    pos = start
    while pos < end:
        if buf[pos] == tag and pos + 1 < end and buf[pos + 1] < 0x80:  # the usual one-byte length
            s = pos + 2
            pos = s + buf[pos + 1]
            if pos > end:
                raise _Malformed("a field runs past the end of its message")
            append((s, pos))
            continue
        key, pos = _read_varint(buf, pos, end)
        if key >> 3 == number:
            _expect(key & 7, 2, f"field {number}")
            s, pos = _read_length(buf, pos, end)
            spans.append((s, pos))
        else:
            pos = _skip(buf, pos, end, key & 7)
    return spans


def _struct_entry(buf: memoryview, start: int, end: int) -> tuple[int, int, int, int]:
    """The extents of a StructEntry's key and value."""
    fields = _fields(buf, start, end)
    if 2 not in fields or fields[2][1] == -1:
        raise _Malformed("a struct entry has no value")
    key = fields.get(1, (0, 0))
    if key[1] == -1:
        raise _Malformed("a struct key arrived with the wrong wire type")
    return key[0], key[1], fields[2][0], fields[2][1]


def _fields(buf: memoryview, start: int, end: int) -> dict[int, tuple[int, int]]:
    """The last extent of each length-delimited field of a small message; varints as (value, -1)."""
    fields: dict[int, tuple[int, int]] = {}
    pos = start
    while pos < end:
        key, pos = _read_varint(buf, pos, end)
        wire_type = key & 7
        if wire_type == 2:
            s, pos = _read_length(buf, pos, end)
            fields[key >> 3] = (s, pos)
        elif wire_type == 0:
            n, pos = _read_varint(buf, pos, end)
            fields[key >> 3] = (n, -1)
        else:
            pos = _skip(buf, pos, end, wire_type)
    return fields


def _read_timestamp(buf: memoryview, start: int, end: int) -> dt.datetime:
    fields = _fields(buf, start, end)
    for number in (1, 2):
        if number in fields and fields[number][1] != -1:
            raise _Malformed(f"Timestamp field {number} arrived with the wrong wire type")
    seconds = _signed64(fields[1][0]) if 1 in fields else 0
    nanos = _signed64(fields[2][0]) if 2 in fields else 0
    return _datetime(seconds, nanos)


def _read_ndarray(buf: memoryview, start: int, end: int) -> Any:
    dtype = ""
    shape: list[int] = []
    data: bytearray = bytearray()
    pos = start
    while pos < end:
        key, pos = _read_varint(buf, pos, end)
        number, wire_type = key >> 3, key & 7
        if number == 1:
            _expect(wire_type, 2, "NDArray.dtype")
            s, pos = _read_length(buf, pos, end)
            dtype = _string(buf, s, pos)
        elif number == 2 and wire_type == 2:
            s, pos = _read_length(buf, pos, end)
            while s < pos:
                size, s = _read_varint(buf, s, pos)
                shape.append(size)
        elif number == 2:
            _expect(wire_type, 0, "NDArray.shape")
            size, pos = _read_varint(buf, pos, end)
            shape.append(size)
        elif number == 3:
            _expect(wire_type, 2, "NDArray.data")
            s, pos = _read_length(buf, pos, end)
            data = bytearray(buf[s:pos])  # a copy the array owns, and may write to
        else:
            pos = _skip(buf, pos, end, wire_type)
    return decode_ndarray(dtype, shape, data)


def _read_handle_id(buf: memoryview, start: int, end: int) -> int:
    fields = _fields(buf, start, end)
    if 1 not in fields or fields[1][1] != -1 or not fields[1][0]:
        raise _Malformed("a Handle without an id")
    return fields[1][0]


__all__ = ["DESCRIPTORS_ENV", "SCHEMA_HASH_ENV", "VALUE_FILE", "ProtobufSerializer", "SchemaError"]
