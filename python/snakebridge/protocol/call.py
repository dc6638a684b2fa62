"""The meta block at the start of a CALL body (docs/protocol.md, "Calls"), and the
trace context that may follow its target.

A body that is not a valid meta block is a ProtocolError, whatever is wrong
with it, as in packages/adapter-stdio/src/protocol/call.ts.
"""

from __future__ import annotations

import struct
from enum import IntEnum
from typing import NamedTuple

from ..errors import ProtocolError

#: op, flags, target length, handle, session, window, timeout ms
CALL_META = struct.Struct("<BBHIIII")
#: Meta flag (byte 1): a trace block follows the target. The other bits are reserved (0).
META_TRACE = 0x01
_TRACESTATE_LENGTH = struct.Struct("<H")
#: The bit that marks a promised handle id: the host names those, the worker's own handle ids stay below it.
PROMISED = 0x8000_0000


class Op(IntEnum):
    CALL = 1
    GETATTR = 2
    SETATTR = 3
    EVAL = 4
    EXEC = 5
    ITER = 6


class TraceContext(NamedTuple):
    """The W3C trace context of the caller's span (https://www.w3.org/TR/trace-context/), as it came.

    Only its framing is checked (lengths, printable ASCII); what it says is
    read where it is used (telemetry.py), which ignores a malformed one.
    """

    traceparent: str
    tracestate: str = ""


class CallMeta(NamedTuple):
    op: int
    target: str
    handle: int = 0
    session: int = 0
    window: int = 0
    timeout_ms: int = 0
    #: The caller's span, when the host traces the call: Python's span of the call is its child.
    trace: TraceContext | None = None
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
    flags = 0 if meta.trace is None else META_TRACE
    try:
        head = CALL_META.pack(meta.op, flags, len(target), meta.handle, meta.session, meta.window, meta.timeout_ms)
    except struct.error as exc:
        raise ProtocolError(f"a call's handle, session, window and timeout are u32: {exc}") from None
    if meta.trace is None:
        return head + target + payload
    return head + target + _encode_trace(meta.trace) + payload


def _encode_trace(trace: TraceContext) -> bytes:
    """The trace block: the traceparent after its length (u8), the tracestate after its length (u16 LE)."""
    if not (_printable(trace.traceparent) and _printable(trace.tracestate)):
        raise ProtocolError("a call's traceparent and tracestate must be printable ASCII")
    if len(trace.traceparent) > 0xFF:
        raise ProtocolError(f"a call's traceparent is limited to 255 bytes, got {len(trace.traceparent)}")
    if len(trace.tracestate) > 0xFFFF:
        raise ProtocolError(f"a call's tracestate is limited to 65535 bytes, got {len(trace.tracestate)}")
    parent, state = trace.traceparent.encode("ascii"), trace.tracestate.encode("ascii")
    return bytes((len(parent),)) + parent + _TRACESTATE_LENGTH.pack(len(state)) + state


def _printable(text: str) -> bool:
    return text.isascii() and text.isprintable()


def decode_call(body: bytes | bytearray | memoryview) -> tuple[CallMeta, memoryview]:
    """The meta of a CALL body and a view of its payload (the serialized ``[args, kwargs]``).

    Raises ProtocolError naming what is wrong: a body shorter than the meta block, an unknown op,
    a reserved flag bit set, a target running past the body or not UTF-8, a trace block running
    past the body or not printable ASCII.
    """
    if len(body) < CALL_META.size:
        raise ProtocolError(f"a CALL body of {len(body)} bytes is shorter than its {CALL_META.size}-byte meta")
    code, flags, target_length, handle, session, window, timeout_ms = CALL_META.unpack_from(body, 0)
    op = _OP_BY_CODE.get(code)
    if op is None:
        raise ProtocolError(f"a CALL with unknown op {code}")
    if flags & ~META_TRACE:
        raise ProtocolError(f"a CALL whose reserved flag bits are set ({flags})")
    end = CALL_META.size + target_length
    if len(body) < end:
        raise ProtocolError("a CALL target runs past the end of the frame")
    view = memoryview(body)
    try:
        target = bytes(view[CALL_META.size : end]).decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("a CALL target is not valid UTF-8") from None
    if not flags:
        return CallMeta(op, target, handle, session, window, timeout_ms), view[end:]
    trace, end = _decode_trace(view, end)
    return CallMeta(op, target, handle, session, window, timeout_ms, trace), view[end:]


def _decode_trace(view: memoryview, offset: int) -> tuple[TraceContext, int]:
    """The trace block at ``offset``, and where it ends; bounded by the body, checked for ASCII only."""
    if len(view) < offset + 1:
        raise ProtocolError("a CALL trace block runs past the end of the frame")
    parent_end = offset + 1 + view[offset]
    if len(view) < parent_end + 2:
        raise ProtocolError("a CALL traceparent runs past the end of the frame")
    (state_length,) = _TRACESTATE_LENGTH.unpack_from(view, parent_end)
    end = parent_end + 2 + state_length
    if len(view) < end:
        raise ProtocolError("a CALL tracestate runs past the end of the frame")
    traceparent = _ascii(view[offset + 1 : parent_end], "traceparent")
    tracestate = _ascii(view[parent_end + 2 : end], "tracestate")
    return TraceContext(traceparent, tracestate), end


def _ascii(data: memoryview, field: str) -> str:
    text = bytes(data).decode("latin-1")
    if not _printable(text):
        raise ProtocolError(f"a CALL {field} is not printable ASCII")
    return text


_OPS = frozenset(op.value for op in Op)
#: Looked up rather than ``Op(code)``, which costs two Python calls on every call.
_OP_BY_CODE = {op.value: op for op in Op}
