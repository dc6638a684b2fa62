"""A minimal host for testing the worker runtime from Python: it starts
``python -m snakebridge`` with the frame channel on fds 3, 4 and 5 and speaks
the protocol with the same codec the worker uses."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from snakebridge import PROTOCOL_VERSION
from snakebridge.protocol import (
    FLAG_PIPELINED,
    FLAG_STREAM,
    CallMeta,
    Frame,
    FrameReader,
    Kind,
    Op,
    TraceContext,
    encode_call,
    encode_frame,
)
from snakebridge.serializers import REGISTRY, Serializer, get_serializer
from snakebridge.serializers.base import HandleWire
from snakebridge.serializers.json import JsonSerializer

PYTHON_ROOT = Path(__file__).resolve().parents[1]
#: The tests' own directory is on the worker's path too, for modules of functions that only tests call.
TESTS_ROOT = Path(__file__).resolve().parent
JSON = JsonSerializer()


class Handle:
    """A handle (or promised handle) id in a call's arguments, as the host sends one."""

    def __init__(self, handle_id: int) -> None:
        self.id = handle_id


def _handle_wire(value: object) -> HandleWire:
    if isinstance(value, Handle):
        return HandleWire(value.id, "object")
    raise TypeError(f"cannot send a {type(value).__name__}")


