"""The meta block at the start of a CALL body (docs/protocol.md, "Calls").

A body that is not a valid meta block is a ProtocolError, whatever is wrong
with it, as in packages/adapter-stdio/src/protocol/call.ts.
"""

from __future__ import annotations

import struct
from enum import IntEnum
from typing import NamedTuple

from ..errors import ProtocolError

#: op, reserved, target length, handle, session, window, timeout ms
CALL_META = struct.Struct("<BBHIIII")
#: The bit that marks a promised handle id: the host names those, the worker's own handle ids stay below it.
PROMISED = 0x8000_0000


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
    #: The promised handle id its outcome is kept under (0: none); over stdio the CALL frame's aux.
    promise: int = 0
    #: The host's pipeline scope its promised ids belong to: empty over stdio (one host per worker).
    scope: str = ""


def encode_call(meta: CallMeta, payload: bytes = b"") -> bytes:
    """The CALL body for ``meta`` and the serialized ``[args, kwargs]``; ProtocolError for meta the
    other side would refuse (an unknown op, a target beyond 65,535 bytes, numbers that are not u32)."""
    target = meta.target.encode("utf-8")
    if meta.op not in _OPS:
        raise ProtocolError(f"unknown call op {meta.op!r}")
    if len(target) > 0xFFFF:
        raise ProtocolError(f"a call target is limited to 65535 bytes, got {len(target)}")
    try:
        head = CALL_META.pack(meta.op, 0, len(target), meta.handle, meta.session, meta.window, meta.timeout_ms)
    except struct.error as exc:
        raise ProtocolError(f"a call's handle, session, window and timeout are u32: {exc}") from None
    return head + target + payload


def decode_call(body: bytes | bytearray | memoryview) -> tuple[CallMeta, memoryview]:
    """The meta of a CALL body and a view of its payload (the serialized ``[args, kwargs]``).

    Raises ProtocolError naming what is wrong: a body shorter than the meta block, an unknown op,
    a reserved byte that is not 0, a target running past the body or not UTF-8.
    """
    if len(body) < CALL_META.size:
        raise ProtocolError(f"a CALL body of {len(body)} bytes is shorter than its {CALL_META.size}-byte meta")
    op, reserved, target_length, handle, session, window, timeout_ms = CALL_META.unpack_from(body, 0)
    if op not in _OPS:
        raise ProtocolError(f"a CALL with unknown op {op}")
    if reserved:
        raise ProtocolError(f"a CALL whose reserved byte is {reserved}, not 0")
    end = CALL_META.size + target_length
    if len(body) < end:
        raise ProtocolError("a CALL target runs past the end of the frame")
    view = memoryview(body)
    try:
        target = bytes(view[CALL_META.size : end]).decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("a CALL target is not valid UTF-8") from None
    return CallMeta(Op(op), target, handle, session, window, timeout_ms), view[end:]


_OPS = frozenset(op.value for op in Op)
