"""Host callbacks: Python calling a JavaScript function passed in a call's arguments.

A real ``python -m snakebridge`` runs the functions of callback_targets.py;
the test plays the host, answering each CALLBACK on the control channel as
docs/protocol.md ("Callbacks") says. The registry's own edge cases (a host
gone, a late answer, ids) are tested in this process at the end.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from in_process import InProcess, RecordingWriter, executors
from waiting import eventually
from worker_client import JSON, WorkerClient

from snakebridge import HostCallback, HostCallbackError
from snakebridge.calls import HandleTable
from snakebridge.errors import ProtocolError
from snakebridge.protocol import CallMeta, Frame, FrameTooLarge, Kind, Op, encode_call
from snakebridge.serializers.base import CallbackRef, HandleWire
from snakebridge.worker.callbacks import HostCallbacks
from snakebridge.worker.outcomes import Outcomes

TARGETS = "callback_targets"
CONTRACT = "snakebridge.testing.contract"


@dataclass(frozen=True)
class Handle:
    """A handle the worker sent, as the test host holds it (and can send back)."""

    id: int


class JsError(Exception):
    """Raised by a test's host function: answered as CALLBACK_ERROR."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def start(serializer: str = "msgpack", **hello: Any) -> WorkerClient:
    client = WorkerClient(serializer=serializer, **hello)
    client.ready()
    return client


@pytest.fixture
def worker() -> Iterator[WorkerClient]:
    client = start()
    yield client
    client.close()


# --- playing the host ------------------------------------------------------------------------


def next_request(worker: WorkerClient, call: int, timeout: float = 10.0) -> tuple[Frame, int, list[Any]]:
    """The next CALLBACK, checked to come from ``call``: the frame, the function's index and the arguments."""
    frame = worker.next_frame(timeout, kinds=(Kind.CALLBACK,))
    assert frame.aux == call
    assert frame.id != 0
    assert frame.serializer == worker.codec.wire_id
    index, args = worker.codec.decode(frame.body, Handle)
    return frame, index, args


def answer(worker: WorkerClient, request: Frame, value: Any) -> None:
    body = worker.codec.encode(value, lambda handle: HandleWire(handle.id, "test.Handle"))
    worker.send(Kind.CALLBACK_RESULT, request.id, body, control=True, serializer=worker.codec.wire_id)


def fail(worker: WorkerClient, request: Frame, name: str, message: str, stack: str | None = None) -> None:
    body = json.dumps({"name": name, "message": message, "stack": stack or f"{name}: {message}\n    at host.ts:1"})
    worker.send(Kind.CALLBACK_ERROR, request.id, body.encode(), control=True, serializer=1)


def serve(
    worker: WorkerClient, call: int, functions: dict[int, Callable[..., Any]], timeout: float = 10.0
) -> tuple[str, Any, list[Any], list[tuple[int, list[Any]]]]:
    """Runs the call's callbacks with ``functions`` until the call ends.

    Returns its outcome ("result", "error" or "end"), the result or error
    payload, the stream items, and every callback request as (index, args).
    """
    items: list[Any] = []
    requests: list[tuple[int, list[Any]]] = []
    kinds = (Kind.CALLBACK, Kind.RESULT, Kind.ERROR, Kind.ITEM, Kind.END)
    while True:
        frame = worker.next_frame(timeout, kinds=kinds)
        if frame.kind == Kind.CALLBACK:
            assert frame.aux == call
            index, args = worker.codec.decode(frame.body, Handle)
            requests.append((index, args))
            try:
                answer(worker, frame, functions[index](*args))
            except JsError as exc:
                fail(worker, frame, exc.name, str(exc))
            continue
        assert frame.id == call, frame
        if frame.kind == Kind.ITEM:
            items.append(worker.decode(frame))
        elif frame.kind == Kind.END:
            return "end", None, items, requests
        elif frame.kind == Kind.RESULT:
            return "result", worker.decode(frame), items, requests
        else:
            return "error", json.loads(bytes(frame.body)), items, requests


