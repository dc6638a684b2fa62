"""Builds the value a golden vector describes (vectors/README.md), in Python."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from snakebridge.serializers.base import CallbackRef

VECTORS = Path(__file__).resolve().parents[2] / "vectors"


def load_vectors(relative: str) -> list[dict[str, Any]]:
    return json.loads((VECTORS / relative).read_text(encoding="utf-8"))["vectors"]


def build_value(notation: dict[str, Any], handles: dict[int, object] | None = None) -> Any:
    """The Python value for a value notation; handles resolve through ``handles``."""
    ((kind, raw),) = notation.items()
    if kind == "null":
        return None
    if kind == "bool":
        return bool(raw)
    if kind in ("int", "bigint"):
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "str":
        return raw
    if kind == "bytes":
        return bytes.fromhex(raw)
    if kind == "list":
        return [build_value(item, handles) for item in raw]
    if kind == "tuple":
        return tuple(build_value(item, handles) for item in raw)
    if kind == "dict":
        return {key: build_value(value, handles) for key, value in raw}
    if kind == "map":
        return {build_value(key, handles): build_value(value, handles) for key, value in raw}
    if kind == "set":
        return {build_value(item, handles) for item in raw}
    if kind == "date":
        return dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if kind == "ndarray":
        import numpy as np

        return np.frombuffer(bytes.fromhex(raw["hex"]), dtype=np.dtype(raw["dtype"]).newbyteorder("<")).reshape(
            raw["shape"]
        )
    if kind == "handle":
        if handles is None or raw["id"] not in handles:
            raise KeyError(f"no object for handle {raw['id']}")
        return handles[raw["id"]]
    if kind == "callback":
        return CallbackRef(raw)
    raise ValueError(f"unknown value notation {kind}")


def expected_bytes(vector: dict[str, Any]) -> bytes:
    if "hex" in vector:
        return bytes.fromhex(vector["hex"])
    return vector["text"].encode("utf-8")


def same(a: Any, b: Any) -> bool:
    """Equality that treats NaN as equal to NaN, -0.0 as distinct from 0.0, and compares arrays."""
    import math

    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if type(a).__name__ == "ndarray" or type(b).__name__ == "ndarray":
        return (
            type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()  # type: ignore[union-attr]
        )
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b
