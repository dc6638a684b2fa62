"""Runs calls, whichever transport brought them: the stdio worker's frames
(worker/executor.py) and the gRPC server's RPCs (server/calls.py) feed the
same ``CallExecutor``.

One thread, the executor's (the process's main thread), reads what the
transport delivers and acts on it: it decodes each call's arguments, finds
its target and runs it. Sync functions run there, inline and in order (or on
a thread pool when ``threads`` > 0); coroutine functions and async
generators run on an event loop; generators are credit-paced streams that
take turns with other calls (on the pool's threads when there is one). Every
call ends in exactly one final outcome, which the transport's ``Outcomes``
encodes and sends.

Reading and running on one thread means a call costs no thread hand-off.
Other threads reach a running call another way: a cancel raises
``Cancelled`` in the thread running it, through a signal on the main thread
(which breaks out of ``time.sleep`` and pure-Python loops alike) and with
``PyThreadState_SetAsyncExc`` on a pool thread.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import os
import select
import signal
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import Cancelled, ProtocolError
from ..protocol import PROMISED, CallMeta, Op
from ..serializers.base import FromHandle, SegmentedPayload, Serializer
from ..telemetry import CallTracing, call_tracing
from .dispatcher import Dispatcher
from .interrupt import raise_in_thread
from .payloads import bridge_error, describe
from .pipeline import DECLARE_WAIT_SECONDS, Pipeline, PipelinedCall
from .promises import CANCELLED_PAYLOAD_MESSAGE, RESOLVED
from .running import RUNNING
from .state import Callbacks, CallState, Outcomes

if TYPE_CHECKING:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from .async_runner import AsyncRunner
    from .callbacks import HostCallback

#: The signal that interrupts a sync call on the main thread.
INTERRUPT_SIGNAL = getattr(signal, "SIGUSR1", None)
#: Items a sync generator produces in one turn before other calls get theirs.
STREAM_TURN = 32
#: The window of a stream whose call did not give one.
DEFAULT_WINDOW = 64
#: Cancels remembered for calls not read yet (or already finished).
_EARLY_CANCELS = 4096
#: Dotted names of coroutine functions remembered at most; past it the set starts over.
_MAX_ASYNC_TARGETS = 4096
#: Results that are certainly not awaitable: checked first, since inspect.isawaitable is slow.
_PLAIN_TYPES = frozenset({type(None), bool, int, float, str, bytes, list, tuple, dict})
#: The _PoolCall whose user code the current pool thread runs, if any.
_pool_thread = threading.local()


async def _done() -> None:
    """Nothing left to await: the call ended as it started."""


def _begun(tracing: CallTracing, call_id: int, meta: CallMeta) -> object | None:
    """The context of a coroutine call's span, or None if the SDK failed to make one (it then runs untraced)."""
    try:
        return tracing.begin(call_id, meta, False)
    except Exception:
        return None


async def _awaited_in(tracing: CallTracing, context: object, call: Coroutine[Any, Any, None]) -> None:
    """Awaits ``call`` with ``context`` (its span) current in the awaiting task."""
    token = tracing.attach(context)
    try:
        await call
    finally:
        tracing.detach(token)


def _thread_pool(threads: int, initializer: Callable[[], None] | None) -> ThreadPoolExecutor:
    """The pool that runs sync calls when ``threads`` is set (concurrent.futures is imported only then)."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(threads, thread_name_prefix="snakebridge-call", initializer=initializer)


class Source(Protocol):
    """What the executor's thread reads: a transport's incoming calls, credits and the like."""

    #: A file descriptor that is readable when there is something to read.
    fd: int
    #: Set once nothing more will come.
    eof: bool

    def read(self) -> list[Any]:
        """Blocks until something arrives (or end of file); returns what did, maybe nothing."""
        ...

    def read_ready(self) -> list[Any]:
        """What has arrived; never blocks."""
        ...


@dataclass(slots=True)
class _SyncStream:
    state: CallState
    iterator: Iterator[Any]
    credit: int
    parked: bool = False
    done: bool = False
    #: On a thread pool: the slot that makes its turns interruptible, and the lock its credit and parking
    #: change under (grants and cancels come from other threads). None: it runs on the executor's thread.
    call: _PoolCall | None = None
    lock: threading.Lock | None = None
    #: A traced call's context (its span current), which each turn of the generator runs in; None untraced.
    context: contextvars.Context | None = None


class _PoolCall:
    """A call on a pool thread, which a cancel stops by raising ``Cancelled`` in that thread.

    An exception raised in a thread lands wherever that thread happens to be.
    So it is raised only while the call's user code runs (``ident`` is set and
    cleared under ``lock``), and at most once: it can then only surface inside
    ``CallExecutor._run_interruptibly``, never mid-write or in the pool's own
    loop. Runtime code that the user code calls and that writes (a host
    callback) holds it back meanwhile with ``hold()``.
    """

    __slots__ = ("deferred", "held", "ident", "interrupted", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ident: int | None = None
        self.interrupted = False
        self.held = False
        self.deferred = False

    def interrupt(self) -> None:
        """The call's cancel hook, run by whichever thread cancels it."""
        with self.lock:
            if self.ident is not None and not self.interrupted:
                self.interrupted = True
                if self.held:
                    self.deferred = True  # raised when the thread lets go, see hold()
                else:
                    raise_in_thread(self.ident, Cancelled)

    def start(self, state: CallState) -> None:
        """Makes this thread interruptible; raises Cancelled if the call was cancelled before it started."""
        with self.lock:
            if state.cancelled:
                raise Cancelled()
            self.ident = threading.get_ident()
        _pool_thread.call = self

    def stop(self) -> None:
        """No interrupt from here on; one raised but not delivered yet is dropped."""
        _pool_thread.call = None
        with self.lock:
            ident, self.ident = self.ident, None
        if ident is not None:
            raise_in_thread(ident, None)

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Holds back an interrupt of the call's thread (the one running this) until the block ends."""
        with self.lock:
            if self.interrupted:
                # Raised already, and maybe not landed yet: it must not land inside the block, so land it here.
                raise_in_thread(threading.get_ident(), None)
                raise Cancelled()
            self.held = True
        try:
            yield
        finally:
            with self.lock:
                self.held = False
                deferred, self.deferred = self.deferred, False
            if deferred:
                raise Cancelled()


