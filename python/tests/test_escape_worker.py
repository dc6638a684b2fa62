"""Restricted mode against the escape attacks through a real ``python -m
snakebridge`` worker, frames and all: every attack is refused with
FORBIDDEN and runs nothing, allowed calls still work, and a worker told to
allow an unsafe module does not start."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_escape_attacks import ATTACKS, OPS, TARGET, Attack, Ref, Refused, widget
from worker_client import JSON, WorkerClient

from snakebridge.lifecycle import EXIT_START_FAILED
from snakebridge.protocol import CallMeta, Frame, Kind, encode_call
from snakebridge.serializers.base import HandleWire

#: Items a stream may send ahead; the escape streams are short.
WINDOW = 64


class WorkerDriver:
    """A Driver over a real worker: CALL frames built here, so that handles can travel as arguments."""

    def __init__(self, client: WorkerClient) -> None:
        self.client = client
        # Ids of our own for the calls built here, far from those the client numbers from 1 (streams).
        self._next_id = 1_000_000

    def run(self, op: str, target: str, *args: Any, handle: Ref | None = None) -> Any:
        self._next_id += 1
        payload = JSON.encode([list(args), {}], _to_handle)
        body = encode_call(CallMeta(OPS[op], target, handle.id if handle else 0), payload)
        call_id = self._next_id
        self.client.send(Kind.CALL, call_id, body, serializer=JSON.wire_id)
        kind, value = self.client.outcome(call_id)
        if kind == "error":
            raise Refused(value.get("code"), value.get("message", ""))
        return _refs(value)

    def stream(self, op: str, target: str, *args: Any, handle: Ref | None = None) -> list[Any]:
        # The client's own send_call sets the stream flag; the escape streams send no handles as arguments.
        call_id = self.client.send_call(target, args, op=OPS[op], handle=handle.id if handle else 0, window=WINDOW)
        items = []
        while True:
            frame = self._next_of(call_id)
            if frame.kind == Kind.ITEM:
                items.append(_refs(self.client.decode(frame)))
            elif frame.kind == Kind.END:
                return items
            else:
                payload = json.loads(bytes(frame.body))
                raise Refused(payload.get("code"), payload.get("message", ""))

    def _next_of(self, call_id: int) -> Frame:
        while True:
            frame = self.client.next_frame(kinds=(Kind.ITEM, Kind.END, Kind.ERROR))
            if frame.id == call_id:
                return frame


def _to_handle(obj: object) -> HandleWire:
    assert isinstance(obj, Ref), f"cannot send {obj!r}"
    return HandleWire(obj.id, "ref")


def _refs(value: Any) -> Any:
    """The client decodes handles as ("handle", id): make them Refs, which the attacks send back."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "handle":
        return Ref(value[1])
    if isinstance(value, list):
        return [_refs(item) for item in value]
    return value


@pytest.fixture(scope="module")
def client() -> Iterator[WorkerClient]:
    client = WorkerClient(allowedModules=[TARGET], allowEval=False)
    client.ready()
    yield client
    assert client.close() == 0


@pytest.fixture
def driver(client: WorkerClient) -> WorkerDriver:
    return WorkerDriver(client)


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_every_escape_is_refused_with_forbidden_and_runs_nothing(driver: WorkerDriver, attack: Attack, tmp_path: Path):
    marker = tmp_path / "marker"
    with pytest.raises(Refused) as refusal:
        attack(driver, f"touch {marker}")
    assert refusal.value.code == "FORBIDDEN", refusal.value.message
    assert not marker.exists()
    assert driver.run("getattr", f"{TARGET}.SECRET") == "the module's secret"


def test_allowed_calls_methods_and_streams_still_work(driver: WorkerDriver):
    made = widget(driver)
    assert driver.run("call", "describe", handle=made) == "widget widget"
    assert driver.run("call", f"{TARGET}.apply", driver.run("getattr", "describe", handle=made)) == "widget widget"
    assert driver.stream("call", f"{TARGET}.numbers", 3) == [0, 1, 2]
    assert driver.stream("iter", "", handle=driver.run("call", f"{TARGET}.numbers", 2)) == [0, 1]


def test_a_worker_told_to_allow_an_unsafe_module_does_not_start_and_names_it_and_the_flag():
    client = WorkerClient(allowedModules=[TARGET, "pickle"])
    try:
        frame = client.next_frame(kinds=(Kind.READY, Kind.ERROR))
        assert frame.kind == Kind.ERROR
        payload = json.loads(bytes(frame.body))
        assert payload["type"] == "ForbiddenError"
        assert "'pickle'" in payload["message"] and "security.allowUnsafeModules" in payload["message"]
    finally:
        assert client.close() == EXIT_START_FAILED


def test_a_worker_with_the_flag_starts_with_an_unsafe_module_listed():
    client = WorkerClient(allowedModules=["operator"], allowUnsafeModules=True, allowEval=False)
    try:
        client.ready()
        assert client.call("operator.add", 1, 2) == ("result", 3)
    finally:
        assert client.close() == 0
