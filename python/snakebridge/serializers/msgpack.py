"""The msgpack serializer: the Python side of ``@snakebridge/serializer-msgpack``.

Plain data travels as plain msgpack; what msgpack lacks uses extension types
whose numbers the TypeScript side shares (packages/serializer-msgpack/README.md
has the whole mapping, vectors/serializers/msgpack.json the bytes):

- ``-1`` timestamp (the msgpack spec's): ``datetime`` ↔ ``Date``, at millisecond precision
- ``80`` bigint: ints beyond 64 bits, as two's complement big-endian bytes
- ``81`` set: ``set``/``frozenset``, the payload a msgpack array
- ``82`` map: a JavaScript ``Map``, read as a dict whose keys may be anything hashable
- ``83`` ndarray: numpy arrays as a small header and their raw little-endian bytes
- ``84`` handle: ``[id, type, repr?]`` of an object kept in the worker
- ``86`` callback: a host function in the arguments, its index in the call as a positive int
  (``85`` is the Arrow serializer's tables)
- ``87`` shared ndarray: an ndarray's header, then the index (u32) of the shared-memory segment
  of the message that holds its elements (docs/protocol.md, "Shared memory")

numpy is only imported when an ndarray arrives (see ndarray.py).
"""

from __future__ import annotations

import datetime as dt
import math
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NoReturn, cast

import msgpack

from ..errors import SerializationError, SnakeBridgeError
from .base import (
    MAX_NESTING_DEPTH,
    NESTING_REFUSAL,
    CallbackRef,
    FromCallback,
    FromHandle,
    Scattered,
    SegmentWriter,
    ToHandle,
)
from .ndarray import DTYPES, ITEM_SIZES, decode_ndarray, describe_ndarray, is_ndarray, numpy_scalar_value

EXT_BIGINT = 80
EXT_SET = 81
EXT_MAP = 82
EXT_NDARRAY = 83
EXT_HANDLE = 84
EXT_CALLBACK = 86
EXT_SHARED_NDARRAY = 87
#: Types an added extension may not use: ours, and those msgpackr (the TypeScript decoder) reads itself.
RESERVED_EXT_TYPES = frozenset({0x00, 0x42, 0x62, 0x65, 0x69, 0x70, 0x72, 0x73, 0x74, 0x78, 80, 81, 82, 83, 84, 86, 87})

_INT64_MIN = -(2**63)
_UINT64_MAX = 2**64 - 1
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
#: dtype code, ndim, offset of the elements (u16): the ndarray header before the shape.
_NDARRAY_HEAD = struct.Struct("<BBH")
#: Arrays with at least this many bytes are left out of the message by ``encode_scattered`` and written
#: from their own memory. Above ext 16's limit, so their ext header is always the 6-byte ext 32 one.
SCATTER_BYTES = 256 * 1024
#: msgpack's ext 32 header: 0xc9, the payload's length (u32, big-endian), the type.
_EXT32 = struct.Struct(">BIb")


@dataclass(frozen=True)
class MsgpackExtension:
    """An extension type added to the serializer, as ``MsgpackExtension`` in TypeScript.

    Instances of ``cls`` that msgpack cannot pack itself are written as
    extension ``type`` with the payload ``encode`` returns; ``decode`` reads it.
    """

    type: int
    cls: type | tuple[type, ...]
    encode: Callable[[Any], bytes]
    decode: Callable[[bytes], Any]


