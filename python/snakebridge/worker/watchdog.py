"""The stdio worker's watchdog thread: host heartbeat, parent check, handle
expiry. (Exit statuses, limits and memory readings, which the gRPC server uses
too, are in snakebridge/lifecycle.py.)"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from ..lifecycle import EXIT_HOST_GONE


class Watchdog:
    """Once a second: checks the host is still our parent, pings it (when a
    host timeout is set) and exits if it stopped answering, and frees expired
    handles."""

    def __init__(
        self,
        host_pid: int | None,
        host_timeout_ms: int,
        send_ping: Callable[[int], None],
        sweep: Callable[[], object],
        exit_process: Callable[[int, str], None],
    ) -> None:
        self._host_pid = host_pid
        self._timeout = host_timeout_ms / 1000
        self._send_ping = send_ping
        self._sweep = sweep
        self._exit = exit_process
        self._last_pong = time.monotonic()
        self._stop = threading.Event()
        self._ping_id = 0
        self._thread = threading.Thread(target=self._run, name="snakebridge-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def pong(self) -> None:
        self._last_pong = time.monotonic()

    def _run(self) -> None:
        interval = min(1.0, self._timeout / 3) if self._timeout else 1.0
        last_ping = 0.0
        while not self._stop.wait(interval):
            if self._host_pid is not None and os.getppid() != self._host_pid:
                self._exit(EXIT_HOST_GONE, "the host process is gone")
            now = time.monotonic()
            if self._timeout:
                if now - self._last_pong > self._timeout:
                    self._exit(EXIT_HOST_GONE, f"the host has not answered heartbeats for {self._timeout:.1f} s")
                if now - last_ping >= self._timeout / 3:
                    self._ping_id = self._ping_id % 0xFFFFFFFF + 1
                    self._send_ping(self._ping_id)
                    last_ping = now
            self._sweep()
