"""The meta block at the start of a CALL body (docs/protocol.md, "Calls")."""

from __future__ import annotations

import struct
from enum import IntEnum
from typing import NamedTuple

#: op, reserved, target length, handle, session, window, timeout ms
CALL_META = struct.Struct("<BBHIIII")


class Op(IntEnum):
    CALL = 1
    GETATTR = 2
    SETATTR = 3
    EVAL = 4
    EXEC = 5
    ITER = 6


class CallMeta(NamedTuple):
    op: int
    target: str
    handle: int = 0
    session: int = 0
    window: int = 0
    timeout_ms: int = 0


def encode_call(meta: CallMeta, payload: bytes = b"") -> bytes:
    target = meta.target.encode("utf-8")
    head = CALL_META.pack(meta.op, 0, len(target), meta.handle, meta.session, meta.window, meta.timeout_ms)
    return head + target + payload


def decode_call(body: bytes | bytearray | memoryview) -> tuple[CallMeta, memoryview]:
    """The meta of a CALL body and a view of its payload (the serialized ``[args, kwargs]``)."""
    if len(body) < CALL_META.size:
        raise ValueError(f"CALL body of {len(body)} bytes is shorter than its {CALL_META.size}-byte meta")
    op, _, target_length, handle, session, window, timeout_ms = CALL_META.unpack_from(body, 0)
    end = CALL_META.size + target_length
    if len(body) < end:
        raise ValueError("CALL target runs past the end of the frame")
    view = memoryview(body)
    target = bytes(view[CALL_META.size : end]).decode("utf-8")
    return CallMeta(op, target, handle, session, window, timeout_ms), view[end:]