class MsgpackSerializer:
    """msgpack with SnakeBridge's extension types for big ints, sets, maps, arrays, dates, handles and callbacks."""

    id = "msgpack"
    wire_id = 2

    def __init__(self, extensions: Iterable[MsgpackExtension] = ()) -> None:
        self._extensions = _check_extensions(extensions)
        #: The transport's shared-memory lane, when the host offers one (worker/shared_memory.py): large arrays
        #: in results then go through it, by ``encode_scattered`` with a ``segments`` list.
        self.shared_memory: SegmentWriter | None = None
        # One encoder (and its C packer) per thread, reused: making a Packer costs more than packing a small call.
        self._local = threading.local()

    def encode(self, value: Any, to_handle: ToHandle | None = None, encoder: _Encoder | None = None) -> bytes:
        if encoder is None:
            encoder = self._encoder(to_handle)
        try:
            return encoder.pack(value)
        except _Unsendable as exc:
            what = type(exc.obj).__qualname__
            raise SerializationError(
                f"[msgpack] at {_path_to(value, exc.obj)}: cannot send a {what} by value"
            ) from None
        except SnakeBridgeError:
            raise  # ours, or from to_handle: too many handles in the session
        except RecursionError:
            raise SerializationError(f"[msgpack] {NESTING_REFUSAL}") from None
        except ValueError as exc:
            if "recursion limit" not in str(exc):
                raise SerializationError(f"[msgpack] {exc}") from exc
            # msgpack's packer stops at 511 levels; the decoders on the other side at MAX_NESTING_DEPTH.
            raise SerializationError(f"[msgpack] {NESTING_REFUSAL}") from None
        except Exception as exc:  # msgpack's own errors, and those of an extension's encoder
            raise SerializationError(f"[msgpack] {exc}") from exc
        finally:
            encoder.busy = False

    def encode_scattered(
        self, value: Any, to_handle: ToHandle | None = None, segments: list[Any] | None = None
    ) -> bytes | Scattered:
        """As ``encode``, but numpy arrays of ``SCATTER_BYTES`` or more outside sets and Maps are not
        copied into the message: the result is then a ``Scattered`` whose parts include the arrays'
        own memory, for a vectored write. Joined, the parts are the bytes ``encode`` returns.

        With a shared-memory lane and a ``segments`` list, arrays of at least its threshold go into
        segments instead, whose entries are appended to the list (the frame's segment table); if the
        encode fails, they are released again."""
        encoder = self._encoder(to_handle)
        encoder.scattered = []
        lane = self.shared_memory
        if lane is not None and segments is not None:
            encoder.lane, encoder.segments = lane, segments
        try:
            return encoder.scatter(self.encode(value, to_handle, encoder))
        except BaseException:
            if encoder.segments:
                cast(SegmentWriter, lane).release([entry.ref for entry in encoder.segments])
                encoder.segments.clear()
            raise
        finally:
            encoder.scattered, encoder.left_out, encoder.lane, encoder.segments = None, 0, None, None

    def _encoder(self, to_handle: ToHandle | None) -> _Encoder:
        """This thread's encoder, or a fresh one if it is busy (an encode inside an encode)."""
        encoder: _Encoder | None = getattr(self._local, "encoder", None)
        if encoder is None or encoder.busy:
            encoder = _Encoder(self._extensions, to_handle)
            if getattr(self._local, "encoder", None) is None:
                self._local.encoder = encoder
        encoder.to_handle = to_handle
        encoder.busy = True
        return encoder

    def decode(
        self,
        data: bytes | memoryview,
        from_handle: FromHandle | None = None,
        from_callback: FromCallback | None = None,
        segments: list[memoryview] | None = None,
    ) -> Any:
        """Decodes one msgpack value. Anything malformed is a SerializationError naming what is wrong:
        msgpack's own errors (lengths beyond the input, extra bytes, bad timestamps), our extension
        payloads, and Sets and Maps nested more than MAX_NESTING_DEPTH deep (arrays and maps stop at
        msgpack's own 1,024 levels). msgpack sizes nothing from a declared count beyond the input's
        length. A HandleError from ``from_handle`` keeps its code. ``segments``: the shared-memory
        segments that came with the message, which shared ndarrays name by index."""
        try:
            return _Decoder(self._extensions, from_handle, from_callback, segments).unpack(data)
        except SnakeBridgeError:
            raise  # ours, or a HandleError from from_handle, which keeps its code
        except msgpack.StackError:
            raise SerializationError("[msgpack] the value is nested deeper than msgpack reads (1,024 levels)") from None
        except RecursionError:
            raise SerializationError(f"[msgpack] {NESTING_REFUSAL}") from None
        except Exception as exc:
            raise SerializationError(f"[msgpack] not valid msgpack: {str(exc) or type(exc).__name__}") from exc


