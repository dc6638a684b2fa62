"""Cancels and shutdowns that race with the call they are about: the worker
must still send each call exactly one final frame, and keep serving.

Most tests drive a real ``python -m snakebridge``; where the race is too narrow
to hit from outside, the Executor runs in this process with the moment forced.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator

import pytest
from in_process import InProcess, executors
from waiting import eventually
from worker_client import JSON, WorkerClient

from snakebridge.calls import execution as executor_module
from snakebridge.protocol import FLAG_STREAM, CallMeta, Frame, Kind, Op, encode_call
from snakebridge.worker.executor import Executor

CONTRACT = "snakebridge.testing.contract"


def items_until_end(worker: WorkerClient, call: int, timeout: float) -> list[int]:
    """The stream's items, once its END has come (TimeoutError if it does not)."""
    items = []
    while True:
        frame = worker.next_frame(timeout, kinds=(Kind.ITEM, Kind.END, Kind.ERROR))
        assert frame.id == call and frame.kind != Kind.ERROR, frame
        if frame.kind == Kind.END:
            return items
        items.append(JSON.decode(frame.body))


# --- sync streams: a cancel must always end them -------------------------------------------------


def test_a_data_channel_cancel_ends_a_stream_that_has_credit_left(worker):
    # The worker is busy, so the stream's CALL and its data-channel CANCEL are read together: the
    # stream has credit and is not parked when the cancel is handled. The control-channel CANCEL
    # only comes once the stream would have used its credit and parked.
    busy = worker.send_call(f"{CONTRACT}.sleep", [0.3])
    call = worker.send_call(f"{CONTRACT}.endless", ["race1"], window=40)
    worker.send(Kind.CANCEL, call)
    assert worker.outcome(busy) == ("result", 0.3)
    time.sleep(0.3)
    worker.send(Kind.CANCEL, call, control=True)
    items = items_until_end(worker, call, timeout=3)
    assert len(items) < 40
    if items:  # a generator that never started has no finally block to run
        assert worker.call(f"{CONTRACT}.recall", "race1") == ("result", "closed")


def test_a_control_channel_cancel_ends_a_stream_parked_for_credit(worker):
    call = worker.send_call(f"{CONTRACT}.endless", ["race2"], window=2)
    assert [JSON.decode(worker.next_frame(kinds=(Kind.ITEM,)).body) for _ in range(2)] == [0, 1]
    time.sleep(0.1)  # parked: waiting for credit
    worker.send(Kind.CANCEL, call, control=True)
    assert items_until_end(worker, call, timeout=3) == []
    assert worker.call(f"{CONTRACT}.recall", "race2") == ("result", "closed")


# --- the executor in this process, for races too narrow to hit from outside -------------------------


async def _sleep_then(seconds: float, value: object) -> object:
    await asyncio.sleep(seconds)
    return value


async def _endless_async() -> object:
    i = 0
    while True:
        await asyncio.sleep(0.01)
        yield i
        i += 1


#: The targets the in-process executor calls, as the module ``_race_targets``.
TARGETS = types.ModuleType("_race_targets")
TARGETS.sleep_then = _sleep_then
TARGETS.endless_async = _endless_async
TARGETS.echo = lambda value: value


@pytest.fixture
def make_executor(monkeypatch) -> Iterator[Callable[..., InProcess]]:
    monkeypatch.setitem(sys.modules, "_race_targets", TARGETS)
    with executors() as make:
        yield make


def call_frame(call_id: int, target: str, *args: object, window: int = 0) -> Frame:
    body = encode_call(CallMeta(Op.CALL, f"_race_targets.{target}", window=window), JSON.encode([list(args), {}]))
    return Frame(Kind.CALL, call_id, body, 1, FLAG_STREAM if window else 0)


def cancel_before_the_runner_hooks_in(monkeypatch, executor: Executor, method: str) -> None:
    """Makes the control thread's cancel land after the call is registered, before the event loop's hook exists."""
    original = getattr(executor._async, method)

    def cancelled_first(state, *args):
        canceller = threading.Thread(target=executor.cancel, args=(state.id,))
        canceller.start()
        canceller.join()
        original(state, *args)

    monkeypatch.setattr(executor._async, method, cancelled_first)


def test_a_cancel_before_an_async_call_is_hooked_in_still_cancels_it(make_executor, monkeypatch):
    executor, writer, _ = make_executor()
    cancel_before_the_runner_hooks_in(monkeypatch, executor, "call")
    executor.handle(call_frame(1, "sleep_then", 5, "too late"))
    assert writer.wait_for(lambda frames: writer.final_frames(1), timeout=2), "the cancel was lost"
    (final,) = writer.final_frames(1)
    assert final.kind == Kind.ERROR and json.loads(final.body)["code"] == "CANCELLED"
    assert eventually(lambda: not executor.calls, timeout=2)


def test_a_cancel_before_an_async_stream_is_hooked_in_still_ends_it(make_executor, monkeypatch):
    executor, writer, _ = make_executor()
    cancel_before_the_runner_hooks_in(monkeypatch, executor, "stream")
    executor.handle(call_frame(1, "endless_async", window=1000))
    assert writer.wait_for(lambda frames: writer.final_frames(1), timeout=2), "the cancel was lost"
    assert [f.kind for f in writer.final_frames(1)] == [Kind.END]
    assert eventually(lambda: not executor.calls, timeout=2)


