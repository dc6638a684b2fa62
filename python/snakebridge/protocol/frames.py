"""Frames: a 24-byte little-endian header that checks itself, then a body (docs/protocol.md).

The header's version byte, reserved zeros and CRC-32 let a reader see at the very next
header that it lost a frame boundary, instead of reading garbage as frames.
Mirrors packages/adapter-stdio/src/protocol/frames.ts; both are pinned by
vectors/protocol/frames.json.
"""

from __future__ import annotations

import struct
import zlib
from enum import IntEnum
from typing import NamedTuple

#: Version of the frame format, the header's version byte. (HELLO and READY carry in aux the version of the
#: protocol the stdio worker shares with the gRPC service, ``snakebridge.PROTOCOL_VERSION``, which did not change.)
FRAME_VERSION = 2
#: The header's fields: length, kind, flags, serializer, version, id, aux (16 bytes).
HEADER = struct.Struct("<IBBBBII")
#: Then four reserved bytes (0), and the CRC-32 of the 20 bytes before it.
_CHECKED = HEADER.size + 4
_U32 = struct.Struct("<I")
_RESERVED = bytes(4)
#: The whole header at once, for the reader's fast path.
_WHOLE = struct.Struct("<IBBBBIIII")
#: A multiple of 8, so a body starts 8-aligned wherever its header did (msgpack's typed arrays are read in place).
HEADER_SIZE = _CHECKED + 4  # 24
#: The length field counts the header bytes after itself, then the body.
_LENGTH_OVERHEAD = HEADER_SIZE - 4

FLAG_STREAM = 0x01
#: On CALL: the call makes a promised handle (its id in aux) or names promised handles (docs/protocol.md, "Pipelining").
FLAG_PIPELINED = 0x02
#: On CALL, RESULT and ITEM: the body ends with a table of shared-memory segments (protocol/segments.py).
FLAG_SEGMENTS = 0x04

#: Bodies at least this large are handed over without a copy, and read straight into the buffer.
_LARGE_BODY = 1 << 16
#: Most room a direct read of a large body adds to the buffer: the reader holds at most this beyond what arrived.
BODY_STEP = 1 << 20
_ZEROS = memoryview(bytes(BODY_STEP))


class Kind(IntEnum):
    HELLO = 0x01
    READY = 0x02
    CALL = 0x10
    RESULT = 0x11
    ERROR = 0x12
    ITEM = 0x13
    END = 0x14
    CREDIT = 0x15
    CANCEL = 0x16
    RELEASE = 0x17
    #: Worker -> host: run the function the host passed in a call's arguments (aux: that call's id).
    CALLBACK = 0x18
    #: Host -> worker, on the control channel: what the function returned.
    CALLBACK_RESULT = 0x19
    #: Host -> worker, on the control channel: the function threw, or it expired with its call.
    CALLBACK_ERROR = 0x1A
    PING = 0x20
    PONG = 0x21
    #: Worker -> host: a Python ``logging`` record (JSON; log_forwarding.py), when HELLO asked for them.
    LOG = 0x30


class _Rule(NamedTuple):
    """What a header may hold for one kind of frame; anything else is a malformed frame."""

    flags: int
    serializers: frozenset[int]
    empty: bool = False
    aux: bool = False


_VALUES = frozenset({1, 2, 3, 4})
_JSON_ONLY = frozenset({1})
_JSON_BODY = frozenset({0, 1})
_NONE = frozenset({0})

_RULES: dict[int, _Rule] = {
    Kind.HELLO: _Rule(0, _JSON_BODY, aux=True),
    Kind.READY: _Rule(0, _JSON_BODY, aux=True),
    Kind.CALL: _Rule(FLAG_STREAM | FLAG_PIPELINED | FLAG_SEGMENTS, _VALUES, aux=True),
    Kind.RESULT: _Rule(FLAG_SEGMENTS, _VALUES),
    Kind.ERROR: _Rule(0, _JSON_ONLY),
    Kind.ITEM: _Rule(FLAG_SEGMENTS, _VALUES),
    Kind.END: _Rule(0, _NONE, empty=True),
    Kind.CREDIT: _Rule(0, _NONE, empty=True, aux=True),
    Kind.CANCEL: _Rule(0, _NONE, empty=True),
    Kind.RELEASE: _Rule(0, _JSON_BODY),
    Kind.CALLBACK: _Rule(0, _VALUES, aux=True),
    Kind.CALLBACK_RESULT: _Rule(0, _VALUES),
    Kind.CALLBACK_ERROR: _Rule(0, _JSON_ONLY),
    Kind.PING: _Rule(0, _NONE, empty=True),
    Kind.PONG: _Rule(0, _JSON_BODY),
    Kind.LOG: _Rule(0, _JSON_ONLY),
}


def kind_name(kind: int) -> str:
    """``RESULT``, or ``kind 0xee`` for a kind that does not exist."""
    return Kind(kind).name if kind in _RULES else f"kind {kind:#04x}"


# NamedTuples rather than frozen dataclasses: one is made per frame, and they cost a third as much.
class Frame(NamedTuple):
    kind: int
    id: int = 0
    body: bytes | bytearray | memoryview = b""
    serializer: int = 0
    flags: int = 0
    aux: int = 0


