"""Host callbacks over the stdio protocol.

Calling a ``HostCallback`` (calls/callbacks.py) sends ``CALLBACK`` on fd 4
and waits; the host answers on the control channel (``CALLBACK_RESULT`` or
``CALLBACK_ERROR``), because the thread waiting may be the main thread, the
one that reads the data channel. The control thread hands each answer to the
thread waiting for it (docs/protocol.md, "Callbacks").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..calls.callbacks import Answer, CallbackAnswer, CallbackRequests, HostCallback
from ..errors import HostCallbackError, ProtocolError
from ..protocol import Frame, FrameTooLarge, Kind
from ..serializers.base import FromHandle, Serializer

if TYPE_CHECKING:
    from .connection import Writer
    from .outcomes import Outcomes

_HOST_GONE = "the host is gone: the callback cannot run"

__all__ = ["HostCallback", "HostCallbacks"]


class HostCallbacks(CallbackRequests):
    """The callbacks of one worker: sends ``CALLBACK`` frames and hands each answer to its waiter. Thread-safe.

    ``resolve`` and ``close`` are called by the control thread; ``callback``
    is the decoders' ``from_callback`` (bound to a call by the executor).
    """

    def __init__(
        self, writer: Writer, outcomes: Outcomes, serializers: dict[int, Serializer], from_handle: FromHandle
    ) -> None:
        super().__init__(from_handle)
        self._writer = writer
        self._outcomes = outcomes
        self._serializers = serializers

    def callback(self, call_id: int, session: int, index: int) -> HostCallback:
        """The callable standing for function ``index`` of call ``call_id``."""
        return HostCallback(self, call_id, index, session)

    # --- the calling thread ------------------------------------------------------------------

    def _encode(self, callback: HostCallback, args: tuple[Any, ...]) -> bytes:
        # As a result is: handles for what the serializer cannot carry, released again if the encode fails.
        return self._outcomes.encode([callback.index, list(args)], callback.session)

    def _send(self, request_id: int, callback: HostCallback, request: Any, deliver: Callable[[Answer], None]) -> None:
        # In uninterruptible() (calls/callbacks.py): an interrupt mid-write would leave the host half a frame,
        # or drop frames deferred before it.
        self._register(request_id, deliver)
        self._writer.send(Kind.CALLBACK, request_id, request, self._outcomes.wire_id, aux=callback.call_id)
        if self._writer.broken:
            raise HostCallbackError(_HOST_GONE)

    # --- the control thread ------------------------------------------------------------------

    def resolve(self, frame: Frame | FrameTooLarge) -> None:
        """Hands a ``CALLBACK_RESULT`` or ``CALLBACK_ERROR`` to the thread waiting for it.

        An answer nobody waits for is dropped: its caller was cancelled.
        """
        self.deliver(frame.id, self._answer(frame))

    def _answer(self, frame: Frame | FrameTooLarge) -> Answer:
        if isinstance(frame, FrameTooLarge):
            return ProtocolError(
                f"the callback's answer is {frame.size} bytes, more than protocol.maxFrameBytes; "
                "return less from the function, or fetch the data in parts"
            )
        if frame.kind == Kind.CALLBACK_ERROR:
            return CallbackAnswer(frame.body, failed=True)
        serializer = self._serializers.get(frame.serializer)
        if serializer is None and len(frame.body):
            return ProtocolError(
                f"the callback's result is encoded with serializer {frame.serializer}, which this worker does not use"
            )
        return CallbackAnswer(frame.body, serializer=serializer)
