"""The Bridge service (bridge.proto): Hello, Call, Exchange, Release, Stats.

Calls mean exactly what they mean over the stdio protocol (docs/protocol.md):
the shared Dispatcher runs them, results the serializer cannot carry become
handles of the call's session, errors travel as PythonErrorPayload JSON.
Blocking work goes to the runner (runner.py); coroutines and async
generators run on this event loop. A cancelled RPC (the client cancelled, or
its deadline passed) cancels the task, interrupts the sync call (a wait for
a host callback included), and closes a stream's generator.

``Call`` is a plain call. ``Exchange`` carries what needs both directions
at once: a stream's items and credit, and the host callbacks of a call's
arguments (exchange.py), which ``Call`` cannot answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import platform
from collections import deque
from collections.abc import AsyncIterator, Iterator
from typing import Any, NamedTuple

import grpc
from grpc import aio

from .. import PROTOCOL_VERSION
from ..calls import Dispatcher
from ..calls.callbacks import EXPIRED, ClosedChannel, HostCallback
from ..calls.payloads import bridge_error, describe, payload_body
from ..errors import Cancelled, ProtocolError
from ..lifecycle import resident_bytes
from ..protocol import Op
from ..serializers import get_serializer
from ..serializers.base import FromCallback, Serializer
from .exchange import HOST_CLOSED, Encoded, ExchangeChannel
from .runner import Job, Jobs

#: Request metadata naming the server instance a call's handles or session were made on.
#: A server that restarted has other objects under the same ids: it refuses rather than mix them up.
INSTANCE_KEY = "snakebridge-instance"
#: Items a sync generator produces per trip to the runner, credit permitting. Each is sent as soon as
#: it is made; the turn bounds how long one stream holds the runner before queued calls get their turn.
STREAM_TURN = 32
#: Room for the reply message's own framing around the encoded value.
_ENVELOPE_BYTES = 16
#: How long after the host's end of file callbacks fail: a cancel, which reads as end of file too, cancels
#: the call well within it, so that a callback waiting then ends as cancelled, not as a host that closed.
_HALF_CLOSE_GRACE = 0.1
#: What a host function in the arguments of a unary Call does when called: the host cannot answer there.
_UNARY = ClosedChannel(
    "this call came by the unary Call RPC, which cannot carry host callbacks: the host must send a call "
    "that passes functions by Exchange"
)


class _Opened(NamedTuple):
    iterator: Iterator[Any] | AsyncIterator[Any]
    is_async: bool


class BridgeService:
    """The servicer; ``register`` adds it to a grpc.aio server."""

    def __init__(
        self,
        messages: Any,
        dispatcher: Dispatcher,
        jobs: Jobs,
        *,
        instance: str,
        max_message_bytes: int,
    ) -> None:
        self._pb = messages
        self._dispatcher = dispatcher
        self._handles = dispatcher.handles
        self._jobs = jobs
        self.instance = instance
        self._max_body = max_message_bytes - _ENVELOPE_BYTES
        self._max_message_bytes = max_message_bytes
        self._serializers: dict[str, Serializer] = {}
        self._sessions: dict[str, int] = {}
        self._next_session = 0
        #: Numbers the Exchange calls, for their callbacks' repr.
        self._next_exchange = 0
        #: Dotted names known to be coroutine functions: called straight from the loop, no thread hop.
        self._async_targets: set[str] = set()
        self._background: set[asyncio.Task[Any]] = set()
        self.in_flight = 0

    def register(self, services: Any, server: aio.Server) -> None:
        services.add_BridgeServicer_to_server(self, server)

    # --- Hello, Release, Stats -----------------------------------------------------------

    async def Hello(self, request: Any, context: aio.ServicerContext) -> Any:
        """Agrees on the protocol version and loads the serializer the host asks for.

        Replies with the server's pid and Python version, and sends the
        instance id as initial metadata; aborts with FAILED_PRECONDITION for
        another protocol version or a serializer that cannot be loaded.
        """
        if request.protocol != PROTOCOL_VERSION:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"the host speaks protocol {request.protocol}, this server {PROTOCOL_VERSION}: install matching "
                "versions of @snakebridge/adapter-grpc and the snakebridge Python package",
            )
        serializer_id = request.serializer or "json"
        refusal: str | None = None
        try:
            options = json.loads(request.serializer_options) if request.serializer_options else None
            # A serializer's import can be slow (pyarrow): not on the loop.
            serializer = await asyncio.to_thread(get_serializer, serializer_id, options)
        except Exception as exc:
            refusal = f"the {serializer_id} serializer cannot be loaded: {exc}"
        if refusal is not None:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, refusal)
        self._serializers[serializer.id] = serializer
        await context.send_initial_metadata(((INSTANCE_KEY, self.instance),))
        return self._pb.HelloReply(
            protocol=PROTOCOL_VERSION, pid=os.getpid(), python=platform.python_version(), serializer=serializer.id
        )

    async def Release(self, request: Any, context: aio.ServicerContext) -> Any:
        """Frees the listed handles and, with a session, all it holds and its eval namespace.

        Ids from a previous instance of this server are ignored: they name nothing here.
        """
        if self._other_instance(context):
            return self._pb.ReleaseReply()  # those ids belong to a previous life of this server: nothing to free
        session = self._sessions.pop(request.session, None) if request.session else None
        self._dispatcher.release(list(request.handles), session)
        return self._pb.ReleaseReply()

    async def Stats(self, request: Any, context: aio.ServicerContext) -> Any:
        """Resident memory, calls in flight and live handles: the host's health check."""
        return self._pb.StatsReply(rss=resident_bytes(), in_flight=self.in_flight, handles=len(self._handles))

    # --- Call -------------------------------------------------------------------------------

    async def Call(self, request: Any, context: aio.ServicerContext) -> Any:
        """Runs one operation; replies with its encoded result or its error payload, never both.

        Errors (the user's, and refusals) are a reply, not a gRPC status: the
        RPC itself only fails when the host must act (Hello again, cancelled).
        Host functions in the arguments cannot be answered here: called, they
        raise HostCallbackError (the host sends such calls by Exchange).
        """
        self.in_flight += 1
        try:
            serializer = await self._agreed(request.serializer, context)
            refusal = self._instance_refusal(request, context)
            if refusal is not None:
                return self._pb.CallReply(error=self._error_body(refusal))
            session = self._session(request.session)
            encoded = await self._call(request, serializer, session, _unanswerable(session))
            return self._pb.CallReply(result=encoded.body)
        except (asyncio.CancelledError, aio.AbortError):
            raise
        except BaseException as exc:
            return self._pb.CallReply(error=self._error_body(_payload(exc)))
        finally:
            self.in_flight -= 1

    async def _call(self, request: Any, serializer: Serializer, session: int, from_callback: FromCallback) -> Encoded:
        if request.op == Op.CALL and not request.handle and request.target in self._async_targets:
            args, kwargs = self._decode(serializer, request.payload, from_callback)
            value = await self._dispatcher.lookup(request.target, 0)(*args, **kwargs)
            return self._encode(serializer, value, session)
        job = self._jobs.start(lambda: self._run_sync(request, serializer, session, from_callback))
        try:
            outcome = await self._jobs.result(job, request.target or _OP_NAMES.get(request.op, "call"))
        except asyncio.CancelledError:
            job.future.add_done_callback(self._discard_outcome)
            raise
        if isinstance(outcome, Encoded):
            return outcome
        return self._encode(serializer, await outcome, session)  # a coroutine: awaited here, on the loop

    def _run_sync(
        self, request: Any, serializer: Serializer, session: int, from_callback: FromCallback
    ) -> Encoded | Any:
        """In the runner: decode, run, encode. Returns the encoded result, or a coroutine to await."""
        args, kwargs = self._decode(serializer, request.payload, from_callback)
        op, target, handle = request.op, request.target, request.handle
        if op == Op.CALL:
            function = self._dispatcher.lookup(target, handle)
            if inspect.iscoroutinefunction(function):
                if not handle:
                    self._async_targets.add(target)
                return function(*args, **kwargs)
            value = function(*args, **kwargs)
        else:
            value = self._dispatcher.run(op, target, handle, session, args, kwargs)
        if inspect.isawaitable(value):
            return value
        return self._encode(serializer, value, session)

    def _discard_outcome(self, future: asyncio.Future[Any]) -> None:
        """The caller left before the outcome: free the handles made for it, close an unawaited coroutine."""
        if future.cancelled() or future.exception() is not None:
            return
        outcome = future.result()
        if isinstance(outcome, Encoded):
            self._handles.release(outcome.handles)
        elif inspect.iscoroutine(outcome):
            outcome.close()

    # --- Exchange ---------------------------------------------------------------------------

    async def Exchange(self, request_iterator: Any, context: aio.ServicerContext) -> None:
        """A call with both directions open: the first message is the call and its window.

        Window 0: a call, whose one ``result`` or ``error`` reply ends the
        RPC (with OK). More: a stream, which sends at most the granted number
        of items ahead, then ends the RPC with OK (or sends one ``error``
        reply, then ends it). Meanwhile the call's host functions send
        ``callback`` replies, and the host answers each with a
        ``callback_result``. A cancelled RPC cancels the call and closes the
        generator; nothing more is sent.
        """
        self.in_flight += 1
        exchange: ExchangeChannel | None = None
        reader: asyncio.Task[None] | None = None
        try:
            first = await context.read()
            if first is aio.EOF or first.WhichOneof("message") != "call":
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "an exchange starts with its call")
            request = first.call
            serializer = await self._agreed(request.serializer, context)
            refusal = self._instance_refusal(request, context)
            if refusal is not None:
                await context.write(self._pb.ExchangeReply(error=self._error_body(refusal)))
                return
            session = self._session(request.session)
            self._next_exchange += 1
            exchange = ExchangeChannel(
                context,
                self._pb,
                call_id=self._next_exchange,
                session=session,
                serializer=serializer,
                encode=lambda value, in_session: self._encode(serializer, value, in_session),
                release=self._handles.release,
                from_handle=self._handles.get,
            )
            credit = _Credit(first.window) if first.window else None
            reader = asyncio.create_task(self._read_exchange(context, exchange, credit))
            if credit is None:
                await self._exchange_call(exchange, request, serializer, session)
            else:
                await self._exchange_stream(exchange, request, serializer, session, credit)
        finally:
            if exchange is not None:
                exchange.close(EXPIRED)
            if reader is not None:
                reader.cancel()
            self.in_flight -= 1

    async def _exchange_call(
        self, exchange: ExchangeChannel, request: Any, serializer: Serializer, session: int
    ) -> None:
        """Runs the call, then sends its result or error: the exchange's last reply."""
        try:
            encoded = await self._call(request, serializer, session, exchange.callback)
        except (asyncio.CancelledError, aio.AbortError):
            raise
        except BaseException as exc:
            await exchange.finish(error=self._error_body(_payload(exc)))
            return
        try:
            await exchange.finish(result=encoded.body)
        except BaseException:
            self._handles.release(encoded.handles)  # never delivered: the host cannot free them
            raise

    async def _exchange_stream(
        self, exchange: ExchangeChannel, request: Any, serializer: Serializer, session: int, credit: _Credit
    ) -> None:
        """Iterates what the call returns, credit permitting; an exception is its last reply."""
        try:
            opened = await self._jobs.run(
                lambda: self._open(request, serializer, session, exchange.callback), request.target
            )
            if opened.is_async:
                await self._pump_async(exchange, opened.iterator, credit, serializer, session)
            else:
                await self._pump_sync(exchange, opened.iterator, credit, serializer, session, request.target)
        except (asyncio.CancelledError, aio.AbortError):
            raise
        except BaseException as exc:
            await exchange.finish(error=self._error_body(_payload(exc)))

    def _open(self, request: Any, serializer: Serializer, session: int, from_callback: FromCallback) -> _Opened:
        args, kwargs = self._decode(serializer, request.payload, from_callback)
        source = self._dispatcher.stream_source(request.op, request.target, request.handle, args, kwargs)
        if hasattr(source, "__aiter__"):
            return _Opened(source.__aiter__(), True)
        return _Opened(iter(source), False)

    async def _pump_sync(
        self,
        exchange: ExchangeChannel,
        iterator: Iterator[Any],
        credit: _Credit,
        serializer: Serializer,
        session: int,
        target: str,
    ) -> None:
        """Runs the generator in the runner, a turn of up to STREAM_TURN items at a time, credit permitting.

        Each item goes into the outbox as soon as it is made and is written from there at once,
        not when the turn is over: an item made just before the generator blocks does not wait
        behind the block. The next turn starts as soon as one ends, while the items are written.
        """
        outbox = _Outbox(asyncio.get_running_loop())
        job: Job | None = None
        unsent: deque[Encoded] = deque()
        try:
            while True:
                if job is None:
                    await credit.available()
                    job = self._start_turn(iterator, credit, outbox, serializer, session)
                await outbox.ready()
                # Checked before taking: whatever a finished turn made is in the outbox by now.
                turn = job.future if job.future.done() else None
                unsent = outbox.take()
                credit.spend(len(unsent))
                over, error = False, None
                if turn is not None:
                    job = None
                    over, error = _turn_outcome(turn)
                    if not over and credit.left > 0:
                        job = self._start_turn(iterator, credit, outbox, serializer, session)
                while unsent:
                    await exchange.write(item=unsent.popleft().body)
                if error is not None:
                    await exchange.finish(error=self._error_body(_payload(error)))
                    return
                if over:
                    return
        except BaseException:
            # The host went away or cancelled (or a write failed): stop the turn in progress, if any,
            # then close the generator (its finally blocks run) and free the handles made for items
            # never sent. Not awaited here: this task may be being cancelled.
            if job is not None:
                self._jobs.cancel(job, target)
            self._spawn(self._close_sync(iterator, job, target, outbox, unsent))
            raise

    def _start_turn(
        self, iterator: Iterator[Any], credit: _Credit, outbox: _Outbox, serializer: Serializer, session: int
    ) -> Job:
        count = min(credit.left, STREAM_TURN)
        job = self._jobs.start(lambda: self._produce(iterator, count, serializer, session, outbox))
        job.future.add_done_callback(outbox.wake)
        return job

    def _produce(
        self, iterator: Iterator[Any], count: int, serializer: Serializer, session: int, outbox: _Outbox
    ) -> tuple[bool, BaseException | None]:
        """In the runner: up to ``count`` items, each put into ``outbox`` as soon as it is encoded.

        Returns whether the stream is over, and what the generator raised (once it has been closed).
        """
        try:
            for _ in range(count):
                try:
                    value = next(iterator)
                except StopIteration:
                    return True, None
                outbox.put(self._encode(serializer, value, session))
        except BaseException as exc:
            _close_quietly(iterator)
            return True, exc
        return False, None

    async def _close_sync(
        self, iterator: Iterator[Any], running: Job | None, target: str, outbox: _Outbox, unsent: deque[Encoded]
    ) -> None:
        if running is not None:
            with contextlib.suppress(BaseException):
                await asyncio.shield(running.future)
        with contextlib.suppress(BaseException):
            await self._jobs.run(lambda: _close_quietly(iterator), f"closing {target}")
        for item in [*unsent, *outbox.take()]:
            self._handles.release(item.handles)

    async def _pump_async(
        self,
        exchange: ExchangeChannel,
        iterator: AsyncIterator[Any],
        credit: _Credit,
        serializer: Serializer,
        session: int,
    ) -> None:
        try:
            while True:
                await credit.available()
                try:
                    value = await iterator.__anext__()
                except StopAsyncIteration:
                    return
                body = self._encode(serializer, value, session).body
                credit.spend(1)
                await exchange.write(item=body)
        except asyncio.CancelledError:
            self._spawn(_aclose_quietly(iterator))
            raise
        except BaseException as exc:
            await _aclose_quietly(iterator)
            await exchange.finish(error=self._error_body(_payload(exc)))
        else:
            await _aclose_quietly(iterator)

    @staticmethod
    async def _read_exchange(context: aio.ServicerContext, exchange: ExchangeChannel, credit: _Credit | None) -> None:
        """Hands the host's messages after the call on: credit to a stream, answers to callbacks.

        Once the host half-closes the RPC (or it fails), no answer can come: callbacks fail from then on.
        A cancel reads as end of file too, just before it cancels the call's task and with it this one:
        callbacks are failed only a moment later, so that a waiting callback sees the cancel.
        """
        try:
            while True:
                message = await context.read()
                if message is aio.EOF:
                    await asyncio.sleep(_HALF_CLOSE_GRACE)
                    break
                kind = message.WhichOneof("message")
                if kind == "callback_result":
                    exchange.resolve(message.callback_result)
                elif kind == "credit" and credit is not None:
                    credit.add(message.credit)
        except asyncio.CancelledError:
            raise  # the call is over or cancelled: its handler closes the exchange
        except Exception:
            pass  # the RPC failed; the handler hears of it on its own
        exchange.close(HOST_CLOSED)

    # --- shared -------------------------------------------------------------------------------

    async def _agreed(self, serializer_id: str, context: aio.ServicerContext) -> Serializer:
        """The serializer agreed in Hello; FAILED_PRECONDITION (the host says Hello again) if there was none."""
        serializer = self._serializers.get(serializer_id or "json")
        if serializer is None:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"no Hello agreed on the {serializer_id or 'json'} serializer with this server (did it restart?)",
            )
        return serializer

    def _other_instance(self, context: aio.ServicerContext) -> bool:
        for key, value in context.invocation_metadata() or ():
            if key == INSTANCE_KEY:
                return value != self.instance
        return False

    def _instance_refusal(self, request: Any, context: aio.ServicerContext) -> dict[str, Any] | None:
        if not self._other_instance(context):
            return None
        if request.session:
            return bridge_error(
                "SESSION_INVALID", "this server restarted since the session was opened; its state is gone"
            )
        return bridge_error("HANDLE_INVALID", "this server restarted since the object was made; it is gone")

    def _session(self, key: str) -> int:
        """The number the call machinery knows a host's session by (0 for none)."""
        if not key:
            return 0
        number = self._sessions.get(key)
        if number is None:
            self._next_session += 1
            number = self._sessions[key] = self._next_session
        return number

    def _decode(
        self, serializer: Serializer, payload: bytes, from_callback: FromCallback
    ) -> tuple[list[Any], dict[str, Any]]:
        if not payload:
            return [], {}
        args, kwargs = serializer.decode(payload, self._handles.get, from_callback)
        return list(args), dict(kwargs or {})

    def _encode(self, serializer: Serializer, value: Any, session: int) -> Encoded:
        """``value`` for the host; objects the serializer cannot carry become handles of ``session``."""
        created: list[int] = []

        def to_handle(obj: object) -> Any:
            handle = self._handles.add(obj, session)
            created.append(handle.id)
            return handle

        try:
            body = serializer.encode(value, to_handle)
        except BaseException:
            self._handles.release(created)
            raise
        if len(body) > self._max_body:
            self._handles.release(created)
            raise ProtocolError(
                f"the result is {len(body)} bytes, more than this server's --max-message-bytes "
                f"({self._max_message_bytes}); raise the limit (and grpc.maxMessageBytes), "
                "or return a handle and fetch the data in parts"
            )
        return Encoded(body, created)

    def _error_body(self, payload: dict[str, Any]) -> bytes:
        """An error reply's JSON, cut to fit the message limit; never raises, so every RPC gets its reply."""
        return payload_body(payload, self._max_body)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


