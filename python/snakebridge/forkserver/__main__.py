"""``python -m snakebridge.forkserver --socket PATH --serializer ID``: the fork
server a host on Linux starts for a pool of stdio workers (see server.py and
docs/operations.md, "Fork server"). Requests come on fd 3, events go on fd 4;
forked workers connect to the Unix socket at PATH, where the host listens."""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys

# The worker runtime, imported here once so that no forked worker imports it again.
from ..lifecycle import EXIT_USAGE, die_with_parent
from ..serializers import REGISTRY
from ..worker import main as _worker_main  # noqa: F401
from .server import EVENTS_FD, REQUESTS_FD, ForkServer

_USAGE = "python -m snakebridge.forkserver --socket PATH [--serializer ID]"
#: Serializers imported before any fork: their imports start no thread. (pyarrow's may; an Arrow pool's workers
#: import it after the fork.)
_WARM_SERIALIZERS = ("json", "msgpack", "protobuf")


def main(argv: list[str] | None = None) -> None:
    options = _options(sys.argv[1:] if argv is None else argv)
    try:
        for fd in (REQUESTS_FD, EVENTS_FD):
            os.fstat(fd)
    except OSError:
        print(
            "python -m snakebridge.forkserver is started by a SnakeBridge host; it needs fds 3 and 4.", file=sys.stderr
        )
        sys.exit(EXIT_USAGE)
    host_pid = int(os.environ["SNAKEBRIDGE_HOST_PID"]) if os.environ.get("SNAKEBRIDGE_HOST_PID") else None
    die_with_parent(host_pid)
    # A Ctrl-C in a terminal reaches the whole process group: the workers take it as spawned ones do (each child
    # restores the default handler), and the server outlives it, since its workers die with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _warm(options.get("--serializer", "json"))
    ForkServer(options["--socket"]).serve()


def _options(argv: list[str]) -> dict[str, str]:
    """``--socket PATH`` and ``--serializer ID`` (argparse costs the server's start more than it saves)."""
    options = dict(zip(argv[::2], argv[1::2], strict=False))
    if len(argv) % 2 or not set(options) <= {"--socket", "--serializer"} or "--socket" not in options:
        print(f"usage: {_USAGE}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    return options


def _warm(serializer: str) -> None:
    """Imports the serializer's Python side; one that fails to import is left for the worker to report after HELLO."""
    if serializer in _WARM_SERIALIZERS and serializer in REGISTRY:
        # A missing package is named by the worker, with the command that installs it.
        with contextlib.suppress(Exception):
            importlib.import_module(REGISTRY[serializer][0])


main()
