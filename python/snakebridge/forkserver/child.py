"""What a process the fork server forked does to become a worker: connect its
own channels back to the host, put them where a spawned worker has them
(fds 0-5), shed everything else it inherited from the server, and run the
worker. It never returns into the server's loop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import traceback
from typing import NoReturn

from ..lifecycle import EXIT_START_FAILED
from .messages import WORKER_FDS, ForkRequest

#: Where ``python -m snakebridge`` puts sys.argv[0]: user code that reads it sees the same in either kind of worker.
_WORKER_MAIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "__main__.py")


def become_worker(request: ForkRequest, address: str, server_pid: int) -> NoReturn:
    """Turns this freshly forked process into worker ``request.worker_id``.

    Any failure before the worker runs ends the process with
    EXIT_START_FAILED and a traceback on its stderr (the host's, once
    connected; the server's before), and the host starts that worker by
    spawning it instead.
    """
    try:
        _reset_signals()
        channels = [_connect(address, request.token, fd) for fd in WORKER_FDS]
        for channel, fd in zip(channels, WORKER_FDS, strict=True):
            os.dup2(channel.fileno(), fd)
            channel.close()
        # The server's own pipes (its fds 3 and 4 were replaced above) and anything else it held stay behind.
        _close_inherited(max(WORKER_FDS) + 1)
        os.environ["SNAKEBRIDGE_WORKER_ID"] = request.worker_id
        sys.argv = [_WORKER_MAIN]
        from ..worker.main import run_forked

        run_forked(server_pid)
    except BaseException:
        with contextlib.suppress(BaseException):
            traceback.print_exc()
            sys.stderr.flush()
    os._exit(EXIT_START_FAILED)


def _reset_signals() -> None:
    """The dispositions a spawned worker starts with, not the server's."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _connect(address: str, token: bytes, fd: int) -> socket.socket:
    """One channel to the host, opened with the preamble that tells the host whose, and which, it is."""
    channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    channel.connect(address)
    channel.sendall(token + bytes((fd,)))
    return channel


def _close_inherited(first: int) -> None:
    """Closes every open fd from ``first`` up: those /proc lists (a loop up to the fd limit, a million here, is
    what ``os.closerange`` falls back to on kernels without close_range)."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd >= first:
            with contextlib.suppress(OSError):  # the listing's own fd, closed by now
                os.close(fd)
