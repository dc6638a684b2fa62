"""Sends the frames that end a call: results, items, errors, acknowledgements.

The stdio transport's ``Outcomes`` (calls/state.py): the executor, its thread
pool and its event loop all end calls here, so every call ends the same way
whichever ran it. Every call gets exactly one final frame: describing and
encoding an error cannot fail, and an error too large for a frame is cut to
fit (calls/payloads.py, which the gRPC server's error replies use too).
"""

from __future__ import annotations

from typing import Any

from ..calls.encoding import encode_value
from ..calls.handles import HandleTable
from ..calls.payloads import bridge_error, describe, payload_body
from ..errors import Cancelled
from ..protocol import FLAG_SEGMENTS, Kind
from ..protocol.segments import SegmentEntry, segment_table
from ..serializers.base import Scattered, Serializer
from .connection import Writer

JSON_WIRE_ID = 1
#: Results that can never contain an object to make a handle for, and never near a frame's size.
_SCALARS = frozenset({int, float, bool, type(None)})
_TOO_LARGE = (
    "the result is {size} bytes, more than protocol.maxFrameBytes ({limit}); "
    "raise the limit, or return a handle and fetch the data in parts"
)


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

    def encode(
        self,
        value: Any,
        session: int,
        call_id: int = 0,
        role: str = "result",
        scatter: bool = False,
        segments: list[SegmentEntry] | None = None,
    ) -> bytes | Scattered:
        """``value`` encoded for the host; objects it cannot carry become handles of ``session``
        (released again if the encode fails or its body is over the frame limit: calls/encoding.py).
        ``scatter``: large arrays may stay in their own memory (``Scattered``), for results and items,
        which the writer sends at once. ``segments``: with a shared-memory lane, large arrays go into
        segments whose entries are appended to it."""
        return encode_value(
            self._serializer,
            value,
            self._handles,
            session,
            self.max_frame_bytes,
            _TOO_LARGE,
            [],
            per_callable=self.wants_target,
            target=self.targets.get(call_id) if self.wants_target else None,
            role=role,
            scatter=scatter,
            segments=segments,
        )

    def result(self, call_id: int, value: Any, session: int, *, flush: bool = True) -> None:
        """Sends the RESULT of ``call_id``, or the ERROR saying why ``value`` could not be sent."""
        try:
            if type(value) in _SCALARS and not self.wants_target:
                body = self._serializer.encode(value)  # no handle to make or take back: straight to the serializer
                self._writer.send(Kind.RESULT, call_id, body, self.wire_id, flush=flush)
                return
            segments: list[SegmentEntry] = []
            body = self.encode(value, session, call_id, scatter=True, segments=segments)
        except BaseException as exc:
            self.error(call_id, exc, flush=flush)
            return
        self._send(Kind.RESULT, call_id, body, segments, flush)

    def item(self, call_id: int, value: Any, session: int, *, flush: bool = True) -> None:
        """Sends one stream item; raises if it cannot be encoded (the stream then ends in an error)."""
        segments: list[SegmentEntry] = []
        self._send(Kind.ITEM, call_id, self.encode(value, session, call_id, "item", True, segments), segments, flush)

    def _send(
        self, kind: int, call_id: int, body: bytes | Scattered, segments: list[SegmentEntry], flush: bool
    ) -> None:
        """A RESULT or ITEM, with the table of the segments its value names after the body, if any."""
        if not segments:
            self._writer.send(kind, call_id, body, self.wire_id, flush=flush)
            return
        parts = body.parts if isinstance(body, Scattered) else [body]
        with_table = Scattered([*parts, segment_table(segments)])
        self._writer.send(kind, call_id, with_table, self.wire_id, flags=FLAG_SEGMENTS, flush=flush)

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
