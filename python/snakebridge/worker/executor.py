"""The stdio worker's calls: the shared executor (calls/execution.py) fed by
the frames of the data channel, which the main thread reads itself and acts
on as they come (docs/protocol.md).

The control thread reaches the calls through ``cancel`` and ``credit``; a
``CANCEL`` or ``CREDIT`` on the data channel reaches a sync generator on the
thread that reads it.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, cast

from ..calls.execution import INTERRUPT_SIGNAL, CallExecutor
from ..calls.payloads import bridge_error
from ..errors import ProtocolError
from ..protocol import FLAG_PIPELINED, FLAG_SEGMENTS, FLAG_STREAM, CallMeta, Frame, FrameTooLarge, Kind, decode_call
from ..protocol.frames import kind_name
from ..protocol.segments import split_segment_table
from ..serializers.base import SegmentedPayload
from .connection import DATA_KINDS, FrameSource, MalformedFrameError
from .outcomes import Outcomes

if TYPE_CHECKING:
    from .shared_memory import SharedMemoryLane

__all__ = ["INTERRUPT_SIGNAL", "Executor"]


class Executor(CallExecutor):
    """Runs the calls of one worker: reads the data channel on the main thread and acts on each frame.

    Made with the worker's serializers (by wire id), its ``Outcomes``
    (outcomes.py), dispatcher, the writer's ``flush``, ``threads`` and its
    ``HostCallbacks``. The control thread calls ``cancel``, ``credit`` and
    ``stop``; everything else runs on the main thread, except pool calls (on
    their threads) and async calls (on the event loop's thread).
    """

    #: The host's shared-memory lane, when it offers one: large arrays come and go through it.
    shared_memory: SharedMemoryLane | None = None

    def run_forever(self, source: FrameSource) -> None:  # type: ignore[override]
        """Reads frames from the data channel and acts on them until it ends or ``stop()`` is called.

        A frame the host never sends on this channel raises
        ``MalformedFrameError``, which ends the worker.
        """
        source.accept(DATA_KINDS)
        super().run_forever(source)

    def handle(self, frame: Frame | FrameTooLarge) -> None:
        """Acts on one frame from the data channel."""
        if isinstance(frame, FrameTooLarge):
            self._refuse_too_large(frame)
            return
        kind = frame.kind
        if kind == Kind.CALL:
            try:
                if frame.flags & FLAG_SEGMENTS:
                    body, segments = self._with_segments(frame.body)
                    meta, payload = decode_call(body)
                    payload = SegmentedPayload(payload, segments)
                else:
                    meta, payload = decode_call(frame.body)
            except BaseException as exc:
                self.refuse(frame.id, exc)
                return
            flags = frame.flags
            if flags & FLAG_PIPELINED or frame.aux:
                self._start_pipelined_frame(frame, meta, payload)
                return
            self.start(frame.id, meta, flags & FLAG_STREAM, frame.serializer, payload)
        elif kind == Kind.CREDIT:
            self._grant(frame.id, frame.aux)
        elif kind == Kind.CANCEL:
            self._cancel_stream(frame.id)
        elif kind == Kind.RELEASE:
            self._release(frame.body)
        else:
            # Only frames read with HELLO get here unchecked: the reader refuses the others at their header.
            raise MalformedFrameError(f"malformed frame: {kind_name(kind)} frames do not come on the data channel")

    def _with_segments(self, body: bytes | bytearray | memoryview) -> tuple[memoryview, list[memoryview]]:
        """A CALL body without its segment table, and the host's segments it names, mapped."""
        rest, entries = split_segment_table(body)
        if self.shared_memory is None:
            raise ProtocolError("a CALL names shared-memory segments, but the host offered no shared-memory lane")
        return rest, self.shared_memory.map(entries, cast(Outcomes, self._outcomes).max_frame_bytes)

    def _start_pipelined_frame(self, frame: Frame, meta: CallMeta, payload: memoryview | SegmentedPayload) -> None:
        """A CALL with the PIPELINED flag: its aux is the promised handle id it makes (0: none)."""
        if not frame.flags & FLAG_PIPELINED:
            self.refuse(frame.id, ProtocolError("a CALL's aux names a promised handle only with the PIPELINED flag"))
            return
        self.start_pipelined(
            frame.id, meta._replace(promise=frame.aux), frame.flags & FLAG_STREAM, frame.serializer, payload
        )

    def _release(self, body: bytes | bytearray | memoryview) -> None:
        """Frees the handles a RELEASE lists, and the result segments the host has read. A malformed
        one is reported on stderr and ignored: it has no call to answer, and it must not take down
        the worker and the calls it runs."""
        try:
            request = json.loads(bytes(body))
            segments = request.get("segments")
            if segments and self.shared_memory is not None:
                self.shared_memory.release([int(ref) for ref in segments])
            self._dispatcher.release([int(i) for i in request.get("handles", [])], request.get("session"))
        except Exception as exc:
            print(
                f"snakebridge worker {os.getpid()}: ignored a malformed RELEASE: {exc!r}", file=sys.stderr, flush=True
            )

    def _refuse_too_large(self, frame: FrameTooLarge) -> None:
        if frame.kind == Kind.CALL:
            outcomes = cast(Outcomes, self._outcomes)
            message = (
                f"the call's frame is {frame.size} bytes, more than protocol.maxFrameBytes "
                f"({outcomes.max_frame_bytes}); raise the limit or send less at once"
            )
            outcomes.error_payload(frame.id, bridge_error("PROTOCOL", message), flush=False)
