"""The OS sandbox (snakebridge.sandbox): each test enters it in a child process, since there is no way out."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from snakebridge import sandbox
from snakebridge.sandbox import SandboxUnavailable, landlock_abi

PROBE = textwrap.dedent(
    """
    import json, os, socket, subprocess, sys
    from snakebridge.sandbox import enter_sandbox
    writable, outside, network = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    enter_sandbox([writable], network=network)

    def attempt(action):
        try:
            action()
            return "allowed"
        except OSError as exc:
            return type(exc).__name__

    def child_write():
        subprocess.run(["sh", "-c", f"echo x > {outside}.child"], check=False, capture_output=True)
        if not os.path.exists(outside + ".child"):
            raise PermissionError("the child could not write")

    print(json.dumps({
        "write inside": attempt(lambda: open(os.path.join(writable, "f"), "w").close()),
        "write outside": attempt(lambda: open(outside, "w").close()),
        "make a directory outside": attempt(lambda: os.mkdir(outside + ".d")),
        "child writes outside": attempt(child_write),
        "inet socket": attempt(lambda: socket.socket(socket.AF_INET).close()),
        "udp6 socket": attempt(lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).close()),
        "unix socket": attempt(lambda: socket.socket(socket.AF_UNIX).close()),
        "signal the parent": attempt(lambda: os.kill(os.getppid(), 0)),
        "read anything": attempt(lambda: open(sys.executable, "rb").close()),
    }))
    """
)


def probe(tmp_path: Path, *, network: bool) -> dict[str, str]:
    writable = tmp_path / "writable"
    writable.mkdir()
    outside = tmp_path / "outside"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(writable), str(outside), "1" if network else "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_inside_the_sandbox_only_the_listed_paths_can_be_written_and_no_network_socket_opened(tmp_path):
    outcome = probe(tmp_path, network=False)
    assert outcome == {
        "write inside": "allowed",
        "write outside": "PermissionError",
        "make a directory outside": "PermissionError",
        "child writes outside": "PermissionError",
        "inet socket": "PermissionError",
        "udp6 socket": "PermissionError",
        "unix socket": "allowed",
        "signal the parent": "PermissionError" if landlock_abi() >= 6 else "allowed",
        "read anything": "allowed",
    }


def test_with_network_allowed_sockets_open_but_the_file_system_stays_read_only(tmp_path):
    outcome = probe(tmp_path, network=True)
    assert outcome["inet socket"] == "allowed"
    assert outcome["udp6 socket"] == "allowed"
    assert outcome["write outside"] == "PermissionError"


def test_a_writable_path_that_does_not_exist_stops_the_start_with_a_clear_error(tmp_path):
    code = "from snakebridge.sandbox import enter_sandbox; enter_sandbox(['/no/such/dir'], network=False)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert "security.sandbox.writablePaths: cannot open '/no/such/dir'" in result.stderr


def test_a_kernel_without_landlock_refuses_to_start_rather_than_run_unsandboxed(monkeypatch):
    monkeypatch.setattr(sandbox, "landlock_abi", lambda: 0)
    with pytest.raises(SandboxUnavailable, match="the kernel has no Landlock"):
        sandbox._restrict_with_landlock(object(), [], network=False)  # type: ignore[arg-type]
