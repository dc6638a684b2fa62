"""The JSON serializer: the Python side of ``JsonSerializer`` in ``@snakebridge/core``.

Readable, needs nothing installed; for debugging and as a fallback. What JSON
lacks travels as tagged objects ``{"$sb": tag, ...}`` (docs/serialization.md).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from typing import Any, NamedTuple

from ..errors import SerializationError
from .base import MAX_SAFE_INTEGER, CallbackRef, FromCallback, FromHandle, ToHandle
from .ndarray import decode_ndarray, describe_ndarray, is_ndarray, numpy_scalar_value

TAG = "$sb"
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "-0": -0.0}


class JsonSerializer:
    """UTF-8 JSON with tagged objects for NaN, bytes, big ints, dates, maps, sets, arrays, handles and callbacks."""

    id = "json"
    wire_id = 1

    def encode(self, value: Any, to_handle: ToHandle | None = None) -> bytes:
        try:
            tree = _to_json(value, to_handle, "")
            return json.dumps(tree, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
        except SerializationError:
            raise
        except (TypeError, ValueError, RecursionError) as exc:
            raise SerializationError(f"[json] {exc}") from exc

    def decode(
        self, data: bytes | memoryview, from_handle: FromHandle | None = None, from_callback: FromCallback | None = None
    ) -> Any:
        try:
            tree = json.loads(bytes(data).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise SerializationError(f"[json] not valid UTF-8 JSON: {exc}") from exc
        return _from_json(tree, _Resolvers(from_handle, from_callback))


# --- encoding -------------------------------------------------------------------


def _to_json(value: Any, to_handle: ToHandle | None, path: str) -> Any:
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        # Beyond 2^53 a JavaScript number would round; send the exact digits instead.
        return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else {TAG: "int", "v": str(value)}
    if isinstance(value, float):
        return _encode_float(value)
    if isinstance(value, (list, tuple)):
        return [_to_json(item, to_handle, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        return _encode_dict(value, to_handle, path)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {TAG: "bytes", "v": base64.b64encode(value).decode("ascii")}
    if isinstance(value, (set, frozenset)):
        return {TAG: "set", "v": [_to_json(item, to_handle, path) for item in value]}
    if isinstance(value, (dt.datetime, dt.date)):
        return {TAG: "date", "v": _iso_utc(value)}
    if is_ndarray(value):
        dtype, shape, raw = describe_ndarray(value)
        return {TAG: "ndarray", "dtype": dtype, "shape": shape, "v": base64.b64encode(raw).decode("ascii")}
    if isinstance(value, CallbackRef):
        return {TAG: "callback", "id": value.index}
    scalar = numpy_scalar_value(value)
    if scalar is not None:
        return _to_json(scalar, to_handle, path)
    if to_handle is None:
        raise SerializationError(f"[json] at {path or '(root)'}: cannot send a {type(value).__qualname__} by value")
    wire = to_handle(value)
    tagged: dict[str, Any] = {TAG: "handle", "id": wire.id, "type": wire.type}
    if wire.repr is not None:
        tagged["repr"] = wire.repr
    return tagged


def _encode_float(value: float) -> Any:
    if math.isnan(value):
        return {TAG: "float", "v": "NaN"}
    if math.isinf(value):
        return {TAG: "float", "v": "Infinity" if value > 0 else "-Infinity"}
    if value == 0.0 and math.copysign(1.0, value) < 0:
        return {TAG: "float", "v": "-0"}
    return value


def _encode_dict(value: dict[Any, Any], to_handle: ToHandle | None, path: str) -> Any:
    if all(isinstance(key, str) for key in value):
        result = {key: _to_json(item, to_handle, f"{path}.{key}" if path else key) for key, item in value.items()}
        # A user dict that happens to use our tag key is wrapped, so it is not mistaken for a tag.
        return {TAG: "object", "v": result} if TAG in result else result
    entries = [[_to_json(k, to_handle, path), _to_json(v, to_handle, f"{path}[{k!r}]")] for k, v in value.items()]
    return {TAG: "map", "v": entries}


def _iso_utc(value: dt.date) -> str:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)  # naive datetimes are taken as UTC
    utc = value.astimezone(dt.timezone.utc)
    # JavaScript dates hold milliseconds; match Date.prototype.toISOString().
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


# --- decoding -------------------------------------------------------------------


class _Resolvers(NamedTuple):
    """What handles and callback references in the value become."""

    from_handle: FromHandle | None
    from_callback: FromCallback | None


# A top-down walk rather than json's object_hook: the hook runs inside-out and
# would unwrap a tag nested in an escaped user object.
def _from_json(value: Any, resolvers: _Resolvers) -> Any:
    if isinstance(value, list):
        return [_from_json(item, resolvers) for item in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(TAG)
    if tag is None:
        return {key: _from_json(item, resolvers) for key, item in value.items()}
    return _decode_tagged(tag, value, resolvers)


def _decode_tagged(tag: str, value: dict[str, Any], resolvers: _Resolvers) -> Any:
    v = value.get("v")
    if tag == "float":
        return _SPECIAL_FLOATS[v] if v in _SPECIAL_FLOATS else float(v)
    if tag == "int":
        return int(v)
    if tag == "bytes":
        return base64.b64decode(v)
    if tag == "date":
        return dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    if tag == "map":
        return {_hashable(_from_json(k, resolvers)): _from_json(item, resolvers) for k, item in v}
    if tag == "set":
        return {_hashable(_from_json(item, resolvers)) for item in v}
    if tag == "ndarray":
        return decode_ndarray(value["dtype"], value["shape"], base64.b64decode(v))
    if tag == "handle":
        if resolvers.from_handle is None:
            raise SerializationError("[json] a handle arrived where no handles can be resolved")
        return resolvers.from_handle(int(value["id"]))
    if tag == "callback":
        return _callback(value.get("id"), resolvers.from_callback)
    if tag == "object":
        return {key: _from_json(item, resolvers) for key, item in v.items()}
    raise SerializationError(f"[json] unknown tag {tag!r}")


def _callback(index: Any, from_callback: FromCallback | None) -> Any:
    if type(index) is not int or index < 1:
        raise SerializationError(f"[json] a callback reference needs a positive integer id, not {index!r}")
    return CallbackRef(index) if from_callback is None else from_callback(index)


def _hashable(value: Any) -> Any:
    """Lists become tuples so they can be dict keys or set members, as JavaScript allows."""
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    return value
