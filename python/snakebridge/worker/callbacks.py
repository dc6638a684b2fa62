"""Host callbacks: Python calling a JavaScript function that the host passed in a call's arguments.

A callback reference in the arguments decodes to a ``HostCallback``. Calling
it sends ``CALLBACK`` on fd 4 and waits; the host answers on the control
channel (``CALLBACK_RESULT`` or ``CALLBACK_ERROR``), because the thread
waiting may be the main thread, the one that reads the data channel. The
control thread hands each answer to the thread waiting for it
(docs/protocol.md, "Callbacks").
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from ..errors import HostCallbackError, ProtocolError
from ..protocol import Frame, FrameTooLarge, Kind
from ..serializers.base import FromHandle, Serializer

if TYPE_CHECKING:
    import asyncio

    from .connection import Writer
    from .outcomes import Outcomes

#: The longest a waiting thread blocks at a time: a cancel's interrupt lands in a pool thread only when it
#: runs bytecode, so a wait that never returned to the interpreter could not be cancelled.
_WAIT_SLICE = 0.05
_MAX_REQUEST_ID = 0xFFFFFFFF
_HOST_GONE = "the host is gone: the callback cannot run"

#: What a waiter receives: the host's answer frame, or the exception to raise instead.
_Answer = Frame | BaseException


class HostCallback:
    """A JavaScript function that the host passed in a call's arguments.

    ``callback(*args)`` runs the function in the host (awaiting it there if
    it returns a promise) and returns what it returned;
    ``await callback.acall(*args)`` does the same without blocking the event
    loop. Arguments are positional only and travel like a result: what the
    serializer cannot carry goes as a handle of the call's session. If the
    function throws, ``HostCallbackError`` is raised.

    It can be called any number of times, from any thread, while the call
    that passed it is in flight (for a stream: until it ends); after that the
    host answers that it expired. In a coroutine, use ``acall``: a plain call
    blocks the event loop, and every async call on it, until the host
    answers. Returned to the host, a callback travels as a handle like any
    other object.
    """

    __slots__ = ("_callbacks", "call_id", "index", "session")

    def __init__(self, callbacks: HostCallbacks, call_id: int, index: int, session: int) -> None:
        self._callbacks = callbacks
        #: The id of the call that passed the function.
        self.call_id = call_id
        #: The function's 1-based index among the functions of that call.
        self.index = index
        #: The session of that call: objects sent to the function become its handles.
        self.session = session

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Runs the function in the host with ``args`` and returns its result; blocks until it answers."""
        _refuse_keywords(kwargs)
        return self._callbacks.call(self, args)

    async def acall(self, *args: Any, **kwargs: Any) -> Any:
        """Like calling the callback, but awaits the answer instead of blocking the event loop."""
        _refuse_keywords(kwargs)
        return await self._callbacks.acall(self, args)

    def __repr__(self) -> str:
        return f"<HostCallback #{self.index} of call {self.call_id}>"


def _refuse_keywords(kwargs: dict[str, Any]) -> None:
    # A JavaScript function has no keyword parameters to map them to.
    if kwargs:
        raise TypeError("host callbacks take positional arguments only; pass an object/dict as an argument instead")