class CallExecutor:
    """Runs the calls of one process; a transport subclasses it to say what ``handle`` does with what it reads.

    The executor's thread (the main thread) runs ``run_forever``, and with it
    ``handle``, ``start`` and ``_grant``. Any other thread may call
    ``cancel``, ``credit``, ``stop`` and ``running``; the event loop's thread
    ``start_coroutine``. Pool calls run on the pool's threads, async calls
    on the event loop's.

    ``serializers`` decode arguments, by the wire id the call names;
    ``outcomes`` ends calls; ``flush`` writes out what ``outcomes`` deferred,
    and ``flush_soon`` has it written within a short bound if the executor's
    thread now blocks (it is called before running more user code while
    results of the same burst are deferred).
    ``loop``: the event loop for coroutines (by default one of its own, in a
    thread started on the first async call). ``initializer`` runs in each
    pool thread as it starts (the gRPC server's OS sandbox, which is per
    thread). ``ordered``: the transport delivers calls in the order the host
    sent them (stdio); otherwise a pipelined call may arrive before the call
    that makes a promise it names, and waits up to ``declare_wait_seconds``
    for it (calls/pipeline.py).
    """

    def __init__(
        self,
        serializers: dict[int, Serializer],
        outcomes: Outcomes,
        dispatcher: Dispatcher,
        flush: Callable[[], None],
        threads: int = 0,
        callbacks: Callbacks | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        initializer: Callable[[], None] | None = None,
        flush_soon: Callable[[], None] | None = None,
        ordered: bool = True,
        declare_wait_seconds: float = DECLARE_WAIT_SECONDS,
    ) -> None:
        self._serializers = serializers
        self._outcomes = outcomes
        self._wants_target = outcomes.wants_target
        self._dispatcher = dispatcher
        self._from_handle = dispatcher.handles.get
        self._flush = flush
        self._flush_soon = flush_soon or _nothing
        #: Calls in flight, by id. Guarded by _lock together with _cancelled_early.
        self.calls: dict[int, CallState] = {}
        self._lock = threading.Lock()
        self._cancelled_early: OrderedDict[int, None] = OrderedDict()
        self._streams: dict[int, _SyncStream] = {}
        self._runnable: deque[_SyncStream] = deque()
        self._loop = loop
        self._async_runner: AsyncRunner | None = None
        self._async_lock = threading.Lock()
        self._pool = _thread_pool(threads, initializer) if threads else None
        #: Dotted names called and found to be coroutine functions: ``start_coroutine`` runs them.
        self.async_targets: set[str] = set()
        self._current = 0  # id of the call whose user code runs on the main thread, 0 when none
        self._interrupt = 0  # id a cancel asked to interrupt
        self._held = False  # the main thread is in an uninterruptible() block
        self._held_interrupt = False  # an interrupt came meanwhile: raised when the block ends
        self._stopping = False
        self._main_ident = threading.main_thread().ident
        # A canceller writes a byte here to wake the main thread, so that it closes a cancelled stream
        # that waits for credit (only the main thread touches the sync generators it runs).
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        if INTERRUPT_SIGNAL is not None and threading.current_thread() is threading.main_thread():
            signal.signal(INTERRUPT_SIGNAL, self._on_interrupt)
        self._callbacks = callbacks
        # A cancel lands after the imports a call's name needs, never in the middle of one.
        dispatcher.resolver.importing = self.uninterruptible
        # The call whose arguments are being decoded: decoding is synchronous, on the executor's thread,
        # so one bound method can read them here instead of a closure made for every call.
        self._decoding_call = 0
        self._decoding_session = 0
        self._from_callback = None if callbacks is None else self._callback_in_arguments
        #: Spans of traced calls (telemetry.py): looked for at the first call that brings a trace context.
        self._tracing: CallTracing | None = None
        self._tracing_looked_for = False
        #: The call the executor's thread is starting is traced: what it hands to other threads takes its context.
        self._traced = False
        if callbacks is not None:
            # Callbacks send their requests from user code, which a cancel interrupts.
            callbacks.uninterruptible = self.uninterruptible
        self._pipeline = Pipeline(
            dispatcher.promises, ordered=ordered, wake=self._wake, declare_wait_seconds=declare_wait_seconds
        )
        self._pipeline.run = self._run_held
        self._pipeline.fail = self._fail_pipelined
        self._pipeline.admit = self._admit
        self._pipeline.cancelled = self._cancel_held

    @property
    def _async(self) -> AsyncRunner:
        """Runs the coroutines and async generators; made on the first async call, since importing
        asyncio costs a worker's start tens of milliseconds and most workers never await."""
        runner = self._async_runner
        if runner is None:
            with self._async_lock:
                runner = self._async_runner
                if runner is None:
                    from .async_runner import AsyncRunner

                    runner = self._async_runner = AsyncRunner(self._outcomes, self._finished, self._loop)
        return runner

    # --- from any thread ----------------------------------------------------------------------

    def cancel(self, call_id: int) -> None:
        """Stops an async call, interrupts a running sync one, closes a stream, or marks one not read yet."""
        with self._lock:
            state = self.calls.get(call_id)
            if state is None:
                if self._current == call_id:
                    # A sync call running inline (it has no state): interrupt it where it is.
                    self._interrupt_main(call_id)
                    return
                self._cancelled_early[call_id] = None
                if len(self._cancelled_early) > _EARLY_CANCELS:
                    self._cancelled_early.popitem(last=False)
                return
            state.cancelled = True
            hook = state.on_cancel
        if hook is not None:
            hook()
        elif self._current == call_id:
            # Its user code runs on the main thread now. (A sync stream interrupted there, or between two
            # items, sees state.cancelled before it could park, and ends.)
            self._interrupt_main(call_id)
        elif call_id in self._streams:
            self._wake()  # a sync stream that may be parked: the main thread closes it

    def credit(self, call_id: int, count: int) -> None:
        """Credit for an async stream (a sync stream gets its credit on the executor's thread: ``_grant``)."""
        state = self.calls.get(call_id)
        if state is not None and state.on_credit is not None:
            state.on_credit(count)

    @property
    def in_flight(self) -> int:
        """Calls in progress: those with state, and a sync call running inline."""
        return len(self.calls) + (1 if self._current and self._current not in self.calls else 0)

    def running(self, call_id: int) -> bool:
        """Whether a thread runs the call's sync code now (the main thread, or a pool thread); not a coroutine."""
        if self._current == call_id:
            return True
        state = self.calls.get(call_id)
        return state is not None and state.pool_call is not None and state.pool_call.ident is not None

    def stop(self) -> None:
        """Makes ``run_forever`` return after the call in progress, which is interrupted."""
        self._stopping = True
        if self._current:
            self._interrupt_main(self._current)

    def start_coroutine(
        self, call_id: int, meta: CallMeta, wire_id: int, payload: Any
    ) -> Coroutine[Any, Any, None] | None:
        """A call of a function already known to be a coroutine function, run without the executor's thread.

        On the thread of the event loop given as ``loop``, for a transport
        whose reader it is (the gRPC server's): such a call never waits for
        the executor's thread, which may be busy with a sync call. Returns
        what runs the call, to be awaited on that loop (cancelling the
        awaiting task cancels the call), or None, having
        done nothing, if the target is not known to be one: the call then
        goes to ``start``. The outcome goes to ``outcomes`` as any call's does.
        """
        if meta.op != Op.CALL or meta.handle or meta.target not in self.async_targets:
            return None
        try:
            function = self._dispatcher.lookup(meta.target, 0)
        except Exception:
            function = None  # the executor's thread looks it up again, and reports why it cannot
        if function is None or not self._dispatcher.is_coroutine_function(function):
            self.async_targets.discard(meta.target)  # not any more: the executor's thread finds out what it is
            return None
        session = meta.session
        state = self._register(call_id, session)
        state.meta = meta  # not the executor's thread: RUNNING is not set here
        tracing = None if meta.trace is None else self._load_tracing()
        context = None if tracing is None else _begun(tracing, call_id, meta)
        if context is None:
            tracing = None
        try:
            if self._wants_target:
                self._outcomes.targets[call_id] = meta.target
            args, kwargs = self._decode_arguments(
                wire_id, payload, call_id, session, self._callback_for(call_id, session)
            )
            coroutine = function(*args, **kwargs)
        except BaseException as exc:
            self._outcomes.error(call_id, exc)
            self._finished(state)
            return _done()
        if tracing is not None:
            return _awaited_in(tracing, context, self._async.await_here(state, coroutine, session))
        return self._async.await_here(state, coroutine, session)

    # --- the executor's thread --------------------------------------------------------------

    def run_forever(self, source: Source) -> None:
        """Reads from ``source`` and acts on what comes (``handle``) until it ends or ``stop()`` is called.

        Sync streams that have credit take turns between reads; while there
        are any, reading does not block.
        """
        while not self._stopping:
            if self._runnable:
                self._turn()
                self._flush()
                frames = self._read(source, block=False)
            else:
                self._flush()  # results of a burst of calls go out in one write
                frames = self._read(source, block=True)
            if source.eof:
                break
            for index, frame in enumerate(frames):
                if index:
                    self._flush_soon()  # the results of the calls before it must not wait for this one
                self.handle(frame)
        self._flush()
        if self._async_runner is not None:
            self._async_runner.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def handle(self, received: Any) -> None:
        """Acts on one thing read from the source: the transport's part."""
        raise NotImplementedError

    def start(self, call_id: int, meta: CallMeta, stream: int, wire_id: int, payload: Any) -> None:
        """Runs one call (``stream``: iterates what it returns), or starts it where it goes on.

        ``payload`` is its arguments, ``[args, kwargs]`` encoded by the
        serializer ``wire_id`` names (empty for none). A call cancelled before
        it got here is acknowledged and not run.
        """
        with self._lock:
            if call_id in self._cancelled_early:
                # Cancelled before we got to it: acknowledge and do not run.
                del self._cancelled_early[call_id]
                self._outcomes.cancelled(call_id, flush=False)
                return
            # Set under the lock: a cancel now either sees it (and interrupts) or was seen above.
            self._current = call_id
        traced = None if meta.trace is None else self._enter_trace(call_id, meta, stream)
        # What runs now is this call, for a record it logs; a task or thread it moves to gets it from its state.
        running = RUNNING.set(meta)
        try:
            if self._wants_target and meta.op == Op.CALL and not meta.handle:
                self._outcomes.targets[call_id] = meta.target
            args, kwargs = self._decode_arguments(wire_id, payload, call_id, meta.session)
            if stream:
                self._start_stream(call_id, meta, args, kwargs)
            else:
                self._run_op(call_id, meta.op, meta.target, meta.handle, meta.session, args, kwargs)
        except BaseException as exc:
            self._current = 0
            self._outcomes.error(call_id, exc, flush=False)
            self._forget(call_id)
        finally:
            RUNNING.reset(running)
            if traced is not None:
                self._leave_trace(traced)

    # --- tracing (telemetry.py) ------------------------------------------------------------

    def _load_tracing(self) -> CallTracing | None:
        """The tracing of calls, looked for once; from then on the final outcomes of traced calls end their spans."""
        with self._lock:
            if not self._tracing_looked_for:
                self._tracing_looked_for = True
                tracing = call_tracing()
                if tracing is not None:
                    # Under the async lock: a runner made meanwhile is made with these outcomes, or given them here.
                    with self._async_lock:
                        self._outcomes = tracing.outcomes(self._outcomes)
                        if self._async_runner is not None:
                            self._async_runner.outcomes = self._outcomes
                self._tracing = tracing
        return self._tracing

    def _enter_trace(self, call_id: int, meta: CallMeta, stream: int) -> tuple[CallTracing, object] | None:
        """Starts the span of a call that brought a trace context and makes it current on the executor's
        thread while the call starts there; None when OpenTelemetry is not installed."""
        tracing = self._tracing if self._tracing_looked_for else self._load_tracing()
        if tracing is None:
            return None
        try:
            token = tracing.attach(tracing.begin(call_id, meta, bool(stream)))
        except Exception:
            return None  # a broken SDK: the call runs untraced (its span, if begun, ends with it)
        self._traced = True
        return tracing, token

    def _leave_trace(self, traced: tuple[CallTracing, object]) -> None:
        tracing, token = traced
        self._traced = False
        tracing.detach(token)

    def _to_pool(self, function: Callable[..., Any], *args: Any) -> None:
        """Runs ``function`` on the thread pool; in a copy of this thread's context if the call being started
        is traced, so that its span is current there too (the event loop copies the context by itself)."""
        assert self._pool is not None
        if self._traced:
            self._pool.submit(contextvars.copy_context().run, function, *args)
        else:
            self._pool.submit(function, *args)

    def refuse(self, call_id: int, exc: BaseException) -> None:
        """Ends a call that cannot even be started (its call meta is malformed) with ``exc``, or as cancelled."""
        with self._lock:
            if call_id in self._cancelled_early:
                del self._cancelled_early[call_id]
                exc = Cancelled()
        self._outcomes.error(call_id, exc, flush=False)

    # --- pipelined calls (calls/pipeline.py) --------------------------------------------------------

    def start_pipelined(self, call_id: int, meta: CallMeta, stream: int, wire_id: int, payload: Any) -> None:
        """Starts a pipelined call: one that makes a promised handle (``meta.promise``) or names some.

        It runs at once if every promise it names is settled; otherwise it is
        held back until they are, and calls on one promise start in the order
        they arrived. Its outcome settles the promise it makes.
        """
        call = PipelinedCall(call_id, meta, stream, wire_id, payload)
        with self._lock:
            cancelled = call_id in self._cancelled_early
            if cancelled:
                del self._cancelled_early[call_id]
        if cancelled:
            self._end_cancelled(call)
            return
        refusal = _pipelining_refusal(meta, stream)
        if refusal is not None:
            self._outcomes.error(call_id, ProtocolError(refusal), flush=False)
            return
        self._admit(call)

    def _admit(self, call: PipelinedCall) -> None:
        """Reads which promises a call names, then places it: runs it now, holds it back, or fails it."""
        call.names.clear()
        call.missing.clear()
        if call.state is None:
            # Registered while it may wait, so that a cancel finds it and it counts as in flight.
            call.state = self._register(call.id, call.meta.session, lambda: self._pipeline.hold_cancelled(call.id))
        try:
            read = self._promise_reader(call, probing=True)
            if call.meta.handle & PROMISED:
                read(call.meta.handle)
            args, kwargs = self._decode_arguments(
                call.wire_id, call.payload, call.id, call.meta.session, from_handle=read
            )
        except BaseException as exc:
            self._fail_pipelined(call, exc)
            return
        if self._pipeline.place(call):
            self._run_placed(call, args, kwargs)
            self._pipeline.placed(call)

    def _promise_reader(self, call: PipelinedCall, probing: bool) -> FromHandle:
        """What the handle ids in a pipelined call's arguments become: a promised id its promise's value.

        ``probing``: the first read, which records the promises the call names
        (and those nobody declared); a promise not settled yet reads as None
        then, and the call is read again when it runs.
        """
        plain = self._from_handle
        table = self._pipeline.promises
        scope = call.meta.scope
        names = call.names

        def read(handle_id: int) -> object:
            if not handle_id & PROMISED:
                return plain(handle_id)
            promise = names.get(handle_id)
            if promise is None:
                promise = table.get(scope, handle_id) if probing else None
                if promise is None:
                    call.missing.append(handle_id)
                    return None
                names[handle_id] = promise
            return promise.value if promise.state == RESOLVED else None

        return read

    def _run_held(self, call: PipelinedCall) -> None:
        """A held call whose promises have all settled, its turn come: read its arguments again, and run it."""
        self._run_placed(call, None, None)

    def _run_placed(self, call: PipelinedCall, args: list[Any] | None, kwargs: dict[str, Any] | None) -> None:
        """Runs a placed call; ``args`` None: decoded now, from the settled promises."""
        with self._lock:
            state = self.calls.pop(call.id, None)
            cancelled = state is not None and state.cancelled
            if not cancelled:
                # Set under the lock: a cancel from now on interrupts it where it is (as in start()).
                self._current = call.id
        if cancelled:
            self._end_cancelled(call)
            return
        meta = call.meta
        # As in start(): a traced call runs in its span, and what runs now is this call, for its records.
        traced = None if meta.trace is None else self._enter_trace(call.id, meta, call.stream)
        running = RUNNING.set(meta)
        try:
            self._run_decoded(call, args, kwargs)
        finally:
            RUNNING.reset(running)
            if traced is not None:
                self._leave_trace(traced)

    def _run_decoded(self, call: PipelinedCall, args: list[Any] | None, kwargs: dict[str, Any] | None) -> None:
        """Runs a placed call that may start, reading its arguments first if ``args`` is None."""
        meta = call.meta
        try:
            if args is None or kwargs is None:
                read = self._promise_reader(call, probing=False)
                args, kwargs = self._decode_arguments(
                    call.wire_id, call.payload, call.id, meta.session, from_handle=read
                )
            if self._wants_target and meta.op == Op.CALL and not meta.handle:
                self._outcomes.targets[call.id] = meta.target
            # A call on a promise is a call on the handle its value is kept under.
            handle = (
                self._dispatcher.receiver_handle(call.names[meta.handle]) if meta.handle & PROMISED else meta.handle
            )
            if call.makes is not None:
                self._make_promised(call, handle, args, kwargs)
            elif call.stream:
                self._start_stream(call.id, meta._replace(handle=handle), args, kwargs)
            else:
                self._run_op(call.id, meta.op, meta.target, handle, meta.session, args, kwargs)
        except BaseException as exc:
            self._current = 0
            if call.makes is not None:
                call.makes.fail(exc)
            self._outcomes.error(call.id, exc, flush=False)
            self._forget(call.id)

    def _make_promised(self, call: PipelinedCall, handle: int, args: list[Any], kwargs: dict[str, Any]) -> None:
        """Runs a call whose result the host promised: its outcome settles the promise, then goes to the host."""
        meta, promise = call.meta, call.makes
        function = self._dispatcher.lookup(meta.target, handle)
        if self._dispatcher.is_coroutine_function(function):
            self._current = 0
            state = self._register(call.id, meta.session, promise=promise)
            self._async.call(state, function(*args, **kwargs), meta.session)
            return
        if self._pool is not None:
            self._submit(call.id, meta.session, function, args, kwargs, promise)
            return
        value = self._invoke(function, args, kwargs)
        if type(value) not in _PLAIN_TYPES and inspect.isawaitable(value):
            state = self._register(call.id, meta.session, promise=promise)
            self._async.call(state, value, meta.session)
            return
        assert promise is not None
        promise.resolve(value)
        self._outcomes.result(call.id, value, meta.session, flush=False)
        if self._wants_target:
            self._outcomes.targets.pop(call.id, None)

    def _fail_pipelined(self, call: PipelinedCall, error: BaseException | dict[str, Any]) -> None:
        """Ends a pipelined call that did not run, with an exception or an error payload; the promise it
        makes fails the same way, so that calls on it fail saying why."""
        self._current = 0
        self._forget(call.id)
        if isinstance(error, BaseException):
            payload = describe(error)
            self._fail_promise(call, payload)
            self._outcomes.error(call.id, error, flush=False)
        else:
            self._fail_promise(call, error)
            self._outcomes.error_payload(call.id, error, flush=False)

    def _cancel_held(self, call: PipelinedCall) -> None:
        """A held (or waiting) call was cancelled before it started."""
        self._forget(call.id)
        self._end_cancelled(call)

    def _end_cancelled(self, call: PipelinedCall) -> None:
        self._outcomes.cancelled(call.id, flush=False)
        self._fail_promise(call, bridge_error("CANCELLED", CANCELLED_PAYLOAD_MESSAGE))

    def _fail_promise(self, call: PipelinedCall, payload: dict[str, Any]) -> None:
        """Fails the promise a call makes, declaring it first if the call never got that far."""
        if call.makes is None and call.meta.promise:
            with contextlib.suppress(Exception):  # in use already, or over the bound: there is nothing to fail
                self._pipeline.declare(call)
        if call.makes is not None:
            call.makes.fail_with(payload)

    def _register(
        self,
        call_id: int,
        session: int,
        on_cancel: Callable[[], object] | None = None,
        pool_call: _PoolCall | None = None,
        promise: Any = None,
    ) -> CallState:
        """Keeps state for a call that outlives this turn (async, thread pool, stream), so a cancel can reach it."""
        state = CallState(
            call_id, session, on_cancel=on_cancel, pool_call=pool_call, meta=RUNNING.get(), promise=promise
        )
        with self._lock:
            self.calls[call_id] = state
        return state

    def _decode_arguments(
        self,
        wire_id: int,
        payload: Any,
        call_id: int,
        session: int,
        from_callback: Callable[[int], HostCallback] | None = None,
        from_handle: FromHandle | None = None,
    ) -> tuple[list[Any], dict[str, Any]]:
        if not len(payload):
            return [], {}
        serializer = self._serializers.get(wire_id)
        if serializer is None:
            raise ProtocolError(f"the arguments are encoded with serializer {wire_id}, which this process does not use")
        if from_callback is None:
            self._decoding_call, self._decoding_session = call_id, session
            from_callback = self._from_callback
        if isinstance(payload, SegmentedPayload):
            if not hasattr(serializer, "shared_memory"):
                raise ProtocolError(f"serializer {wire_id} cannot read arguments in shared-memory segments")
            decoded = serializer.decode(  # type: ignore[call-arg]
                payload.body, from_handle or self._from_handle, from_callback, payload.segments
            )
        else:
            decoded = serializer.decode(payload, from_handle or self._from_handle, from_callback)
        # The host sends [args, kwargs]; anything else is a host that does not speak this protocol.
        if not (isinstance(decoded, (list, tuple)) and len(decoded) == 2):
            raise ProtocolError(f"the arguments of a call must be [args, kwargs], not a {type(decoded).__name__}")
        args, kwargs = decoded
        if not isinstance(args, (list, tuple)) or not isinstance(kwargs, (dict, type(None))):
            raise ProtocolError("the arguments of a call must be [a list, a dict of keyword arguments]")
        if kwargs and not all(isinstance(key, str) for key in kwargs):
            raise ProtocolError("keyword argument names must be strings")
        return list(args), dict(kwargs or {})

    def _callback_in_arguments(self, index: int) -> HostCallback:
        """A host function in the arguments being decoded: a callable bound to their call, whichever
        thread then runs it."""
        assert self._callbacks is not None
        return self._callbacks.callback(self._decoding_call, self._decoding_session, index)

    def _callback_for(self, call_id: int, session: int) -> Callable[[int], HostCallback] | None:
        """The decoders' ``from_callback`` for one call, for decoding off the executor's thread."""
        callbacks = self._callbacks
        if callbacks is None:
            return None
        return lambda index: callbacks.callback(call_id, session, index)

    def _run_op(
        self, call_id: int, op: int, target: str, handle: int, session: int, args: list[Any], kwargs: dict[str, Any]
    ) -> None:
        """Runs one call, or starts it where it goes on (event loop, thread pool)."""
        if op == Op.CALL:
            function = self._dispatcher.lookup(target, handle)
            if self._dispatcher.is_coroutine_function(function):
                self._current = 0
                if not handle:
                    self._remember_async(target)
                state = self._register(call_id, session)
                self._async.call(state, function(*args, **kwargs), session)
                return
            if self._pool is not None:
                self._submit(call_id, session, function, args, kwargs)
                return
            try:  # _invoke, inline: this is every plain call
                value = function(*args, **kwargs)
            finally:
                self._current = 0  # before anything is written, so a late interrupt cannot land mid-write
        elif self._pool is not None:
            # Attribute reads and writes, eval and exec run user code too: on the pool, as calls do.
            self._submit(call_id, session, self._dispatcher.run, [op, target, handle, session, args, kwargs], {})
            return
        else:
            value = self._dispatcher.run(op, target, handle, session, args, kwargs, self._invoke)
        self._current = 0
        if type(value) not in _PLAIN_TYPES and inspect.isawaitable(value):
            state = self._register(call_id, session)
            self._async.call(state, value, session)
            return
        self._outcomes.result(call_id, value, session, flush=False)
        if self._wants_target:
            self._outcomes.targets.pop(call_id, None)

    def _invoke(self, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Runs user code on the main thread, interruptible by a cancel."""
        try:
            return function(*args, **kwargs)
        finally:
            # Reset before anything is written, so a late interrupt cannot land mid-write.
            self._current = 0

    def _remember_async(self, target: str) -> None:
        if target not in self.async_targets:
            if len(self.async_targets) >= _MAX_ASYNC_TARGETS:
                self.async_targets.clear()
            self.async_targets.add(target)

    # --- thread pool -------------------------------------------------------------------------

    def _submit(
        self,
        call_id: int,
        session: int,
        function: Callable[..., Any],
        args: list[Any],
        kwargs: dict[str, Any],
        promise: Any = None,
    ) -> None:
        self._current = 0
        call = _PoolCall()
        # The hook is in place before a cancel can find the call.
        state = self._register(call_id, session, call.interrupt, call, promise)
        self._to_pool(self._run_in_thread, state, call, function, args, kwargs)

    def _run_in_thread(
        self, state: CallState, call: _PoolCall, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]
    ) -> None:
        try:
            value = self._run_interruptibly(state, call, function, args, kwargs)
        except BaseException as exc:  # the interrupt of a cancel included: it can only surface here
            if state.promise is not None:
                state.promise.fail(exc)
            self._outcomes.error(state.id, exc)
        else:
            if type(value) not in _PLAIN_TYPES and inspect.isawaitable(value):
                self._async.call(state, value, state.session)
                return
            if state.promise is not None:
                state.promise.resolve(value)
            self._outcomes.result(state.id, value, state.session)
        self._finished(state)

    @staticmethod
    def _run_interruptibly(
        state: CallState, call: _PoolCall, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]
    ) -> Any:
        """Runs user code on a pool thread; a cancel meanwhile raises Cancelled in it."""
        running = RUNNING.set(state.meta)
        try:
            call.start(state)
            return function(*args, **kwargs)
        finally:
            call.stop()
            RUNNING.reset(running)

    def _pool_submit(self, function: Callable[..., Any], *args: Any) -> None:
        # A pool shut down means the process is leaving: nobody waits for the outcome any more.
        with contextlib.suppress(RuntimeError):
            assert self._pool is not None
            self._pool.submit(function, *args)

    # --- streams -------------------------------------------------------------------------------

    def _start_stream(self, call_id: int, meta: CallMeta, args: list[Any], kwargs: dict[str, Any]) -> None:
        window = meta.window or DEFAULT_WINDOW
        if self._pool is not None:
            self._current = 0
            call = _PoolCall()
            state = self._register(call_id, meta.session, call.interrupt, call)
            self._to_pool(self._open_in_thread, state, call, meta, window, args, kwargs)
            return
        state = self._register(call_id, meta.session)
        source = self._dispatcher.stream_source(meta.op, meta.target, meta.handle, args, kwargs, self._invoke)
        self._current = 0
        if hasattr(source, "__aiter__"):
            self._async.stream(state, source.__aiter__(), window, state.session)
            return
        stream = _SyncStream(state, iter(source), window, context=contextvars.copy_context() if self._traced else None)
        self._streams[call_id] = stream
        self._runnable.append(stream)

    def _grant(self, call_id: int, count: int) -> None:
        """More credit for a sync stream: a parked one takes turns again."""
        stream = self._streams.get(call_id)
        if stream is None:
            return
        if stream.lock is None:
            stream.credit += count
            if stream.parked:
                stream.parked = False
                self._runnable.append(stream)
            return
        with stream.lock:
            stream.credit += count
            resume, stream.parked = stream.parked, False
        if resume:
            self._pool_submit(self._pool_turn, stream)

    def _cancel_stream(self, call_id: int) -> None:
        """A cancel read by the executor's thread: a sync generator waiting for credit is closed now,
        one that has credit left at its next turn (which checks the flag before each item)."""
        stream = self._streams.get(call_id)
        if stream is None:
            return
        if stream.lock is not None:
            stream.state.cancelled = True
            self._cancel_pool_stream(stream)
        elif stream.parked:
            self._end_stream(stream, None)
        else:
            stream.state.cancelled = True

    def _close_cancelled_streams(self) -> None:
        """Closes the parked streams of the main thread that another thread cancelled."""
        for stream in [s for s in self._streams.values() if s.lock is None and s.parked and s.state.cancelled]:
            self._end_stream(stream, None)

    def _turn(self) -> None:
        """Lets one runnable stream produce up to a turn's worth of items, on the main thread."""
        stream = self._runnable.popleft()
        if stream.done:
            return
        running = RUNNING.set(stream.state.meta)
        try:
            self._turn_of(stream)
        finally:
            RUNNING.reset(running)

    def _turn_of(self, stream: _SyncStream) -> None:
        """The items of one turn, then the stream goes to the back of the queue (unless it parked or ended)."""
        call_id = stream.state.id
        for turn in range(STREAM_TURN):
            if turn:
                self._flush_soon()  # the items already made must not wait for the next one
            if stream.state.cancelled:
                self._end_stream(stream, None)
                return
            if stream.credit <= 0:
                stream.parked = True
                return
            self._current = call_id
            if stream.state.cancelled:  # re-checked now that an interrupt can find it
                self._current = 0
                self._end_stream(stream, None)
                return
            try:
                item = next(stream.iterator) if stream.context is None else stream.context.run(next, stream.iterator)
            except StopIteration:
                self._end_stream(stream, None)
                return
            except BaseException as exc:
                self._end_stream(stream, exc)
                return
            finally:
                self._current = 0
            try:
                self._outcomes.item(call_id, item, stream.state.session, flush=False)
            except BaseException as exc:
                self._end_stream(stream, exc)
                return
            stream.credit -= 1
        self._runnable.append(stream)  # others get a turn first

    def _open_in_thread(
        self, state: CallState, call: _PoolCall, meta: CallMeta, window: int, args: list[Any], kwargs: dict[str, Any]
    ) -> None:
        """On a pool thread: what the stream iterates, then its first turn."""
        try:
            source = self._run_interruptibly(
                state,
                call,
                self._dispatcher.stream_source,
                [meta.op, meta.target, meta.handle, args, kwargs],
                {},
            )
            if hasattr(source, "__aiter__"):
                self._async.stream(state, source.__aiter__(), window, state.session)
                return
            # Traced, this thread runs in the context of the call's start: each turn runs in a copy of it.
            traced = meta.trace is not None and self._tracing is not None
            context = contextvars.copy_context() if traced else None
            stream = _SyncStream(state, iter(source), window, call=call, lock=threading.Lock(), context=context)
        except BaseException as exc:
            self._outcomes.error(state.id, exc)
            self._finished(state)
            return
        # A cancel from here on closes it where it is; one before this finds the flag set at the first item.
        state.on_cancel = lambda: self._cancel_pool_stream(stream)
        self._streams[state.id] = stream
        self._pool_turn(stream)

    def _pool_turn(self, stream: _SyncStream) -> None:
        """On a pool thread: up to a turn's worth of items, credit permitting; then others get the thread."""
        state, call, lock = stream.state, stream.call, stream.lock
        assert call is not None and lock is not None
        for _ in range(STREAM_TURN):
            with lock:
                if not state.cancelled and stream.credit <= 0:
                    stream.parked = True  # a grant or a cancel takes it from here
                    return
            if state.cancelled:
                self._end_stream(stream, None, flush=True)
                return
            try:
                if stream.context is None:
                    item = self._run_interruptibly(state, call, next, [stream.iterator], {})
                else:
                    item = self._run_interruptibly(state, call, stream.context.run, [next, stream.iterator], {})
            except StopIteration:
                self._end_stream(stream, None, flush=True)
                return
            except BaseException as exc:  # a cancel's interrupt included
                self._end_stream(stream, exc, flush=True)
                return
            try:
                self._outcomes.item(state.id, item, state.session)
            except BaseException as exc:
                self._end_stream(stream, exc, flush=True)
                return
            with lock:
                stream.credit -= 1
        self._pool_submit(self._pool_turn, stream)  # calls queued meanwhile get a thread first

    def _cancel_pool_stream(self, stream: _SyncStream) -> None:
        """A stream on the pool, cancelled (its flag is set): closed at once if parked, else interrupted."""
        assert stream.lock is not None and stream.call is not None
        with stream.lock:
            parked, stream.parked = stream.parked, False
        if parked:
            self._pool_submit(self._end_stream, stream, None, True)  # its finally blocks are user code
        else:
            stream.call.interrupt()

    def _end_stream(self, stream: _SyncStream, error: BaseException | None, flush: bool = False) -> None:
        stream.done = True
        self._streams.pop(stream.state.id, None)
        close = getattr(stream.iterator, "close", None)
        if close is not None:
            # A generator's finally blocks run now; a failure there must not lose the outcome.
            with contextlib.suppress(Exception, Cancelled):
                close() if stream.context is None else stream.context.run(close)
        if error is None or isinstance(error, Cancelled):
            self._outcomes.end(stream.state.id, flush=flush)
        else:
            self._outcomes.error(stream.state.id, error, flush=flush)
        self._finished(stream.state)

    # --- bookkeeping -----------------------------------------------------------------------------

    def _finished(self, state: CallState) -> None:
        if self._wants_target:
            self._outcomes.targets.pop(state.id, None)
        with self._lock:
            self.calls.pop(state.id, None)

    def _forget(self, call_id: int) -> None:
        """A call that failed before it ran, or while it started: no state or target of it stays."""
        if self._wants_target:
            self._outcomes.targets.pop(call_id, None)
        with self._lock:
            self.calls.pop(call_id, None)

    def _wake(self) -> None:
        # A full pipe already holds a wake-up: never block the cancelling thread on it.
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_w, b"\0")

    def _read(self, source: Source, block: bool) -> list[Any]:
        """What has arrived, waiting for some if ``block``.

        While sync streams are open or pipelined calls wait, the wake-up pipe
        is watched too, so that a stream cancelled by another thread alone is
        closed, and a call held back on a promise that another thread settled
        starts, even while nothing comes from the source. Otherwise a plain
        blocking read saves a system call per round trip.
        """
        pipeline = self._pipeline
        # Attributes, not the ``waiting`` property: this runs before every plain call's read.
        if not self._streams and not pipeline.held and not pipeline.unplaced:
            return source.read() if block else source.read_ready()
        readable, _, _ = select.select([source.fd, self._wake_r], [], [], None if block else 0)
        if self._wake_r in readable:
            os.read(self._wake_r, 4096)
            self._close_cancelled_streams()
            pipeline.drain()  # promises settled by other threads release the calls held on them
        return source.read() if source.fd in readable else []

    @contextlib.contextmanager
    def uninterruptible(self) -> Iterator[None]:
        """Holds back a cancel's interrupt of the calling thread until the block ends.

        For runtime code that user code calls and that must not stop half-way
        (a host callback sending its request). Threads that a cancel never
        interrupts (the event loop's, the user's own) just run the block.
        """
        call: _PoolCall | None = getattr(_pool_thread, "call", None)
        if call is not None:
            with call.hold():
                yield
        elif threading.get_ident() == self._main_ident:
            with self._hold_main():
                yield
        else:
            yield

    @contextlib.contextmanager
    def _hold_main(self) -> Iterator[None]:
        # The interrupt's signal handler runs on the main thread too, so it sees these flags in step.
        was_held, self._held = self._held, True
        try:
            yield
        finally:
            self._held = was_held
            # The flag is read too, not only what the handler left: CPython 3.11 can lose the wake-up that makes
            # the main thread run a handler, when the signal arrives while Python code runs (a long import, here).
            interrupted = self._held_interrupt or (self._interrupt != 0 and self._interrupt == self._current)
            if not was_held and interrupted:
                self._held_interrupt = False
                self._interrupt = 0
                raise Cancelled()

    def _interrupt_main(self, call_id: int) -> None:
        if INTERRUPT_SIGNAL is None or self._main_ident is None:
            return
        self._interrupt = call_id
        signal.pthread_kill(self._main_ident, INTERRUPT_SIGNAL)

    def _on_interrupt(self, _signum: int, _frame: object) -> None:
        if self._interrupt and self._interrupt == self._current:
            self._interrupt = 0
            if self._held:
                self._held_interrupt = True  # raised when the held block ends
                return
            raise Cancelled()


def _nothing() -> None:
    pass


def _pipelining_refusal(meta: CallMeta, stream: int) -> str | None:
    """Why a pipelined call's meta makes no sense, or None."""
    if not meta.promise:
        return None
    if not meta.promise & PROMISED:
        return f"promised handle id {meta.promise} lacks the top bit (2^31) that marks promised ids"
    if meta.op != Op.CALL or stream:
        return "only a call that is not streamed can promise its result"
    return None
