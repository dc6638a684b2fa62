"""The segment table at the end of a CALL, RESULT or ITEM body that has the
SEGMENTS flag (docs/protocol.md, "Shared memory"): the shared-memory segments
the value in the body names, by index. Mirrors
packages/adapter-stdio/src/protocol/segments.ts."""

from __future__ import annotations

import struct
from typing import NamedTuple

from ..errors import ProtocolError

#: One entry: the sender's file descriptor (u32), 4 reserved zero bytes, the segment's length (u64).
_ENTRY = struct.Struct("<IIQ")
_COUNT = struct.Struct("<I")
#: Most segments one frame may name: the table is read, and its segments opened, before anything else.
MAX_SEGMENTS = 1024


class SegmentEntry(NamedTuple):
    """A segment: a file descriptor of the process that sent the frame, and the file's exact length."""

    ref: int
    length: int


def segment_table(entries: list[SegmentEntry]) -> bytes:
    """The table for ``entries``: each entry, then their count, to be sent after the body."""
    return b"".join(_ENTRY.pack(ref, 0, length) for ref, length in entries) + _COUNT.pack(len(entries))


def split_segment_table(body: bytes | bytearray | memoryview) -> tuple[memoryview, list[SegmentEntry]]:
    """The body without its table, and the table's entries.

    Raises:
        ProtocolError: the table does not fit the body, names no segment or
            more than MAX_SEGMENTS, or sets its reserved bytes.
    """
    view = memoryview(body)
    if len(view) < _COUNT.size:
        raise ProtocolError("a segment table that is shorter than its count")
    (count,) = _COUNT.unpack_from(view, len(view) - _COUNT.size)
    if not 1 <= count <= MAX_SEGMENTS:
        raise ProtocolError(f"a segment table that names {count} segments (1 to {MAX_SEGMENTS} allowed)")
    start = len(view) - _COUNT.size - count * _ENTRY.size
    if start < 0:
        raise ProtocolError(f"a segment table of {count} segments that runs past the start of the body")
    entries = []
    for at in range(start, len(view) - _COUNT.size, _ENTRY.size):
        ref, reserved, length = _ENTRY.unpack_from(view, at)
        if reserved:
            raise ProtocolError("a segment table that has reserved bytes that are not 0")
        entries.append(SegmentEntry(ref, length))
    return view[:start], entries
