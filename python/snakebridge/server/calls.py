"""The server's calls, run by the executor the stdio worker uses too
(calls/execution.py).

The RPCs arrive on the gRPC event loop; the executor's thread (the main
thread) reads them from an in-process ``Inbox`` as the worker's reads frames
from its pipe, and runs them the same way: sync calls one at a time on the
main thread (``--threads 0``) or on a pool of threads (``--threads N``),
coroutines and async generators on the gRPC event loop, generators as
credit-paced streams. How each call ends comes back through
``ServerOutcomes``: encoded on the thread that produced it, then handed to
the RPC waiting on the event loop (a ``PendingCall``).

A cancelled RPC cancels its call as a ``CANCEL`` frame does: a call not
started yet never starts, a task is cancelled, a sync call is interrupted
(``SIGUSR1`` on the main thread, ``PyThreadState_SetAsyncExc`` on a pool
thread), a generator is closed. C code that never returns to the interpreter
cannot be interrupted either way: with ``cancel_grace_ms`` the server then
exits, so that its supervisor replaces it, as the stdio host does with a
worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

from ..calls import Dispatcher
from ..calls.callbacks import EXPIRED, ClosedChannel, HostCallback
from ..calls.encoding import encode_value
from ..calls.execution import CallExecutor
from ..calls.payloads import bridge_error, describe, payload_body
from ..calls.pipeline import DECLARE_WAIT_SECONDS
from ..errors import Cancelled, ProtocolError
from ..protocol import CallMeta, TraceContext
from ..serializers.base import Serializer

log = logging.getLogger("snakebridge.server")

#: Exit status when a cancelled call would not stop within the grace period.
EXIT_CANCEL_STUCK = 6
#: Room for the reply message's own framing around the encoded value.
ENVELOPE_BYTES = 16
#: Longest pipeline scope a host may name (it names a random one, a UUID: 36 characters).
MAX_SCOPE_LENGTH = 64


class Encoded(NamedTuple):
    """A value encoded for the host, and the handles created for it (freed if it is never delivered)."""

    body: bytes
    handles: list[int]


class Failed(NamedTuple):
    """A call's final error, as the JSON body of an error reply."""

    body: bytes


#: A stream's final outcome when it ended without an error (or its cancel was acknowledged).
END = "end"


# --- what the executor's thread reads ------------------------------------------------------------


class Submitted(NamedTuple):
    """A call for the executor's thread to start."""

    id: int
    meta: CallMeta
    stream: bool
    wire_id: int
    payload: bytes


class Granted(NamedTuple):
    """More credit for a stream."""

    id: int
    count: int


class Inbox:
    """What the event loop hands the executor's thread: a queue, and a pipe whose bytes say it has something.

    Each ``put`` appends first, then writes a byte, so a byte read means its
    item is there to take; a byte left over from items already taken only
    makes one read come back empty. The executor's thread blocks reading the
    pipe only when the queue is empty.
    """

    def __init__(self) -> None:
        self.fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)
        self._items: deque[Submitted | Granted] = deque()
        self._closed = False
        self.eof = False

    def put(self, item: Submitted | Granted) -> None:
        """From any thread."""
        self._items.append(item)
        self._signal()

    def close(self) -> None:
        """From any thread: the reader gets what is queued, then end of file."""
        self._closed = True
        self._signal()

    def _signal(self) -> None:
        # A full pipe already says there is something: never block the event loop on it.
        with contextlib.suppress(BlockingIOError):
            os.write(self._write_fd, b"\0")

    def read(self) -> list[Submitted | Granted]:
        if not self._items and not self._closed:
            os.read(self.fd, 4096)
        return self._take()

    def read_ready(self) -> list[Submitted | Granted]:
        if select.select([self.fd], [], [], 0)[0]:
            os.read(self.fd, 4096)
        return self._take()

    def _take(self) -> list[Submitted | Granted]:
        items = self._items
        taken = [items.popleft() for _ in range(len(items))]
        if not taken and self._closed:
            self.eof = True
        return taken