class HostCallbacks:
    """The callbacks of one worker: sends ``CALLBACK`` frames and hands each answer to its waiter. Thread-safe.

    ``resolve`` and ``close`` are called by the control thread; ``callback``
    is the decoders' ``from_callback`` (bound to a call by the executor).
    """

    def __init__(
        self, writer: Writer, outcomes: Outcomes, serializers: dict[int, Serializer], from_handle: FromHandle
    ) -> None:
        self._writer = writer
        self._outcomes = outcomes
        self._serializers = serializers
        self._from_handle = from_handle
        #: Holds back a cancel's interrupt of the calling thread while a frame is written (the executor
        #: sets it): an interrupt mid-write would leave the host half a frame, or drop frames deferred before it.
        self.uninterruptible: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext
        self._lock = threading.Lock()
        self._waiting: dict[int, Callable[[_Answer], None]] = {}
        self._last_id = 0
        self._closed: str | None = None

    def callback(self, call_id: int, session: int, index: int) -> HostCallback:
        """The callable standing for function ``index`` of call ``call_id``."""
        return HostCallback(self, call_id, index, session)

    # --- the calling thread ------------------------------------------------------------------

    def call(self, callback: HostCallback, args: tuple[Any, ...]) -> Any:
        """Runs ``callback`` in the host and waits for the answer; a cancel interrupts the wait."""
        reply = _Reply()
        body = self._encode(callback, args)
        request_id = self._new_id()
        try:
            self._send(request_id, callback, body, reply.deliver)
            while not reply.event.wait(_WAIT_SLICE):
                pass
        finally:
            self._forget(request_id)  # a wait given up (cancelled): a late answer is then dropped
        return self._unpack(reply.answer)

    async def acall(self, callback: HostCallback, args: tuple[Any, ...]) -> Any:
        """Runs ``callback`` in the host; the answer completes a future of the running event loop."""
        import asyncio  # here: importing snakebridge must stay cheap, and the worker has it loaded by now

        loop = asyncio.get_running_loop()
        future: asyncio.Future[_Answer] = loop.create_future()

        def deliver(answer: _Answer) -> None:
            # The control thread delivers; a closed loop has nobody left to tell.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, answer)

        body = self._encode(callback, args)
        request_id = self._new_id()
        try:
            self._send(request_id, callback, body, deliver)
            answer = await future
        finally:
            self._forget(request_id)
        return self._unpack(answer)

    def _encode(self, callback: HostCallback, args: tuple[Any, ...]) -> bytes:
        # As a result is: handles for what the serializer cannot carry, released again if the encode fails.
        return self._outcomes.encode([callback.index, list(args)], callback.session)

    def _new_id(self) -> int:
        """A request id not in use: u32, never 0, wrapping around."""
        with self._lock:
            request_id = self._last_id
            while True:
                request_id = request_id + 1 if request_id < _MAX_REQUEST_ID else 1
                if request_id not in self._waiting:
                    break
            self._last_id = request_id
        return request_id

    def _send(self, request_id: int, callback: HostCallback, body: bytes, deliver: Callable[[_Answer], None]) -> None:
        with self.uninterruptible():
            with self._lock:
                if self._closed is not None:
                    raise HostCallbackError(self._closed)
                # Waiting before the frame leaves: the answer may come before this thread waits.
                self._waiting[request_id] = deliver
            self._writer.send(Kind.CALLBACK, request_id, body, self._outcomes.wire_id, aux=callback.call_id)
        if self._writer.broken:
            raise HostCallbackError(_HOST_GONE)

    def _forget(self, request_id: int) -> None:
        with self._lock:
            self._waiting.pop(request_id, None)

    def _unpack(self, answer: _Answer | None) -> Any:
        """The callback's result, or the exception its answer stands for."""
        if isinstance(answer, BaseException):
            raise answer
        assert answer is not None
        if answer.kind == Kind.CALLBACK_ERROR:
            raise _host_error(answer.body)
        if not len(answer.body):
            return None
        serializer = self._serializers.get(answer.serializer)
        if serializer is None:
            raise ProtocolError(
                f"the callback's result is encoded with serializer {answer.serializer}, which this worker does not use"
            )
        # Handles come back as their objects, as in a call's arguments.
        return serializer.decode(answer.body, self._from_handle)

    # --- the control thread ------------------------------------------------------------------

    def resolve(self, frame: Frame | FrameTooLarge) -> None:
        """Hands a ``CALLBACK_RESULT`` or ``CALLBACK_ERROR`` to the thread waiting for it.

        An answer nobody waits for is dropped: its caller was cancelled.
        """
        with self._lock:
            deliver = self._waiting.pop(frame.id, None)
        if deliver is None:
            return
        if isinstance(frame, FrameTooLarge):
            deliver(
                ProtocolError(
                    f"the callback's answer is {frame.size} bytes, more than protocol.maxFrameBytes; "
                    "return less from the function, or fetch the data in parts"
                )
            )
        else:
            deliver(frame)

    def close(self, reason: str) -> None:
        """Fails the callbacks waiting for an answer, and any called later: the host can no longer answer."""
        with self._lock:
            self._closed = reason
            waiting, self._waiting = self._waiting, {}
        for deliver in waiting.values():
            deliver(HostCallbackError(reason))


class _Reply:
    """Where the control thread leaves the answer for a thread blocked in a callback."""

    __slots__ = ("answer", "event")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.answer: _Answer | None = None

    def deliver(self, answer: _Answer) -> None:
        self.answer = answer
        self.event.set()


def _settle(future: asyncio.Future[_Answer], answer: _Answer) -> None:
    if not future.done():  # cancelled meanwhile: the task that awaited it is gone
        future.set_result(answer)


def _host_error(body: bytes | bytearray | memoryview) -> HostCallbackError:
    """The exception for a ``CALLBACK_ERROR`` body, JSON ``{name, message, stack}``; read leniently, as it is
    only reported."""
    try:
        fields = json.loads(bytes(body))
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        return HostCallbackError(bytes(body).decode("utf-8", "replace"))
    stack = fields.get("stack")
    return HostCallbackError(
        str(fields.get("message", "")), str(fields.get("name") or "Error"), stack if isinstance(stack, str) else None
    )