# --- calling back ----------------------------------------------------------------------------


@pytest.mark.parametrize("serializer", ["msgpack", "json", "arrow"])
def test_a_sync_function_calls_a_callback_and_uses_its_result(serializer):
    if serializer == "arrow":
        pytest.importorskip("pyarrow")
    worker = start(serializer)
    try:
        call = worker.send_call(f"{TARGETS}.apply_plus_one", [CallbackRef(1), 5])
        request, index, args = next_request(worker, call)
        assert (index, args) == (1, [5])
        answer(worker, request, 41)
        assert worker.outcome(call) == ("result", 42)
    finally:
        worker.close()


def test_a_callback_can_be_called_many_times_each_with_a_fresh_request_id(worker):
    call = worker.send_call(f"{TARGETS}.call_many", [CallbackRef(1), 3])
    ids = []
    for expected in range(3):
        request, index, args = next_request(worker, call)
        assert (index, args) == (1, [expected])
        ids.append(request.id)
        answer(worker, request, expected * 10)
    assert worker.outcome(call) == ("result", [0, 10, 20])
    assert len(set(ids)) == 3


def test_each_callback_of_a_call_keeps_its_index(worker):
    call = worker.send_call(f"{TARGETS}.compose", [CallbackRef(1), CallbackRef(2), 3])
    outcome, value, _, requests = serve(worker, call, {1: lambda x: x + 1, 2: lambda x: x * 2})
    assert (outcome, value) == ("result", 8)
    assert requests == [(1, [3]), (2, [4])]


def test_callbacks_nested_in_the_arguments_are_found(worker):
    options = {"on_item": CallbackRef(1), "items": ["a", "b"], "on_done": CallbackRef(2)}
    call = worker.send_call(f"{TARGETS}.call_nested", [options])
    outcome, value, _, requests = serve(worker, call, {1: lambda item: None, 2: lambda count: f"{count} done"})
    assert (outcome, value) == ("result", "2 done")
    assert requests == [(1, ["a"]), (1, ["b"]), (2, [2])]


def test_a_callback_is_a_host_callback_with_a_useful_repr(worker):
    call = worker.send_call(f"{TARGETS}.describe", [CallbackRef(1)])
    assert worker.outcome(call) == (
        "result",
        {"repr": f"<HostCallback #1 of call {call}>", "type": "HostCallback", "index": 1},
    )


def test_objects_travel_to_the_host_as_handles_and_come_back_as_themselves(worker):
    call = worker.send_call(f"{TARGETS}.round_trip_object", [CallbackRef(1)])
    outcome, value, _, requests = serve(worker, call, {1: lambda handle: handle})
    assert (outcome, value) == ("result", True)
    assert isinstance(requests[0][1][0], Handle)


def test_a_result_larger_than_the_old_control_frame_limit_arrives(worker):
    call = worker.send_call(f"{TARGETS}.result_size", [CallbackRef(1)])
    outcome, value, _, _ = serve(worker, call, {1: lambda: "x" * 3_000_000})
    assert (outcome, value) == ("result", 3_000_000)


def test_an_answer_over_the_frame_limit_fails_the_callback_and_the_worker_goes_on():
    worker = start(maxFrameBytes=4096)
    try:
        call = worker.send_call(f"{TARGETS}.result_size", [CallbackRef(1)])
        outcome, payload, _, _ = serve(worker, call, {1: lambda: "x" * 10_000})
        assert outcome == "error" and payload["code"] == "PROTOCOL" and "maxFrameBytes" in payload["message"]
        assert worker.call("len", "abc") == ("result", 3)
    finally:
        worker.close()


def test_a_callback_called_from_a_thread_of_the_users_own(worker):
    call = worker.send_call(f"{TARGETS}.call_in_thread", [CallbackRef(1), 2])
    outcome, value, _, _ = serve(worker, call, {1: lambda x: x * 3})
    assert (outcome, value) == ("result", 6)


# --- errors ----------------------------------------------------------------------------------