class ServerExecutor(CallExecutor):
    """The shared executor, fed by the ``Inbox``."""

    def handle(self, received: Submitted | Granted) -> None:
        if type(received) is Granted:
            self._grant(received.id, received.count)
        elif received.meta.scope or received.meta.promise:
            self._start_pipelined_request(received)
        else:
            self.start(received.id, received.meta, received.stream, received.wire_id, received.payload)

    def _start_pipelined_request(self, received: Submitted) -> None:
        """A call that makes or names promised handles: they belong to the host's pipeline scope, which it names."""
        meta = received.meta
        if not meta.scope:
            self.refuse(received.id, ProtocolError("a call that promises its result must name its pipeline scope"))
        elif len(meta.scope) > MAX_SCOPE_LENGTH:
            self.refuse(received.id, ProtocolError(f"a pipeline scope is at most {MAX_SCOPE_LENGTH} characters"))
        else:
            self.start_pipelined(received.id, meta, received.stream, received.wire_id, received.payload)


# --- how calls end ------------------------------------------------------------------------------


class PendingCall:
    """One RPC's call in the executor: its items and final outcome, on their way to the event loop.

    The thread that produces them (the executor's, a pool thread, or the
    loop itself for coroutines) puts each as soon as it is encoded; the first
    one after a take schedules one wake-up of the RPC, which takes all there
    is. A burst of fast items thus costs one wake-up, and a lone item goes
    out at once. Once the RPC is over (``abandon``), what comes is freed.
    """

    __slots__ = (
        "_abandoned",
        "_final",
        "_items",
        "_lock",
        "_loop",
        "_loop_thread",
        "_ready",
        "_release",
        "_waking",
        "finished",
        "from_callback",
        "id",
        "serializer",
        "session",
    )

    def __init__(
        self,
        call_id: int,
        serializer: Serializer,
        session: int,
        loop: asyncio.AbstractEventLoop,
        release: Callable[[list[int]], object],
    ) -> None:
        self.id = call_id
        self.serializer = serializer
        self.session = session
        #: The decoders' ``from_callback`` for the call's arguments.
        self.from_callback: Callable[[int], HostCallback] | None = None
        #: The executor has given the call's final outcome.
        self.finished = False
        self._loop = loop
        self._loop_thread = threading.get_ident()  # made on the loop's thread
        self._release = release
        self._lock = threading.Lock()
        self._items: list[Encoded] = []
        self._final: Encoded | Failed | str | None = None
        self._ready = asyncio.Event()
        self._waking = False
        self._abandoned = False

    @property
    def abandoned(self) -> bool:
        return self._abandoned

    def put(self, item: Encoded) -> None:
        """One stream item, from the thread that made it."""
        with self._lock:
            kept = not self._abandoned
            if kept:
                self._items.append(item)
                wake, self._waking = not self._waking, True
        if not kept:
            self._release(item.handles)
        elif wake:
            self._wake()

    def settle(self, final: Encoded | Failed | str) -> None:
        """The call's final outcome, from the thread that decided it."""
        with self._lock:
            self.finished = True
            kept = not self._abandoned
            if kept:
                self._final = final
                wake, self._waking = not self._waking, True
        if not kept:
            if isinstance(final, Encoded):
                self._release(final.handles)
        elif wake:
            self._wake()

    def _wake(self) -> None:
        if threading.get_ident() == self._loop_thread:
            self._ready.set()  # a coroutine's outcome: no trip through the loop's wake-up pipe
            return
        # A closed loop means the server is exiting and nobody waits any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._ready.set)

    async def next(self) -> tuple[list[Encoded], Encoded | Failed | str | None]:
        """On the loop: the items put since the last take, in order, and the final outcome if it came."""
        while True:
            with self._lock:
                # Reset first: whatever is put from here on schedules a wake-up of its own (or is taken now).
                self._waking = False
                items, self._items = self._items, []
                final = self._final
                if items or final is not None:
                    return items, final
                self._ready.clear()
            await self._ready.wait()

    async def outcome(self) -> Encoded | Failed:
        """On the loop: the final outcome of a call that is not a stream."""
        while True:
            _, final = await self.next()
            if final is not None:
                assert final is not END
                return final  # type: ignore[return-value]

    def abandon(self) -> None:
        """On the loop: the RPC is over; what was not taken, and what comes later, is freed."""
        with self._lock:
            self._abandoned = True
            items, self._items = self._items, []
            final, self._final = self._final, None
        for item in items:
            self._release(item.handles)
        if isinstance(final, Encoded):
            self._release(final.handles)


