"""Pipelined calls (docs/protocol.md, "Pipelining"): calls that make promised handles and calls that name them,
through a real worker (an ordered channel), the executor fed out of order (as gRPC may), and the gRPC server."""

from __future__ import annotations

import contextlib
import json
import signal
import uuid
from collections.abc import Iterator

import pytest
from in_process import RecordingWriter
from server_client import Client, Ref, pb, served_client
from waiting import eventually
from worker_client import JSON, Handle, WorkerClient

from snakebridge.calls import Dispatcher, HandleTable, Resolver
from snakebridge.protocol import FLAG_PIPELINED, CallMeta, Frame, Kind, Op, encode_call, encode_frame
from snakebridge.worker.executor import Executor
from snakebridge.worker.outcomes import Outcomes

P = "snakebridge.testing.pipelining"
#: Promised handle ids: the top bit set.
P1, P2, P3, P4 = 0x8000_0001, 0x8000_0002, 0x8000_0003, 0x8000_0004


def tag() -> str:
    return uuid.uuid4().hex


def held(client: WorkerClient) -> int:
    """Handles and promised handles the worker holds, from its pong (after a call: releases travel with calls)."""
    client.call("len", [])
    client.send(Kind.PING, 77, control=True)
    return json.loads(bytes(client.next_frame(kinds=(Kind.PONG,)).body))["handles"]


def code(outcome: tuple[str, object]) -> str:
    kind, payload = outcome
    assert kind == "error", outcome
    return payload["code"]  # type: ignore[index]


# --- through a worker ------------------------------------------------------------------------------


@pytest.fixture(params=[0, 2], ids=["main thread", "two pool threads"])
def worker(request) -> Iterator[WorkerClient]:
    client = WorkerClient(threads=request.param)
    client.ready()
    yield client
    client.close()


def test_calls_sent_behind_a_promise_run_on_its_object_in_the_order_they_came(worker):
    gate = tag()
    made = worker.send_call(f"{P}.held", [gate], promise=P1)
    adds = [worker.send_call("add", [n], handle=P1, pipelined=True) for n in (1, 2, 3)]
    chained = worker.send_call("plus", [4], handle=P1, promise=P2)
    total = worker.send_call("total", [], handle=P2, pipelined=True)
    opened = worker.send_call(f"{P}.open_gate", [gate])
    assert worker.outcome(opened) == ("result", None)
    assert worker.outcome(total) == ("result", 10)
    assert worker.outcome(made)[0] == "result"
    for call in adds:
        assert worker.outcome(call)[0] == "result"
    assert worker.outcome(chained)[0] == "result"


@pytest.fixture
def main_thread_worker() -> Iterator[WorkerClient]:
    """Sync calls one after another: calls started in order also end in order (a pool's threads may overlap)."""
    client = WorkerClient()
    client.ready()
    yield client
    client.close()


def test_held_calls_start_in_the_order_they_came_whichever_promise_they_name(main_thread_worker):
    worker = main_thread_worker
    gate = tag()
    worker.send_call(f"{P}.held", [gate], promise=P1)
    worker.send_call("add", [1], handle=P1, promise=P2)
    worker.send_call("add", [2], handle=P2, pipelined=True)  # the same object, by another name
    worker.send_call("add", [3], handle=P1, pipelined=True)
    order = worker.send_call("order", [], handle=P1, pipelined=True)
    worker.outcome(worker.send_call(f"{P}.open_gate", [gate]))
    assert worker.outcome(order) == ("result", [1, 2, 3])


def test_a_plain_value_promised_is_that_value_in_python(worker):
    made = worker.send_call(f"{P}.number", [41], promise=P1)
    bits = worker.send_call("bit_length", [], handle=P1, pipelined=True)
    added = worker.send_call("operator.add", [Handle(P1), 1], pipelined=True)
    in_a_list = worker.send_call(f"{P}.echo", [[Handle(P1), {"k": Handle(P1)}]], pipelined=True)
    assert worker.outcome(made) == ("result", 41)
    assert worker.outcome(bits) == ("result", 6)
    assert worker.outcome(added) == ("result", 42)
    assert worker.outcome(in_a_list) == ("result", [41, {"k": 41}])