def test_a_javascript_exception_raises_host_callback_error_in_python(worker):
    call = worker.send_call(f"{TARGETS}.describe_failure", [CallbackRef(1)])
    request, _, _ = next_request(worker, call)
    fail(worker, request, "TypeError", "boom", "TypeError: boom\n    at cb (host.ts:3:9)")
    assert worker.outcome(call) == (
        "result",
        {
            "type": "HostCallbackError",
            "message": "boom",
            "name": "TypeError",
            "stack": "TypeError: boom\n    at cb (host.ts:3:9)",
        },
    )


def test_an_uncaught_host_callback_error_reaches_the_host_as_an_error_of_user_code(worker):
    call = worker.send_call(f"{TARGETS}.call_uncaught", [CallbackRef(1)])
    request, _, _ = next_request(worker, call)
    fail(worker, request, "RangeError", "out of range")
    kind, payload = worker.outcome(call)
    assert kind == "error"
    assert (payload["type"], payload["module"], payload["message"]) == (
        "HostCallbackError",
        "snakebridge.errors",
        "out of range",
    )
    assert payload["mro"][:2] == ["snakebridge.errors.HostCallbackError", "builtins.Exception"]
    assert "code" not in payload


def test_keyword_arguments_are_refused_before_anything_is_sent(worker):
    kind, payload = worker.outcome(worker.send_call(f"{TARGETS}.call_with_keywords", [CallbackRef(1)]))
    assert kind == "error" and payload["type"] == "TypeError"
    assert "positional arguments only" in payload["message"]
    with pytest.raises(TimeoutError):
        worker.next_frame(timeout=0.2, kinds=(Kind.CALLBACK,))


# --- async code, thread pools and streams ------------------------------------------------------


def test_an_async_function_awaits_a_callback_without_blocking_the_event_loop(worker):
    call = worker.send_call(f"{TARGETS}.apply_async", [CallbackRef(1), "ping"])
    request, index, args = next_request(worker, call)
    assert (index, args) == (1, ["ping"])
    # Meanwhile another async call runs to its end on the same event loop.
    assert worker.call(f"{CONTRACT}.async_echo", "meanwhile") == ("result", "meanwhile")
    answer(worker, request, "pong")
    assert worker.outcome(call) == ("result", "pong")


def test_a_thread_pool_call_calls_a_callback():
    worker = start(threads=2)
    try:
        call = worker.send_call(f"{TARGETS}.apply_plus_one", [CallbackRef(1), 1])
        request, _, args = next_request(worker, call)
        assert args == [1]
        # The main thread still reads calls while a pool thread waits.
        assert worker.call("len", "abcd") == ("result", 4)
        answer(worker, request, 9)
        assert worker.outcome(call) == ("result", 10)
    finally:
        worker.close()


@pytest.mark.parametrize("target", ["report_progress", "report_progress_async"])
def test_a_stream_calls_back_between_its_items(worker, target):
    call = worker.send_call(f"{TARGETS}.{target}", [CallbackRef(1), 3], window=8)
    outcome, _, items, requests = serve(worker, call, {1: lambda i: None})
    assert outcome == "end"
    assert items == [0, 1, 2]
    assert requests == [(1, [0]), (1, [1]), (1, [2])]


# --- cancellation ------------------------------------------------------------------------------


@pytest.mark.parametrize("threads", [0, 2], ids=["main thread", "thread pool"])
def test_cancelling_a_call_interrupts_its_wait_for_a_callback(threads):
    worker = start(threads=threads)
    try:
        call = worker.send_call(f"{TARGETS}.wait_for_callback", ["cancel", CallbackRef(1)])
        request, _, _ = next_request(worker, call)
        started = time.monotonic()
        worker.send(Kind.CANCEL, call)
        worker.send(Kind.CANCEL, call, control=True)
        kind, payload = worker.outcome(call)
        assert kind == "error" and payload["code"] == "CANCELLED"
        assert time.monotonic() - started < 2.0
        answer(worker, request, "too late")  # nobody waits for it any more: dropped
        assert worker.call(f"{TARGETS}.seen", "cancel") == ("result", "left")
        assert worker.call("len", "abc") == ("result", 3)
    finally:
        worker.close()


