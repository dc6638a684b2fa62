"""Runs calls on the worker's main thread as it reads them from the data
channel: sync functions inline and in order (or on a thread pool), async
ones on the event loop, generators as credit-paced streams that take turns
with other calls.

Reading and running on one thread means a call costs no thread hand-off. The
control thread reaches a running call another way: a cancel raises
``Cancelled`` in the main thread through a signal, which breaks out of
``time.sleep`` and pure-Python loops alike.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import select
import signal
import sys
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..calls import Dispatcher
from ..calls.interrupt import raise_in_thread
from ..calls.payloads import bridge_error
from ..errors import Cancelled, ProtocolError
from ..protocol import FLAG_STREAM, Frame, FrameTooLarge, Kind, Op, decode_call
from ..protocol.frames import kind_name
from ..serializers.base import Serializer
from .async_runner import AsyncRunner
from .connection import DATA_KINDS, FrameSource, MalformedFrameError
from .outcomes import Outcomes
from .state import CallState

if TYPE_CHECKING:
    from ..calls.callbacks import HostCallback
    from .callbacks import HostCallbacks

#: The signal that interrupts a sync call on the main thread.
INTERRUPT_SIGNAL = getattr(signal, "SIGUSR1", None)
#: Items a sync generator produces in one turn before other calls get theirs.
_STREAM_TURN = 32
_DEFAULT_WINDOW = 64
#: Cancels remembered for calls not read yet (or already finished).
_EARLY_CANCELS = 4096
#: Results that are certainly not awaitable: checked first, since inspect.isawaitable is slow.
_PLAIN_TYPES = frozenset({type(None), bool, int, float, str, bytes, list, tuple, dict})
#: The _PoolCall whose user code the current pool thread runs, if any.
_pool_thread = threading.local()


@dataclass(slots=True)
class _SyncStream:
    state: CallState
    iterator: Iterator[Any]
    credit: int
    parked: bool = False
    done: bool = False


class _PoolCall:
    """A call on a pool thread, which a cancel stops by raising ``Cancelled`` in that thread.

    An exception raised in a thread lands wherever that thread happens to be.
    So it is raised only while the call's user code runs (``ident`` is set and
    cleared under ``lock``), and at most once: it can then only surface inside
    ``Executor._run_interruptibly``, never mid-write or in the pool's own loop.
    Runtime code that the user code calls and that writes frames (a host
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
        """The call's cancel hook, run by the control thread."""
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


class Executor:
    """Runs the calls of one worker: reads the data channel on the main thread and acts on each frame.

    The control thread calls ``cancel``, ``credit`` and ``stop``; everything
    else runs on the main thread, except pool calls (on their threads) and
    async calls (on the event loop's thread).
    """

    def __init__(
        self,
        serializers: dict[int, Serializer],
        outcomes: Outcomes,
        dispatcher: Dispatcher,
        flush: Callable[[], None],
        threads: int = 0,
        callbacks: HostCallbacks | None = None,
    ) -> None:
        self._serializers = serializers
        self._outcomes = outcomes
        self._wants_target = outcomes.wants_target
        self._dispatcher = dispatcher
        self._flush = flush
        #: Calls in flight, by id. Guarded by _lock together with _cancelled_early.
        self.calls: dict[int, CallState] = {}
        self._lock = threading.Lock()
        self._cancelled_early: OrderedDict[int, None] = OrderedDict()
        self._streams: dict[int, _SyncStream] = {}
        self._runnable: deque[_SyncStream] = deque()
        self._async = AsyncRunner(outcomes, self._finished)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="snakebridge-call") if threads else None
        self._current = 0  # id of the call whose user code runs on the main thread, 0 when none
        self._interrupt = 0  # id the control thread asked to interrupt
        self._held = False  # the main thread is in an uninterruptible() block
        self._held_interrupt = False  # an interrupt came meanwhile: raised when the block ends
        self._stopping = False
        self._main_ident = threading.main_thread().ident
        # The control thread writes a byte here to wake the main thread, so that it closes a cancelled stream
        # that waits for credit (only the main thread touches sync generators).
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        if INTERRUPT_SIGNAL is not None and threading.current_thread() is threading.main_thread():
            signal.signal(INTERRUPT_SIGNAL, self._on_interrupt)
        self._callbacks = callbacks
        # The call whose arguments are being decoded: decoding is synchronous, on the thread that reads frames,
        # so one bound method can read them here instead of a closure made for every call.
        self._decoding_call = 0
        self._decoding_session = 0
        self._from_callback = None if callbacks is None else self._callback_in_arguments
        if callbacks is not None:
            # Callbacks write their frames from user code, which a cancel interrupts.
            callbacks.uninterruptible = self.uninterruptible

    # --- called from the control thread ----------------------------------------------------

    def cancel(self, call_id: int) -> None:
        """Stops an async call, interrupts a running sync one, or marks one not read yet."""
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
        """Credit for an async stream (sync streams get theirs on the data channel)."""
        state = self.calls.get(call_id)
        if state is not None and state.on_credit is not None:
            state.on_credit(count)

    @property
    def in_flight(self) -> int:
        """Calls in progress: those with state, and a sync call running inline."""
        return len(self.calls) + (1 if self._current and self._current not in self.calls else 0)

    def stop(self) -> None:
        """Makes ``run_forever`` return after the call in progress, which is interrupted."""
        self._stopping = True
        if self._current:
            self._interrupt_main(self._current)

    # --- the main thread --------------------------------------------------------------------

    def run_forever(self, source: FrameSource) -> None:
        """Reads frames from the data channel and acts on them until it ends or ``stop()`` is called.

        Sync streams that have credit take turns between reads; while there
        are any, reading does not block. A frame the host never sends on this
        channel raises ``MalformedFrameError``, which ends the worker.
        """
        source.accept(DATA_KINDS)
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
            for frame in frames:
                self.handle(frame)
        self._flush()
        self._async.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def handle(self, frame: Frame | FrameTooLarge) -> None:
        """Acts on one frame from the data channel."""
        if isinstance(frame, FrameTooLarge):
            self._refuse_too_large(frame)
            return
        kind = frame.kind
        if kind == Kind.CALL:
            self._run(frame)
        elif kind == Kind.CREDIT:
            self._grant(frame.id, frame.aux)
        elif kind == Kind.CANCEL:
            self._cancel_stream(frame.id)
        elif kind == Kind.RELEASE:
            self._release(frame.body)
        else:
            # Only frames read with HELLO get here unchecked: the reader refuses the others at their header.
            raise MalformedFrameError(f"malformed frame: {kind_name(kind)} frames do not come on the data channel")

    def _read(self, source: FrameSource, block: bool) -> list[Frame | FrameTooLarge]:
        """The frames that have arrived, waiting for some if ``block``.

        While sync streams are open, the wake-up pipe is watched too, so that
        a stream cancelled on the control channel alone is closed even while
        nothing comes on the data channel. Without streams, a plain blocking
        read saves a system call per round trip.
        """
        if not self._streams:
            return source.read() if block else source.read_ready()
        readable, _, _ = select.select([source.fd, self._wake_r], [], [], None if block else 0)
        if self._wake_r in readable:
            os.read(self._wake_r, 4096)
            self._close_cancelled_streams()
        return source.read() if source.fd in readable else []

    def _release(self, body: bytes | bytearray | memoryview) -> None:
        """Frees the handles a RELEASE lists. A malformed one is reported on stderr and ignored:
        it has no call to answer, and it must not take down the worker and the calls it runs."""
        try:
            request = json.loads(bytes(body))
            self._dispatcher.release([int(i) for i in request.get("handles", [])], request.get("session"))
        except Exception as exc:
            print(
                f"snakebridge worker {os.getpid()}: ignored a malformed RELEASE: {exc!r}", file=sys.stderr, flush=True
            )

    def _run(self, frame: Frame) -> None:
        call_id = frame.id
        with self._lock:
            if call_id in self._cancelled_early:
                # Cancelled before we got to it: acknowledge and do not run.
                del self._cancelled_early[call_id]
                self._outcomes.cancelled(call_id, flush=False)
                return
            # Set under the lock: a cancel now either sees it (and interrupts) or was seen above.
            self._current = call_id
        state: CallState | None = None
        try:
            meta, payload = decode_call(frame.body)
            if self._wants_target and meta.op == Op.CALL and not meta.handle:
                self._outcomes.targets[call_id] = meta.target
            args, kwargs = self._decode_arguments(frame.serializer, payload, call_id, meta.session)
            if frame.flags & FLAG_STREAM:
                state = self._register(call_id, meta.session)
                self._start_stream(state, meta.op, meta.target, meta.handle, meta.window, args, kwargs)
            else:
                state = self._run_op(call_id, meta.op, meta.target, meta.handle, meta.session, args, kwargs)
        except BaseException as exc:
            self._current = 0
            self._outcomes.error(call_id, exc, flush=False)
            self._forget(call_id, state)

    def _register(self, call_id: int, session: int, on_cancel: Callable[[], object] | None = None) -> CallState:
        """Keeps state for a call that outlives this turn (async, thread pool, stream), so a cancel can reach it."""
        state = CallState(call_id, session, on_cancel=on_cancel)
        with self._lock:
            self.calls[call_id] = state
        return state

    def _decode_arguments(
        self, wire_id: int, payload: memoryview, call_id: int, session: int
    ) -> tuple[list[Any], dict[str, Any]]:
        if not len(payload):
            return [], {}
        serializer = self._serializers.get(wire_id)
        if serializer is None:
            raise ProtocolError(f"the arguments are encoded with serializer {wire_id}, which this worker does not use")
        self._decoding_call, self._decoding_session = call_id, session
        decoded = serializer.decode(payload, self._dispatcher.handles.get, self._from_callback)
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

    def _run_op(
        self, call_id: int, op: int, target: str, handle: int, session: int, args: list[Any], kwargs: dict[str, Any]
    ) -> CallState | None:
        """Runs one call; returns its state if it goes on elsewhere (event loop, thread pool)."""
        if op == Op.CALL:
            function = self._dispatcher.lookup(target, handle)
            if self._dispatcher.is_coroutine_function(function):
                self._current = 0
                state = self._register(call_id, session)
                self._async.call(state, function(*args, **kwargs), session)
                return state
            if self._pool is not None:
                self._current = 0
                call = _PoolCall()
                # The hook is in place before a cancel can find the call.
                state = self._register(call_id, session, on_cancel=call.interrupt)
                self._pool.submit(self._run_in_thread, state, call, function, args, kwargs)
                return state
            value = self._invoke(function, args, kwargs)
        else:
            value = self._dispatcher.run(op, target, handle, session, args, kwargs, self._invoke)
        self._current = 0
        if type(value) not in _PLAIN_TYPES and inspect.isawaitable(value):
            state = self._register(call_id, session)
            self._async.call(state, value, session)
            return state
        self._outcomes.result(call_id, value, session, flush=False)
        if self._wants_target:
            self._outcomes.targets.pop(call_id, None)
        return None

    def _invoke(self, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Runs user code on the main thread, interruptible by a cancel."""
        try:
            return function(*args, **kwargs)
        finally:
            # Reset before anything is written, so a late interrupt cannot land mid-write.
            self._current = 0

    def _refuse_too_large(self, frame: FrameTooLarge) -> None:
        if frame.kind == Kind.CALL:
            message = (
                f"the call's frame is {frame.size} bytes, more than protocol.maxFrameBytes "
                f"({self._outcomes.max_frame_bytes}); raise the limit or send less at once"
            )
            self._outcomes.error_payload(frame.id, bridge_error("PROTOCOL", message), flush=False)

    # --- thread pool -------------------------------------------------------------------------

    def _run_in_thread(
        self, state: CallState, call: _PoolCall, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]
    ) -> None:
        try:
            value = self._run_interruptibly(state, call, function, args, kwargs)
        except BaseException as exc:  # the interrupt of a cancel included: it can only surface here
            self._outcomes.error(state.id, exc)
        else:
            if type(value) not in _PLAIN_TYPES and inspect.isawaitable(value):
                self._async.call(state, value, state.session)
                return
            self._outcomes.result(state.id, value, state.session)
        self._finished(state)

    @staticmethod
    def _run_interruptibly(
        state: CallState, call: _PoolCall, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]
    ) -> Any:
        """Runs user code on a pool thread; a cancel meanwhile raises Cancelled in it."""
        try:
            call.start(state)
            return function(*args, **kwargs)
        finally:
            call.stop()

    # --- streams -------------------------------------------------------------------------------

    def _start_stream(self, state, op: int, target: str, handle: int, window: int, args, kwargs) -> None:
        source = self._dispatcher.stream_source(op, target, handle, args, kwargs, self._invoke)
        self._current = 0
        window = window or _DEFAULT_WINDOW
        if hasattr(source, "__aiter__"):
            self._async.stream(state, source.__aiter__(), window, state.session)
            return
        stream = _SyncStream(state, iter(source), window)
        self._streams[state.id] = stream
        self._runnable.append(stream)

    def _grant(self, call_id: int, count: int) -> None:
        stream = self._streams.get(call_id)
        if stream is None:
            return
        stream.credit += count
        if stream.parked:
            stream.parked = False
            self._runnable.append(stream)

    def _cancel_stream(self, call_id: int) -> None:
        """A cancel on the data channel: a sync generator waiting for credit is closed now,
        one that has credit left at its next turn (which checks the flag before each item)."""
        stream = self._streams.get(call_id)
        if stream is None:
            return
        if stream.parked:
            self._end_stream(stream, None)
        else:
            stream.state.cancelled = True

    def _close_cancelled_streams(self) -> None:
        """Closes the parked streams that the control thread cancelled."""
        for stream in [s for s in self._streams.values() if s.parked and s.state.cancelled]:
            self._end_stream(stream, None)

    def _turn(self) -> None:
        """Lets one runnable stream produce up to a turn's worth of items."""
        stream = self._runnable.popleft()
        if stream.done:
            return
        call_id = stream.state.id
        for _ in range(_STREAM_TURN):
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
                item = next(stream.iterator)
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

    def _end_stream(self, stream: _SyncStream, error: BaseException | None) -> None:
        stream.done = True
        self._streams.pop(stream.state.id, None)
        close = getattr(stream.iterator, "close", None)
        if close is not None:
            # A generator's finally blocks run now; a failure there must not lose the outcome.
            with contextlib.suppress(Exception, Cancelled):
                close()
        if error is None or isinstance(error, Cancelled):
            self._outcomes.end(stream.state.id, flush=False)
        else:
            self._outcomes.error(stream.state.id, error, flush=False)
        self._finished(stream.state)

    # --- bookkeeping -----------------------------------------------------------------------------

    def _finished(self, state: CallState) -> None:
        self._forget(state.id, state)

    def _forget(self, call_id: int, state: CallState | None) -> None:
        if self._wants_target:
            self._outcomes.targets.pop(call_id, None)
        if state is not None:
            with self._lock:
                self.calls.pop(call_id, None)

    def _wake(self) -> None:
        # A full pipe already holds a wake-up: never block the control thread on it.
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_w, b"\0")

    @contextlib.contextmanager
    def uninterruptible(self) -> Iterator[None]:
        """Holds back a cancel's interrupt of the calling thread until the block ends.

        For runtime code that user code calls and that must not stop half-way
        (a host callback writing its frame). Threads that a cancel never
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
            if not was_held and self._held_interrupt:
                self._held_interrupt = False
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