def test_a_failure_fails_every_call_that_depends_on_it_with_the_first_error_as_cause(worker):
    failed = worker.send_call("operator.truediv", [1, 0], promise=P1)
    on_it = worker.send_call("real", [], handle=P1, promise=P2)
    further = worker.send_call("operator.add", [Handle(P2), 1], pipelined=True, promise=P3)
    last = worker.send_call("bit_length", [], handle=P3, pipelined=True)
    assert worker.outcome(failed)[1]["type"] == "ZeroDivisionError"
    for call in (on_it, further, last):
        kind, payload = worker.outcome(call)
        assert (kind, payload["code"]) == ("error", "PIPELINE_BROKEN")
        assert payload["cause"]["type"] == "ZeroDivisionError"
        assert "ZeroDivisionError: division by zero" in payload["message"]
    # One that comes after the failure fails too, at once.
    late = worker.send_call("real", [], handle=P1, pipelined=True)
    assert worker.outcome(late)[1]["cause"]["type"] == "ZeroDivisionError"


def test_a_held_failure_fails_the_calls_waiting_on_it(worker):
    gate = tag()
    failing = worker.send_call(f"{P}.held_failure", [gate, "later"], promise=P1)
    waiting = [worker.send_call("add", [n], handle=P1, pipelined=True) for n in (1, 2)]
    worker.outcome(worker.send_call(f"{P}.open_gate", [gate]))
    assert worker.outcome(failing)[1]["message"] == "later"
    for call in waiting:
        assert worker.outcome(call)[1]["cause"]["message"] == "later"


def test_a_call_naming_a_promise_never_made_fails_handle_invalid_at_once(worker):
    assert code(worker.outcome(worker.send_call("bit_length", [], handle=P4, pipelined=True))) == "HANDLE_INVALID"
    in_args = worker.send_call("operator.add", [Handle(P4), 1], pipelined=True, promise=P1)
    assert code(worker.outcome(in_args)) == "HANDLE_INVALID"
    # The promise of a call that failed so fails in turn: calls on it learn why.
    kind, payload = worker.outcome(worker.send_call("real", [], handle=P1, pipelined=True))
    assert (kind, payload["code"], payload["cause"]["code"]) == ("error", "PIPELINE_BROKEN", "HANDLE_INVALID")


def test_a_plain_call_naming_a_promised_id_fails_typed(worker):
    assert code(worker.outcome(worker.send_call("bit_length", [], handle=P1))) == "HANDLE_INVALID"


@pytest.mark.parametrize(
    ("what", "frame"),
    [
        ("aux without the PIPELINED flag", encode_frame(Kind.CALL, 9, encode_call(CallMeta(Op.CALL, "len")), 1, 0, P1)),
        (
            "a promised id without the top bit",
            encode_frame(Kind.CALL, 9, encode_call(CallMeta(Op.CALL, "len")), 1, 2, 5),
        ),
        (
            "a stream that promises its result",
            encode_frame(Kind.CALL, 9, encode_call(CallMeta(Op.CALL, "range", window=4)), 1, 3, P1),
        ),
        (
            "an attribute read that promises its result",
            encode_frame(Kind.CALL, 9, encode_call(CallMeta(Op.GETATTR, "math.pi")), 1, 2, P1),
        ),
    ],
)
def test_refuses_pipelining_that_makes_no_sense_typed(worker, what, frame):
    import os

    os.write(worker._data, frame)
    assert code(worker.outcome(9)) == "PROTOCOL", what
    assert worker.call("len", [1, 2]) == ("result", 2)  # and goes on serving


def test_refuses_a_promised_id_already_in_use(worker):
    assert worker.outcome(worker.send_call("len", [[1]], promise=P1)) == ("result", 1)
    assert code(worker.outcome(worker.send_call("len", [[1, 2]], promise=P1))) == "HANDLE_INVALID"
    assert worker.outcome(worker.send_call("bit_length", [], handle=P1, pipelined=True)) == ("result", 1)


