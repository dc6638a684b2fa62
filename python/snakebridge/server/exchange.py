"""One Exchange RPC (bridge.proto): the replies of its call, and the host callbacks of its arguments.

Replies are written one at a time (the call's items and outcome, and callback
requests, may come from different tasks). A ``HostCallback`` of the call's
arguments (calls/callbacks.py) sends its request as a ``callback`` reply and
waits for the ``callback_result`` that the host sends on the same RPC, which
the service's reader task hands to ``resolve``. Sync code (on the executor's
threads) sends through the event loop and blocks on a threading event;
coroutines await a future. Once the call's outcome is decided (or the RPC
ends, or the host half-closes it), no answer can come: waiting callbacks and
later ones raise ``HostCallbackError``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from grpc import aio

from ..calls.callbacks import EXPIRED, Answer, CallbackAnswer, CallbackRequests, HostCallback
from ..errors import HostCallbackError
from ..serializers.base import FromHandle, Serializer
from .calls import Encoded

#: Why callbacks fail once the host has half-closed the RPC: it can send no answers any more.
HOST_CLOSED = "the host closed its side of the exchange: callbacks can no longer be answered"
_ON_THE_LOOP = (
    "a host callback cannot be called without await on the gRPC server's event loop: the loop would block "
    "waiting for the answer it has to receive; use `await callback.acall(...)` in coroutines"
)
_SERVER_STOPPING = "the server is stopping: the callback cannot run"


class ExchangeChannel(CallbackRequests):
    """The replies and callbacks of one Exchange RPC. Made and written on the event loop; callbacks may be
    called from any thread.

    ``encode(value, session)`` encodes a value as a result is (objects the
    serializer cannot carry become handles of ``session``); ``release``
    frees handles.
    """

    def __init__(
        self,
        context: aio.ServicerContext,
        messages: Any,
        *,
        call_id: int,
        session: int,
        serializer: Serializer,
        encode: Callable[[Any, int], Encoded],
        release: Callable[[list[int]], object],
        from_handle: FromHandle,
    ) -> None:
        super().__init__(from_handle)
        self._context = context
        self._pb = messages
        self.call_id = call_id
        self.session = session
        self._serializer = serializer
        self._encode_value = encode
        self._release = release
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._write_lock = asyncio.Lock()
        #: Callback requests on their way out: kept, so that the loop does not drop their tasks.
        self._sending: set[asyncio.Task[None]] = set()

    # --- replies ------------------------------------------------------------------------------------

    async def write(self, **fields: Any) -> None:
        """Writes one ExchangeReply (an item), after any reply being written."""
        async with self._write_lock:
            await self._context.write(self._pb.ExchangeReply(**fields))

    async def finish(self, **fields: Any) -> None:
        """Writes the exchange's last reply (a result or an error); callbacks expire first, so that no
        callback request follows it."""
        self.close(EXPIRED)
        await self.write(**fields)

    # --- callbacks ----------------------------------------------------------------------------------

    def callback(self, index: int) -> HostCallback:
        """The decoders' ``from_callback``: the callable standing for function ``index`` of the call."""
        return HostCallback(self, self.call_id, index, self.session)

    def _check_wait(self) -> None:
        if threading.get_ident() == self._loop_thread:
            raise RuntimeError(_ON_THE_LOOP)

    def _encode(self, callback: HostCallback, args: tuple[Any, ...]) -> Encoded:
        return self._encode_value([callback.index, list(args)], callback.session)

    def _send(self, request_id: int, callback: HostCallback, request: Any, deliver: Callable[[Answer], None]) -> None:
        try:
            self._register(request_id, deliver)
        except BaseException:
            self._release(request.handles)  # never sent: the host cannot free them
            raise
        try:
            self._loop.call_soon_threadsafe(self._start_sending, request_id, request)
        except RuntimeError:  # the loop is closed: the server is going away
            self._forget(request_id)
            self._release(request.handles)
            raise HostCallbackError(_SERVER_STOPPING) from None

    def _start_sending(self, request_id: int, request: Encoded) -> None:
        task = self._loop.create_task(self._send_request(request_id, request))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_request(self, request_id: int, request: Encoded) -> None:
        try:
            async with self._write_lock:
                if not self._waits(request_id):
                    # The wait was given up (cancelled), or the call's outcome is decided: not sent at all.
                    self._release(request.handles)
                    return
                await self._context.write(
                    self._pb.ExchangeReply(callback=self._pb.Callback(id=request_id, payload=request.body))
                )
        except BaseException as exc:  # the RPC is over: the host never got the request
            self._release(request.handles)
            self.deliver(request_id, HostCallbackError(f"the callback request could not be sent: {exc!r}"))
            if isinstance(exc, asyncio.CancelledError):
                raise

    def resolve(self, result: Any) -> None:
        """Hands a ``callback_result`` (a CallbackResult message) to whoever waits for it."""
        if result.WhichOneof("outcome") == "error":
            answer = CallbackAnswer(result.error, failed=True)
        else:
            answer = CallbackAnswer(result.result, serializer=self._serializer)
        self.deliver(result.id, answer)
