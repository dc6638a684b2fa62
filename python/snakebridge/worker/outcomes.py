"""Sends the frames that end a call: results, items, errors, acknowledgements.

Shared by the main-thread executor, the thread pool and the event loop, so
every call ends the same way whichever ran it.
"""

from __future__ import annotations

import json
from typing import Any

from ..calls.handles import HandleTable
from ..errors import Cancelled, ProtocolError, exception_payload
from ..protocol import Kind
from ..serializers.base import Serializer
from .connection import Writer

JSON_WIRE_ID = 1


class Outcomes:
    def __init__(self, writer: Writer, serializer: Serializer, handles: HandleTable, max_frame_bytes: int) -> None:
        self._writer = writer
        self._serializer = serializer
        self._handles = handles
        self.max_frame_bytes = max_frame_bytes
        #: The dotted name each call in flight called, for serializers with per-callable schemas (protobuf).
        self.targets: dict[int, str] = {}
        #: Whether the serializer checks results per callable (protobuf): then targets are kept.
        self.wants_target = bool(getattr(serializer, "accepts_target", False))

    def encode(self, value: Any, session: int, call_id: int = 0, role: str = "result") -> bytes:
        """``value`` encoded for the host; objects it cannot carry become handles of ``session``."""
        to_handle = lambda obj: self._handles.add(obj, session)  # noqa: E731 - a closure over the session
        if self.wants_target:
            body = self._serializer.encode(value, to_handle, target=self.targets.get(call_id), role=role)  # type: ignore[call-arg]
        else:
            body = self._serializer.encode(value, to_handle)
        if len(body) > self.max_frame_bytes:
            raise ProtocolError(
                f"the result is {len(body)} bytes, more than protocol.maxFrameBytes ({self.max_frame_bytes}); "
                "raise the limit, or return a handle and fetch the data in parts"
            )
        return body

    def result(self, call_id: int, value: Any, session: int, *, flush: bool = True) -> None:
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
        self._writer.send(Kind.END, call_id, flush=flush)

    def error(self, call_id: int, exc: BaseException, *, flush: bool = True) -> None:
        if isinstance(exc, Cancelled):
            self.cancelled(call_id, flush=flush)
            return
        self.error_payload(call_id, exception_payload(exc), flush=flush)

    def error_payload(self, call_id: int, payload: dict[str, Any], *, flush: bool = True) -> None:
        body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
        self._writer.send(Kind.ERROR, call_id, body, JSON_WIRE_ID, flush=flush)

    def cancelled(self, call_id: int, *, flush: bool = True) -> None:
        """Acknowledges a cancel: the call stopped without a result."""
        self.error_payload(call_id, bridge_error("CANCELLED", "the call was cancelled"), flush=flush)


def bridge_error(code: str, message: str) -> dict[str, Any]:
    """An error payload for a refusal by the worker itself."""
    return {
        "type": "BridgeError",
        "module": "snakebridge.errors",
        "message": message,
        "mro": ["snakebridge.errors.BridgeError", "builtins.Exception", "builtins.BaseException"],
        "traceback": [],
        "frames": [],
        "notes": [],
        "cause": None,
        "context": None,
        "suppressContext": False,
        "code": code,
    }