class FrameTooLarge(NamedTuple):
    """A well-formed frame the reader refused for its size; its body was skipped, not buffered."""

    kind: int
    id: int
    size: int


class FrameError(ValueError):
    """A frame header that breaks the protocol: the byte stream is out of step and cannot be trusted.

    ``fault`` names the broken rule (``length``, ``kind``, ``body``, ``flags``,
    ``serializer``, ``version``, ``aux``, ``reserved``, ``checksum``, ``unexpected-kind``),
    as the TypeScript decoder's ``MalformedFrameError.fault`` does; ``frames``
    holds the complete frames that came before it.
    """

    def __init__(self, fault: str, detail: str, frames: list[Frame | FrameTooLarge] | None = None) -> None:
        super().__init__(f"malformed frame: {detail}")
        self.fault = fault
        self.frames: list[Frame | FrameTooLarge] = frames or []


def frame_parts(
    kind: int, id: int, body: bytes | bytearray | memoryview = b"", serializer: int = 0, flags: int = 0, aux: int = 0
) -> tuple[bytes, bytes | bytearray | memoryview]:
    """Header and body of a frame, for a vectored write that does not copy the body."""
    fields = HEADER.pack(_LENGTH_OVERHEAD + len(body), kind, flags, serializer, FRAME_VERSION, id, aux) + _RESERVED
    return fields + _U32.pack(zlib.crc32(fields)), body


def encode_frame(
    kind: int, id: int, body: bytes | bytearray | memoryview = b"", serializer: int = 0, flags: int = 0, aux: int = 0
) -> bytes:
    """A whole frame, header and body, in one bytes object."""
    header, payload = frame_parts(kind, id, body, serializer, flags, aux)
    return header + bytes(payload)


def header_fault(
    data: bytes | bytearray | memoryview, offset: int = 0, accept: frozenset[int] | None = None
) -> tuple[str, str] | None:
    """The first rule broken by the header at ``offset`` as far as it has arrived, as ``(fault, detail)``, or None.

    Each field is checked as soon as its bytes are there, so garbage is
    refused without waiting for more of it. The size limit is not checked
    here: a well-formed frame over it is skipped (``FrameTooLarge``), not fatal.
    """
    available = min(len(data) - offset, HEADER_SIZE)
    if available < 4:
        return None
    (length,) = _U32.unpack_from(data, offset)
    if length < _LENGTH_OVERHEAD:
        return "length", f"its length field says {length}, less than the {_LENGTH_OVERHEAD} header bytes it counts"
    if available < 5:
        return None
    kind = data[offset + 4]
    rule = _RULES.get(kind)
    if rule is None:
        return "kind", f"unknown frame kind {kind:#04x}"
    if accept is not None and kind not in accept:
        return "unexpected-kind", f"{kind_name(kind)} frames do not come this way"
    if rule.empty and length != _LENGTH_OVERHEAD:
        return "body", f"{kind_name(kind)} carries no body, but this one announces {length - _LENGTH_OVERHEAD} bytes"
    return _field_fault(data, offset, available, kind, rule)


def _field_fault(
    data: bytes | bytearray | memoryview, offset: int, available: int, kind: int, rule: _Rule
) -> tuple[str, str] | None:
    """The rest of header_fault: flags, serializer, version, aux, reserved bytes and checksum, as far as they arrived."""
    if available >= 6 and data[offset + 5] & ~rule.flags:
        return "flags", f"flags {data[offset + 5]:#x} on {kind_name(kind)}"
    if available >= 7 and data[offset + 6] not in rule.serializers:
        allowed = ", ".join(str(s) for s in sorted(rule.serializers))
        return "serializer", f"serializer {data[offset + 6]} on {kind_name(kind)} (allowed: {allowed})"
    if available >= 8 and data[offset + 7] != FRAME_VERSION:
        return "version", _describe_version(data[offset + 7])
    if available < HEADER.size:
        return None
    aux = _U32.unpack_from(data, offset + 12)[0]
    if aux and not rule.aux:
        return "aux", f"aux {aux} on {kind_name(kind)}, which gives aux no meaning"
    if available < _CHECKED:
        return None
    (reserved,) = _U32.unpack_from(data, offset + HEADER.size)
    if reserved:
        return "reserved", f"reserved bytes {reserved:#010x}, not 0"
    if available < HEADER_SIZE:
        return None
    expected = zlib.crc32(memoryview(data)[offset : offset + _CHECKED])
    (found,) = _U32.unpack_from(data, offset + _CHECKED)
    if found != expected:
        return "checksum", f"header checksum {found:#010x} does not match its bytes ({expected:#010x})"
    return None


def _describe_version(version: int) -> str:
    peer = "the format of snakebridge 0.1 (no version byte)" if version == 0 else f"frame format {version}"
    return (
        f"frame version {version}: the peer writes {peer}, this side {FRAME_VERSION}. Install matching versions "
        "of @snakebridge/adapter-stdio and the snakebridge Python package (or the bytes are out of step)"
    )