class _Credit:
    """Items the host is ready for; lives on the event loop."""

    def __init__(self, window: int) -> None:
        self.left = window
        self._changed = asyncio.Event()

    def add(self, count: int) -> None:
        self.left += count
        self._changed.set()

    def spend(self, count: int) -> None:
        self.left -= count

    async def available(self) -> None:
        while self.left <= 0:
            self._changed.clear()
            await self._changed.wait()


class _Outbox:
    """Items a sync generator made in the runner, on their way to the event loop that writes them.

    The producing thread puts each item as soon as it is encoded; the first item put after a
    take schedules one wake-up of the pump, which takes all there is. A burst of fast items thus
    costs one wake-up, and a lone item goes out at once. No lock: deque appends and pops are
    atomic, and a Cancelled raised into the producing thread must not leave behind a lock that
    the event loop would then wait on forever.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: deque[Encoded] = deque()
        self._ready = asyncio.Event()
        #: A wake-up is scheduled (or the pump is about to take anyway); reset by take().
        self._waking = False

    def put(self, item: Encoded) -> None:
        """In the runner."""
        self._items.append(item)
        if not self._waking:
            self._waking = True
            # A closed loop means the server is exiting and nobody waits any more.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._ready.set)

    def wake(self, _future: object = None) -> None:
        """On the loop: the pump looks again (a turn ended)."""
        self._ready.set()

    async def ready(self) -> None:
        await self._ready.wait()
        self._ready.clear()

    def take(self) -> deque[Encoded]:
        """On the loop: all items put so far, in order."""
        # Reset first: an item put from here on schedules a wake-up of its own (or is taken now).
        self._waking = False
        items = self._items
        return deque(items.popleft() for _ in range(len(items)))


def _turn_outcome(turn: asyncio.Future[Any]) -> tuple[bool, BaseException | None]:
    """Whether the stream is over after a turn, and what the generator raised."""
    if turn.cancelled():
        return True, Cancelled()
    error = turn.exception()
    # The runner raises only when it never ran the turn (it was cancelled): the stream is over.
    return (True, error) if error is not None else turn.result()


_OP_NAMES = {int(op): op.name.lower() for op in Op}


def _unanswerable(session: int) -> FromCallback:
    """The ``from_callback`` of a unary Call: its host functions fail when called."""
    return lambda index: HostCallback(_UNARY, 0, index, session)


def _payload(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, Cancelled):
        return bridge_error("CANCELLED", "the call was cancelled")
    return describe(exc)


def _close_quietly(iterator: Any) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        # A generator's finally blocks run now; a failure there must not hide the outcome.
        with contextlib.suppress(Exception, Cancelled):
            close()


async def _aclose_quietly(iterator: Any) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await aclose()