# --- a callback as a value -----------------------------------------------------------------------


def test_a_callback_returned_as_a_result_is_a_handle_and_expires_with_its_call():
    worker = start("json")
    try:
        call = worker.send_call(f"{TARGETS}.identity", [CallbackRef(1)])
        frame = worker.next_frame(kinds=(Kind.RESULT,))
        tagged = json.loads(bytes(frame.body))
        assert tagged["$sb"] == "handle" and tagged["type"] == "snakebridge.calls.callbacks.HostCallback"
        assert tagged["repr"] == f"<HostCallback #1 of call {call}>"
        # Called through its handle once its call is over: the host says it expired.
        later = worker.send_call("", ["late"], handle=tagged["id"], op=Op.CALL)
        request, index, args = next_request(worker, call)
        assert (index, args) == (1, ["late"])
        fail(worker, request, "Error", "the callback expired with its call")
        kind, payload = worker.outcome(later)
        assert kind == "error" and payload["type"] == "HostCallbackError"
        assert payload["message"] == "the callback expired with its call"
    finally:
        worker.close()


def test_an_argument_shaped_like_a_callback_tag_stays_data_with_json():
    worker = start("json")
    try:
        assert worker.call(f"{TARGETS}.identity", {"$sb": "callback", "id": 1}) == (
            "result",
            {"$sb": "callback", "id": 1},
        )
    finally:
        worker.close()


# --- the registry in this process ------------------------------------------------------------------


def make_registry(writer: RecordingWriter) -> tuple[HostCallbacks, HandleTable]:
    handles = HandleTable()
    outcomes = Outcomes(writer, JSON, handles, 1 << 20)  # type: ignore[arg-type]
    return HostCallbacks(writer, outcomes, {1: JSON}, handles.get), handles  # type: ignore[arg-type]


