"""A minimal host for testing the gRPC server from Python: it starts
``python -m snakebridge.server`` with a ready fd and a lifeline fd, as the
TypeScript adapter does, and calls it through the generated stubs: unary
``Call``s, and ``Exchange``s for streams and host callbacks."""

from __future__ import annotations

import contextlib
import json
import os
import queue
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
        promise: int = 0,
        pipeline: str = "",
    ) -> Any:
        return pb.CallRequest(
            op=OPS[op],
            target=target,
            handle=handle,
            session=session,
            serializer="json",
            payload=encode_args(args, kwargs),
            promise=promise,
            pipeline=pipeline,
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
        """The reply iterator of a streamed Exchange; ``credits`` yields the grants sent after the call,
        and the host half-closes the RPC once they are all sent."""
        assert window > 0, "an Exchange with window 0 is a plain call"

        def requests() -> Iterator[Any]:
            yield pb.ExchangeRequest(call=request, window=window)
            for count in credits or ():
                yield pb.ExchangeRequest(credit=count)

        return self.stub.Exchange(requests(), metadata=self.metadata)

    def exchange(self, request: Any, window: int = 0, **options: Any) -> Exchange:
        """An Exchange the test drives message by message (callbacks, credit), open until it closes it."""
        return Exchange(self, request, window, **options)


@contextlib.contextmanager
def served_client(*args: str) -> Iterator[Client]:
    """A Client that said HELLO to a server started with ``args``; the channel and server stopped after."""
    server = ServerProcess(*args)
    channel = server.channel()
    client = Client(channel)
    client.hello()
    try:
        yield client
    finally:
        channel.close()
        server.stop()


class Exchange:
    """One Exchange RPC, as a host drives it: the test reads each reply and sends each answer.

    The request side stays open (the host can still answer callbacks) until
    ``half_close``; the RPC ends when the server ends it, or on ``cancel``.
    """

    def __init__(self, client: Client, request: Any, window: int, **options: Any) -> None:
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._requests.put(pb.ExchangeRequest(call=request, window=window))
        self.replies = client.stub.Exchange(iter(self._requests.get, None), metadata=client.metadata, **options)

    def next(self) -> Any:
        """The next reply; StopIteration once the server ended the RPC with OK."""
        return next(self.replies)

    def callback(self) -> tuple[int, int, list[Any]]:
        """The next reply, which must be a callback request: its id, the function's index, the arguments."""
        reply = self.next()
        assert reply.WhichOneof("message") == "callback", reply
        assert reply.callback.id != 0
        index, args = decode(reply.callback.payload)
        return reply.callback.id, index, args

    def answer(self, request_id: int, value: Any) -> None:
        self._requests.put(
            pb.ExchangeRequest(callback_result=pb.CallbackResult(id=request_id, result=JSON.encode(value, _to_handle)))
        )

    def fail(self, request_id: int, name: str, message: str, stack: str = "") -> None:
        """Answers as a JavaScript function that threw."""
        body = json.dumps({"name": name, "message": message, "stack": stack}).encode()
        self._requests.put(pb.ExchangeRequest(callback_result=pb.CallbackResult(id=request_id, error=body)))

    def credit(self, count: int) -> None:
        self._requests.put(pb.ExchangeRequest(credit=count))

    def half_close(self) -> None:
        """The host sends nothing more (it can answer no callback from now on)."""
        self._requests.put(None)

    def cancel(self) -> None:
        self.replies.cancel()
        self.half_close()

    def outcome(self) -> tuple[str, Any]:
        """The call's last reply, ``result`` or ``error``, checked to end the RPC with OK right after."""
        reply = self.next()
        kind = reply.WhichOneof("message")
        assert kind in ("result", "error"), reply
        with contextlib.suppress(StopIteration):
            extra = self.next()
            raise AssertionError(f"a reply after the {kind}: {extra}")
        assert self.replies.code() == grpc.StatusCode.OK
        self.half_close()
        return (kind, decode(reply.result)) if kind == "result" else (kind, json.loads(reply.error))

    def serve(self, functions: dict[int, Any]) -> tuple[str, Any, list[Any], list[tuple[int, list[Any]]]]:
        """Runs the call's callbacks with ``functions`` until it ends; a function that raises answers as a
        JavaScript error of the exception's class name.

        Returns the outcome ("result", "error", or "end" for a stream that
        ended), its value or error payload, the stream's items, and every
        callback request as (index, args).
        """
        items: list[Any] = []
        requests: list[tuple[int, list[Any]]] = []
        for reply in self.replies:
            kind = reply.WhichOneof("message")
            if kind == "callback":
                index, args = decode(reply.callback.payload)
                requests.append((index, args))
                try:
                    value = functions[index](*args)
                except Exception as exc:
                    self.fail(reply.callback.id, type(exc).__name__, str(exc))
                else:
                    self.answer(reply.callback.id, value)
            elif kind == "item":
                items.append(decode(reply.item))
            elif kind == "result":
                outcome: tuple[str, Any] = ("result", decode(reply.result))
                break
            else:
                assert kind == "error", reply
                outcome = ("error", json.loads(reply.error))
                break
        else:
            outcome = ("end", None)
        with contextlib.suppress(StopIteration):
            extra = next(self.replies)
            raise AssertionError(f"a reply after the call's outcome: {extra}")
        assert self.replies.code() == grpc.StatusCode.OK
        self.half_close()
        return outcome[0], outcome[1], items, requests


def tag() -> str:
    """A fresh name for the state a test's Python side records (snakebridge.testing.contract._state)."""
    return f"t-{uuid.uuid4().hex[:8]}"


def recall(client: Client, key: str) -> object:
    """What the server's Python side recorded under ``key``."""
    return client.call(f"{CONTRACT}.recall", key)[1]
