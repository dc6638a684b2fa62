"""A worker's life around its calls: dying with the host, resource limits,
memory readings, and the watchdog thread (host heartbeat, handle expiry)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

#: Exit statuses, so the host (and a human reading logs) can tell why a worker left.
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_START_FAILED = 3
EXIT_PROTOCOL = 4
EXIT_HOST_GONE = 5


def die_with_parent(host_pid: int | None) -> None:
    """Ask Linux to kill this process when its parent dies, and check the parent
    is still the host that started it (it may have died before we asked)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if host_pid is not None and os.getppid() != host_pid:
        os._exit(EXIT_HOST_GONE)


def apply_limits(address_space_bytes: int | None, cpu_seconds: int | None) -> None:
    """Per-worker resource limits, applied before any user code runs."""
    if address_space_bytes is None and cpu_seconds is None:
        return
    import resource

    if address_space_bytes is not None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space_bytes, address_space_bytes))
    if cpu_seconds is not None:
        # A hard limit one second above the soft one: the kernel sends SIGXCPU first, so the
        # host can tell a CPU limit from any other SIGKILL.
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int:
    """Current resident memory of this process (peak memory where that is all the OS tells)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


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
