"""The server process: ``python -m snakebridge.server``.

Threads: the gRPC event loop runs in a thread of its own and runs coroutines;
the main thread runs the call executor (calls.py), which runs sync calls
itself (``--threads 0``) or on a pool of threads (``--threads N``). Start
order: limits, preload imports, bind, start, then the ready line, so a host
reading ``--ready-fd`` knows the port answers. It stops on SIGTERM/SIGINT
(gracefully: NOT_SERVING, then in-flight calls get ``--shutdown-grace-ms``),
on end of file on ``--lifeline-fd``, and when the host that started it
(``SNAKEBRIDGE_HOST_PID``) is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import json
import logging
import os
import signal
import sys
import threading
import traceback
import uuid
from collections.abc import Callable
from typing import Any

import grpc
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio

from ..calls import Dispatcher, HandleTable, Resolver
from ..lifecycle import EXIT_HOST_GONE, EXIT_OK, EXIT_START_FAILED, EXIT_USAGE, apply_limits, die_with_parent
from ..log_forwarding import ForwardingHandler, forward_logging
from .auth import TokenInterceptor
from .calls import ServerCalls
from .options import ServerOptions, UsageError, parse_options
from .proto import bridge_modules
from .service import BridgeService

log = logging.getLogger("snakebridge.server")

SERVICE_NAME = "snakebridge.v1.Bridge"
#: After a stop is asked for, how long past the grace period the process may take before it is ended.
_EXIT_MARGIN_SECONDS = 3.0


def main(argv: list[str] | None = None) -> None:
    try:
        options = parse_options(argv)
    except (UsageError, OSError) as exc:
        print(f"python -m snakebridge.server: {exc}", file=sys.stderr, flush=True)
        sys.exit(EXIT_USAGE)
    log_handler = _configure_logging(options)
    host_pid = int(os.environ["SNAKEBRIDGE_HOST_PID"]) if os.environ.get("SNAKEBRIDGE_HOST_PID") else None
    if host_pid is not None:
        die_with_parent(host_pid)
    _exit(ServerProcess(options, host_pid, log_handler).run())


def _configure_logging(options: ServerOptions) -> ForwardingHandler | None:
    """Text on stderr; or, with --log-fd, records for the host that started us, as JSON lines on that fd."""
    if options.log_fd is None or options.calls.log_records is None:
        logging.basicConfig(
            level=options.log_level,
            stream=sys.stderr,
            format="snakebridge.server[%(process)d] %(levelname)s %(message)s",
        )
        return None
    handler = forward_logging(_line_writer(options.log_fd), options.calls.log_records)
    # User code's records follow --log-records (the root's level); the server's own keep --log-level.
    own = logging.getLevelName(options.log_level)
    logging.getLogger("snakebridge").setLevel(own)
    handler.setLevel(min(own, options.calls.log_records))
    return handler


def _line_writer(fd: int) -> Callable[[bytes], None]:
    """Writes each record as one line to ``fd``, whole: one thread at a time."""
    lock = threading.Lock()

    def write(body: bytes) -> None:
        data = memoryview(body + b"\n")
        with lock:
            try:
                while data:
                    data = data[os.write(fd, data) :]
            except OSError:
                pass  # the host is gone: nobody reads the records any more

    return write


class ServerProcess:
    def __init__(
        self, options: ServerOptions, host_pid: int | None, log_handler: ForwardingHandler | None = None
    ) -> None:
        self.options = options
        self.host_pid = host_pid
        self._log_handler = log_handler
        self.loop = asyncio.new_event_loop()
        self.port: int | None = None
        self._calls: ServerCalls | None = None
        self._dispatcher: Dispatcher | None = None
        self._serving = threading.Event()
        self._finished = threading.Event()
        self._failure: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = False
        self._status = EXIT_OK
        #: How long calls in flight may run on once a stop is asked for, in seconds.
        self._grace = 0.0

    def run(self) -> int:
        """Serves until told to stop; returns the exit status."""
        options = self.options
        calls = options.calls
        try:
            apply_limits(calls.limits.address_space_bytes, calls.limits.cpu_seconds)
            if calls.lockfile is not None:
                from ..version_guard import enforce  # only then: importlib.metadata costs start-up time

                enforce(calls.lockfile, calls.version_guard)
            for module in calls.preload:
                importlib.import_module(module)
            modules = bridge_modules()
            handles = HandleTable(calls.max_handles_per_session, calls.handle_ttl_ms / 1000)
            resolver = Resolver(calls.allow_eval, calls.allowed_modules, calls.allow_unsafe_modules)
            self._dispatcher = Dispatcher(resolver, handles)
        except BaseException:
            log.error("failed to start:\n%s", traceback.format_exc().rstrip())
            return EXIT_START_FAILED
        enter = self._sandbox_entry()
        # Made here, on the main thread: its interrupt signal's handler must be set from this thread.
        self._calls = ServerCalls(
            self._dispatcher,
            self.loop,
            threads=calls.threads,
            max_message_bytes=options.max_message_bytes,
            cancel_grace_ms=options.cancel_grace_ms,
            declare_wait_seconds=options.pipeline_wait_ms / 1000,
            initializer=enter,
        )
        if self._log_handler is not None:
            self._log_handler.guard = self._calls.executor.uninterruptible
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        loop_thread = threading.Thread(target=self._loop_main, args=modules, name="snakebridge-grpc", daemon=True)
        loop_thread.start()
        self._serving.wait()
        if self._failure is not None:
            log.error("failed to start: %s", self._failure)
            return EXIT_START_FAILED
        if enter is not None:
            # Now, not earlier: gRPC had to create its listening socket. Its I/O threads stay outside; this thread
            # runs calls, and each thread of the call pool enters as it starts (the pool's initializer).
            try:
                enter()
            except BaseException:
                log.error("failed to start:\n%s", traceback.format_exc().rstrip())
                return EXIT_START_FAILED
        if options.exposure_warning:
            log.warning("%s", options.exposure_warning)
        self._announce()
        if options.lifeline_fd is not None:
            threading.Thread(target=self._watch_lifeline, name="snakebridge-lifeline", daemon=True).start()
        self._calls.run_forever()  # until the event loop is done and closes it
        self._finished.wait()
        return self._status

    def _sandbox_entry(self) -> Callable[[], None] | None:
        """What puts a thread in the OS sandbox (--sandbox), or None without one."""
        sandbox = self.options.calls.sandbox
        if sandbox is None:
            return None
        from ..sandbox import enter_sandbox  # only then: it loads libc and builds a filter

        return functools.partial(enter_sandbox, sandbox.writable_paths, network=sandbox.network)

    # --- the event loop thread -------------------------------------------------------------

    def _loop_main(self, messages: Any, services: Any) -> None:
        try:
            self.loop.run_until_complete(self._serve(messages, services))
        except BaseException as exc:
            self._failure = exc
            self._serving.set()
        finally:
            if self._calls is not None:
                self._calls.close()
            self._finished.set()

    async def _serve(self, messages: Any, services: Any) -> None:
        options = self.options
        self._stop = asyncio.Event()
        server = aio.server(
            interceptors=[TokenInterceptor(options.token)] if options.token else None,
            options=[
                ("grpc.max_receive_message_length", options.max_message_bytes),
                ("grpc.max_send_message_length", options.max_message_bytes),
                # Without this, a second process could bind the same port and take half the connections.
                ("grpc.so_reuseport", 0),
                # Clients ping while calls run, to notice a dead peer; allow it every 10 s.
                ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
                ("grpc.keepalive_permit_without_calls", 1),
            ],
        )
        assert self._calls is not None and self._dispatcher is not None
        service = BridgeService(messages, self._dispatcher, self._calls, instance=uuid.uuid4().hex[:12])
        service.register(services, server)
        health = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health, server)
        self.port = self._bind(server)
        probe = self._health_server(health)
        await server.start()
        if probe is not None:
            await probe.start()
        for name in ("", SERVICE_NAME):
            await health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self._serving.set()
        maintenance = asyncio.create_task(self._maintain(self._dispatcher))
        await self._stop.wait()
        await health.enter_graceful_shutdown()  # NOT_SERVING: balancers stop sending calls
        await server.stop(self._grace)
        if probe is not None:
            await probe.stop(0)
        maintenance.cancel()

    def _bind(self, server: aio.Server) -> int:
        options = self.options
        if options.tls_cert is not None and options.tls_key is not None:
            credentials = grpc.ssl_server_credentials(
                [(options.tls_key, options.tls_cert)],
                root_certificates=options.tls_client_ca,
                require_client_auth=options.tls_client_ca is not None,
            )
            return server.add_secure_port(options.address, credentials)
        return server.add_insecure_port(options.address)

    def _health_server(self, health: health_aio.HealthServicer) -> aio.Server | None:
        """With --health-port: the same health states, alone and in plaintext (they reveal nothing else)."""
        port = self.options.health_port
        if port is None:
            return None
        server = aio.server(options=[("grpc.so_reuseport", 0)])
        health_pb2_grpc.add_HealthServicer_to_server(health, server)
        host = self.options.host if self.options.unix is None else "127.0.0.1"
        server.add_insecure_port(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
        return server

    async def _maintain(self, dispatcher: Dispatcher) -> None:
        """Once a second: free expired handles and promised handles; leave if the host that started us is gone."""
        while True:
            await asyncio.sleep(1.0)
            dispatcher.sweep()
            if self.host_pid is not None and os.getppid() != self.host_pid:
                self._request_stop(0.0, "the host process is gone", EXIT_HOST_GONE)

    # --- stopping -------------------------------------------------------------------------------

    def _request_stop(self, grace: float, reason: str, status: int = EXIT_OK) -> None:
        """On the loop: stop serving, let calls run for ``grace`` seconds, then leave."""
        if self._stopping or self._stop is None:
            return
        self._stopping = True
        self._status = status
        self._grace = grace
        log.info("stopping: %s", reason)
        self._stop.set()
        # Calls interrupted at the end of the grace period should stop at once; C code may not.
        timer = threading.Timer(grace + _EXIT_MARGIN_SECONDS, self._force_exit, args=(reason,))
        timer.daemon = True
        timer.start()

    def _request_stop_threadsafe(self, grace: float, reason: str, status: int = EXIT_OK) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: we are leaving anyway
            self.loop.call_soon_threadsafe(self._request_stop, grace, reason, status)

    def _on_signal(self, signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if self._stopping:
            log.warning("%s again: leaving now", name)
            _exit(self._status)
        self._request_stop_threadsafe(self.options.shutdown_grace_ms / 1000, f"received {name}")

    def _watch_lifeline(self) -> None:
        fd = self.options.lifeline_fd
        assert fd is not None
        try:
            while os.read(fd, 4096):
                pass
        except OSError:
            pass
        # The host closed it to stop us, or died: nobody is waiting for the calls in flight.
        self._request_stop_threadsafe(0.0, "the host closed the lifeline")

    def _force_exit(self, reason: str) -> None:
        log.warning("still running %.0f s after being asked to stop (%s): leaving now", _EXIT_MARGIN_SECONDS, reason)
        _exit(self._status)

    # --- readiness -------------------------------------------------------------------------------

    def _announce(self) -> None:
        options = self.options
        where: dict[str, Any] = {"socket": options.unix} if options.unix is not None else {"port": self.port}
        line = json.dumps({**where, "pid": os.getpid()})
        log.info("serving on %s", options.unix or f"{options.host}:{self.port}")
        if options.ready_fd is not None:
            try:
                os.write(options.ready_fd, f"{line}\n".encode())
                os.close(options.ready_fd)
            except OSError as exc:
                log.warning("could not write the ready line to fd %d: %s", options.ready_fd, exc)


def _exit(status: int) -> None:
    """Leaves now: threads still running user code (or stuck in C) must not hold the process open."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