class ServerOutcomes:
    """The executor's ``Outcomes`` and ``Callbacks`` on the server: each call's go to its ``PendingCall``.

    Values are encoded by the serializer of the call's RPC; no body is larger
    than the message limit allows (a result that is becomes a ``PROTOCOL``
    error, an error that is has its texts cut).
    """

    #: Results are not checked per callable over gRPC.
    wants_target = False

    def __init__(self, dispatcher: Dispatcher, max_message_bytes: int) -> None:
        self.targets: dict[int, str] = {}
        #: The calls whose outcome is not decided yet, by id.
        self.pending: dict[int, PendingCall] = {}
        self._handles = dispatcher.handles
        self.max_body = max_message_bytes - ENVELOPE_BYTES
        self._too_large = (
            f"the result is {{size}} bytes, more than this server's --max-message-bytes ({max_message_bytes}); "
            "raise the limit (and grpc.maxMessageBytes), or return a handle and fetch the data in parts"
        )
        #: Set by the executor: holds back a cancel's interrupt while a callback request is sent.
        self.uninterruptible: Callable[[], contextlib.AbstractContextManager[object]] = contextlib.nullcontext

    def encode(self, serializer: Serializer, value: Any, session: int) -> Encoded:
        """``value`` for the host; objects the serializer cannot carry become handles of ``session``."""
        created: list[int] = []
        body = encode_value(serializer, value, self._handles, session, self.max_body, self._too_large, created)
        return Encoded(body, created)

    def error_body(self, payload: dict[str, Any]) -> bytes:
        """An error reply's JSON, cut to fit the message limit; never raises, so every RPC gets its reply."""
        return payload_body(payload, self.max_body)

    def result(self, call_id: int, value: Any, session: int, *, flush: bool = True) -> None:
        pending = self.pending.get(call_id)
        if pending is None:
            return
        if pending.abandoned:
            self._settle(call_id, END)  # nobody to send it to: not even encoded, so no handles are made
            return
        try:
            encoded = self.encode(pending.serializer, value, session)
        except BaseException as exc:
            self.error(call_id, exc)
            return
        self._settle(call_id, encoded)

    def item(self, call_id: int, value: Any, session: int, *, flush: bool = True) -> None:
        pending = self.pending.get(call_id)
        if pending is not None and not pending.abandoned:
            pending.put(self.encode(pending.serializer, value, session))

    def end(self, call_id: int, *, flush: bool = True) -> None:
        self._settle(call_id, END)

    def error(self, call_id: int, exc: BaseException, *, flush: bool = True) -> None:
        if isinstance(exc, Cancelled):
            self.cancelled(call_id)
            return
        self._settle(call_id, Failed(self.error_body(describe(exc))))

    def error_payload(self, call_id: int, payload: dict[str, Any], *, flush: bool = True) -> None:
        self._settle(call_id, Failed(self.error_body(payload)))

    def cancelled(self, call_id: int, *, flush: bool = True) -> None:
        self._settle(call_id, Failed(self.error_body(bridge_error("CANCELLED", "the call was cancelled"))))

    def _settle(self, call_id: int, final: Encoded | Failed | str) -> None:
        pending = self.pending.pop(call_id, None)
        if pending is not None:
            pending.settle(final)

    def callback(self, call_id: int, session: int, index: int) -> HostCallback:
        """A host function in the arguments of ``call_id``, answered on its RPC if that can carry answers."""
        pending = self.pending.get(call_id)
        if pending is None or pending.from_callback is None:
            return HostCallback(ClosedChannel(EXPIRED), call_id, index, session)
        return pending.from_callback(index)


# --- what the service asks for ---------------------------------------------------------------------