class FrameReader:
    """Splits a byte stream into frames, however the bytes are chunked.

    Feed it with ``feed()``; iterate ``frames()`` for what is complete. Every
    header is checked as its bytes arrive (``header_fault``); a bad one raises
    ``FrameError``, after which the reader must not be used again. A
    well-formed frame larger than ``max_frame_bytes`` comes out as a
    ``FrameTooLarge`` and its body is skipped as it arrives, so the stream
    stays in step. ``accept``, if set, lists the kinds that may arrive.

    The reader never allocates for what a header announces: it holds only
    bytes that have arrived (``buffered``), plus at most ``BODY_STEP`` of room
    handed out by ``buffer_for_body()``. ``wants()`` tells how many bytes a
    large body still needs, so the caller can read them straight into that room.
    """

    def __init__(self, max_frame_bytes: int, accept: frozenset[int] | None = None) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.accept = accept
        self._buffer = bytearray()
        self._skip = 0
        #: Where the large frame at the front of the buffer ends, once its header has been checked; else 0.
        self._large_end = 0
        #: Room at the end of the buffer handed out by buffer_for_body() and not filled yet.
        self._room = 0

    @property
    def buffered(self) -> int:
        """Bytes held for frames not complete yet (all of them arrived)."""
        return len(self._buffer) - self._room

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if self._skip:
            skipped = min(self._skip, len(data))
            self._skip -= skipped
            data = memoryview(data)[skipped:]
        if len(data):
            self._buffer += data

    def frames(self) -> list[Frame | FrameTooLarge]:
        """The frames completed by what was fed so far, in order (each returned once)."""
        out: list[Frame | FrameTooLarge] = []
        offset = 0
        end = len(self._buffer)
        try:
            while not self._skip and offset < end:  # nothing left after the last frame: no call to find out
                taken = self._next(offset, out)
                if taken is None:
                    break
                offset = taken
        finally:
            if offset:
                del self._buffer[:offset]
        return out

    def _next(self, offset: int, out: list[Frame | FrameTooLarge]) -> int | None:
        """Parses the frame at ``offset`` into ``out``; returns where the next one starts, None if it is incomplete."""
        buffer = self._buffer
        if len(buffer) - offset < HEADER_SIZE:
            fault = header_fault(buffer, offset, self.accept)  # refuse a bad start without waiting for the rest
            if fault is not None:
                raise FrameError(*fault, out)
            return None
        length, kind, flags, serializer, version, id, aux, reserved, check = _WHOLE.unpack_from(buffer, offset)
        rule = _RULES.get(kind)
        # The rules of header_fault, inline: this runs for every frame. header_fault then says which one failed.
        if (
            rule is None
            or length < _LENGTH_OVERHEAD
            or flags & ~rule.flags
            or serializer not in rule.serializers
            or version != FRAME_VERSION
            or reserved
            or (aux and not rule.aux)
            or (rule.empty and length != _LENGTH_OVERHEAD)
            or (self.accept is not None and kind not in self.accept)
            or check != zlib.crc32(buffer[offset : offset + _CHECKED])
        ):
            raise FrameError(*(header_fault(buffer, offset, self.accept) or ("checksum", "bad header")), out)
        size = length - _LENGTH_OVERHEAD
        start = offset + HEADER_SIZE
        if size > self.max_frame_bytes:
            skipped = min(size, len(buffer) - start)
            self._skip = size - skipped
            out.append(FrameTooLarge(kind, id, size))
            return start + skipped
        end = start + size
        if end > len(buffer):
            self._large_end = end - offset if size >= _LARGE_BODY else 0
            return None
        if size >= _LARGE_BODY:
            out.append(Frame(kind, id, self._take(offset, end), serializer, flags, aux))
            return 0
        out.append(Frame(kind, id, bytes(buffer[start:end]), serializer, flags, aux))
        return end

    def _take(self, offset: int, end: int) -> bytearray:
        """The body of the large frame at ``buffer[offset:end]``, taken out of the buffer without copying it."""
        body = self._buffer
        self._buffer = body[end:]  # what follows: at most one read's worth
        self._large_end = 0
        del body[end:]
        del body[: offset + HEADER_SIZE]  # cheap: a bytearray drops bytes at its front by moving its start
        return body

    def wants(self) -> int:
        """Bytes still missing from a large body being read, else 0."""
        if not self._large_end:
            return 0
        return self._large_end - self.buffered

    def buffer_for_body(self) -> memoryview:
        """Room for the next bytes of the large body, at most ``BODY_STEP``, added to the buffer now.

        Write into it, release it, then call ``filled(n)`` with the bytes written.
        """
        step = min(self.wants(), BODY_STEP)
        assert step > 0, "buffer_for_body() without a large body in progress"
        self._buffer += _ZEROS[:step]
        self._room = step
        return memoryview(self._buffer)[len(self._buffer) - step :]

    def filled(self, count: int) -> None:
        """``count`` bytes of the room were written; the rest is given back."""
        unused, self._room = self._room - count, 0
        if unused > 0:
            del self._buffer[len(self._buffer) - unused :]
