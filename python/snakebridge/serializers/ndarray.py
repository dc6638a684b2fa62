"""numpy arrays on the wire: dtype, shape and raw little-endian bytes.

numpy is optional: a worker without it never meets an ndarray to send, and
refuses one that arrives with an error saying to install it. The module is
looked up in ``sys.modules`` rather than imported, so serializing plain data
never pays for importing numpy.
"""

from __future__ import annotations

import sys
from typing import Any

from ..errors import SerializationError

#: dtypes that map to JavaScript typed arrays.
DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64")
#: Bytes per element of each dtype, for checking a shape against its bytes before numpy sees them.
ITEM_SIZES = {name: int("".join(filter(str.isdigit, name))) // 8 for name in DTYPES}


def _numpy() -> Any:
    return sys.modules.get("numpy")


def is_ndarray(value: object) -> bool:
    np = _numpy()
    return np is not None and isinstance(value, np.ndarray) and value.dtype.name in DTYPES


def describe_ndarray(array: Any) -> tuple[str, list[int], memoryview]:
    """dtype name, shape and the C-ordered little-endian bytes (no copy when already so)."""
    np = _numpy()
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    contiguous = np.ascontiguousarray(little)
    # The shape comes from the original: ascontiguousarray turns a 0-d array into a 1-d one.
    return contiguous.dtype.name, list(array.shape), memoryview(contiguous).cast("B")


def decode_ndarray(dtype: str, shape: list[int], raw: bytes | memoryview) -> Any:
    """A numpy array over ``raw`` (no copy; read-only when ``raw`` is bytes)."""
    if dtype not in DTYPES:
        raise SerializationError(f"unsupported dtype {dtype!r}")
    try:
        import numpy as np
    except ImportError as exc:
        raise SerializationError(
            "a typed array arrived but numpy is not installed in the worker's Python: pip install numpy"
        ) from exc
    return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)


def numpy_scalar_value(value: object) -> Any:
    """The Python value of a numpy scalar (np.float64(1.5) -> 1.5), else None."""
    np = _numpy()
    if np is not None and isinstance(value, np.generic):
        return value.item()
    return None
