"""A worker with a thread pool (``threads`` > 0) runs all sync user code there,
a generator's turns included: a generator that blocks holds up no other call,
and it still keeps to its window, takes credit, and is closed when cancelled
(docs/protocol.md, "Streams"). The worker imports this module for its
generators."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from waiting import eventually
from worker_client import JSON, WorkerClient

from snakebridge.protocol import Kind, Op
from snakebridge.testing.contract import _state

CONTRACT = "snakebridge.testing.contract"
HERE = "test_worker_pool_streams"


# --- run by the worker ----------------------------------------------------------------------------


def item_then_block(tag: str, seconds: float) -> Iterator[int]:
    """Yields 0, then blocks in short sleeps (which an interrupt of a pool thread breaks), then yields 1."""
    try:
        yield 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.01)
        yield 1
    finally:
        _state[tag] = "closed"


# --- the tests ------------------------------------------------------------------------------------


@pytest.fixture
def worker() -> Iterator[WorkerClient]:
    client = WorkerClient(threads=2)
    client.ready()
    yield client
    client.close()


def items(worker: WorkerClient, count: int) -> list[object]:
    return [JSON.decode(worker.next_frame(kinds=(Kind.ITEM,)).body) for _ in range(count)]


def test_a_generator_keeps_its_window_takes_credit_and_is_closed_when_cancelled(worker):
    call = worker.send_call(f"{CONTRACT}.endless", ["p1"], window=2)
    assert items(worker, 2) == [0, 1]
    with pytest.raises(TimeoutError):
        worker.next_frame(timeout=0.3, kinds=(Kind.ITEM,))
    assert worker.call(f"{CONTRACT}.recall", "p1:produced") == ("result", 2)
    worker.send(Kind.CREDIT, call, aux=3)
    assert items(worker, 3) == [2, 3, 4]
    time.sleep(0.1)  # parked again: waiting for credit
    worker.send(Kind.CANCEL, call, control=True)
    assert worker.next_frame(kinds=(Kind.END,)).id == call
    assert worker.call(f"{CONTRACT}.recall", "p1") == ("result", "closed")


def test_a_blocked_generator_holds_up_no_other_call_and_a_cancel_interrupts_it(worker):
    call = worker.send_call(f"{HERE}.item_then_block", ["p2", 30], window=8)
    assert items(worker, 1) == [0]
    started = time.monotonic()
    assert worker.call("len", "abc") == ("result", 3)
    assert worker.outcome(worker.send_call("1 + 1", op=Op.EVAL)) == ("result", 2)
    assert time.monotonic() - started < 2
    worker.send(Kind.CANCEL, call, control=True)
    assert worker.next_frame(timeout=3, kinds=(Kind.END,)).id == call
    assert eventually(lambda: worker.call(f"{CONTRACT}.recall", "p2") == ("result", "closed"))


def test_items_then_the_error_raised_part_way(worker):
    call = worker.send_call(f"{CONTRACT}.count_then_fail", [2], window=8)
    assert items(worker, 2) == [0, 1]
    kind, payload = worker.outcome(call)
    assert kind == "error" and payload["message"] == "stream failed"


def test_an_async_generator_still_runs_on_the_event_loop(worker):
    call = worker.send_call(f"{CONTRACT}.async_count", [3], window=8)
    assert items(worker, 3) == [0, 1, 2]
    assert worker.next_frame(kinds=(Kind.END,)).id == call


def test_a_stream_that_cannot_start_ends_in_its_error(worker):
    kind, payload = worker.outcome(worker.send_call(f"{CONTRACT}.no_such_generator", window=8))
    assert kind == "error" and payload["type"] in {"AttributeError", "ModuleNotFoundError", "ImportError"}
