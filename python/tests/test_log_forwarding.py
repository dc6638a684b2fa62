"""Python ``logging`` records reach the host as records (log_forwarding.py): the body of each
against the golden vectors shared with TypeScript, and real workers sending LOG frames."""

from __future__ import annotations

import json
import logging
import os
import select

import pytest
from values import VECTORS
from worker_client import WorkerClient

from snakebridge.log_forwarding import LOG_RECORD_MAX_BYTES, MAX_MESSAGE_CHARS, ForwardingHandler, record_body
from snakebridge.protocol import CallMeta, Kind, Op
from snakebridge.protocol.call import TraceContext

DOCUMENT = json.loads((VECTORS / "protocol" / "log-records.json").read_text(encoding="utf-8"))
OPS = {op.name.lower(): op for op in Op}


@pytest.mark.parametrize("vector", DOCUMENT["vectors"], ids=[v["name"] for v in DOCUMENT["vectors"]])
def test_writes_each_record_as_the_vector_says(vector):
    given = vector["python"]
    call = given["call"]
    trace = TraceContext(call["traceparent"]) if call and "traceparent" in call else None
    meta = None if call is None else CallMeta(OPS[call["op"]], call["target"], call.get("handle", 0), trace=trace)
    body = record_body(given["level"], given["levelName"], given["logger"], given["message"], meta)
    assert body.decode("ascii") == vector["body"]


def test_cuts_a_long_message_so_that_any_record_fits():
    body = record_body(40, "ERROR", "x" * 1000, "\U0001f600" * (MAX_MESSAGE_CHARS * 2))
    record = json.loads(body)
    assert len(body) <= LOG_RECORD_MAX_BYTES
    assert record["message"].startswith("\U0001f600" * MAX_MESSAGE_CHARS)
    assert record["message"].endswith(f" …[cut: {MAX_MESSAGE_CHARS} more characters]")
    assert record["logger"].endswith(" …[cut: 744 more characters]")


def test_the_handler_sends_the_message_with_its_traceback():
    sent: list[bytes] = []
    logger = logging.getLogger("test_log_forwarding.traceback")
    logger.propagate = False
    handler = ForwardingHandler(sent.append, logging.INFO)
    logger.addHandler(handler)
    try:
        raise KeyError("k")
    except KeyError:
        logger.exception("lookup failed")
    finally:
        logger.removeHandler(handler)
    record = json.loads(sent[0])
    assert record["level"] == 40 and record["logger"] == "test_log_forwarding.traceback"
    assert record["message"].startswith("lookup failed\nTraceback (most recent call last):")
    assert record["message"].endswith("KeyError: 'k'")
    assert "call" not in record  # no call runs in this thread


# --- a real worker ------------------------------------------------------------------------------


def records_until_outcome(worker: WorkerClient, call_id: int) -> tuple[list[dict], tuple[str, object]]:
    """The LOG frames that came before the call's outcome (they share the channel, in order), and the outcome."""
    records = []
    while True:
        frame = worker.next_frame(kinds=(Kind.LOG, Kind.RESULT, Kind.ERROR))
        if frame.kind == Kind.LOG:
            assert (frame.id, frame.serializer, frame.aux) == (0, 1, 0)
            records.append(json.loads(bytes(frame.body)))
            continue
        assert frame.id == call_id
        return records, ("result", worker.decode(frame)) if frame.kind == Kind.RESULT else ("error", frame.body)


@pytest.fixture
def logging_worker():
    client = WorkerClient(logRecords=20)
    client.ready()
    yield client
    client.close()


def test_a_warning_in_a_call_arrives_before_its_result_naming_the_call(logging_worker):
    records, outcome = records_until_outcome(logging_worker, logging_worker.send_call("logging_targets.warn", ["x"]))
    assert outcome == ("result", "done")
    assert records == [
        {
            "level": 30,
            "levelName": "WARNING",
            "logger": "logging_targets",
            "message": "x",
            "call": {"target": "logging_targets.warn"},
        }
    ]


def test_records_below_the_level_asked_for_are_not_sent(logging_worker):
    call = logging_worker.send_call("logging_targets.debug_then_info", ["y"])
    records, _ = records_until_outcome(logging_worker, call)
    assert [(r["levelName"], r["message"]) for r in records] == [("INFO", "info: y")]


def test_an_exception_logged_in_a_call_carries_its_traceback(logging_worker):
    records, _ = records_until_outcome(logging_worker, logging_worker.send_call("logging_targets.fail"))
    assert records[0]["levelName"] == "ERROR"
    assert "Traceback (most recent call last)" in records[0]["message"]
    assert records[0]["message"].endswith("ValueError: bad input")


def test_basic_config_in_user_code_does_not_take_the_records_away(logging_worker):
    call = logging_worker.send_call("logging_targets.configure_and_warn", ["still here"])
    records, _ = records_until_outcome(logging_worker, call)
    assert [r["message"] for r in records] == ["still here"]


def test_async_calls_and_stream_items_name_their_call_too(logging_worker):
    records, _ = records_until_outcome(logging_worker, logging_worker.send_call("logging_targets.warn_async", ["a"]))
    assert records[0]["call"] == {"target": "logging_targets.warn_async"}
    stream = logging_worker.send_call("logging_targets.count", [2], window=8)
    seen = []
    while len(seen) < 2:
        frame = logging_worker.next_frame(kinds=(Kind.LOG,))
        seen.append(json.loads(bytes(frame.body)))
    target = "logging_targets.count"
    assert [(r["message"], r["call"]["target"]) for r in seen] == [("item 0", target), ("item 1", target)]
    assert logging_worker.next_frame(kinds=(Kind.END,)).id == stream


def test_calls_on_pool_threads_name_their_call():
    client = WorkerClient(logRecords=20, threads=2)
    try:
        client.ready()
        records, outcome = records_until_outcome(client, client.send_call("logging_targets.warn", ["pool"]))
        assert outcome == ("result", "done")
        assert records[0]["call"] == {"target": "logging_targets.warn"}
    finally:
        client.close()


def test_a_worker_the_host_did_not_ask_sends_no_log_frames_and_leaves_logging_alone(worker):
    assert worker.call("logging_targets.warn", "to stderr") == ("result", "done")
    # A LOG frame would have come before the RESULT, on the same channel: the client would hold it.
    assert [frame for frame in worker._frames if frame.kind == Kind.LOG] == []
    stderr = b""
    while b"to stderr" not in stderr:  # Python's last resort: the record as text on stderr
        readable, _, _ = select.select([worker.process.stderr], [], [], 10)
        assert readable, f"no record on stderr, only {stderr!r}"
        stderr += os.read(worker.process.stderr.fileno(), 4096)
