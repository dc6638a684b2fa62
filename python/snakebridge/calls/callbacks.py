"""Host callbacks: Python calling a JavaScript function that the host passed in a call's arguments.

A callback reference in a call's arguments decodes (the decoders'
``from_callback``) to a ``HostCallback``, whichever transport brought the
call. The callback talks to a ``CallbackChannel``: the stdio worker's
(worker/callbacks.py) sends ``CALLBACK`` frames and gets the answers on the
control channel; the gRPC server's (server/callbacks.py) sends ``callback``
messages on the call's Exchange RPC and gets the answers on the same RPC.
``CallbackRequests`` is what both share: request ids, the threads and tasks
waiting for an answer, and reading the answer (docs/protocol.md,
"Callbacks").
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from ..errors import HostCallbackError
from ..serializers.base import FromHandle, Serializer

if TYPE_CHECKING:
    import asyncio

#: The longest a waiting thread blocks at a time: a cancel's interrupt lands in a pool thread only when it
#: runs bytecode, so a wait that never returned to the interpreter could not be cancelled.
_WAIT_SLICE = 0.05
_MAX_REQUEST_ID = 0xFFFFFFFF
#: Why a callback fails once its call is over; the same words the host answers with (EXPIRED_BODY in core).
EXPIRED = "the call that passed this callback has ended; a callback can be called only while that call runs"


class CallbackAnswer(NamedTuple):
    """The host's answer to one callback request."""

    #: The encoded return value, or (``failed``) the thrown error as JSON ``{name, message, stack}``.
    body: bytes | bytearray | memoryview
    failed: bool = False
    #: What decodes a non-empty result body.
    serializer: Serializer | None = None


#: What a waiter receives: the host's answer, or the exception to raise instead.
Answer = CallbackAnswer | BaseException


class CallbackChannel(Protocol):
    """Where a ``HostCallback`` sends its requests, and how it waits for their answers."""

    def call(self, callback: HostCallback, args: tuple[Any, ...]) -> Any:
        """Runs ``callback`` in the host with ``args``; blocks the calling thread until the host answers."""
        ...

    async def acall(self, callback: HostCallback, args: tuple[Any, ...]) -> Any:
        """Runs ``callback`` in the host with ``args``; awaits the answer on the running event loop."""
        ...


class HostCallback:
    """A JavaScript function that the host passed in a call's arguments.

    ``callback(*args)`` runs the function in the host (awaiting it there if
    it returns a promise) and returns what it returned;
    ``await callback.acall(*args)`` does the same without blocking the event
    loop. Arguments are positional only and travel like a result: what the
    serializer cannot carry goes as a handle of the call's session. If the
    function throws, ``HostCallbackError`` is raised.

    It can be called any number of times, from any thread, while the call
    that passed it is in flight (for a stream: until it ends); after that it
    raises ``HostCallbackError`` saying it expired. In a coroutine, use
    ``acall``: a plain call blocks the event loop, and every async call on
    it, until the host answers (on the gRPC server, whose event loop is the
    one that receives the answer, it is refused). Returned to the host, a
    callback travels as a handle like any other object.
    """

    __slots__ = ("_channel", "call_id", "index", "session")

    def __init__(self, channel: CallbackChannel, call_id: int, index: int, session: int) -> None:
        self._channel = channel
        #: The id of the call that passed the function.
        self.call_id = call_id
        #: The function's 1-based index among the functions of that call.
        self.index = index
        #: The session of that call: objects sent to the function become its handles.
        self.session = session

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Runs the function in the host with ``args`` and returns its result; blocks until it answers."""
        _refuse_keywords(kwargs)
        return self._channel.call(self, args)

    async def acall(self, *args: Any, **kwargs: Any) -> Any:
        """Like calling the callback, but awaits the answer instead of blocking the event loop."""
        _refuse_keywords(kwargs)
        return await self._channel.acall(self, args)

    def __repr__(self) -> str:
        return f"<HostCallback #{self.index} of call {self.call_id}>"


def _refuse_keywords(kwargs: dict[str, Any]) -> None:
    # A JavaScript function has no keyword parameters to map them to.
    if kwargs:
        raise TypeError("host callbacks take positional arguments only; pass an object/dict as an argument instead")


class ClosedChannel:
    """A channel no answer can come through: every callback fails at once with ``reason``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def call(self, callback: HostCallback, args: tuple[Any, ...]) -> Any:
        raise HostCallbackError(self.reason)

    async def acall(self, callback: HostCallback, args: tuple[Any, ...]) -> Any:
        raise HostCallbackError(self.reason)


