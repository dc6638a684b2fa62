"""The JSON serializer: the Python side of ``JsonSerializer`` in ``@snakebridge/core``.

Readable, needs nothing installed; for debugging and as a fallback. What JSON
lacks travels as tagged objects ``{"$sb": tag, ...}`` (docs/serialization.md).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import re
from typing import Any

from ..errors import SerializationError, SnakeBridgeError
from .base import MAX_NESTING_DEPTH, MAX_SAFE_INTEGER, NESTING_REFUSAL, CallbackRef, FromCallback, FromHandle, ToHandle
from .ndarray import DTYPES, ITEM_SIZES, decode_ndarray, describe_ndarray, is_ndarray, numpy_scalar_value

TAG = "$sb"
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "-0": -0.0}


class JsonSerializer:
    """UTF-8 JSON with tagged objects for NaN, bytes, big ints, dates, maps, sets, arrays, handles and callbacks."""

    id = "json"
    wire_id = 1

    def encode(self, value: Any, to_handle: ToHandle | None = None) -> bytes:
        """Encodes ``value``; refuses (SerializationError) what JSON cannot carry and values nested
        more than MAX_NESTING_DEPTH deep."""
        try:
            tree = _to_json(value, to_handle, "", 0)
            return json.dumps(tree, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
        except SnakeBridgeError:
            raise  # ours, or a HandleError from to_handle
        except RecursionError as exc:
            raise SerializationError(f"[json] {NESTING_REFUSAL}") from exc
        except (TypeError, ValueError) as exc:
            raise SerializationError(f"[json] {exc}") from exc

    def decode(
        self, data: bytes | memoryview, from_handle: FromHandle | None = None, from_callback: FromCallback | None = None
    ) -> Any:
        """Decodes UTF-8 JSON. Anything malformed, or nested more than MAX_NESTING_DEPTH deep, is
        a SerializationError naming what is wrong; a HandleError from ``from_handle`` keeps its code."""
        try:
            tree = json.loads(bytes(data).decode("utf-8"), parse_constant=_not_json)
        except RecursionError:
            # json's scanner counts each level against the recursion limit: far deeper than we accept anyway.
            raise SerializationError(f"[json] {NESTING_REFUSAL}") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise SerializationError(f"[json] not valid UTF-8 JSON: {exc}") from exc
        return decode_tree(tree, _Walk(from_handle, from_callback))


def _not_json(name: str) -> Any:
    """NaN and Infinity are not JSON (the host's JSON.parse refuses them); they travel as tagged floats."""
    raise ValueError(f"{name} is not JSON")


# --- encoding -------------------------------------------------------------------


def _to_json(value: Any, to_handle: ToHandle | None, path: str, depth: int) -> Any:
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        # Beyond 2^53 a JavaScript number would round; send the exact digits instead.
        return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else {TAG: "int", "v": str(value)}
    if isinstance(value, float):
        return _encode_float(value)
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        if depth >= MAX_NESTING_DEPTH:
            raise SerializationError(f"[json] at {path or '(root)'}: {NESTING_REFUSAL}")
        return _encode_container(value, to_handle, path, depth + 1)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {TAG: "bytes", "v": base64.b64encode(value).decode("ascii")}
    if isinstance(value, (dt.datetime, dt.date)):
        return {TAG: "date", "v": _iso_utc(value)}
    if is_ndarray(value):
        dtype, shape, raw = describe_ndarray(value)
        return {TAG: "ndarray", "dtype": dtype, "shape": shape, "v": base64.b64encode(raw).decode("ascii")}
    if isinstance(value, CallbackRef):
        return {TAG: "callback", "id": value.index}
    scalar = numpy_scalar_value(value)
    if scalar is not None:
        return _to_json(scalar, to_handle, path, depth)
    if to_handle is None:
        raise SerializationError(f"[json] at {path or '(root)'}: cannot send a {type(value).__qualname__} by value")
    wire = to_handle(value)
    tagged: dict[str, Any] = {TAG: "handle", "id": wire.id, "type": wire.type}
    if wire.repr is not None:
        tagged["repr"] = wire.repr
    return tagged


# Loops rather than comprehensions: one Python frame per level of nesting, so
# that MAX_NESTING_DEPTH levels fit well within the recursion limit.
def _encode_container(value: Any, to_handle: ToHandle | None, path: str, depth: int) -> Any:
    """A list, tuple, dict, set or frozenset, whose items are ``depth`` deep."""
    if isinstance(value, (list, tuple)):
        items = []
        for i, item in enumerate(value):
            items.append(_to_json(item, to_handle, f"{path}[{i}]", depth))
        return items
    if isinstance(value, (set, frozenset)):
        members = []
        for item in value:
            members.append(_to_json(item, to_handle, path, depth))
        return {TAG: "set", "v": members}
    if all(isinstance(key, str) for key in value):
        result = {}
        for key, item in value.items():
            result[key] = _to_json(item, to_handle, f"{path}.{key}" if path else key, depth)
        # A user dict that happens to use our tag key is wrapped, so it is not mistaken for a tag.
        return {TAG: "object", "v": result} if TAG in result else result
    entries = []
    for key, item in value.items():
        entries.append([_to_json(key, to_handle, path, depth), _to_json(item, to_handle, f"{path}[{key!r}]", depth)])
    return {TAG: "map", "v": entries}


def _encode_float(value: float) -> Any:
    if math.isnan(value):
        return {TAG: "float", "v": "NaN"}
    if math.isinf(value):
        return {TAG: "float", "v": "Infinity" if value > 0 else "-Infinity"}
    if value == 0.0 and math.copysign(1.0, value) < 0:
        return {TAG: "float", "v": "-0"}
    return value


def _iso_utc(value: dt.date) -> str:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)  # naive datetimes are taken as UTC
    utc = value.astimezone(dt.timezone.utc)
    # JavaScript dates hold milliseconds; match Date.prototype.toISOString().
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


