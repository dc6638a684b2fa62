"""The Serializer interface, mirroring ``Serializer`` in ``@snakebridge/core``.

A serializer turns values into bytes and back. Objects it cannot carry by
value are handed to ``to_handle``, which keeps them in the worker and returns
the handle to send instead; handles arriving in arguments are turned back into
their objects by ``from_handle``, and references to host functions into
callables by ``from_callback``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol


class HandleWire(NamedTuple):
    """How a handle travels: its id in the worker's table, its type and a short repr."""

    id: int
    type: str
    repr: str | None = None


# Not a NamedTuple like HandleWire: msgpack packs any tuple as an array, so a tuple could never reach the
# encoder's hook that writes the reference.
@dataclass(frozen=True, slots=True)
class CallbackRef:
    """A host function in a call's arguments, as it travels: its 1-based index among the
    functions of that call (docs/protocol.md, "Callbacks").

    Decoders return one when no ``from_callback`` is given; encoders write one
    as the same reference. Inside a worker, references decode to
    ``snakebridge.HostCallback`` instead.
    """

    index: int


class Scattered:
    """An encoded value in parts, for a vectored write that copies none of them.

    What an encoder returns when large binary data (a numpy array's memory)
    is better written from where it lies than copied into the message: the
    parts, joined, are exactly the bytes ``encode`` would return. ``len()``
    is their total size; ``bytes()`` joins them, for a transport that needs
    one buffer.
    """

    __slots__ = ("parts", "size")

    def __init__(self, parts: list[bytes | memoryview]) -> None:
        self.parts = parts
        self.size = sum(memoryview(part).nbytes for part in parts)

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        return b"".join(self.parts)


#: Keeps an object in the worker and returns its handle.
ToHandle = Callable[[object], HandleWire]
#: Finds the object behind a handle id (raises HandleError if it is gone).
FromHandle = Callable[[int], object]
#: Makes the callable that stands for the host function with this index.
FromCallback = Callable[[int], object]


class SegmentedPayload:
    """A call's encoded arguments and the shared-memory segments they name (mapped), as one payload."""

    __slots__ = ("body", "segments")

    def __init__(self, body: memoryview, segments: list[memoryview]) -> None:
        self.body = body
        self.segments = segments

    def __len__(self) -> int:
        return len(self.body)


class SegmentWriter(Protocol):
    """A transport's shared-memory lane, as a serializer uses it (worker/shared_memory.py)."""

    #: Arrays of at least this many bytes go into segments.
    threshold_bytes: int

    def put(self, raw: memoryview) -> Any:
        """A new segment holding ``raw``; returns its entry for the frame's segment table (``.ref``)."""
        ...

    def release(self, refs: list[int]) -> None:
        """Frees segments that will not be sent after all."""
        ...


class Serializer(Protocol):
    #: Stable name shared with the TypeScript side: json, msgpack, arrow, protobuf.
    id: str
    #: The byte naming this serializer in frame headers.
    wire_id: int

    def encode(self, value: Any, to_handle: ToHandle | None = None) -> bytes:
        """Encodes ``value``; objects it cannot carry go to ``to_handle``."""
        ...

    def decode(
        self, data: bytes | memoryview, from_handle: FromHandle | None = None, from_callback: FromCallback | None = None
    ) -> Any:
        """Decodes ``data``; handles are resolved with ``from_handle``, callback references
        with ``from_callback`` (without it they stay ``CallbackRef``)."""
        ...


def type_name(obj: object) -> str:
    """The qualified type name sent with a handle."""
    cls = type(obj)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def short_repr(obj: object, limit: int = 120) -> str | None:
    """``repr(obj)`` cut to ``limit`` characters, or None if repr fails."""
    try:
        text = repr(obj)
    except Exception:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: Largest integer a JavaScript number holds exactly.
MAX_SAFE_INTEGER = 2**53 - 1

#: How many containers (lists, tuples, dicts, sets) deep a value may be nested, in every
#: serializer and on both sides (``MAX_NESTING_DEPTH`` in ``@snakebridge/core``): encoders
#: refuse a deeper value and decoders refuse bytes that would build one, with a
#: SerializationError rather than a RecursionError. ``[[1]]`` is 2 deep. 256 so that every
#: decoder here handles it within Python's default recursion limit (1,000, shared with the
#: caller's own frames and with the json module's C code), below msgpack's packer limit (511).
MAX_NESTING_DEPTH = 256

#: The message of every refusal of a value nested deeper than MAX_NESTING_DEPTH.
NESTING_REFUSAL = f"the value is nested more than {MAX_NESTING_DEPTH} levels deep"