class CallbackRequests:
    """A ``CallbackChannel`` without its transport: request ids, waiters and answers. Thread-safe.

    A transport provides ``_encode`` (the request's arguments, encoded as a
    result is) and ``_send`` (registers the waiter with ``_register``, then
    sends the request), and calls ``deliver`` with each answer and ``close``
    when no more answers can come. ``_send`` runs in ``uninterruptible()``,
    which the executor sets: a cancel's interrupt of the calling thread lands
    after it, never half-way through sending (a half-written frame, a request
    sent but never waited for).
    """

    def __init__(self, from_handle: FromHandle) -> None:
        self._from_handle = from_handle
        self.uninterruptible: Callable[[], contextlib.AbstractContextManager[object]] = contextlib.nullcontext
        self._lock = threading.Lock()
        self._waiting: dict[int, Callable[[Answer], None]] = {}
        self._last_id = 0
        self._closed: str | None = None

    # --- the transport's part --------------------------------------------------------------------

    def _encode(self, callback: HostCallback, args: tuple[Any, ...]) -> Any:
        """``[index, args]`` encoded for the host, in whatever form ``_send`` takes it."""
        raise NotImplementedError

    def _send(self, request_id: int, callback: HostCallback, request: Any, deliver: Callable[[Answer], None]) -> None:
        """Registers ``deliver`` for ``request_id`` (``_register``), then sends the request."""
        raise NotImplementedError

    def _check_wait(self) -> None:
        """Raises if the calling thread must not block waiting for an answer."""

    # --- the calling thread ------------------------------------------------------------------

    def call(self, callback: HostCallback, args: tuple[Any, ...]) -> Any:
        """Runs ``callback`` in the host and waits for the answer; a cancel interrupts the wait."""
        self._check_wait()
        reply = _Reply()
        request = self._encode(callback, args)
        request_id = self._new_id()
        try:
            with self.uninterruptible():
                self._send(request_id, callback, request, reply.deliver)
            while not reply.event.wait(_WAIT_SLICE):
                pass
        finally:
            self._forget(request_id)  # a wait given up (cancelled): a late answer is then dropped
        return self._unpack(reply.answer)

    async def acall(self, callback: HostCallback, args: tuple[Any, ...]) -> Any:
        """Runs ``callback`` in the host; the answer completes a future of the running event loop."""
        import asyncio  # here: importing snakebridge must stay cheap, and whoever awaits has it loaded by now

        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()

        def deliver(answer: Answer) -> None:
            # Delivered from another thread, or from a task of this loop; a closed loop has nobody left to tell.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, answer)

        request = self._encode(callback, args)
        request_id = self._new_id()
        try:
            with self.uninterruptible():
                self._send(request_id, callback, request, deliver)
            answer = await future
        finally:
            self._forget(request_id)
        return self._unpack(answer)

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

    def _register(self, request_id: int, deliver: Callable[[Answer], None]) -> None:
        """Waits for ``request_id`` (before its request leaves: the answer may come before the caller waits)."""
        with self._lock:
            if self._closed is not None:
                raise HostCallbackError(self._closed)
            self._waiting[request_id] = deliver

    def _forget(self, request_id: int) -> None:
        with self._lock:
            self._waiting.pop(request_id, None)

    def _waits(self, request_id: int) -> bool:
        """Whether someone still waits for ``request_id``."""
        with self._lock:
            return request_id in self._waiting

    def _unpack(self, answer: Answer | None) -> Any:
        """The callback's result, or the exception its answer stands for."""
        if isinstance(answer, BaseException):
            raise answer
        assert answer is not None
        if answer.failed:
            raise host_error(answer.body)
        if not len(answer.body):
            return None
        assert answer.serializer is not None
        # Handles come back as their objects, as in a call's arguments.
        return answer.serializer.decode(answer.body, self._from_handle)

    # --- whoever reads the answers --------------------------------------------------------------

    def deliver(self, request_id: int, answer: Answer) -> None:
        """Hands an answer to the thread or task waiting for it. One nobody waits for is dropped: its
        caller was cancelled."""
        with self._lock:
            deliver = self._waiting.pop(request_id, None)
        if deliver is not None:
            deliver(answer)

    def close(self, reason: str) -> None:
        """Fails the callbacks waiting for an answer, and any called later, with ``reason``: no answer
        can come any more. The first reason given stays."""
        with self._lock:
            if self._closed is None:
                self._closed = reason
            reason = self._closed
            waiting, self._waiting = self._waiting, {}
        for deliver in waiting.values():
            deliver(HostCallbackError(reason))

    @property
    def closed(self) -> bool:
        return self._closed is not None


class _Reply:
    """Where the answer is left for a thread blocked in a callback."""

    __slots__ = ("answer", "event")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.answer: Answer | None = None

    def deliver(self, answer: Answer) -> None:
        self.answer = answer
        self.event.set()


def _settle(future: asyncio.Future[Answer], answer: Answer) -> None:
    if not future.done():  # cancelled meanwhile: the task that awaited it is gone
        future.set_result(answer)


def host_error(body: bytes | bytearray | memoryview) -> HostCallbackError:
    """The exception for a callback's error answer, JSON ``{name, message, stack}``; read leniently, as it
    is only reported."""
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
