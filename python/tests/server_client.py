"""A minimal host for testing the gRPC server from Python: it starts
``python -m snakebridge.server`` with a ready fd and a lifeline fd, as the
TypeScript adapter does, and calls it through the generated stubs."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc

from snakebridge import PROTOCOL_VERSION
from snakebridge.serializers.base import HandleWire
from snakebridge.serializers.json import JsonSerializer
from snakebridge.server.proto import bridge_modules

PYTHON_ROOT = Path(__file__).resolve().parents[1]
JSON = JsonSerializer()
pb, services = bridge_modules()
CONTRACT = "snakebridge.testing.contract"
OPS = {"call": 1, "getattr": 2, "setattr": 3, "eval": 4, "exec": 5, "iter": 6}


class Ref:
    """A handle to send back as an argument."""

    def __init__(self, handle_id: int) -> None:
        self.id = handle_id


def _to_handle(obj: object) -> HandleWire:
    assert isinstance(obj, Ref), f"cannot send {obj!r}"
    return HandleWire(obj.id, "ref")


def encode_args(args: tuple[Any, ...] | list[Any] = (), kwargs: dict[str, Any] | None = None) -> bytes:
    return JSON.encode([list(args), kwargs or {}], _to_handle)


def decode(body: bytes) -> Any:
    return JSON.decode(body, lambda handle_id: ("handle", handle_id))


class ServerProcess:
    """``python -m snakebridge.server`` in a child process, with its ready line read."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, wait_ready: bool = True) -> None:
        ready_r, ready_w = os.pipe()
        self._lifeline_r, self._lifeline_w = os.pipe()
        command = [
            sys.executable,
            "-m",
            "snakebridge.server",
            "--ready-fd",
            str(ready_w),
            "--lifeline-fd",
            str(self._lifeline_r),
            *args,
        ]
        python_path = os.pathsep.join([str(PYTHON_ROOT), str(Path(__file__).parent)])
        environment = {**os.environ, "PYTHONPATH": python_path, **(env or {})}
        self.process = subprocess.Popen(
            command, pass_fds=(ready_w, self._lifeline_r), env=environment, stderr=subprocess.PIPE, text=True
        )
        os.close(ready_w)
        os.close(self._lifeline_r)
        self._ready_r = ready_r
        self.info: dict[str, Any] = {}
        if wait_ready:
            self.info = self.read_ready()

    def read_ready(self, timeout: float = 20.0) -> dict[str, Any]:
        """The ready line; raises if the process exits (or stays silent) first."""
        data = b""
        deadline = time.monotonic() + timeout
        while not data.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no ready line from the server")
            readable, _, _ = select.select([self._ready_r], [], [], remaining)
            if readable:
                chunk = os.read(self._ready_r, 4096)
                if not chunk:
                    raise EOFError(f"the server closed its ready fd without a line: {self.stderr()}")
                data += chunk
        os.close(self._ready_r)
        return json.loads(data)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.info['port']}"

    def channel(self, **options: Any) -> grpc.Channel:
        return grpc.insecure_channel(self.address, options=list(options.items()))

    def close_lifeline(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._lifeline_w)

    def stop(self, timeout: float = 10.0) -> int:
        """Closes the lifeline (the server leaves) and returns the exit status. Idempotent."""
        self.close_lifeline()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def stderr(self) -> str:
        if self.process.poll() is None:
            return ""
        return self.process.stderr.read() if self.process.stderr else ""


class Client:
    """Calls one server through the generated stub, with the JSON serializer."""

    def __init__(self, channel: grpc.Channel, token: str | None = None) -> None:
        self.channel = channel
        self.stub = services.BridgeStub(channel)
        self.metadata: list[tuple[str, str]] = [("authorization", f"Bearer {token}")] if token else []

    def hello(self, serializer: str = "json", protocol: int = PROTOCOL_VERSION) -> Any:
        return self.stub.Hello(pb.HelloRequest(protocol=protocol, serializer=serializer), metadata=self.metadata)

    def request(
        self,
        target: str,
        args: tuple[Any, ...] | list[Any] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        op: str = "call",
        handle: int = 0,
        session: str = "",
    ) -> Any:
        return pb.CallRequest(
            op=OPS[op],
            target=target,
            handle=handle,
            session=session,
            serializer="json",
            payload=encode_args(args, kwargs),
        )

    def outcome(self, reply: Any) -> tuple[str, Any]:
        if reply.WhichOneof("outcome") == "result":
            return "result", decode(reply.result)
        return "error", json.loads(reply.error)

    def call(self, target: str, *args: Any, **kwargs: Any) -> tuple[str, Any]:
        return self.outcome(self.stub.Call(self.request(target, args, kwargs), metadata=self.metadata))

    def send(self, request: Any, **options: Any) -> tuple[str, Any]:
        return self.outcome(self.stub.Call(request, metadata=self.metadata, **options))

    def stream(self, request: Any, window: int, credits: Iterator[int] | None = None) -> Any:
        """The reply iterator of a Stream call; ``credits`` yields the grants sent after the call."""

        def requests() -> Iterator[Any]:
            yield pb.StreamRequest(call=request, window=window)
            for count in credits or ():
                yield pb.StreamRequest(credit=count)

        return self.stub.Stream(requests(), metadata=self.metadata)


def tag() -> str:
    """A fresh name for the state a test's Python side records (snakebridge.testing.contract._state)."""
    return f"t-{uuid.uuid4().hex[:8]}"


def recall(client: Client, key: str) -> object:
    """What the server's Python side recorded under ``key``."""
    return client.call(f"{CONTRACT}.recall", key)[1]