def _check_extensions(extensions: Iterable[MsgpackExtension]) -> dict[int, MsgpackExtension]:
    by_type: dict[int, MsgpackExtension] = {}
    for extension in extensions:
        if not 0 <= extension.type <= 127:
            raise ValueError(f"[msgpack] extension type {extension.type} is not an application type (0-127)")
        if extension.type in RESERVED_EXT_TYPES:
            raise ValueError(f"[msgpack] extension type {extension.type} is reserved (SnakeBridge or msgpackr uses it)")
        if extension.type in by_type:
            raise ValueError(f"[msgpack] extension type {extension.type} is registered twice")
        by_type[extension.type] = extension
    return by_type


# --- encoding -------------------------------------------------------------------


class _Unsendable(Exception):
    """An object with no msgpack form met while handles are off; encode() names its path."""

    def __init__(self, obj: object) -> None:
        super().__init__()
        self.obj = obj


class _Encoder:
    """One encode: msgpack's C packer does the work, and calls ``_default`` for what it does not know."""

    def __init__(self, extensions: dict[int, MsgpackExtension], to_handle: ToHandle | None) -> None:
        self._extensions = tuple(extensions.values())
        self.to_handle = to_handle
        self.busy = False
        self._nesting = 0
        #: During encode_scattered: the arrays left out so far, as (position in the packed message, length of
        #: their placeholder's payload, their memory, their payload's real length); else None.
        self.scattered: list[tuple[int, int, memoryview, int]] | None = None
        #: How much longer the message is before the packer's position than what the packer wrote: each
        #: array left out adds its bytes and a longer ext header.
        self.left_out = 0
        #: During encode_scattered with a shared-memory lane: the lane, and the segments made so far.
        self.lane: SegmentWriter | None = None
        self.segments: list[Any] | None = None
        # A packer per encode: the worker encodes on several threads, and _default packs payloads re-entrantly.
        self._packer = self._new_packer()

    def _new_packer(self) -> msgpack.Packer:
        return msgpack.Packer(
            default=self._default, use_bin_type=True, use_single_float=False, datetime=False, strict_types=False
        )

    def pack(self, value: Any) -> bytes:
        return self._packer.pack(value)

    def _payload(self, value: Any) -> bytes:
        """``value`` packed on its own, as the payload of an extension (a level deeper, for a set)."""
        if self._nesting >= MAX_NESTING_DEPTH:
            raise SerializationError(f"[msgpack] {NESTING_REFUSAL}")
        self._nesting += 1
        try:
            return self._new_packer().pack(value)
        finally:
            self._nesting -= 1

    def _default(self, obj: Any) -> Any:
        return self._convert(obj, obj)

    def _convert(self, value: Any, original: object) -> Any:
        """What to pack for ``value`` (``original`` when it came from a numpy scalar), which msgpack cannot pack."""
        if isinstance(value, int):  # only ints beyond 64 bits get here
            return msgpack.ExtType(EXT_BIGINT, _int_payload(value))
        if isinstance(value, CallbackRef):
            return msgpack.ExtType(EXT_CALLBACK, self._payload(value.index))
        for extension in self._extensions:
            if isinstance(value, extension.cls):
                return msgpack.ExtType(extension.type, bytes(extension.encode(value)))
        if isinstance(value, (set, frozenset)):
            return msgpack.ExtType(EXT_SET, self._payload(list(value)))
        if isinstance(value, dt.date):
            return _timestamp(value)
        if is_ndarray(value):
            return self._ndarray(value)
        scalar = numpy_scalar_value(value)
        if scalar is not None:
            return scalar if _packs_natively(scalar) else self._convert(scalar, original)
        return self._handle(original)

    def _handle(self, obj: object) -> msgpack.ExtType:
        if self.to_handle is None:
            raise _Unsendable(obj)
        wire = self.to_handle(obj)
        fields = [wire.id, wire.type] if wire.repr is None else [wire.id, wire.type, wire.repr]
        return msgpack.ExtType(EXT_HANDLE, self._payload(fields))

    def _ndarray(self, array: Any) -> msgpack.ExtType:
        dtype, _, raw = describe_ndarray(array)
        shape = list(array.shape)  # describe_ndarray reports a 0-d array as 1-d (ascontiguousarray does)
        if any(size > 0xFFFFFFFF for size in shape):
            raise ValueError(f"an array of shape {tuple(shape)} has a dimension too large to send")
        if self.segments is not None and raw.nbytes >= cast(SegmentWriter, self.lane).threshold_bytes:
            shared = self._shared_ndarray(dtype, shape, raw)
            if shared is not None:
                return shared
        if self.scattered is not None and raw.nbytes >= SCATTER_BYTES and not self._nesting:
            position = self._position()
            if position is not None:
                return self._left_out_ndarray(dtype, shape, raw, position)
        offset = self._element_offset(len(shape), raw.nbytes)
        header = _NDARRAY_HEAD.pack(DTYPES.index(dtype), len(shape), offset) + struct.pack(f"<{len(shape)}I", *shape)
        return msgpack.ExtType(EXT_NDARRAY, b"".join((header, bytes(offset - len(header)), raw)))

    def _shared_ndarray(self, dtype: str, shape: list[int], raw: memoryview) -> msgpack.ExtType | None:
        """The array's elements in a new segment of the message, its payload naming the segment; None if
        no segment can be made now (a full /dev/shm): the array then goes in the message, as without a lane."""
        segments = cast(list[Any], self.segments)
        try:
            segments.append(cast(SegmentWriter, self.lane).put(raw))
        except OSError:
            return None
        offset = -(-(_NDARRAY_HEAD.size + 4 * len(shape)) // 8) * 8
        header = _NDARRAY_HEAD.pack(DTYPES.index(dtype), len(shape), offset) + struct.pack(f"<{len(shape)}I", *shape)
        index = struct.pack("<I", len(segments) - 1)
        return msgpack.ExtType(EXT_SHARED_NDARRAY, b"".join((header, bytes(offset - len(header)), index)))

    def _left_out_ndarray(self, dtype: str, shape: list[int], raw: memoryview, position: int) -> msgpack.ExtType:
        """A placeholder for an array that ``scatter`` puts back: its header and padding alone, as a
        payload; the elements are aligned as they will be in the whole message."""
        assert self.scattered is not None
        offset = self._element_offset(len(shape), raw.nbytes, position + self.left_out)
        header = _NDARRAY_HEAD.pack(DTYPES.index(dtype), len(shape), offset) + struct.pack(f"<{len(shape)}I", *shape)
        head = header + bytes(offset - len(header))
        self.scattered.append((position, len(head), raw, offset + raw.nbytes))
        self.left_out += _EXT32.size - _ext_header_size(len(head)) + raw.nbytes
        return msgpack.ExtType(EXT_NDARRAY, head)

    def scatter(self, message: bytes) -> bytes | Scattered:
        """``message`` with the placeholders of the arrays left out replaced by their ext 32 header,
        their header and padding, and their memory, as parts; ``message`` itself if none was."""
        scattered = self.scattered
        if not scattered:
            return message
        view = memoryview(message)
        parts: list[bytes | memoryview] = []
        cursor = 0
        for position, head_length, raw, length in scattered:
            head_start = position + _ext_header_size(head_length)
            parts += (
                view[cursor:position],
                _EXT32.pack(0xC9, length, EXT_NDARRAY),
                view[head_start : head_start + head_length],
                raw,
            )
            cursor = head_start + head_length
        parts.append(view[cursor:])
        return Scattered([part for part in parts if len(part)])

    def _element_offset(self, ndim: int, nbytes: int, position: int | None = None) -> int:
        """Where the elements start in the payload: 8-aligned in the message when the position is known.

        The TypeScript side reads the elements in place, as a typed array that
        must be aligned, so padding them to a multiple of 8 from the start of
        the message saves it a copy. Anything from ``shortest`` up decodes.
        """
        shortest = _NDARRAY_HEAD.size + 4 * ndim
        if position is None:
            position = self._position()
            if position is not None:
                position += self.left_out  # where it will be in the message, arrays left out put back
        if position is None:
            return -(-shortest // 8) * 8
        # The smallest offset that aligns; the ext header's size depends on the padding, hence a search (< 24 steps).
        offset = shortest
        while (position + _ext_header_size(offset + nbytes) + offset) % 8:
            offset += 1
        return offset

    def _position(self) -> int | None:
        """Bytes the top-level packer has written so far, or None if unknown.

        msgpack's packer exposes its buffer while packing; this is not a
        documented promise, so any failure just gives up on alignment.
        """
        if self._nesting:
            return None
        try:
            with self._packer.getbuffer() as written:
                return len(written)
        except Exception:
            return None


def _packs_natively(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return _INT64_MIN <= value <= _UINT64_MAX
    return value is None or isinstance(value, (bool, float, str, bytes))


def _int_payload(value: int) -> bytes:
    """Two's complement, big-endian, in as few bytes as hold the sign."""
    magnitude = ~value if value < 0 else value
    return value.to_bytes((magnitude.bit_length() + 8) // 8, "big", signed=True)


def _timestamp(value: dt.date) -> msgpack.Timestamp:
    """UTC, whole milliseconds (a JavaScript Date's precision, so both sides write the same bytes)."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)  # naive datetimes are taken as UTC
    delta = value - _EPOCH
    milliseconds = (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    seconds, rest = divmod(milliseconds, 1000)
    return msgpack.Timestamp(seconds, rest * 1_000_000)


def _ext_header_size(length: int) -> int:
    if length in (1, 2, 4, 8, 16):
        return 2  # fixext
    if length < 0x100:
        return 3
    return 4 if length < 0x10000 else 6


def _path_to(root: Any, target: object) -> str:
    """Where ``target`` is in ``root``, in the notation of json.py's errors."""
    return _search(root, target, "", set()) or "(root)"


def _search(value: Any, target: object, path: str, seen: set[int]) -> str | None:
    if value is target:
        return path
    if id(value) in seen or not isinstance(value, (list, tuple, dict, set, frozenset)):
        return None
    seen.add(id(value))
    if isinstance(value, dict):
        steps = ((_dict_step(path, key), item) for key, item in value.items())
        keys = ((f"{path}<key {key!r}>", key) for key in value)
        return _first(target, seen, keys, steps)
    if isinstance(value, (set, frozenset)):
        return _first(target, seen, ((f"{path}<item>", item) for item in value))
    return _first(target, seen, ((f"{path}[{i}]", item) for i, item in enumerate(value)))


def _first(target: object, seen: set[int], *candidates: Iterable[tuple[str, Any]]) -> str | None:
    for group in candidates:
        for path, item in group:
            found = _search(item, target, path, seen)
            if found is not None:
                return found
    return None


def _dict_step(path: str, key: Any) -> str:
    if isinstance(key, str):
        return f"{path}.{key}" if path else key
    return f"{path}[{key!r}]"


# --- decoding -------------------------------------------------------------------


class _Decoder:
    """One decode: msgpack's C unpacker does the work, and calls ``_ext_hook`` for extension types.

    The C unpacker is iterative and refuses more than 1,024 levels itself; Python recursion
    only happens through the payloads of sets and Maps, which ``depth`` counts.
    """

    def __init__(
        self,
        extensions: dict[int, MsgpackExtension],
        from_handle: FromHandle | None,
        from_callback: FromCallback | None = None,
        segments: list[memoryview] | None = None,
    ) -> None:
        self._extensions = extensions
        self._from_handle = from_handle
        self._from_callback = from_callback
        self._segments = segments
        #: Set and Map payloads being unpacked, one inside the other.
        self.depth = 0

    def unpack(self, data: bytes | memoryview, *, any_keys: bool = False) -> Any:
        try:
            return self._unpackb(data, any_keys)
        except TypeError as exc:
            # A dict key that is a list (a tuple key sent back): rare, so read again with keys made hashable
            # rather than pay for object_pairs_hook on every dict.
            if any_keys or "unhashable" not in str(exc):
                raise
            return self._unpackb(data, True)

    def _unpackb(self, data: bytes | memoryview, any_keys: bool) -> Any:
        return msgpack.unpackb(
            data,
            ext_hook=self._ext_hook,
            raw=False,
            use_list=True,
            strict_map_key=False,  # dicts from JavaScript Maps have keys of any type
            timestamp=3,  # aware datetimes in UTC
            object_pairs_hook=_dict_of_pairs if any_keys else None,
        )

    def _nested(self, data: bytes, *, any_keys: bool = False) -> Any:
        """The payload of a set or Map: a level of nesting."""
        if self.depth >= MAX_NESTING_DEPTH:
            _malformed(NESTING_REFUSAL)
        self.depth += 1
        try:
            if self.depth <= _UNPACKB_LEVELS:
                return self.unpack(data, any_keys=any_keys)
            return self._unpack_on_heap(data, any_keys)
        finally:
            self.depth -= 1

    def _unpack_on_heap(self, data: bytes, any_keys: bool) -> Any:
        """``data`` unpacked by an Unpacker, whose state lives in the object rather than on the C stack.

        ``unpackb`` keeps tens of kilobytes of state on the C stack, once per nested call: sets
        nested a hundred deep would overflow a thread's stack (a segfault, not an exception)
        before any recursion limit is reached.
        """
        for keys in (any_keys, True):
            unpacker = msgpack.Unpacker(
                ext_hook=self._ext_hook,
                raw=False,
                use_list=True,
                strict_map_key=False,
                timestamp=3,
                object_pairs_hook=_dict_of_pairs if keys else None,
                max_buffer_size=max(1, len(data)),
            )
            unpacker.feed(data)
            try:
                value = unpacker.unpack()
            except TypeError as exc:
                if keys or "unhashable" not in str(exc):
                    raise
                continue  # a list as a dict key: read again with keys made hashable, as unpack() does
            if unpacker.tell() != len(data):
                _malformed("extra data after the value in an extension payload")
            return value
        raise AssertionError("unreachable: the second pass has hashable keys")

    def _ext_hook(self, code: int, data: bytes) -> Any:
        if code == EXT_BIGINT:
            if not data:
                _malformed("an empty bigint payload")
            return int.from_bytes(data, "big", signed=True)
        if code == EXT_SET:
            return {_hashable(item) for item in self._expect(self._nested(data), list, "set")}
        if code == EXT_MAP:
            # Only keys need this slower path: a JavaScript Map may have arrays for keys, which become tuples.
            return self._expect(self._nested(data, any_keys=True), dict, "map")
        if code == EXT_NDARRAY:
            return _decode_ndarray(data)
        if code == EXT_SHARED_NDARRAY:
            return _decode_shared_ndarray(data, self._segments)
        if code == EXT_HANDLE:
            return self._handle(self._expect(_unpack_scalars(data), list, "handle"))
        if code == EXT_CALLBACK:
            return self._callback(_unpack_scalars(data))
        extension = self._extensions.get(code)
        if extension is None:
            _malformed(f"extension type {code} is not known")
        return extension.decode(data)

    def _handle(self, fields: list[Any]) -> object:
        if not 2 <= len(fields) <= 3 or type(fields[0]) is not int or not 1 <= fields[0] <= 0xFFFFFFFF:
            _malformed("a handle needs [id, type, repr?] with an id from 1 to 2^32-1")
        if not all(isinstance(text, str) for text in fields[1:]):
            _malformed("a handle's type and repr are strings")
        if self._from_handle is None:
            raise SerializationError("[msgpack] a handle arrived where no handles can be resolved")
        return self._from_handle(fields[0])

    def _callback(self, index: Any) -> object:
        if type(index) is not int or index < 1:
            _malformed("a callback reference needs a positive integer index")
        return CallbackRef(index) if self._from_callback is None else self._from_callback(index)

    @staticmethod
    def _expect(value: Any, kind: type, what: str) -> Any:
        if not isinstance(value, kind):
            _malformed(f"a {what} extension must hold a {kind.__name__}")
        return value


#: Set and Map payloads nested this deep are unpacked with ``unpackb`` (faster); deeper, on the heap.
_UNPACKB_LEVELS = 8


def _unpack_scalars(data: bytes) -> Any:
    """The payload of a handle or callback reference: scalars (in a list), never another extension,
    so it adds no level of nesting."""
    return msgpack.unpackb(data, ext_hook=_no_extensions, raw=False, use_list=True)


def _no_extensions(code: int, _data: bytes) -> NoReturn:
    _malformed(f"a handle or callback reference holds only scalars, not extension type {code}")


def _decode_ndarray(payload: bytes) -> Any:
    dtype, shape, offset = _ndarray_header(payload)
    return _shaped(dtype, shape, memoryview(payload)[offset:])


def _decode_shared_ndarray(payload: bytes, segments: list[memoryview] | None) -> Any:
    """An ndarray whose elements are a segment that came with the message: built on its mapping, no copy."""
    dtype, shape, offset = _ndarray_header(payload)
    if len(payload) != offset + 4:
        _malformed("a shared ndarray must end with its segment index")
    (index,) = struct.unpack_from("<I", payload, offset)
    if segments is None or index >= len(segments):
        _malformed(f"a shared ndarray names segment {index}, which did not come with the message")
    return _shaped(dtype, shape, segments[index])


def _ndarray_header(payload: bytes) -> tuple[str, list[int], int]:
    if len(payload) < _NDARRAY_HEAD.size:
        _malformed("an ndarray header is cut short")
    code, ndim, offset = _NDARRAY_HEAD.unpack_from(payload)
    if code >= len(DTYPES):
        _malformed(f"unknown dtype code {code}")
    if not _NDARRAY_HEAD.size + 4 * ndim <= offset <= len(payload):
        _malformed("an ndarray header does not fit its payload")
    return DTYPES[code], list(struct.unpack_from(f"<{ndim}I", payload, _NDARRAY_HEAD.size)), offset


def _shaped(dtype: str, shape: list[int], elements: memoryview) -> Any:
    if math.prod(shape) * ITEM_SIZES[dtype] != len(elements):
        _malformed(f"an ndarray of shape {shape} cannot hold {len(elements)} bytes of {dtype}")
    return decode_ndarray(dtype, shape, elements)


def _dict_of_pairs(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    return {_hashable(key): value for key, value in pairs}


def _hashable(value: Any) -> Any:
    """Lists become tuples and sets frozensets, so they can be dict keys or set members, as JavaScript allows."""
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, set):
        return frozenset(value)
    return value


def _malformed(message: str) -> NoReturn:
    raise SerializationError(f"[msgpack] not a valid SnakeBridge msgpack value: {message}")
