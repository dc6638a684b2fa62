"""Entry point of a worker: ``python -m snakebridge``, started by the host.

Handshake, then three threads: the main thread runs calls, the reader reads
frames from fd 3, the watchdog watches the host. See docs/protocol.md.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import threading
from collections.abc import Iterator
from typing import NoReturn

from .. import PROTOCOL_VERSION
from ..calls import Dispatcher, HandleTable, Resolver
from ..calls.payloads import describe, payload_body
from ..errors import ProtocolError
from ..lifecycle import (
    EXIT_HOST_GONE,
    EXIT_PROTOCOL,
    EXIT_START_FAILED,
    EXIT_USAGE,
    apply_limits,
    die_with_parent,
    resident_bytes,
)
from ..log_forwarding import ForwardingHandler, forward_logging
from ..options import WorkerOptions
from ..protocol import Frame, FrameReader, FrameTooLarge, Kind
from ..serializers import get_serializer
from ..serializers.json import JsonSerializer
from .callbacks import HostCallbacks
from .connection import ControlReader, FrameSource, MalformedFrameError, Writer, widen_send_buffer
from .executor import Executor
from .outcomes import Outcomes
from .watchdog import Watchdog

FD_DATA = 3
FD_OUT = 4
FD_CONTROL = 5
#: How long a worker whose host went away waits for the call in progress before leaving anyway.
_EXIT_GRACE_SECONDS = 2.0
#: A start-up error's body is cut to this: the host has not told its frame limit yet, or did so in a bad HELLO.
_FATAL_BODY_BYTES = 1024 * 1024
_CALLBACK_ANSWERS = (Kind.CALLBACK_RESULT, Kind.CALLBACK_ERROR)


def main() -> None:
    if not _has_channels():
        print(
            "python -m snakebridge is a worker started by a SnakeBridge host (@snakebridge/adapter-stdio); "
            "it needs file descriptors 3, 4 and 5 for its frames.",
            file=sys.stderr,
        )
        sys.exit(EXIT_USAGE)
    host_pid = int(os.environ["SNAKEBRIDGE_HOST_PID"]) if os.environ.get("SNAKEBRIDGE_HOST_PID") else None
    die_with_parent(host_pid)
    Worker(host_pid).run()


def run_forked(parent_pid: int) -> NoReturn:
    """A worker forked by the fork server (snakebridge/forkserver), its channels in place on fds 0-5.

    Its parent is the fork server, which dies with the host: it dies with that
    parent, and its watchdog watches it, as a spawned worker does the host.
    """
    die_with_parent(parent_pid)
    Worker(parent_pid).run()
    os._exit(0)  # run() leaves by itself; never return into the fork server's loop


class Worker:
    def __init__(self, host_pid: int | None) -> None:
        self.host_pid = host_pid
        widen_send_buffer(FD_OUT)
        self.writer = Writer(FD_OUT, on_broken=lambda: self.leave(EXIT_HOST_GONE, "fd 4 is closed"))
        self.leaving = threading.Event()

    def run(self) -> None:
        data = FrameSource(FD_DATA, FrameReader(max_frame_bytes=64 * 1024 * 1024))
        options, early = self._read_hello(data)
        try:
            executor = self._start(options, data)
        except BaseException as exc:
            self._fatal(exc)
        self.writer.send(
            Kind.READY,
            0,
            json.dumps(
                {
                    "protocol": PROTOCOL_VERSION,
                    "pid": os.getpid(),
                    "python": _python_version(),
                    "implementation": _implementation(),
                    "executable": sys.executable,
                    "serializer": options.serializer,
                }
            ).encode(),
            aux=PROTOCOL_VERSION,
        )
        for frame in early:
            executor.handle(frame)
        with _profiled():
            try:
                executor.run_forever(data)
            except MalformedFrameError as exc:  # a header that makes no sense: the data channel is out of step
                self._on_malformed(exc)
        self.watchdog.stop()
        self.writer.flush()
        # Leave now: a normal interpreter exit would wait for the pool threads, and so for a call that
        # may run for hours with nobody left to answer. (The profile is dumped above; user code's
        # buffered output is flushed by leave().)
        with contextlib.suppress(OSError, ValueError):  # stderr may be gone with the host
            sys.stderr.flush()
        self.leave(0, None)

    # --- start-up -------------------------------------------------------------------------

    def _read_hello(self, data: FrameSource) -> tuple[WorkerOptions, list[Frame | FrameTooLarge]]:
        """The HELLO options, and any frames that arrived in the same read after it."""
        while True:
            try:
                received = data.read()
            except MalformedFrameError as exc:
                self._fatal(ProtocolError(f"malformed frame before HELLO: {exc}"))
            if data.eof:
                sys.exit(EXIT_HOST_GONE)
            for frame in received[:1]:
                if not isinstance(frame, Frame) or frame.kind != Kind.HELLO:
                    self._fatal(ProtocolError(f"expected HELLO first, got frame kind {frame.kind:#x}"))
                if frame.aux != PROTOCOL_VERSION:
                    self._fatal(
                        ProtocolError(
                            f"the host speaks protocol {frame.aux}, this worker {PROTOCOL_VERSION}: "
                            "install matching versions of @snakebridge/adapter-stdio and the snakebridge Python package"
                        )
                    )
                return self._hello_options(frame), received[1:]

    def _hello_options(self, frame: Frame) -> WorkerOptions:
        try:
            hello = json.loads(bytes(frame.body))
        except ValueError as exc:
            self._fatal(ProtocolError(f"the HELLO body is not JSON ({exc}); the host must send its options as JSON"))
        try:
            return WorkerOptions.from_hello(hello)
        except ProtocolError as exc:
            self._fatal(exc)

    def _start(self, options: WorkerOptions, data: FrameSource) -> Executor:
        serializer = get_serializer(options.serializer, options.serializer_options)
        apply_limits(options.limits.address_space_bytes, options.limits.cpu_seconds)
        if options.sandbox is not None:
            from ..sandbox import enter_sandbox  # only then: it loads libc and builds a filter

            enter_sandbox(options.sandbox.writable_paths, network=options.sandbox.network)
        # Before any user code (preload): its records go to the host from the start.
        log_handler = self._forward_logging(options.log_records)
        max_frame_bytes = options.max_frame_bytes
        data.max_frame_bytes = max_frame_bytes
        handles = HandleTable(
            max_per_session=options.max_handles_per_session,
            ttl_seconds=options.handle_ttl_ms / 1000,
        )
        resolver = Resolver(options.allow_eval, options.allowed_modules, options.allow_unsafe_modules)
        if options.lockfile is not None:
            from ..version_guard import enforce  # only then: importlib.metadata costs start-up time

            enforce(options.lockfile, options.version_guard)
        for module in options.preload:
            importlib.import_module(module)
        outcomes = Outcomes(self.writer, serializer, handles, max_frame_bytes)
        # Errors always travel as JSON; arguments in the agreed serializer.
        serializers = {serializer.wire_id: serializer, 1: JsonSerializer()}
        dispatcher = Dispatcher(resolver, handles)
        self.callbacks = HostCallbacks(self.writer, outcomes, serializers, handles.get)
        self.executor = Executor(
            serializers,
            outcomes,
            dispatcher,
            self.writer.flush,
            options.threads,
            self.callbacks,
            flush_soon=self.writer.flush_soon,
        )
        if options.shared_memory is not None and hasattr(serializer, "shared_memory"):
            from .shared_memory import SharedMemoryLane  # only then: most hosts send nothing that large

            lane = SharedMemoryLane(options.shared_memory.host_pid, options.shared_memory.threshold_bytes)
            serializer.shared_memory = lane
            self.executor.shared_memory = lane
        if log_handler is not None:
            log_handler.guard = self.executor.uninterruptible
        self.handles = handles
        self.dispatcher = dispatcher
        self.watchdog = Watchdog(
            self.host_pid,
            options.host_timeout_ms,
            send_ping=lambda ping_id: self.writer.send(Kind.PING, ping_id),
            sweep=dispatcher.sweep,
            exit_process=self.leave,
        )
        # As large as the data channel's: a callback's result comes this way.
        control = FrameSource(FD_CONTROL, FrameReader(max_frame_bytes=max_frame_bytes))
        ControlReader(control, self._on_control, self._on_control_eof, self._on_malformed).start()
        self.watchdog.start()
        return self.executor

    def _forward_logging(self, level: int | None) -> ForwardingHandler | None:
        """Python's ``logging`` records at ``level`` and above go to the host in LOG frames (None: left alone)."""
        if level is None:
            return None
        # Written at once, not deferred: a record made just before a crash is the one most wanted.
        return forward_logging(lambda body: self.writer.send(Kind.LOG, 0, body, 1), level)

    def _fatal(self, exc: BaseException) -> NoReturn:
        """Reports a start-up failure to the host and exits."""
        payload = describe(exc)
        payload["code"] = "PROTOCOL" if isinstance(exc, ProtocolError) else "WORKER_START_FAILED"
        self.writer.send(Kind.ERROR, 0, payload_body(payload, _FATAL_BODY_BYTES), 1)
        os._exit(EXIT_START_FAILED if payload["code"] == "WORKER_START_FAILED" else EXIT_PROTOCOL)

    # --- the control thread -------------------------------------------------------------------

    def _on_control(self, frame: Frame | FrameTooLarge) -> None:
        kind = frame.kind
        if kind in _CALLBACK_ANSWERS:
            self.callbacks.resolve(frame)  # one too large too: its waiter gets an error instead
        elif isinstance(frame, FrameTooLarge):
            return
        elif kind == Kind.CANCEL:
            self.executor.cancel(frame.id)
        elif kind == Kind.CREDIT:
            self.executor.credit(frame.id, frame.aux)
        elif kind == Kind.PING:
            stats = {"rss": resident_bytes(), "inFlight": self.executor.in_flight, "handles": self.dispatcher.held}
            self.writer.send(Kind.PONG, frame.id, json.dumps(stats).encode())
        elif kind == Kind.PONG:
            self.watchdog.pong()

    def _on_control_eof(self) -> None:
        """The host closed the control channel (it is closing us, or it died): finish up and leave."""
        self.callbacks.close("the host closed the control channel: callbacks can no longer be answered")
        self.executor.stop()
        timer = threading.Timer(_EXIT_GRACE_SECONDS, lambda: self.leave(0, None))
        timer.daemon = True
        timer.start()

    def _on_malformed(self, exc: Exception) -> None:
        self.leave(EXIT_PROTOCOL, f"malformed frame from the host: {exc}")

    def leave(self, status: int, reason: str | None) -> None:
        """Exits now, from any thread."""
        if self.leaving.is_set():
            return
        self.leaving.set()
        if reason:
            print(f"snakebridge worker {os.getpid()} exiting: {reason}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(status)


@contextlib.contextmanager
def _profiled() -> Iterator[None]:
    """Profiles the main thread with cProfile when SNAKEBRIDGE_PROFILE names a directory (bench/, docs/performance.md)."""
    directory = os.environ.get("SNAKEBRIDGE_PROFILE")
    if not directory:
        yield
        return
    import cProfile

    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(os.path.join(directory, f"worker-{os.getpid()}.prof"))


#: platform.python_implementation() for the common interpreters, without importing platform (a start-up cost).
_IMPLEMENTATIONS = {"cpython": "CPython", "pypy": "PyPy"}


def _implementation() -> str:
    name = _IMPLEMENTATIONS.get(sys.implementation.name)
    if name is None:
        import platform

        name = platform.python_implementation()
    return name


def _python_version() -> str:
    """platform.python_version(): the version as sys.version starts with it (``3.13.0rc1``)."""
    return sys.version.split()[0]


def _has_channels() -> bool:
    try:
        for fd in (FD_DATA, FD_OUT, FD_CONTROL):
            os.fstat(fd)
    except OSError:
        return False
    return True
