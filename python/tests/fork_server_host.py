"""A minimal host for testing the fork server from Python: it starts
``python -m snakebridge.forkserver`` with its requests on fd 3 and its events
on fd 4, listens on the Unix socket forked workers connect to, and
speaks to each forked worker as worker_client.WorkerClient does."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import shutil
import socket
import tempfile
import time
from typing import Any

from worker_client import WorkerClient, spawn_runtime

from snakebridge.forkserver.messages import PREAMBLE_BYTES, WORKER_FDS


class ForkedWorker(WorkerClient):
    """A worker the fork server forked, reached through the connections it made back."""

    def __init__(self, host: ForkServerHost, pid: int, channels: dict[int, socket.socket], **hello: Any) -> None:
        self.pid = pid
        self._host = host
        self.stdout, self.stderr = channels[1], channels[2]
        self._data, self._out, self._control = (channels[fd].detach() for fd in (3, 4, 5))
        self._say_hello(None, hello)

    def output(self, channel: socket.socket, until: bytes, timeout: float = 10.0) -> bytes:
        """What the worker wrote to ``channel`` (its stdout or stderr), read until ``until`` shows up or it closes."""
        seen = b""
        deadline = time.monotonic() + timeout
        while until not in seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([channel], [], [], remaining)[0]:
                raise TimeoutError(f"{until!r} not written; got {seen!r}")
            chunk = channel.recv(65536)
            if not chunk:
                break
            seen += chunk
        return seen

    def close(self) -> int:  # type: ignore[override]
        """Closes the host's ends (end of file for the worker) and returns its exit code, as the server reports it."""
        for fd in (self._data, self._control):
            with contextlib.suppress(OSError):
                os.close(fd)
        exit_event = self._host.exit_of(self.pid)
        for fd in (self._out,):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.stdout.close()
        self.stderr.close()
        return exit_event["code"]


class ForkServerHost:
    def __init__(self, serializer: str = "json") -> None:
        self._dir = tempfile.mkdtemp(prefix="snakebridge-fork-test-")
        self.path = os.path.join(self._dir, "workers.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(32)
        requests_r, self._requests = os.pipe()
        self._events, events_w = os.pipe()
        child_fds = (requests_r, events_w)

        self.process = spawn_runtime(
            ["snakebridge.forkserver", "--socket", self.path, "--serializer", serializer], child_fds
        )
        self._buffer = b""
        self._events_seen: list[dict[str, Any]] = []
        self._next_id = 0
        self.ready = self.next_event(lambda event: event["event"] == "ready")

    # --- requests ---------------------------------------------------------------------

    def send(self, request: dict[str, Any] | bytes) -> None:
        line = request if isinstance(request, bytes) else json.dumps(request, separators=(",", ":")).encode()
        os.write(self._requests, line + b"\n")

    def fork(self, worker_id: str = "w1", **hello: Any) -> ForkedWorker:
        """Forks a worker, takes its five connections and sends it HELLO."""
        self._next_id += 1
        token = secrets.token_bytes(16)
        self.send({"op": "fork", "id": self._next_id, "workerId": worker_id, "token": token.hex()})
        forked = self.next_event(lambda event: event.get("id") == self._next_id)
        assert forked["event"] == "forked", forked
        return ForkedWorker(self, forked["pid"], self.accept(token), **hello)

    def accept(self, token: bytes, timeout: float = 10.0) -> dict[int, socket.socket]:
        """The five connections a forked worker makes, by the fd each stands for."""
        channels: dict[int, socket.socket] = {}
        self.listener.settimeout(timeout)
        while len(channels) < len(WORKER_FDS):
            connection, _ = self.listener.accept()
            connection.settimeout(timeout)
            preamble = b""
            while len(preamble) < PREAMBLE_BYTES:
                preamble += connection.recv(PREAMBLE_BYTES - len(preamble))
            assert preamble[:-1] == token, "a connection with another fork's token"
            connection.settimeout(None)
            channels[preamble[-1]] = connection
        return channels

    def close(self, timeout: float = 10.0) -> int:
        """Closes its requests (the host's pool has closed) and returns its exit status."""
        with contextlib.suppress(OSError):
            os.close(self._requests)
        status = self.process.wait(timeout=timeout)
        os.close(self._events)
        self.process.stdout.close()  # type: ignore[union-attr]
        self.process.stderr.close()  # type: ignore[union-attr]
        self.listener.close()
        shutil.rmtree(self._dir, ignore_errors=True)
        return status

    def discard(self) -> None:
        """Kills the server if it still runs, and removes its socket: a test's teardown, whatever the test did."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.listener.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    # --- events ---------------------------------------------------------------------------

    def next_event(self, matches: Any = lambda event: True, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self._events_seen):
                if matches(event):
                    return self._events_seen.pop(i)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._events], [], [], remaining)[0]:
                raise TimeoutError("no such event from the fork server")
            chunk = os.read(self._events, 65536)
            if not chunk:
                raise EOFError("the fork server closed its events")
            *lines, self._buffer = (self._buffer + chunk).split(b"\n")
            self._events_seen += [json.loads(line) for line in lines]

    def exit_of(self, pid: int, timeout: float = 10.0) -> dict[str, Any]:
        return self.next_event(lambda event: event["event"] == "exit" and event["pid"] == pid, timeout)