def spawn_runtime(
    module_args: list[str], child_fds: tuple[int, ...], python_path: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """Runs ``python -m <module_args>`` with ``child_fds`` at fds 3, 4, … in the child, as the host does,
    stdout and stderr piped, and closes this side's copies of ``child_fds``. ``python_path`` goes before
    the runtime's and the tests' directories."""

    def place_fds() -> None:
        staged = [os.dup(fd) for fd in child_fds]
        for target, fd in enumerate(staged, start=3):
            os.dup2(fd, target)

    search_path = os.pathsep.join((*python_path, str(PYTHON_ROOT), str(TESTS_ROOT)))
    env = {**os.environ, "PYTHONPATH": search_path, "SNAKEBRIDGE_HOST_PID": str(os.getpid())}
    # os.pipe() fds close on exec; the dup2'd ones do not. So no pass_fds, which would close them.
    process = subprocess.Popen(
        [sys.executable, "-m", *module_args],
        close_fds=False,
        preexec_fn=place_fds,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    for fd in child_fds:
        os.close(fd)
    return process


class WorkerClient:
    def __init__(self, *, first_frame: bytes | None = None, python_path: tuple[str, ...] = (), **hello: Any) -> None:
        """Starts a worker and sends HELLO with ``hello`` as options, or ``first_frame`` instead;
        ``python_path`` goes before the usual path."""
        data_r, self._data = os.pipe()
        self._out, out_w = os.pipe()
        control_r, self._control = os.pipe()
        child_fds = (data_r, out_w, control_r)

        self.process = spawn_runtime(["snakebridge"], child_fds, python_path)
        self._say_hello(first_frame, hello)

    def _say_hello(self, first_frame: bytes | None, hello: dict[str, Any]) -> None:
        """Sends HELLO with ``hello`` as options (or ``first_frame`` instead) on the data channel."""
        self._reader = FrameReader(1 << 30)
        self._frames: list[Frame] = []
        self._next_id = 0
        protocol = hello.pop("protocol", PROTOCOL_VERSION)
        options = {"serializer": "json", **hello}
        #: Encodes the calls and decodes the results: the serializer agreed in HELLO (JSON if it is not a known one).
        self.codec: Serializer = get_serializer(options["serializer"]) if options["serializer"] in REGISTRY else JSON
        hello_frame = encode_frame(Kind.HELLO, 0, json.dumps(options).encode(), 1, aux=protocol)
        os.write(self._data, hello_frame if first_frame is None else first_frame)

    # --- sending ------------------------------------------------------------------

    def send_call(
        self,
        target: str,
        args=(),
        kwargs=None,
        *,
        op=Op.CALL,
        handle=0,
        session=0,
        window=0,
        trace: TraceContext | None = None,
        promise=0,
        pipelined=False,
    ) -> int:
        """Sends a CALL; ``pipelined`` (or a ``promise``, the promised id its result is kept under) sets the
        PIPELINED flag; ``trace`` adds the meta's trace block. Handles in ``args`` go as ``Handle(id)``."""
        self._next_id += 1
        payload = self.codec.encode([list(args), kwargs or {}], _handle_wire)
        body = encode_call(CallMeta(op, target, handle, session, window, 0, trace), payload)
        flags = (FLAG_STREAM if window else 0) | (FLAG_PIPELINED if pipelined or promise else 0)
        os.write(self._data, encode_frame(Kind.CALL, self._next_id, body, self.codec.wire_id, flags, aux=promise))
        return self._next_id

    def send_encoded_call(self, target: str, payload: bytes) -> int:
        """A call whose payload is given as it goes on the wire: for payloads no well-behaved host sends."""
        self._next_id += 1
        body = encode_call(CallMeta(Op.CALL, target, 0, 0, 0), payload)
        os.write(self._data, encode_frame(Kind.CALL, self._next_id, body, self.codec.wire_id))
        return self._next_id

    def send_burst(self, *calls: tuple[str, list[Any]]) -> list[int]:
        """Sends several calls in one write, so that the worker reads them together."""
        frames = []
        for target, args in calls:
            self._next_id += 1
            body = encode_call(CallMeta(Op.CALL, target, 0, 0, 0), JSON.encode([args, {}]))
            frames.append(encode_frame(Kind.CALL, self._next_id, body, 1))
        os.write(self._data, b"".join(frames))
        return list(range(self._next_id - len(calls) + 1, self._next_id + 1))

    def send(
        self, kind: int, id: int = 0, body: bytes = b"", aux: int = 0, *, control: bool = False, serializer: int = 0
    ) -> None:
        os.write(self._control if control else self._data, encode_frame(kind, id, body, serializer, aux=aux))

    # --- receiving ------------------------------------------------------------------

    def next_frame(self, timeout: float = 10.0, kinds: tuple[int, ...] | None = None) -> Frame:
        return self._next(lambda frame: kinds is None or frame.kind in kinds, time.monotonic() + timeout)

    def _next(self, wanted: Any, deadline: float) -> Frame:
        """The first frame received that is ``wanted``, reading more until one comes (TimeoutError at the deadline)."""
        while True:
            for i, frame in enumerate(self._frames):
                if wanted(frame):
                    return self._frames.pop(i)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no frame from the worker")
            import select

            readable, _, _ = select.select([self._out], [], [], remaining)
            if readable:
                chunk = os.read(self._out, 1 << 16)
                if not chunk:
                    raise EOFError("the worker closed its output")
                self._reader.feed(chunk)
                self._frames += [f for f in self._reader.frames() if isinstance(f, Frame)]

    def ready(self) -> dict[str, Any]:
        frame = self.next_frame(kinds=(Kind.READY, Kind.ERROR))
        assert frame.kind == Kind.READY, json.loads(bytes(frame.body))
        return json.loads(bytes(frame.body))

    def outcome(self, call_id: int, timeout: float = 10.0) -> tuple[str, Any]:
        """('result', value) or ('error', payload) for one call; other calls' outcomes wait their turn."""
        final = (Kind.RESULT, Kind.ERROR)
        frame = self._next(lambda f: f.id == call_id and f.kind in final, time.monotonic() + timeout)
        if frame.kind == Kind.RESULT:
            return "result", self.decode(frame)
        return "error", json.loads(bytes(frame.body))

    def decode(self, frame: Frame) -> Any:
        """A RESULT's or ITEM's value, handles as ``("handle", id)``."""
        codec = self.codec if frame.serializer == self.codec.wire_id else JSON
        return codec.decode(frame.body, lambda handle_id: ("handle", handle_id))

    def call(self, target: str, *args: Any, **kwargs: Any) -> tuple[str, Any]:
        return self.outcome(self.send_call(target, args, kwargs))

    def close(self) -> int:
        """Closes the host's ends (end of file for the worker) and returns its exit status. Idempotent."""
        if self.process.returncode is None:
            for fd in (self._data, self._control):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self.process.wait(timeout=10)
            os.close(self._out)
            self.process.stdout.close()  # type: ignore[union-attr]
            self.process.stderr.close()  # type: ignore[union-attr]
        return self.process.returncode
