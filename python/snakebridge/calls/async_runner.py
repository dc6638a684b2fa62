"""Coroutines and async generators, run concurrently on an event loop: the
stdio worker's lives in a thread of its own (started on the first async
call), the gRPC server's is the one that serves its RPCs. Either way sync
calls on the executor's thread and async calls interleave."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future
from typing import Any

from .running import RUNNING
from .state import CallState, Outcomes


class AsyncRunner:
    """Runs coroutines and async iterators on an event loop; thread-safe.

    Without ``loop``, it starts one in a thread of its own on first use, and
    ``stop`` stops it; a loop given is someone else's, and left running.
    """

    def __init__(
        self,
        outcomes: Outcomes,
        finished: Callable[[CallState], None],
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        #: Where calls end; the executor wraps it once it traces calls (telemetry.py).
        self.outcomes = outcomes
        self._finished = finished
        self._loop = loop
        self._owns_loop = loop is None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            with self._lock:
                if self._loop is None:
                    loop = asyncio.new_event_loop()
                    thread = threading.Thread(target=loop.run_forever, name="snakebridge-asyncio", daemon=True)
                    thread.start()
                    self._loop = loop
        return self._loop

    def call(self, state: CallState, awaitable: Awaitable[Any], session: int) -> None:
        """Awaits ``awaitable`` on the loop and sends its result; cancellable through ``state``."""
        future = asyncio.run_coroutine_threadsafe(self._finish(state, awaitable, session), self.loop)
        _cancel_through(state, future)

    async def await_here(self, state: CallState, awaitable: Awaitable[Any], session: int) -> None:
        """Awaits ``awaitable`` in the calling task and sends its result, as ``call`` does on the loop.

        A cancel of the calling task cancels the call: it is acknowledged,
        then the ``CancelledError`` goes on to the caller.
        """
        await self._finish(state, awaitable, session, reraise=True)

    def stream(self, state: CallState, iterator: AsyncIterator[Any], window: int, session: int) -> None:
        """Pumps an async iterator, at most ``window`` items ahead of the host's credit."""
        credit = _Credit(window)
        loop = self.loop
        state.on_credit = lambda count: loop.call_soon_threadsafe(credit.add, count)
        future = asyncio.run_coroutine_threadsafe(self._pump(state, iterator, credit, session), loop)
        _cancel_through(state, future)

    def stop(self) -> None:
        if self._loop is not None and self._owns_loop:
            self._loop.call_soon_threadsafe(self._loop.stop)

    async def _finish(self, state: CallState, awaitable: Awaitable[Any], session: int, reraise: bool = False) -> None:
        running = RUNNING.set(state.meta)  # this task runs the call: its records name it
        # A call whose result the host promised settles its promise (calls/promises.py) before it ends.
        try:
            value = await awaitable
        except asyncio.CancelledError as exc:
            if state.promise is not None:
                state.promise.fail(exc)
            self.outcomes.cancelled(state.id)
            if reraise:
                raise
        except BaseException as exc:
            if state.promise is not None:
                state.promise.fail(exc)
            self.outcomes.error(state.id, exc)
        else:
            if state.promise is not None:
                state.promise.resolve(value)
            self.outcomes.result(state.id, value, session)
        finally:
            self._finished(state)
            RUNNING.reset(running)

    async def _pump(self, state: CallState, iterator: AsyncIterator[Any], credit: _Credit, session: int) -> None:
        RUNNING.set(state.meta)  # a task of its own: its context goes with it
        try:
            while True:
                await credit.take()
                try:
                    item = await iterator.__anext__()
                except StopAsyncIteration:
                    break
                self.outcomes.item(state.id, item, session)
            self.outcomes.end(state.id)
        except asyncio.CancelledError:
            self.outcomes.end(state.id)  # acknowledges the cancel
        except BaseException as exc:
            self.outcomes.error(state.id, exc)
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                # A failing finally block in the generator must not lose the outcome already sent.
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await aclose()
            self._finished(state)


def _cancel_through(state: CallState, future: Future[None]) -> None:
    """Makes a cancel of the call cancel ``future``, and with it the task running the call on the loop."""
    state.on_cancel = future.cancel
    # The call was registered before this hook existed: a cancel in between only set the flag. (The control
    # thread sets the flag before it reads the hook, so one of the two sees the other.)
    if state.cancelled:
        future.cancel()


class _Credit:
    """Items the host is ready to receive; lives on the event loop."""

    def __init__(self, initial: int) -> None:
        self._available = initial
        self._changed = asyncio.Event()

    def add(self, count: int) -> None:
        self._available += count
        self._changed.set()

    async def take(self) -> None:
        while self._available <= 0:
            self._changed.clear()
            await self._changed.wait()
        self._available -= 1
