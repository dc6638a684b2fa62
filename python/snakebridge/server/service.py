"""The Bridge service (bridge.proto): Hello, Call, Exchange, Release, Stats.

Calls mean exactly what they mean over the stdio protocol (docs/protocol.md),
and run on the executor the stdio worker runs them on (calls/execution.py,
through calls.py here): results the serializer cannot carry become handles
of the call's session, errors travel as PythonErrorPayload JSON. A cancelled
RPC (the client cancelled, or its deadline passed) cancels its call as a
``CANCEL`` frame does: the task is cancelled, the sync call interrupted (a
wait for a host callback included), the generator closed.

``Call`` is a plain call. ``Exchange`` carries what needs both directions
at once: a stream's items and credit, and the host callbacks of a call's
arguments (exchange.py), which ``Call`` cannot answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
from typing import Any

import grpc
from grpc import aio

from .. import PROTOCOL_VERSION
from ..calls import Dispatcher
from ..calls.callbacks import EXPIRED, ClosedChannel, HostCallback
from ..calls.payloads import bridge_error, describe
from ..lifecycle import resident_bytes
from ..protocol import Op, TraceContext
from ..serializers import get_serializer
from ..serializers.base import FromCallback, Serializer
from .calls import Encoded, Failed, PendingCall, ServerCalls
from .exchange import HOST_CLOSED, ExchangeChannel

#: Request metadata naming the server instance a call's handles or session were made on.
#: A server that restarted has other objects under the same ids: it refuses rather than mix them up.
INSTANCE_KEY = "snakebridge-instance"
#: Request metadata carrying the host's span (W3C Trace Context), when the host traces the call.
TRACEPARENT_KEY = "traceparent"
TRACESTATE_KEY = "tracestate"
#: The longest trace context values taken, as the stdio protocol's length fields bound them; longer ones are ignored.
_MAX_TRACEPARENT = 0xFF
_MAX_TRACESTATE = 0xFFFF
#: How long after the host's end of file callbacks fail. A cancel reads as end of file too, and nothing tells
#: the two apart then (the RPC reads as neither cancelled nor done at that moment: measured); the cancel
#: itself follows and cancels the call within this, so that a callback waiting then ends as cancelled, not as
#: a host that closed. 0.1 s was too short twice in CI on a loaded two-core machine.
_HALF_CLOSE_GRACE = 1.0
#: What a host function in the arguments of a unary Call does when called: the host cannot answer there.
_UNARY = ClosedChannel(
    "this call came by the unary Call RPC, which cannot carry host callbacks: the host must send a call "
    "that passes functions by Exchange"
)


class BridgeService:
    """The servicer; ``register`` adds it to a grpc.aio server."""

    def __init__(self, messages: Any, dispatcher: Dispatcher, calls: ServerCalls, *, instance: str) -> None:
        self._pb = messages
        self._dispatcher = dispatcher
        self._handles = dispatcher.handles
        self._calls = calls
        self._outcomes = calls.outcomes
        self.instance = instance
        self._serializers: dict[str, Serializer] = {}
        self._sessions: dict[str, int] = {}
        self._next_session = 0
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
        self._calls.agree(serializer)
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
        self._dispatcher.release(list(request.handles), session, request.pipeline)
        return self._pb.ReleaseReply()

    async def Stats(self, request: Any, context: aio.ServicerContext) -> Any:
        """Resident memory, calls in flight and live handles: the host's health check."""
        return self._pb.StatsReply(rss=resident_bytes(), in_flight=self.in_flight, handles=self._dispatcher.held)

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
            pending = self._calls.open(serializer, session)
            pending.from_callback = _unanswerable(session)
            outcome = await self._outcome(pending, request, _trace_context(context))
            if isinstance(outcome, Failed):
                return self._pb.CallReply(error=outcome.body)
            return self._pb.CallReply(result=outcome.body)
        except (asyncio.CancelledError, aio.AbortError):
            raise
        except BaseException as exc:
            return self._pb.CallReply(error=self._error_body(describe(exc)))
        finally:
            self.in_flight -= 1

    async def _outcome(self, pending: PendingCall, request: Any, trace: TraceContext | None) -> Encoded | Failed:
        """Runs the call and waits for its outcome; if the RPC is cancelled meanwhile, so is the call."""
        try:
            return await self._calls.call(pending, request, trace)
        except BaseException:
            self._calls.cancel(pending, request.target or _OP_NAMES.get(request.op, "call"))
            raise

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
            pending = self._calls.open(serializer, session)
            exchange = ExchangeChannel(
                context,
                self._pb,
                call_id=pending.id,
                session=session,
                serializer=serializer,
                encode=lambda value, in_session: self._outcomes.encode(serializer, value, in_session),
                release=self._handles.release,
                from_handle=self._handles.get,
            )
            exchange.uninterruptible = self._outcomes.uninterruptible
            pending.from_callback = exchange.callback
            window = first.window
            reader = asyncio.create_task(self._read_exchange(context, exchange, pending if window else None))
            trace = _trace_context(context)
            if window:
                await self._exchange_stream(exchange, pending, request, window, trace)
            else:
                await self._exchange_call(exchange, pending, request, trace)
        finally:
            if exchange is not None:
                exchange.close(EXPIRED)
            if reader is not None:
                reader.cancel()
            self.in_flight -= 1

    async def _exchange_call(
        self, exchange: ExchangeChannel, pending: PendingCall, request: Any, trace: TraceContext | None
    ) -> None:
        """Runs the call, then sends its result or error: the exchange's last reply."""
        outcome = await self._outcome(pending, request, trace)
        if isinstance(outcome, Failed):
            await exchange.finish(error=outcome.body)
            return
        try:
            await exchange.finish(result=outcome.body)
        except BaseException:
            self._handles.release(outcome.handles)  # never delivered: the host cannot free them
            raise

    async def _exchange_stream(
        self, exchange: ExchangeChannel, pending: PendingCall, request: Any, window: int, trace: TraceContext | None
    ) -> None:
        """Writes the stream's items as they come, then its error if it ends in one.

        Each item is written as soon as it is made, not when the generator's
        turn is over: an item made just before the generator blocks does not
        wait behind the block.
        """
        self._calls.start(pending, request, window, trace)
        try:
            while True:
                items, final = await pending.next()
                for index, item in enumerate(items):
                    try:
                        await exchange.write(item=item.body)
                    except BaseException:
                        for unsent in items[index:]:
                            self._handles.release(unsent.handles)  # never delivered: the host cannot free them
                        raise
                if isinstance(final, Failed):
                    await exchange.finish(error=final.body)
                if final is not None:
                    return
        except BaseException:
            # The host went away or cancelled (or a write failed): the generator is closed where it runs,
            # and what it makes from now on is freed.
            self._calls.cancel(pending, request.target)
            raise

    async def _read_exchange(
        self, context: aio.ServicerContext, exchange: ExchangeChannel, stream: PendingCall | None
    ) -> None:
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
                elif kind == "credit" and stream is not None:
                    self._calls.credit(stream, message.credit)
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

    def _error_body(self, payload: dict[str, Any]) -> bytes:
        """An error reply's JSON, cut to fit the message limit; never raises, so every RPC gets its reply."""
        return self._outcomes.error_body(payload)


_OP_NAMES = {int(op): op.name.lower() for op in Op}


def _trace_context(context: aio.ServicerContext) -> TraceContext | None:
    """The host's span from the RPC's ``traceparent`` and ``tracestate`` metadata; None without one.

    Bounded as over stdio: a value too long or not printable ASCII is ignored
    (gRPC metadata is ASCII already). What the traceparent says is checked
    where it is used (telemetry.py), which ignores one that does not parse.
    """
    traceparent = tracestate = ""
    for key, value in context.invocation_metadata() or ():
        if key == TRACEPARENT_KEY and isinstance(value, str):
            traceparent = value
        elif key == TRACESTATE_KEY and isinstance(value, str):
            tracestate = value
    if not traceparent or len(traceparent) > _MAX_TRACEPARENT or not _printable(traceparent):
        return None
    if len(tracestate) > _MAX_TRACESTATE or not _printable(tracestate):
        tracestate = ""
    return TraceContext(traceparent, tracestate)


def _printable(text: str) -> bool:
    return text.isascii() and text.isprintable()


def _unanswerable(session: int) -> FromCallback:
    """The ``from_callback`` of a unary Call: its host functions fail when called."""
    return lambda index: HostCallback(_UNARY, 0, index, session)