def test_a_cancelled_held_call_is_acknowledged_at_once_and_its_promise_fails(worker):
    gate = tag()
    made = worker.send_call(f"{P}.held", [gate], promise=P1)
    cancelled = worker.send_call("plus", [1], handle=P1, promise=P2)
    behind = worker.send_call("total", [], handle=P2, pipelined=True)
    worker.send(Kind.CANCEL, cancelled, control=True)
    assert code(worker.outcome(cancelled)) == "CANCELLED"  # before the gate opens: it never ran
    kind, payload = worker.outcome(behind)
    assert (kind, payload["code"], payload["cause"]["code"]) == ("error", "PIPELINE_BROKEN", "CANCELLED")
    worker.outcome(worker.send_call(f"{P}.open_gate", [gate]))
    assert worker.outcome(made)[0] == "result"


def test_releasing_promises_frees_them_and_the_handles_calls_on_them_kept(worker):
    before = held(worker)
    made = worker.send_call(f"{P}.number", [7], promise=P1)
    bits = worker.send_call("bit_length", [], handle=P1, pipelined=True)
    assert worker.outcome(made) == ("result", 7)
    assert worker.outcome(bits) == ("result", 3)
    assert held(worker) == before + 2  # the promise, and the handle the call on it went through
    worker.send(Kind.RELEASE, body=json.dumps({"handles": [P1]}).encode(), serializer=1)
    assert held(worker) == before
    assert code(worker.outcome(worker.send_call("bit_length", [], handle=P1, pipelined=True))) == "HANDLE_INVALID"


def test_releasing_a_session_frees_its_promises(worker):
    before = held(worker)
    worker.outcome(worker.send_call(f"{P}.tally", [1], promise=P1, session=3))
    worker.outcome(worker.send_call("add", [1], handle=P1, promise=P2, session=3))
    assert held(worker) > before
    worker.send(Kind.RELEASE, body=json.dumps({"handles": [], "session": 3}).encode(), serializer=1)
    assert held(worker) == before


def test_a_session_holds_at_most_max_handles_per_session_promises():
    client = WorkerClient(maxHandlesPerSession=2)
    try:
        client.ready()
        for promise in (P1, P2):
            assert client.outcome(client.send_call("len", [[1]], promise=promise, session=1)) == ("result", 1)
        kind, payload = client.outcome(client.send_call("len", [[1]], promise=P3, session=1))
        assert (kind, payload["code"]) == ("error", "HANDLE_INVALID")
        assert "maxPerSession" in payload["message"]
    finally:
        client.close()


# --- the executor, fed as gRPC may feed it: out of order ---------------------------------------------


@contextlib.contextmanager
def unordered_executor(declare_wait_seconds: float) -> Iterator[tuple[Executor, RecordingWriter]]:
    previous = signal.getsignal(signal.SIGUSR1)
    writer = RecordingWriter()
    handles = HandleTable()
    outcomes = Outcomes(writer, JSON, handles, 1 << 20)  # type: ignore[arg-type]
    executor = Executor(
        {1: JSON},
        outcomes,
        Dispatcher(Resolver(), handles),
        writer.flush,
        ordered=False,
        declare_wait_seconds=declare_wait_seconds,
    )
    try:
        yield executor, writer
    finally:
        executor._async.stop()
        signal.signal(signal.SIGUSR1, previous)


def pipelined_frame(call_id: int, target: str, *args: object, handle: int = 0, promise: int = 0) -> Frame:
    payload = JSON.encode([list(args), {}], lambda value: value)  # type: ignore[arg-type]
    return Frame(
        Kind.CALL, call_id, encode_call(CallMeta(Op.CALL, target, handle), payload), 1, FLAG_PIPELINED, promise
    )


def outcome_of(writer: RecordingWriter, call_id: int) -> tuple[str, object]:
    assert writer.wait_for(lambda frames: writer.final_frames(call_id), 5)
    frame = writer.final_frames(call_id)[0]
    if frame.kind == Kind.RESULT:
        return "result", JSON.decode(frame.body)
    return "error", json.loads(frame.body)


