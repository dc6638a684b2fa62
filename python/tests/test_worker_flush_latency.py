"""Frames the worker defers to batch them still go out at once when the main
thread goes on to block in user code: a burst's first result does not wait
for a slow second call, and a stream's item does not wait for the next one."""

from __future__ import annotations

import time

from worker_client import JSON, WorkerClient

from snakebridge.protocol import Kind

CONTRACT = "snakebridge.testing.contract"


def test_a_result_deferred_in_a_burst_does_not_wait_for_the_slow_call_after_it():
    worker = WorkerClient()
    worker.ready()
    try:
        fast, slow = worker.send_burst((f"{CONTRACT}.echo", ["fast"]), (f"{CONTRACT}.sleep", [3]))
        started = time.monotonic()
        assert worker.outcome(fast, timeout=2) == ("result", "fast")
        assert time.monotonic() - started < 1.0
        assert worker.outcome(slow, timeout=10) == ("result", 3)
    finally:
        worker.close()


def test_a_stream_item_does_not_wait_for_the_item_after_it():
    worker = WorkerClient()
    worker.ready()
    try:
        started = time.monotonic()
        call = worker.send_call(f"{CONTRACT}.slow_count", [3, 5], window=8)
        frame = worker.next_frame(timeout=2, kinds=(Kind.ITEM,))
        assert (frame.id, JSON.decode(frame.body)) == (call, 0)
        assert time.monotonic() - started < 1.0
    finally:
        worker.close()