def call_in_background(callback: HostCallback, *args: Any) -> tuple[threading.Thread, list[Any]]:
    """Calls ``callback`` on a thread; the list gets ("result", value) or ("error", exception)."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(("result", callback(*args)))
        except BaseException as exc:
            outcome.append(("error", exc))

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_callback_sends_its_request_and_returns_the_answer():
    writer = RecordingWriter()
    callbacks, _ = make_registry(writer)
    thread, outcome = call_in_background(callbacks.callback(7, 0, 2), "a", 1)
    assert writer.sent.wait(5)
    (request,) = writer.frames
    assert (request.kind, request.aux, request.serializer) == (Kind.CALLBACK, 7, 1)
    assert JSON.decode(request.body) == [2, ["a", 1]]
    callbacks.resolve(Frame(Kind.CALLBACK_RESULT, request.id, JSON.encode({"ok": True}), 1))
    thread.join(5)
    assert outcome == [("result", {"ok": True})]


def test_an_answer_for_a_request_nobody_waits_for_is_ignored():
    callbacks, _ = make_registry(RecordingWriter())
    callbacks.resolve(Frame(Kind.CALLBACK_RESULT, 12345, JSON.encode(1), 1))
    callbacks.resolve(FrameTooLarge(Kind.CALLBACK_RESULT, 12345, 1 << 30))


def test_an_oversized_answer_fails_its_waiter_with_a_protocol_error():
    writer = RecordingWriter()
    callbacks, _ = make_registry(writer)
    thread, outcome = call_in_background(callbacks.callback(1, 0, 1))
    assert writer.sent.wait(5)
    callbacks.resolve(FrameTooLarge(Kind.CALLBACK_RESULT, writer.frames[0].id, 1 << 30))
    thread.join(5)
    assert outcome[0][0] == "error" and isinstance(outcome[0][1], ProtocolError)


def test_a_host_that_is_gone_fails_the_callback_at_once():
    callbacks, _ = make_registry(RecordingWriter(broken=True))
    with pytest.raises(HostCallbackError, match="host is gone"):
        callbacks.callback(1, 0, 1)("x")


def test_closing_fails_the_waiters_and_later_calls():
    writer = RecordingWriter()
    callbacks, _ = make_registry(writer)
    thread, outcome = call_in_background(callbacks.callback(1, 0, 1))
    assert writer.sent.wait(5)
    callbacks.close("the host closed the control channel")
    thread.join(5)
    assert outcome[0][0] == "error" and isinstance(outcome[0][1], HostCallbackError)
    with pytest.raises(HostCallbackError, match="control channel"):
        callbacks.callback(1, 0, 1)()


def test_handles_made_for_arguments_belong_to_the_calls_session():
    writer = RecordingWriter()
    callbacks, handles = make_registry(writer)
    thread, _ = call_in_background(callbacks.callback(1, 9, 1), object())
    assert writer.sent.wait(5)
    (tagged,) = json.loads(writer.frames[0].body)[1]
    assert tagged["$sb"] == "handle"
    callbacks.close("done")
    thread.join(5)
    assert len(handles) == 1
    handles.release_session(9)
    assert len(handles) == 0


def test_an_async_caller_awaits_its_answer_on_its_own_event_loop():
    writer = RecordingWriter()
    callbacks, _ = make_registry(writer)

    async def main() -> Any:
        task = asyncio.ensure_future(callbacks.callback(3, 0, 1).acall("x"))
        while not writer.frames:
            await asyncio.sleep(0.001)
        request = writer.frames[0]
        # The control thread answers while the loop goes on.
        threading.Thread(
            target=callbacks.resolve, args=(Frame(Kind.CALLBACK_RESULT, request.id, JSON.encode("y"), 1),)
        ).start()
        return await asyncio.wait_for(task, 5)

    assert asyncio.run(main()) == "y"


def test_host_callback_error_keeps_its_javascript_fields_when_pickled():
    error = pickle.loads(pickle.dumps(HostCallbackError("boom", "TypeError", "TypeError: boom\n    at f")))
    assert (str(error), error.js_name, error.js_stack) == ("boom", "TypeError", "TypeError: boom\n    at f")


def test_request_ids_wrap_around_and_skip_zero():
    writer = RecordingWriter()
    callbacks, _ = make_registry(writer)
    callbacks._last_id = 0xFFFFFFFE
    assert [callbacks._new_id() for _ in range(3)] == [0xFFFFFFFF, 1, 2]


# --- a cancel while the callback's frame is being written -----------------------------------------


@pytest.fixture
def make_executor() -> Iterator[Callable[..., InProcess]]:
    with executors() as make:
        yield make


@pytest.mark.parametrize("threads", [0, 1], ids=["main thread", "thread pool"])
def test_a_cancel_during_the_write_lands_after_it(make_executor, threads):
    executor, writer, callbacks = make_executor(threads, callbacks=True)
    writer.slow_kinds = {Kind.CALLBACK}

    def control_thread() -> None:
        if writer.writing.wait(5):
            executor.cancel(1)
        # Should the cancel be lost, free the call rather than hang the test.
        if not eventually(lambda: writer.final_frames(1), timeout=5):
            callbacks.close("the cancel was lost")

    canceller = threading.Thread(target=control_thread)
    canceller.start()
    payload = encode_call(
        CallMeta(Op.CALL, f"{TARGETS}.wait_for_callback"), JSON.encode([["held", CallbackRef(1)], {}])
    )
    executor.handle(Frame(Kind.CALL, 1, payload, 1))  # on the main thread, returns once the call is over
    canceller.join()
    assert eventually(lambda: writer.final_frames(1), timeout=5)
    kinds = [f.kind for f in writer.frames]
    assert kinds == [Kind.CALLBACK, Kind.ERROR], "the interrupt cut the write short"
    assert json.loads(writer.final_frames(1)[0].body)["code"] == "CANCELLED"