def test_a_call_that_arrives_before_the_one_making_its_promise_waits_for_it():
    with unordered_executor(declare_wait_seconds=30) as (executor, writer):
        executor.handle(pipelined_frame(2, "bit_length", handle=P1))
        executor.handle(pipelined_frame(3, "real", handle=P2))
        assert writer.final_frames(2) == [] and executor.in_flight == 2
        executor.handle(pipelined_frame(1, f"{P}.number", 5, promise=P1))
        assert outcome_of(writer, 1) == ("result", 5)
        assert outcome_of(writer, 2) == ("result", 3)
        assert writer.final_frames(3) == []  # still waiting: nothing made P2


def test_a_call_waiting_for_a_promise_nobody_makes_fails_handle_invalid_after_the_wait():
    with unordered_executor(declare_wait_seconds=0.2) as (executor, writer):
        executor.handle(pipelined_frame(2, "bit_length", handle=P1))
        # The executor's thread is woken at the deadline; here the test is that thread.
        assert eventually(lambda: (executor._pipeline.drain(), writer.final_frames(2))[1], 5)
        kind, payload = outcome_of(writer, 2)
        assert (kind, payload["code"]) == ("error", "HANDLE_INVALID")  # type: ignore[index]
        assert executor.in_flight == 0


def test_calls_held_back_are_bounded():
    with unordered_executor(declare_wait_seconds=30) as (executor, writer):
        executor._pipeline.max_waiting = 2
        for call_id in (1, 2):
            executor.handle(pipelined_frame(call_id, "bit_length", handle=P1))
        executor.handle(pipelined_frame(3, "bit_length", handle=P1))
        kind, payload = outcome_of(writer, 3)
        assert (kind, payload["code"]) == ("error", "PROTOCOL")  # type: ignore[index]
        assert "waiting" in payload["message"]  # type: ignore[index]
        assert executor.in_flight == 2


# --- the gRPC server ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with served_client("--pipeline-wait-ms", "200") as client:
        yield client


def test_the_server_runs_calls_on_a_promise_within_the_host_s_pipeline_scope(client: Client):
    scope = str(uuid.uuid4())
    made = client.request(f"{P}.tally", [2], promise=P1, pipeline=scope)
    assert client.send(made)[0] == "result"
    added = client.request("add", [3], handle=P1, promise=P2, pipeline=scope)
    assert client.send(added)[0] == "result"
    assert client.send(client.request("total", handle=P2, pipeline=scope)) == ("result", 5)
    assert client.send(client.request(f"{P}.total_of", [Ref(P1), Ref(P2)], pipeline=scope)) == ("result", 10)
    # Another host's P1 is another promise: it was never made in that scope.
    kind, payload = client.send(client.request("total", handle=P1, pipeline=str(uuid.uuid4())))
    assert (kind, payload["code"]) == ("error", "HANDLE_INVALID")


def test_the_server_frees_promises_released_in_their_scope(client: Client):
    scope = str(uuid.uuid4())
    before = client.stub.Stats(pb.StatsRequest()).handles
    client.send(client.request(f"{P}.number", [9], promise=P1, pipeline=scope))
    assert client.send(client.request("bit_length", handle=P1, pipeline=scope)) == ("result", 4)
    assert client.stub.Stats(pb.StatsRequest()).handles == before + 2
    client.stub.Release(pb.ReleaseRequest(handles=[P1], pipeline=str(uuid.uuid4())))  # another host's: nothing
    assert client.stub.Stats(pb.StatsRequest()).handles == before + 2
    client.stub.Release(pb.ReleaseRequest(handles=[P1], pipeline=scope))
    assert client.stub.Stats(pb.StatsRequest()).handles == before


@pytest.mark.parametrize(
    ("what", "request_fields"),
    [
        ("a promise with no scope", {"promise": P1}),
        ("a scope longer than 64 characters", {"promise": P1, "pipeline": "x" * 65}),
    ],
)
def test_the_server_refuses_pipelining_without_a_sound_scope(client: Client, what, request_fields):
    kind, payload = client.send(client.request("len", [[1]], **request_fields))
    assert (kind, payload["code"]) == ("error", "PROTOCOL"), what
