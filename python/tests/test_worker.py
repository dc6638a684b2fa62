"""The worker runtime on its own: a real ``python -m snakebridge`` process,
driven frame by frame from Python."""

from __future__ import annotations

import json
import time

import pytest
from worker_client import JSON, WorkerClient

from snakebridge.protocol import Kind, Op

CONTRACT = "snakebridge.testing.contract"


def test_reports_pid_python_and_serializer_when_ready():
    client = WorkerClient()
    info = client.ready()
    assert info["pid"] == client.process.pid
    assert info["serializer"] == "json"
    assert info["python"].count(".") == 2
    assert client.close() == 0


def test_calls_a_function_by_dotted_name_with_kwargs(worker):
    assert worker.call(f"{CONTRACT}.greet", "Ada", greeting="Hi") == ("result", "Hi, Ada!")
    assert worker.call("math.hypot", 3, 4) == ("result", 5.0)
    assert worker.call("len", [1, 2]) == ("result", 2)


def test_describes_an_exception_with_its_chain_and_only_user_frames(worker):
    kind, payload = worker.call(f"{CONTRACT}.fail_with_cause")
    assert kind == "error"
    assert payload["type"] == "RuntimeError"
    assert payload["mro"][:2] == ["builtins.RuntimeError", "builtins.Exception"]
    assert payload["cause"]["type"] == "KeyError"
    assert all(
        "snakebridge/worker" not in f["file"] and "snakebridge/calls" not in f["file"] for f in payload["frames"]
    )
    assert payload["frames"][-1]["name"] == "fail_with_cause"
    assert "code" not in payload


def test_keeps_an_object_it_cannot_send_as_a_handle(worker):
    kind, handle = worker.call(f"{CONTRACT}.make_counter", 5)
    assert kind == "result" and handle[0] == "handle"
    handle_id = handle[1]
    call = worker.send_call("increment", [2], handle=handle_id)
    assert worker.outcome(call) == ("result", 7)
    getattr_call = worker.send_call("value", op=Op.GETATTR, handle=handle_id)
    assert worker.outcome(getattr_call) == ("result", 7)
    worker.send(Kind.RELEASE, body=json.dumps({"handles": [handle_id]}).encode())
    kind, payload = worker.outcome(worker.send_call("increment", handle=handle_id))
    assert kind == "error" and payload["code"] == "HANDLE_INVALID"


def test_streams_a_generator_within_its_window_and_waits_for_credit(worker):
    call = worker.send_call(f"{CONTRACT}.endless", ["s1"], window=2)
    items = [JSON.decode(worker.next_frame(kinds=(Kind.ITEM,)).body) for _ in range(2)]
    assert items == [0, 1]
    with pytest.raises(TimeoutError):
        worker.next_frame(timeout=0.3, kinds=(Kind.ITEM,))
    worker.send(Kind.CREDIT, call, aux=3)
    items = [JSON.decode(worker.next_frame(kinds=(Kind.ITEM,)).body) for _ in range(3)]
    assert items == [2, 3, 4]
    worker.send(Kind.CANCEL, call)
    worker.send(Kind.CANCEL, call, control=True)
    assert worker.next_frame(kinds=(Kind.END,)).id == call
    assert worker.call(f"{CONTRACT}.recall", "s1") == ("result", "closed")


def test_sends_items_before_an_error_raised_part_way(worker):
    call = worker.send_call(f"{CONTRACT}.count_then_fail", [2], window=8)
    assert [JSON.decode(worker.next_frame(kinds=(Kind.ITEM,)).body) for _ in range(2)] == [0, 1]
    kind, payload = worker.outcome(call)
    assert kind == "error" and payload["message"] == "stream failed"


def test_runs_async_calls_concurrently(worker):
    started = time.monotonic()
    calls = [worker.send_call(f"{CONTRACT}.cancellable_sleep", ["a", 0.3]) for _ in range(20)]
    assert all(worker.outcome(call) == ("result", None) for call in calls)
    assert time.monotonic() - started < 3.0


def test_interrupts_a_sync_call_when_cancelled_on_the_control_channel(worker):
    call = worker.send_call(f"{CONTRACT}.sleep", [60])
    time.sleep(0.2)
    started = time.monotonic()
    worker.send(Kind.CANCEL, call, control=True)
    kind, payload = worker.outcome(call)
    assert kind == "error" and payload["code"] == "CANCELLED"
    assert time.monotonic() - started < 2.0
    assert worker.call("len", "abc") == ("result", 3)


def test_answers_pings_while_a_sync_call_runs(worker):
    call = worker.send_call(f"{CONTRACT}.sleep", [1])
    time.sleep(0.1)
    worker.send(Kind.PING, 77, control=True)
    pong = worker.next_frame(timeout=0.5, kinds=(Kind.PONG,))
    stats = json.loads(bytes(pong.body))
    assert pong.id == 77 and stats["rss"] > 0 and stats["inFlight"] == 1
    assert worker.outcome(call) == ("result", 1)


def test_refuses_an_oversized_call_and_stays_usable():
    client = WorkerClient(maxFrameBytes=1024)
    client.ready()
    kind, payload = client.outcome(client.send_call(f"{CONTRACT}.echo", ["x" * 5000]))
    assert kind == "error" and payload["code"] == "PROTOCOL" and "maxFrameBytes" in payload["message"]
    assert client.call(f"{CONTRACT}.echo", "small") == ("result", "small")
    client.close()


def test_fails_the_start_naming_what_is_wrong():
    client = WorkerClient(serializer="yaml")
    frame = client.next_frame(kinds=(Kind.ERROR,))
    payload = json.loads(bytes(frame.body))
    assert frame.id == 0 and payload["code"] == "WORKER_START_FAILED" and "yaml" in payload["message"]
    assert client.close() == 3


def test_refuses_a_host_speaking_another_protocol_version():
    client = WorkerClient(protocol=99)
    payload = json.loads(bytes(client.next_frame(kinds=(Kind.ERROR,)).body))
    assert payload["code"] == "PROTOCOL" and "protocol 99" in payload["message"]
    assert client.close() == 4


def test_exits_when_its_input_closes(worker):
    assert worker.close() == 0


@pytest.mark.parametrize(
    "arguments",
    [{"a": 1}, [1, 2, 3], [{"not": "a list"}, {}], [[], ["not", "a dict"]]],
    ids=["an object", "three items", "args not a list", "kwargs not a dict"],
)
def test_arguments_that_are_not_args_and_kwargs_fail_the_call_as_a_protocol_error(worker, arguments):
    call_id = worker.send_encoded_call("builtins.dict", JSON.encode(arguments))
    kind, payload = worker.outcome(call_id)
    assert kind == "error"
    assert payload["code"] == "PROTOCOL"
    # The worker goes on serving.
    assert worker.call("len", [1, 2]) == ("result", 2)
