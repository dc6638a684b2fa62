"""Restricted mode against the escape attacks through a real ``python -m
snakebridge.server`` (``--allowed-module``), called through the generated
stubs: every attack is refused with FORBIDDEN and runs nothing, allowed
calls still work, and a server told to allow an unsafe module does not
start."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_client import Client, ServerProcess, pb
from test_escape_attacks import ATTACKS, OPS, TARGET, Attack, Ref, Refused, widget

from snakebridge.lifecycle import EXIT_START_FAILED
from snakebridge.serializers.base import HandleWire
from snakebridge.serializers.json import JsonSerializer

JSON = JsonSerializer()
#: Items a stream may send ahead; the escape streams are short.
WINDOW = 64


class ServerDriver:
    """A Driver over a real gRPC server, with the JSON serializer."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def run(self, op: str, target: str, *args: Any, handle: Ref | None = None) -> Any:
        reply = self.client.stub.Call(self._request(op, target, args, handle), metadata=self.client.metadata)
        if reply.WhichOneof("outcome") == "error":
            raise _refused(reply.error)
        return JSON.decode(reply.result, Ref)

    def stream(self, op: str, target: str, *args: Any, handle: Ref | None = None) -> list[Any]:
        items = []
        for reply in self.client.stream(self._request(op, target, args, handle), WINDOW):
            if reply.WhichOneof("message") == "error":
                raise _refused(reply.error)
            items.append(JSON.decode(reply.item, Ref))
        return items

    @staticmethod
    def _request(op: str, target: str, args: tuple[Any, ...], handle: Ref | None) -> Any:
        payload = JSON.encode([list(args), {}], _to_handle)
        return pb.CallRequest(
            op=OPS[op], target=target, handle=handle.id if handle else 0, serializer="json", payload=payload
        )


def _to_handle(obj: object) -> HandleWire:
    assert isinstance(obj, Ref), f"cannot send {obj!r}"
    return HandleWire(obj.id, "ref")


def _refused(body: bytes) -> Refused:
    payload = json.loads(body)
    return Refused(payload.get("code"), payload.get("message", ""))


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    process = ServerProcess("--allowed-module", TARGET, "--no-allow-eval")
    yield process
    assert process.stop() == 0


@pytest.fixture(scope="module")
def driver(server: ServerProcess) -> Iterator[ServerDriver]:
    channel = server.channel()
    client = Client(channel)
    client.hello()
    yield ServerDriver(client)
    channel.close()


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_every_escape_is_refused_with_forbidden_and_runs_nothing(driver: ServerDriver, attack: Attack, tmp_path: Path):
    marker = tmp_path / "marker"
    with pytest.raises(Refused) as refusal:
        attack(driver, f"touch {marker}")
    assert refusal.value.code == "FORBIDDEN", refusal.value.message
    assert not marker.exists()
    assert driver.run("getattr", f"{TARGET}.SECRET") == "the module's secret"


def test_allowed_calls_methods_and_streams_still_work(driver: ServerDriver):
    made = widget(driver)
    assert driver.run("call", "describe", handle=made) == "widget widget"
    assert driver.run("call", f"{TARGET}.apply", driver.run("getattr", "describe", handle=made)) == "widget widget"
    assert driver.stream("call", f"{TARGET}.numbers", 3) == [0, 1, 2]
    assert driver.stream("iter", "", handle=driver.run("call", f"{TARGET}.numbers", 2)) == [0, 1]


def test_a_server_told_to_allow_an_unsafe_module_does_not_start_and_names_it_and_the_flag():
    server = ServerProcess("--allowed-module", TARGET, "--allowed-module", "importlib", wait_ready=False)
    try:
        assert server.process.wait(timeout=30) == EXIT_START_FAILED
        stderr = server.stderr()
        assert "ForbiddenError" in stderr or "restricted mode" in stderr
        assert "'importlib'" in stderr and "--allow-unsafe-modules" in stderr
    finally:
        server.stop()


def test_a_server_with_the_flag_starts_with_an_unsafe_module_listed():
    server = ServerProcess("--allowed-module", "operator", "--allow-unsafe-modules", "--no-allow-eval")
    try:
        with server.channel() as channel:
            client = Client(channel)
            client.hello()
            assert client.call("operator.add", 1, 2) == ("result", 3)
    finally:
        assert server.stop() == 0


def test_a_hand_started_server_with_an_allowlist_has_eval_off_unless_asked():
    from snakebridge.server.options import parse_options

    assert parse_options(["--allowed-module", "json"], env={}).calls.allow_eval is False
    assert parse_options(["--allowed-module", "json", "--allow-eval"], env={}).calls.allow_eval is True
    assert parse_options([], env={}).calls.allow_eval is True