class ServerCalls:
    """The server's calls: started and cancelled from the event loop, run by the executor on the main thread.

    The main thread runs ``run_forever`` until ``close`` (from any thread).
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        loop: asyncio.AbstractEventLoop,
        *,
        threads: int = 0,
        max_message_bytes: int,
        cancel_grace_ms: int = 0,
        initializer: Callable[[], None] | None = None,
        declare_wait_seconds: float = DECLARE_WAIT_SECONDS,
    ) -> None:
        self.outcomes = ServerOutcomes(dispatcher, max_message_bytes)
        #: The serializers agreed in Hello, by wire id: they decode the calls' arguments.
        self._serializers: dict[int, Serializer] = {}
        self.executor = ServerExecutor(
            self._serializers,
            self.outcomes,
            dispatcher,
            _nothing_to_flush,
            threads,
            self.outcomes,
            loop,
            initializer,
            # Separate RPCs may arrive out of order: a call may come before the one that makes what it names.
            ordered=False,
            declare_wait_seconds=declare_wait_seconds,
        )
        self._handles = dispatcher.handles
        self._inbox = Inbox()
        self._loop = loop
        self._grace = cancel_grace_ms / 1000
        self._last_id = 0

    def agree(self, serializer: Serializer) -> None:
        """A serializer agreed in Hello: calls may send their arguments in it."""
        self._serializers[serializer.wire_id] = serializer

    def run_forever(self) -> None:
        """On the main thread: runs calls until ``close``."""
        self.executor.run_forever(self._inbox)

    def close(self) -> None:
        """The executor's thread returns once the call in progress is over."""
        self._inbox.close()

    # --- on the event loop ------------------------------------------------------------------------

    def open(self, serializer: Serializer, session: int) -> PendingCall:
        """A new call of an RPC, not started yet: its ``from_callback`` can be set first."""
        self._last_id += 1
        pending = PendingCall(self._last_id, serializer, session, self._loop, self._handles.release)
        return pending

    def start(self, pending: PendingCall, request: Any, window: int = 0, trace: TraceContext | None = None) -> None:
        """Starts the call ``request`` (a CallRequest) asks for on the executor's thread; with a ``window``,
        a stream. Its outcome comes to ``pending``. ``trace``: the host's span, from the RPC's metadata."""
        self.outcomes.pending[pending.id] = pending
        meta = _meta(request, pending.session, window, trace)
        self._inbox.put(Submitted(pending.id, meta, window > 0, pending.serializer.wire_id, request.payload))

    async def call(self, pending: PendingCall, request: Any, trace: TraceContext | None = None) -> Encoded | Failed:
        """Runs the call ``request`` asks for and returns its outcome.

        A coroutine function the executor already knows runs right here, in
        the RPC's task; anything else goes to the executor's thread.
        Cancelling the awaiting task does not cancel the call: ``cancel`` does.
        ``trace``: the host's span, from the RPC's metadata.
        """
        self.outcomes.pending[pending.id] = pending
        meta = _meta(request, pending.session, 0, trace)
        wire_id = pending.serializer.wire_id
        # A pipelined call waits its turn on the executor's thread (calls/pipeline.py).
        here = (
            None
            if meta.scope or meta.promise
            else self.executor.start_coroutine(pending.id, meta, wire_id, request.payload)
        )
        if here is not None:
            await here
        else:
            self._inbox.put(Submitted(pending.id, meta, False, wire_id, request.payload))
        return await pending.outcome()

    def credit(self, pending: PendingCall, count: int) -> None:
        """More credit for a stream: a sync generator gets it on the executor's thread, an async one here."""
        self._inbox.put(Granted(pending.id, count))
        self.executor.credit(pending.id, count)

    def cancel(self, pending: PendingCall, what: str) -> None:
        """The RPC is over before the call's outcome was sent: stop the call, free what was made for it."""
        pending.abandon()
        if pending.finished:
            return
        self.executor.cancel(pending.id)
        if self._grace > 0:
            self._loop.call_later(self._grace, self._check_stopped, pending, what)

    def _check_stopped(self, pending: PendingCall, what: str) -> None:
        if pending.finished or not self.executor.running(pending.id):
            return
        log.error(
            "'%s' did not stop within %d ms of being cancelled (C code that never returns to Python?); "
            "exiting so that this server is replaced",
            what,
            round(self._grace * 1000),
        )
        logging.shutdown()
        os._exit(EXIT_CANCEL_STUCK)


def _meta(request: Any, session: int, window: int, trace: TraceContext | None) -> CallMeta:
    """The executor's meta of a CallRequest: a pipelined one names its promise and its host's scope;
    a traced one carries the host's span (``trace``, from the RPC's metadata)."""
    return CallMeta(
        request.op,
        request.target,
        request.handle,
        session,
        window,
        0,
        trace=trace,
        promise=request.promise,
        scope=request.pipeline,
    )


def _nothing_to_flush() -> None:
    """Outcomes go to their RPCs as they come: nothing waits to be written."""
