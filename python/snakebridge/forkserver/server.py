"""The fork server's loop: forks a worker per request, signals its workers
when the host asks, and reports each worker's exit once it has reaped it.

It runs no user code and starts no thread: ``fork()`` copies only the thread
that calls it, so a lock another thread held would stay held for ever in the
child. Before each fork it checks that it is still alone (native threads
included), and refuses the fork otherwise; the host then spawns the worker.
"""

from __future__ import annotations

import contextlib
import gc
import os
import select
import signal
import sys
from typing import NoReturn

from ..lifecycle import EXIT_HOST_GONE, EXIT_PROTOCOL
from . import messages
from .child import become_worker
from .messages import MAX_LINE_BYTES, ForkRequest, RequestError, SignalRequest

#: Requests from the host.
REQUESTS_FD = 3
#: Events to the host.
EVENTS_FD = 4


class ForkServer:
    """Forks workers that connect back to the host at the Unix socket ``address`` (a path)."""

    def __init__(self, address: str) -> None:
        self._address = address
        self._pid = os.getpid()
        #: Workers forked and not reaped yet: the only pids it signals, since none of them can have been reused.
        self._children: dict[int, str] = {}
        # SIGCHLD wakes the loop through this pipe (signal.set_wakeup_fd), so that exits are reported promptly.
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        signal.set_wakeup_fd(self._wake_w)
        signal.signal(signal.SIGCHLD, _wake_only)

    def serve(self) -> NoReturn:
        """Reports ready, then serves until the host closes its requests; leaves once its workers are gone."""
        # Everything imported so far is kept out of the collector's reach, in the server and in the children:
        # a collection in a worker would otherwise write to (and so copy) the pages it shares with the server.
        gc.freeze()
        self._send(messages.ready(self._pid))
        pending = b""
        while True:
            readable, _, _ = select.select([REQUESTS_FD, self._wake_r], [], [])
            if self._wake_r in readable:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 4096)
                self._reap(block=False)
            if REQUESTS_FD in readable:
                chunk = os.read(REQUESTS_FD, 65536)
                if not chunk:
                    self._finish()
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    self._handle(line)
                if len(pending) > MAX_LINE_BYTES:
                    self._refuse(f"a request line longer than {MAX_LINE_BYTES} bytes")

    def _handle(self, line: bytes) -> None:
        try:
            request = messages.decode_request(line)
        except RequestError as exc:
            self._refuse(str(exc))
        if isinstance(request, ForkRequest):
            self._fork(request)
        else:
            self._signal(request)

    def _fork(self, request: ForkRequest) -> None:
        threads = _thread_count()
        if threads != 1:
            self._send(
                messages.fork_failed(
                    request.id,
                    f"the fork server runs {threads} threads, and a fork could copy a lock one of them holds",
                )
            )
            return
        try:
            pid = os.fork()
        except OSError as exc:
            self._send(messages.fork_failed(request.id, f"fork() failed: {exc}"))
            return
        if pid == 0:
            become_worker(request, self._address, self._pid)
        self._children[pid] = request.worker_id
        self._send(messages.forked(request.id, pid))

    def _signal(self, request: SignalRequest) -> None:
        # Not reaped yet, so the pid is still this worker's; one already reaped has had its exit reported.
        if request.pid in self._children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(request.pid, request.signal)

    def _reap(self, *, block: bool) -> None:
        """Reports the exit of each worker that has ended (waiting for one, if ``block``)."""
        while self._children:
            try:
                pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
            except ChildProcessError:
                self._children.clear()
                return
            if pid == 0:
                return
            if self._children.pop(pid, None) is not None:
                self._send(messages.exited(pid, status))

    def _finish(self) -> NoReturn:
        """The host closed its requests (its pool has closed): waits for the workers left, then leaves.

        A worker still running then is left to finish; the server does not
        leave before it, since its workers die with it.
        """
        self._reap(block=True)
        os._exit(0)

    def _refuse(self, why: str) -> NoReturn:
        print(f"snakebridge fork server: {why}; the host and this runtime do not agree", file=sys.stderr, flush=True)
        os._exit(EXIT_PROTOCOL)

    def _send(self, event: bytes) -> None:
        view = memoryview(event)
        try:
            while view:
                view = view[os.write(EVENTS_FD, view) :]
        except OSError:  # the host is gone: so are we (its workers die with this process)
            os._exit(EXIT_HOST_GONE)


def _wake_only(signum: int, frame: object) -> None:
    """SIGCHLD's handler: the wakeup pipe does the work; having a handler is what makes Python write to it."""


def _thread_count() -> int:
    """Threads of this process, native ones included (Linux)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        import threading

        return threading.active_count()