def test_a_late_interrupt_cannot_hit_a_pool_thread_after_its_call(make_executor, monkeypatch):
    executor, writer, _ = make_executor(threads=1)
    returned = threading.Event()
    real_raise = executor_module.raise_in_thread

    def raise_late(ident: int, exception: type[BaseException] | None) -> None:
        # The control thread has decided to interrupt: let the call return first, and the worker
        # start writing its result if it will, then raise.
        if exception is not None:
            returned.set()
            writer.writing.wait(0.5)
        real_raise(ident, exception)

    monkeypatch.setattr(executor_module, "raise_in_thread", raise_late)
    started = threading.Event()

    def run_until_cancelled() -> str:
        started.set()
        returned.wait(5)
        return "done"

    monkeypatch.setattr(TARGETS, "run_until_cancelled", run_until_cancelled, raising=False)
    writer.slow_kinds = {Kind.RESULT}
    executor.handle(call_frame(2, "run_until_cancelled"))
    assert started.wait(5)
    executor.cancel(2)  # as the control thread would
    assert writer.wait_for(lambda frames: writer.final_frames(2), timeout=3), "call 2 got no final frame"
    writer.slow_kinds = set()
    # The pool's one thread is still alive and the outcome of call 2 came whole.
    executor.handle(call_frame(3, "echo", "after"))
    assert writer.wait_for(lambda frames: writer.final_frames(3), timeout=3), "the pool thread died"
    assert [f.kind for f in writer.final_frames(3)] == [Kind.RESULT]
    (final,) = writer.final_frames(2)
    if final.kind == Kind.ERROR:
        assert json.loads(final.body)["code"] == "CANCELLED"
    else:
        assert JSON.decode(final.body) == "done"


# --- end of input, malformed frames ---------------------------------------------------------------


def close_data_channel(client: WorkerClient) -> None:
    """End of file on fd 3 only; the control channel stays open."""
    os.close(client._data)
    client._data = os.open(os.devnull, os.O_WRONLY)  # so that close() later closes a fd of ours


def test_exits_at_end_of_input_while_a_pool_thread_runs_a_call():
    client = WorkerClient(threads=1)
    client.ready()
    client.send_call(f"{CONTRACT}.sleep", [10])
    time.sleep(0.3)
    close_data_channel(client)
    started = time.monotonic()
    try:
        assert client.process.wait(timeout=5) == 0
        assert time.monotonic() - started < 2.0
    finally:
        if client.process.returncode is None:
            client.process.kill()
        client.close()


def test_flushes_what_user_code_printed_when_it_exits_at_end_of_input(worker):
    assert worker.call("print", "printed by the call") == ("result", None)
    close_data_channel(worker)
    assert worker.process.wait(timeout=5) == 0
    assert b"printed by the call" in worker.process.stdout.read()  # type: ignore[union-attr]


def test_interrupts_a_pool_call_and_the_pool_keeps_serving():
    client = WorkerClient(threads=1)
    client.ready()
    try:
        client.outcome(client.send_call("def spin():\n    while True:\n        pass\n", op=Op.EXEC, session=1))
        kind, spin = client.outcome(client.send_call("spin", op=Op.EVAL, session=1))
        assert kind == "result"
        for n in range(3):
            call = client.send_call("", handle=spin[1], session=1)
            time.sleep(0.1)
            client.send(Kind.CANCEL, call)
            client.send(Kind.CANCEL, call, control=True)
            kind, payload = client.outcome(call, timeout=3)
            assert kind == "error" and payload["code"] == "CANCELLED"
            assert client.call(f"{CONTRACT}.echo", n) == ("result", n)
    finally:
        client.close()


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"handles": ["x"]}', b'{"handles": 5}', b""])
def test_ignores_a_malformed_release_and_keeps_serving(worker, body):
    kind, handle = worker.call(f"{CONTRACT}.make_counter", 5)
    assert kind == "result"
    worker.send(Kind.RELEASE, body=body)
    assert worker.call("len", "abc") == ("result", 3)
    assert worker.outcome(worker.send_call("increment", handle=handle[1])) == ("result", 6)
    assert worker.process.poll() is None


# --- a cancel while the call's module is imported -------------------------------------------------


def test_a_cancel_during_the_import_of_the_calls_module_waits_for_the_import_to_finish(worker):
    # Stopped half-way, the package's import would fail for good: its submodule stays in sys.modules but is no
    # longer an attribute of the package imported again (how asyncio breaks with "name 'coroutines' is not defined").
    call = worker.send_call("half_imported.value")
    assert worker.process.stdout.readline() == b"half_imported: importing\n"  # the import is under way
    worker.send(Kind.CANCEL, call, control=True)
    worker.send(Kind.CANCEL, call)
    status, payload = worker.outcome(call)
    assert (status, payload["code"]) == ("error", "CANCELLED")
    assert worker.call("half_imported.value") == ("result", 42)


def test_an_interrupt_whose_signal_handler_never_ran_is_honoured_when_a_held_block_ends():
    # CPython 3.11 can lose the wake-up that makes the main thread run a signal's handler (the signal
    # arrives while Python code runs): the interrupt's flag, set before the signal, still stops the call.
    from snakebridge.errors import Cancelled

    with executors() as make:
        executor = make().executor
        executor._current = executor._interrupt = 7  # as cancel() leaves them, the handler not run
        with pytest.raises(Cancelled), executor.uninterruptible():
            pass
        assert executor._interrupt == 0
        executor._current = 0
