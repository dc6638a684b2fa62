"""A runtime process's life around its calls, for the stdio worker and the gRPC
server alike: exit statuses, dying with the host, resource limits, memory
readings."""

from __future__ import annotations

import contextlib
import os
import signal
import sys

#: Exit statuses, so the host (and a human reading logs) can tell why a worker or server left.
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
    """Per-process resource limits, applied before any user code runs."""
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
