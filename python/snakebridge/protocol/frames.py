"""Frames: a 16-byte little-endian header and a body (docs/protocol.md)."""

from __future__ import annotations

import struct
from enum import IntEnum
from typing import NamedTuple

#: length, kind, flags, serializer, reserved, id, aux
HEADER = struct.Struct("<IBBBBII")
HEADER_SIZE = HEADER.size  # 16
#: The length field counts the header bytes after itself.
_LENGTH_OVERHEAD = HEADER_SIZE - 4

FLAG_STREAM = 0x01


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


_KINDS = frozenset(int(kind) for kind in Kind)


# NamedTuples rather than frozen dataclasses: one is made per frame, and they cost a third as much.
class Frame(NamedTuple):
    kind: int
    id: int = 0
    body: bytes | bytearray | memoryview = b""
    serializer: int = 0
    flags: int = 0
    aux: int = 0


class FrameTooLarge(NamedTuple):
    """A frame the reader refused for its size; its body was skipped, not buffered."""

    kind: int
    id: int
    size: int


def frame_parts(
    kind: int, id: int, body: bytes | bytearray | memoryview = b"", serializer: int = 0, flags: int = 0, aux: int = 0
) -> tuple[bytes, bytes | bytearray | memoryview]:
    """Header and body of a frame, for a vectored write that does not copy the body."""
    header = HEADER.pack(_LENGTH_OVERHEAD + len(body), kind, flags, serializer, 0, id, aux)
    return header, body


def encode_frame(
    kind: int, id: int, body: bytes | bytearray | memoryview = b"", serializer: int = 0, flags: int = 0, aux: int = 0
) -> bytes:
    header, payload = frame_parts(kind, id, body, serializer, flags, aux)
    return header + bytes(payload)


class FrameReader:
    """Splits a byte stream into frames, however the bytes are chunked.

    Feed it with ``feed()``; iterate ``frames()`` for what is complete. A frame
    larger than ``max_frame_bytes`` comes out as a ``FrameTooLarge`` and its
    body is skipped as it arrives, so the stream stays in step.

    ``wants()`` tells how many bytes the reader needs to finish a large body,
    so the caller can read them straight into ``buffer_for_body()`` without
    an extra copy.
    """

    def __init__(self, max_frame_bytes: int) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._buffer = bytearray()
        self._skip = 0
        self._pending: tuple[int, int, int, int, int, int] | None = None  # header of a frame being filled
        self._body: bytearray | None = None
        self._filled = 0

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if self._skip:
            skipped = min(self._skip, len(data))
            self._skip -= skipped
            data = memoryview(data)[skipped:]
        if self._body is not None:
            taken = min(len(self._body) - self._filled, len(data))
            self._body[self._filled : self._filled + taken] = memoryview(data)[:taken]
            self._filled += taken
            data = memoryview(data)[taken:]
        if len(data):
            self._buffer += data

    def frames(self) -> list[Frame | FrameTooLarge]:
        """The frames completed by what was fed so far, in order (each returned once)."""
        out: list[Frame | FrameTooLarge] = []
        if self._body is not None:
            if self._filled < len(self._body):
                return out
            kind, flags, serializer, id, aux, _ = self._pending  # type: ignore[misc]
            body = self._body
            self._body, self._pending, self._filled = None, None, 0
            out.append(Frame(kind, id, body, serializer, flags, aux))
        buffer = self._buffer
        offset = 0
        while len(buffer) - offset >= HEADER_SIZE and not self._skip:
            length, kind, flags, serializer, _, id, aux = HEADER.unpack_from(buffer, offset)
            if kind not in _KINDS or length < _LENGTH_OVERHEAD:
                del buffer[:offset]
                raise ValueError(f"malformed frame header (kind {kind:#x}, length {length})")
            body_size = length - _LENGTH_OVERHEAD
            start = offset + HEADER_SIZE
            available = len(buffer) - start
            if body_size > self.max_frame_bytes:
                skipped = min(body_size, available)
                self._skip = body_size - skipped
                offset = start + skipped
                out.append(FrameTooLarge(kind, id, body_size))
                continue
            if available >= body_size:
                out.append(Frame(kind, id, bytes(buffer[start : start + body_size]), serializer, flags, aux))
                offset = start + body_size
                continue
            if body_size >= 1 << 16:
                # A large body: give it its own buffer and fill it in place from now on.
                self._body = bytearray(body_size)
                self._body[:available] = buffer[start:]
                self._filled = available
                self._pending = (kind, flags, serializer, id, aux, body_size)
                offset = len(buffer)
            break
        del buffer[:offset]
        return out

    def wants(self) -> int:
        """Bytes still missing from a large body being filled, else 0."""
        return 0 if self._body is None else len(self._body) - self._filled

    def buffer_for_body(self) -> memoryview:
        """Where the next ``wants()`` bytes of a large body go; call ``filled(n)`` after writing."""
        assert self._body is not None
        return memoryview(self._body)[self._filled :]

    def filled(self, count: int) -> None:
        self._filled += count
