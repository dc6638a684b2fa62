"""Sends the frames that end a call: results, items, errors, acknowledgements.

Shared by the main-thread executor, the thread pool and the event loop, so
every call ends the same way whichever ran it. Every call gets exactly one
final frame: describing and encoding an error cannot fail, and an error too
large for a frame is cut to fit. The gRPC server builds its error replies
with the same functions (``describe``, ``payload_body``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..calls.handles import HandleTable
from ..errors import Cancelled, ProtocolError, exception_payload, qualified_name
from ..protocol import Kind
from ..serializers.base import HandleWire, Serializer, ToHandle
from .connection import Writer

JSON_WIRE_ID = 1
#: Shortest cut of an error's texts tried before it is sent without its traceback, notes and chain.
_SHORTEST_TEXT = 64


class Outcomes:
    """Ends calls: sends their RESULT, ITEM, END and ERROR frames.

    Results are encoded by the agreed serializer, objects it cannot carry
    becoming handles; errors always travel as JSON. No body is larger than
    ``max_frame_bytes``: a result that is becomes a ``PROTOCOL`` error, an
    error that is has its texts cut.
    """

    def __init__(self, writer: Writer, serializer: Serializer, handles: HandleTable, max_frame_bytes: int) -> None:
        self._writer = writer
        self._serializer = serializer
        #: The byte naming the serializer in frame headers.
        self.wire_id = serializer.wire_id
        self._handles = handles
        self.max_frame_bytes = max_frame_bytes
        #: The dotted name each call in flight called, for serializers with per-callable schemas (protobuf).
        self.targets: dict[int, str] = {}
        #: Whether the serializer checks results per callable (protobuf): then targets are kept.
        self.wants_target = bool(getattr(serializer, "accepts_target", False))

    def encode(self, value: Any, session: int, call_id: int = 0, role: str = "result") -> bytes:
        """``value`` encoded for the host; objects it cannot carry become handles of ``session``.

        If the encode fails, or its body is over the frame limit, the handles
        it made are released: the host never hears of them, so it could
        never release them itself.
        """
        created: list[int] = []

        def to_handle(obj: object) -> HandleWire:
            wire = self._handles.add(obj, session)
            created.append(wire.id)
            return wire

        try:
            body = self._serialize(value, to_handle, call_id, role)
            if len(body) > self.max_frame_bytes:
                raise ProtocolError(
                    f"the result is {len(body)} bytes, more than protocol.maxFrameBytes ({self.max_frame_bytes}); "
                    "raise the limit, or return a handle and fetch the data in parts"
                )
        except BaseException:
            self._handles.release(created)
            raise
        return body

    def _serialize(self, value: Any, to_handle: ToHandle, call_id: int, role: str) -> bytes:
        if self.wants_target:
            return self._serializer.encode(value, to_handle, target=self.targets.get(call_id), role=role)  # type: ignore[call-arg]
        return self._serializer.encode(value, to_handle)

    def result(self, call_id: int, value: Any, session: int, *, flush: bool = True) -> None:
        """Sends the RESULT of ``call_id``, or the ERROR saying why ``value`` could not be sent."""
        try:
            body = self.encode(value, session, call_id)
        except BaseException as exc:
            self.error(call_id, exc, flush=flush)
            return
        self._writer.send(Kind.RESULT, call_id, body, self._serializer.wire_id, flush=flush)

    def item(self, call_id: int, value: Any, session: int, *, flush: bool = True) -> None:
        """Sends one stream item; raises if it cannot be encoded (the stream then ends in an error)."""
        self._writer.send(
            Kind.ITEM, call_id, self.encode(value, session, call_id, "item"), self._serializer.wire_id, flush=flush
        )

    def end(self, call_id: int, *, flush: bool = True) -> None:
        """Sends END: the stream of ``call_id`` is over (or its cancel is acknowledged)."""
        self._writer.send(Kind.END, call_id, flush=flush)

    def error(self, call_id: int, exc: BaseException, *, flush: bool = True) -> None:
        """Sends the ERROR describing ``exc``; a ``Cancelled`` is acknowledged as a cancel instead."""
        if isinstance(exc, Cancelled):
            self.cancelled(call_id, flush=flush)
            return
        self.error_payload(call_id, describe(exc), flush=flush)

    def error_payload(self, call_id: int, payload: dict[str, Any], *, flush: bool = True) -> None:
        """Sends ``payload`` (a PythonErrorPayload) as the ERROR of ``call_id``, cut to fit the frame limit."""
        body = payload_body(payload, self.max_frame_bytes)
        self._writer.send(Kind.ERROR, call_id, body, JSON_WIRE_ID, flush=flush)

    def cancelled(self, call_id: int, *, flush: bool = True) -> None:
        """Acknowledges a cancel: the call stopped without a result."""
        self.error_payload(call_id, bridge_error("CANCELLED", "the call was cancelled"), flush=flush)


_BRIDGE_ERROR_MRO = ("snakebridge.errors.BridgeError", "builtins.Exception", "builtins.BaseException")


def bridge_error(code: str, message: str) -> dict[str, Any]:
    """An error payload for a refusal by the worker itself."""
    payload = _class_payload("BridgeError", "snakebridge.errors", message, list(_BRIDGE_ERROR_MRO))
    payload["code"] = code
    return payload


def _class_payload(type_name: str, module: str, message: str, mro: list[str]) -> dict[str, Any]:
    """A payload that names an exception class and a message, with no traceback or chain."""
    return {
        "type": type_name,
        "module": module,
        "message": message,
        "mro": mro,
        "traceback": [],
        "frames": [],
        "notes": [],
        "cause": None,
        "context": None,
        "suppressContext": False,
    }


# --- describing and encoding errors: total, so that every call gets its one final frame ----------------


def describe(exc: BaseException) -> dict[str, Any]:
    """``exception_payload(exc)``; never raises.

    If describing fails (a note whose ``str()`` raises, say), the payload
    still names the exception's class, so the host raises the right error.
    """
    try:
        return exception_payload(exc)
    except Exception as failure:
        reason = type(failure).__qualname__
    cls = type(exc)
    message = f"a {cls.__qualname__} was raised, but it could not be described ({reason})"
    try:
        mro = [qualified_name(c) for c in cls.__mro__ if c is not object]
        return _class_payload(cls.__qualname__, cls.__module__, message, mro)
    except Exception:  # a class whose __module__ cannot even be formatted
        return bridge_error("PROTOCOL", message)


def payload_body(payload: dict[str, Any], limit: int) -> bytes:
    """``payload`` as JSON of at most ``limit`` bytes, its texts cut if need be; never raises.

    The JSON is ASCII: a lone surrogate in a message (bytes decoded with
    ``surrogateescape``, say) travels as a ``\\u`` escape instead of failing
    to encode as UTF-8.
    """
    try:
        return _fit(payload, limit)
    except Exception as failure:  # a value json cannot write even through str()
        return _dumps(bridge_error("PROTOCOL", f"the error could not be encoded ({type(failure).__qualname__})"))


def _dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), default=str).encode("ascii")


def _fit(payload: dict[str, Any], limit: int) -> bytes:
    body = _dumps(payload)
    # Halving the texts' length converges quickly, whatever the mix of long message, traceback and chain.
    budget = limit
    while len(body) > limit and budget > _SHORTEST_TEXT:
        budget //= 2
        body = _dumps(_cut_payload(payload, budget))
    if len(body) > limit:
        # Even short texts are too much (a long chain, a small limit): the exception alone. A limit too
        # small for that is not met; the host then refuses the frame with an error of its own.
        alone = {**payload, "traceback": [], "frames": [], "notes": [], "cause": None, "context": None}
        body = _dumps(_cut_payload(alone, _SHORTEST_TEXT))
    return body


def _cut_payload(payload: dict[str, Any], budget: int) -> dict[str, Any]:
    """A copy of ``payload`` whose texts are cut to about ``budget`` characters, saying so; its chain too."""
    cut = dict(payload)
    cut["message"] = _cut(payload.get("message") or "", budget)
    cut["notes"] = _cut_lines(payload.get("notes") or [], budget, "notes", "")
    cut["traceback"] = _cut_lines(payload.get("traceback") or [], budget, "frames", "\n")
    # Not aligned with the traceback's lines, which fold repeated frames: cut on their own.
    cut["frames"] = [_cut_frame(frame, budget) for frame in _last(payload.get("frames") or [], budget, _frame_size)]
    for link in ("cause", "context"):
        if payload.get(link):
            cut[link] = _cut_payload(payload[link], budget)
    return cut


def _cut_lines(lines: list[str], budget: int, what: str, end: str) -> list[str]:
    """The last ``lines`` within ``budget`` characters, each cut to it, after one saying how many were left out."""
    kept = [_cut(line, budget) for line in _last(lines, budget, len)]
    dropped = len(lines) - len(kept)
    return [f"… [truncated {dropped} earlier {what}]{end}", *kept] if dropped else kept


def _last(entries: list[Any], budget: int, size: Callable[[Any], int]) -> list[Any]:
    """The last ``entries`` whose sizes add up to ``budget``, and at least one: the innermost frames tell
    what failed, so the earliest go first."""
    kept: list[Any] = []
    used = 0
    for entry in reversed(entries):
        used += size(entry)
        if kept and used > budget:
            break
        kept.append(entry)
    kept.reverse()
    return kept


def _frame_size(frame: dict[str, Any]) -> int:
    return sum(len(value) for value in frame.values() if isinstance(value, str))


def _cut_frame(frame: dict[str, Any], budget: int) -> dict[str, Any]:
    return {key: _cut(value, budget) if isinstance(value, str) else value for key, value in frame.items()}


def _cut(text: str, keep: int) -> str:
    if len(text) <= keep:
        return text
    return f"{text[:keep]}… [truncated {len(text) - keep} chars]"
