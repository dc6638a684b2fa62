"""Where the server runs code that may block: sync calls, sync generators,
imports. The gRPC event loop never runs it itself, so it stays free for other
calls, cancels and health checks.

Like the stdio worker (docs/protocol.md, "Cancellation"), there are two ways:

- ``threads == 0``: one call at a time, in arrival order, on the main thread.
  A cancel interrupts it with a signal, which also breaks out of ``time.sleep``.
- ``threads > 0``: on a pool of threads. A cancel raises ``Cancelled`` in the
  thread with ``PyThreadState_SetAsyncExc``: at its next Python bytecode, so a
  blocking C call finishes first.

C code that never returns to the interpreter cannot be interrupted either way;
with ``cancel_grace_ms`` the server then exits so that its supervisor replaces
it, as the stdio host does with a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from ..calls.interrupt import raise_in_thread
from ..errors import Cancelled

log = logging.getLogger("snakebridge.server")

#: Exit status when a cancelled call would not stop within the grace period.
EXIT_CANCEL_STUCK = 6
INTERRUPT_SIGNAL = getattr(signal, "SIGUSR1", None)


class Job:
    """One piece of blocking work, started from the event loop and awaited there."""

    __slots__ = ("_lock", "cancelled", "finished", "fn", "future", "ident", "loop", "started")

    def __init__(self, fn: Callable[[], Any], loop: asyncio.AbstractEventLoop) -> None:
        self.fn = fn
        self.loop = loop
        #: Settled on the loop when the work is over; never cancelled by an awaiter (they shield it).
        self.future: asyncio.Future[Any] = loop.create_future()
        self.cancelled = False
        self.started = False
        self.finished = False
        #: The pool thread running it, while it runs (guarded by _lock).
        self.ident: int | None = None
        self._lock = threading.Lock()

    def settle(self, value: Any, error: BaseException | None) -> None:
        """Called by the runner's thread when the work is over."""
        self.finished = True
        # A closed loop means the server is exiting and nobody waits any more.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._deliver, value, error)

    def _deliver(self, value: Any, error: BaseException | None) -> None:
        if self.future.done():
            return
        if error is None:
            self.future.set_result(value)
        else:
            self.future.set_exception(error)


class Runner(Protocol):
    def submit(self, job: Job) -> None: ...
    def cancel(self, job: Job) -> None: ...
    def stop(self) -> None: ...


class MainThreadRunner:
    """Runs jobs one at a time on the main thread (``run_forever``); a cancel sends it SIGUSR1."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._current: Job | None = None
        self._interrupt: Job | None = None
        self._main_ident = threading.main_thread().ident
        if INTERRUPT_SIGNAL is not None:
            signal.signal(INTERRUPT_SIGNAL, self._on_interrupt)

    def submit(self, job: Job) -> None:
        self._queue.put(job)

    def cancel(self, job: Job) -> None:
        # Written before _current is read, as the main thread writes _current before it reads
        # `cancelled`: whichever comes second sees the other, so no cancel is lost.
        job.cancelled = True
        if self._current is job and INTERRUPT_SIGNAL is not None and self._main_ident is not None:
            self._interrupt = job
            signal.pthread_kill(self._main_ident, INTERRUPT_SIGNAL)

    def stop(self) -> None:
        """Makes ``run_forever`` return once the job in progress is over."""
        self._queue.put(None)

    def run_forever(self) -> None:
        while (job := self._queue.get()) is not None:
            self._run(job)

    def _run(self, job: Job) -> None:
        if job.cancelled:  # cancelled while it waited its turn: never start it
            job.settle(None, Cancelled())
            return
        try:
            try:
                self._current = job
                job.started = True
                if job.cancelled:
                    raise Cancelled()
                value = job.fn()
            finally:
                # Reset before the outcome is delivered, so a late interrupt cannot land elsewhere.
                self._current = None
        except BaseException as exc:
            job.settle(None, exc)
        else:
            job.settle(value, None)

    def _on_interrupt(self, _signum: int, _frame: object) -> None:
        job = self._interrupt
        if job is not None and job is self._current:
            self._interrupt = None
            raise Cancelled()


class ThreadPoolRunner:
    """Runs jobs on ``threads`` threads; a cancel raises Cancelled in the thread running the job."""

    def __init__(self, threads: int, initializer: Callable[[], None] | None = None) -> None:
        # The initializer runs in each thread as it starts: the OS sandbox, which is per thread (sandbox.py).
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="snakebridge-call", initializer=initializer)

    def submit(self, job: Job) -> None:
        self._pool.submit(self._run, job)

    def cancel(self, job: Job) -> None:
        with job._lock:
            job.cancelled = True
            if job.ident is not None:
                raise_in_thread(job.ident, Cancelled)

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def _run(job: Job) -> None:
        ident = threading.get_ident()
        with job._lock:
            if job.cancelled:
                job.settle(None, Cancelled())
                return
            job.ident = ident
            job.started = True
        try:
            try:
                value = job.fn()
            finally:
                with job._lock:
                    job.ident = None  # from here on, cancel() raises nothing into this thread
                raise_in_thread(ident, None)  # and one raised just before is dropped
        except BaseException as exc:
            job.settle(None, exc)
        else:
            job.settle(value, None)


class Jobs:
    """Starts jobs on a runner and awaits them from the event loop, cancelling them with the awaiting task."""

    def __init__(self, runner: Runner, loop: asyncio.AbstractEventLoop, cancel_grace_ms: int = 0) -> None:
        self.runner = runner
        self._loop = loop
        self._grace = cancel_grace_ms / 1000

    def start(self, fn: Callable[[], Any]) -> Job:
        job = Job(fn, self._loop)
        self.runner.submit(job)
        return job

    async def result(self, job: Job, what: str) -> Any:
        """The job's value (or exception). If the awaiting task is cancelled, so is the job."""
        try:
            return await asyncio.shield(job.future)
        except asyncio.CancelledError:
            self.cancel(job, what)
            raise

    async def run(self, fn: Callable[[], Any], what: str) -> Any:
        return await self.result(self.start(fn), what)

    def cancel(self, job: Job, what: str) -> None:
        if job.finished:
            return
        self.runner.cancel(job)
        if self._grace > 0:
            self._loop.call_later(self._grace, self._check_stopped, job, what)

    def _check_stopped(self, job: Job, what: str) -> None:
        if job.finished or not job.started:
            return
        log.error(
            "'%s' did not stop within %d ms of being cancelled (C code that never returns to Python?); "
            "exiting so that this server is replaced",
            what,
            round(self._grace * 1000),
        )
        logging.shutdown()
        os._exit(EXIT_CANCEL_STUCK)