# --- decoding -------------------------------------------------------------------

#: Tags of values that hold others: a level of nesting each, as the encoder counts them.
_CONTAINER_TAGS = frozenset({"map", "set", "object"})
_INTEGER = re.compile(r"-?[0-9]+")


class _Malformed(Exception):
    """A tagged value that is not what its tag needs; ``steps`` is filled in on the way out, naming where."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.steps: list[str] = []


class _Walk:
    """One decode: what handles and callback references become, how deep it is, and how many nodes it
    has visited (the fuzz tests hold that to the size of the input)."""

    __slots__ = ("depth", "from_callback", "from_handle", "nodes")

    def __init__(self, from_handle: FromHandle | None, from_callback: FromCallback | None) -> None:
        self.from_handle = from_handle
        self.from_callback = from_callback
        self.depth = 0
        self.nodes = 0


def decode_tree(tree: Any, walk: _Walk) -> Any:
    """The value a parsed JSON tree stands for. Anything malformed is a SerializationError naming
    where it is; a SnakeBridgeError from ``from_handle`` passes as it is."""
    try:
        return _from_json(tree, walk)
    except _Malformed as exc:
        path = "".join(reversed(exc.steps)).removeprefix(".")
        raise SerializationError(f"[json] at {path or '(root)'}: {exc}") from None
    except SnakeBridgeError:
        raise
    except RecursionError:
        raise SerializationError(f"[json] {NESTING_REFUSAL}") from None
    except Exception as exc:  # a gap in the checks below must still give a typed error
        raise SerializationError(f"[json] the value could not be decoded: {type(exc).__name__}: {exc}") from exc


# A top-down walk rather than json's object_hook: the hook runs inside-out and
# would unwrap a tag nested in an escaped user object. Loops rather than
# comprehensions, so one or two Python frames per level.
def _from_json(value: Any, walk: _Walk) -> Any:
    walk.nodes += 1
    if isinstance(value, list):
        return _decode_container(value, None, walk)
    if not isinstance(value, dict):
        return value
    if TAG not in value:
        return _decode_container(value, None, walk)
    tag = value[TAG]
    if isinstance(tag, str) and tag in _CONTAINER_TAGS:
        return _decode_container(value, tag, walk)
    return _decode_leaf(tag, value, walk)


def _decode_container(value: Any, tag: str | None, walk: _Walk) -> Any:
    """A list, an object, or a tagged map, set or wrapped object: one level deeper."""
    if walk.depth >= MAX_NESTING_DEPTH:
        raise _Malformed(NESTING_REFUSAL)
    walk.depth += 1
    try:
        if isinstance(value, list):
            return _decode_list(value, walk)
        if tag is None:
            return _decode_object(value, walk)
        v = value.get("v")
        if tag == "map":
            return _decode_map(_expect(v, list, "map"), walk)
        if tag == "set":
            return _decode_set(_expect(v, list, "set"), walk)
        return _decode_object(_expect(v, dict, "object"), walk)
    finally:
        walk.depth -= 1


def _decode_list(items: list[Any], walk: _Walk) -> list[Any]:
    i = 0
    try:
        for i, item in enumerate(items):
            items[i] = _from_json(item, walk)
    except _Malformed as exc:
        exc.steps.append(f"[{i}]")
        raise
    return items


def _decode_object(value: dict[str, Any], walk: _Walk) -> dict[str, Any]:
    result: dict[str, Any] = {}
    key = ""
    try:
        for key, item in value.items():
            result[key] = _from_json(item, walk)
    except _Malformed as exc:
        exc.steps.append(f".{key}")
        raise
    return result


def _decode_map(entries: list[Any], walk: _Walk) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    i = 0
    try:
        for i in range(len(entries)):
            entry = entries[i]
            if not isinstance(entry, list) or len(entry) != 2:
                raise _Malformed("a map entry must be [key, value]")
            result[_hashable(_from_json(entry[0], walk))] = _from_json(entry[1], walk)
    except _Malformed as exc:
        exc.steps.append(f"<entry {i}>")
        raise
    return result


def _decode_set(items: list[Any], walk: _Walk) -> set[Any]:
    members: set[Any] = set()
    i = 0
    try:
        for i in range(len(items)):
            members.add(_hashable(_from_json(items[i], walk)))
    except _Malformed as exc:
        exc.steps.append(f"<item {i}>")
        raise
    return members


def _decode_leaf(tag: Any, value: dict[str, Any], walk: _Walk) -> Any:
    v = value.get("v")
    if tag == "float":
        return _float(_expect(v, str, "float"))
    if tag == "int":
        return _int(_expect(v, str, "int"))
    if tag == "bytes":
        return _base64(v, "bytes")
    if tag == "date":
        return _date(_expect(v, str, "date"))
    if tag == "ndarray":
        return _ndarray(value)
    if tag == "handle":
        return _handle(value, walk.from_handle)
    if tag == "callback":
        return _callback(value.get("id"), walk.from_callback)
    raise _Malformed(f"unknown tag {tag!r}" if isinstance(tag, str) else f"unknown tag of type {type(tag).__name__}")


def _expect(value: Any, kind: type, tag: str) -> Any:
    if not isinstance(value, kind):
        raise _Malformed(f"tag {tag} needs {'a string' if kind is str else f'a {kind.__name__}'}")
    return value


def _float(text: str) -> float:
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    try:
        return float(text)
    except ValueError:
        raise _Malformed(f"bad float {text[:40]!r}") from None


def _int(text: str) -> int:
    try:
        number = int(text)  # refuses more digits than sys.get_int_max_str_digits() before reading them
    except ValueError:
        if len(text) > 64 and _INTEGER.fullmatch(text[:64]):
            raise _Malformed(f"an int of {len(text)} digits, more than Python reads") from None
        raise _Malformed(f"bad int {text[:40]!r}") from None
    if not _INTEGER.fullmatch(text):  # int() also takes spaces, underscores and a plus sign
        raise _Malformed(f"bad int {text[:40]!r}")
    return number


def _base64(value: Any, tag: str) -> bytes:
    """Standard base64 with padding, as both sides write it; anything else is refused rather than skipped."""
    if not isinstance(value, str):
        raise _Malformed(f"tag {tag} needs base64")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _Malformed(f"tag {tag} needs base64") from None


def _date(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Malformed(f"bad date {text[:40]!r}") from None


def _ndarray(value: dict[str, Any]) -> Any:
    dtype, shape = value.get("dtype"), value.get("shape")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise _Malformed(f"unsupported dtype {dtype!r}")
    if not isinstance(shape, list) or not all(type(size) is int and size >= 0 for size in shape):
        raise _Malformed("an ndarray shape holds non-negative integers")
    raw = _base64(value.get("v"), "ndarray")
    if math.prod(shape) * ITEM_SIZES[dtype] != len(raw):
        raise _Malformed(f"an ndarray of shape {shape} cannot hold {len(raw)} bytes of {dtype}")
    return decode_ndarray(dtype, shape, raw)


def _handle(value: dict[str, Any], from_handle: FromHandle | None) -> Any:
    handle_id = value.get("id")
    if type(handle_id) is not int or not 1 <= handle_id <= 0xFFFFFFFF:
        raise _Malformed("a handle needs an id from 1 to 2^32-1")
    if not isinstance(value.get("type"), str):
        raise _Malformed("a handle needs a type name")
    if from_handle is None:
        raise SerializationError("[json] a handle arrived where no handles can be resolved")
    return from_handle(handle_id)


def _callback(index: Any, from_callback: FromCallback | None) -> Any:
    if type(index) is not int or index < 1:
        raise _Malformed(f"a callback reference needs a positive integer id, not {index!r}")
    return CallbackRef(index) if from_callback is None else from_callback(index)


def _hashable(value: Any) -> Any:
    """Lists become tuples so they can be dict keys or set members, as JavaScript allows."""
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    return value
