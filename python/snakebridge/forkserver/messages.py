"""What the host and the fork server say to each other: one JSON object per
line (docs/protocol.md, "Fork server"; pinned by vectors/protocol/fork-server.json).

Requests (host to server, fd 3): ``fork`` and ``signal``. Events (server to
host, fd 4): ``ready``, ``forked``, ``fork-failed`` and ``exit``. A worker's
connections open with a preamble: the fork's token, then the fd it stands for.
"""

from __future__ import annotations

import json
import os
import re
import signal
from typing import Any, NamedTuple

#: Bytes of a fork's token: random, made by the host for each fork, 32 hex digits on the wire.
TOKEN_BYTES = 16
#: What opens each of a forked worker's connections: its token, then one byte naming its fd.
PREAMBLE_BYTES = TOKEN_BYTES + 1
#: The fds a forked worker connects back, in the order it connects them: stdout, stderr, data, output, control.
WORKER_FDS = (1, 2, 3, 4, 5)
#: Signals the host may ask for: the ones it stops workers with, and the one that interrupts a call.
SIGNALS = frozenset({"SIGTERM", "SIGKILL", "SIGINT", "SIGUSR1"})
#: Longest request line read; anything longer is a broken host.
MAX_LINE_BYTES = 64 * 1024

_TOKEN = re.compile(r"[0-9a-f]{32}")
_MAX_U32 = 0xFFFFFFFF


class ForkRequest(NamedTuple):
    """Fork a worker: ``id`` numbers the request, ``token`` opens the worker's connections."""

    id: int
    worker_id: str
    token: bytes


class SignalRequest(NamedTuple):
    """Send ``signal`` to worker ``pid``, if it is still a child of the server."""

    pid: int
    signal: signal.Signals


class RequestError(ValueError):
    """A request line that is not a request: the host and the server do not agree."""


def encode_event(event: dict[str, Any]) -> bytes:
    """One event as its line: compact JSON, keys in the order given, UTF-8, as the host's JSON.stringify writes."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def ready(pid: int) -> bytes:
    return encode_event({"event": "ready", "pid": pid})


def forked(request_id: int, pid: int) -> bytes:
    return encode_event({"event": "forked", "id": request_id, "pid": pid})


def fork_failed(request_id: int, message: str) -> bytes:
    return encode_event({"event": "fork-failed", "id": request_id, "message": message})


def exited(pid: int, status: int) -> bytes:
    """A reaped worker: its exit code, or the signal that ended it (``os.waitpid``'s status)."""
    code = _exit_code(status)
    if code < 0:
        return encode_event({"event": "exit", "pid": pid, "code": None, "signal": _signal_name(-code)})
    return encode_event({"event": "exit", "pid": pid, "code": code, "signal": None})


def decode_request(line: bytes) -> ForkRequest | SignalRequest:
    """A request line (without its newline).

    Raises:
        RequestError: it is not JSON, or not a request with the fields it needs.
    """
    try:
        message = json.loads(line)
    except ValueError as exc:
        raise RequestError(f"a request that is not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise RequestError("a request that is not a JSON object")
    op = message.get("op")
    if op == "fork":
        request_id, worker_id, token = message.get("id"), message.get("workerId"), message.get("token")
        if not _is_u32(request_id) or not isinstance(worker_id, str) or not worker_id:
            raise RequestError("a fork request needs an id (u32) and a workerId (a non-empty string)")
        if not isinstance(token, str) or _TOKEN.fullmatch(token) is None:
            raise RequestError("a fork request needs a token of 32 lowercase hex digits")
        return ForkRequest(request_id, worker_id, bytes.fromhex(token))
    if op == "signal":
        pid, name = message.get("pid"), message.get("signal")
        if not _is_u32(pid) or pid == 0:
            raise RequestError("a signal request needs a pid")
        if name not in SIGNALS:
            raise RequestError(f"a signal request names {name!r}; the host may send {', '.join(sorted(SIGNALS))}")
        return SignalRequest(pid, signal.Signals[name])
    raise RequestError(f"unknown request op {op!r}")


def _is_u32(value: object) -> bool:
    return type(value) is int and 0 <= value <= _MAX_U32


def _exit_code(status: int) -> int:
    return os.waitstatus_to_exitcode(status)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"SIG{number}"
