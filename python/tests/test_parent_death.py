"""The parent-death signal on its own: a worker dies with its host even when no pipe
tells it so (a worker busy in user code never reads its pipes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

PYTHON_DIR = str(Path(__file__).resolve().parents[1])

#: The "host": starts a child that asks to die with it, then waits. It shares no pipe with the
#: child (stdin from /dev/null, output to a file), so only the kernel can tell the child.
HOST = textwrap.dedent(
    """
    import subprocess, sys, time
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdin=subprocess.DEVNULL, stdout=open(sys.argv[1], "w"), stderr=subprocess.DEVNULL,
    )
    print(child.pid, flush=True)
    time.sleep(60)
    """
)
CHILD = textwrap.dedent(
    """
    import os, time
    from snakebridge.lifecycle import die_with_parent
    die_with_parent(os.getppid())
    print("ready", flush=True)
    time.sleep(60)
    """
)


def _gone(pid: int) -> bool:
    """Exited, or a zombie waiting for a parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_worker_dies_with_its_host_though_no_pipe_says_so(tmp_path: Path) -> None:
    marker = tmp_path / "child.out"
    env = {**os.environ, "PYTHONPATH": PYTHON_DIR}
    host = subprocess.Popen(
        [sys.executable, "-c", f"CHILD = {CHILD!r}\n{HOST}", str(marker)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert host.stdout is not None
        child = int(host.stdout.readline())
        deadline = time.monotonic() + 20
        while marker.read_text() != "ready\n":  # the child has asked to die with its parent
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.01)
        host.send_signal(signal.SIGKILL)
        host.wait()
        deadline = time.monotonic() + 10
        while not _gone(child):
            assert time.monotonic() < deadline, f"the child {child} outlived its host"
            time.sleep(0.01)
    finally:
        host.kill()
        host.wait()
