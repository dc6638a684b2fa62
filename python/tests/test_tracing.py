"""Python's span of a traced call (snakebridge/telemetry.py), over real worker processes and a real server:
a SERVER span that is the child of the host's, current wherever the call's code runs (inline, on a pool
thread, on the event loop, in each turn of a generator), with the exception of a failed call recorded.
A traceparent that does not parse is ignored; a call without one gets no span, and without
opentelemetry installed nothing of it is imported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_client import Client, ServerProcess, pb
from worker_client import JSON, WorkerClient

from snakebridge.protocol import Kind, TraceContext

TRACING = "snakebridge.testing.tracing"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
HOST_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{HOST_SPAN}-01"
HOST = TraceContext(TRACEPARENT, "congo=t61rcWkgMzE")
#: A promised handle id (the top bit set), as the host names the result of a pipelined call.
PROMISED_1 = 0x8000_0001


@pytest.fixture(params=[0, 2], ids=["inline", "thread pool"])
def worker(request) -> Iterator[WorkerClient]:
    client = WorkerClient(threads=request.param)
    client.threads = request.param  # type: ignore[attr-defined]
    client.ready()
    assert client.call(f"{TRACING}.install") == ("result", True)
    yield client
    client.close()


def traced_call(worker: WorkerClient, name: str, *args: Any, trace: TraceContext | None = HOST) -> tuple[str, Any]:
    return worker.outcome(worker.send_call(f"{TRACING}.{name}", args, trace=trace))


def traced_stream(worker: WorkerClient, name: str, *args: Any) -> list[Any]:
    """The items of a traced stream, one at a time: each item after the first is made in a turn of its own,
    after the generator waited for credit."""
    call = worker.send_call(f"{TRACING}.{name}", args, window=1, trace=HOST)
    items = []
    while (frame := worker.next_frame(kinds=(Kind.ITEM, Kind.END, Kind.ERROR))).kind == Kind.ITEM:
        assert frame.id == call
        items.append(JSON.decode(frame.body))
        # On both channels, as the host sends it: a sync generator reads it from the data channel, an async one
        # from the control channel.
        worker.send(Kind.CREDIT, call, aux=1)
        worker.send(Kind.CREDIT, call, aux=1, control=True)
    assert frame.kind == Kind.END, json.loads(bytes(frame.body))
    return items


def finished(worker: WorkerClient) -> list[dict[str, Any]]:
    kind, spans = worker.call(f"{TRACING}.finished")
    assert kind == "result", spans
    return spans


def server_span(spans: list[dict[str, Any]], target: str) -> dict[str, Any]:
    (span,) = [s for s in spans if s["name"] == f"python {TRACING}.{target}"]
    return span


def children(spans: list[dict[str, Any]], parent: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in spans if s["parent_span_id"] == parent["span_id"]]


def test_a_traced_call_runs_in_a_server_span_that_is_the_child_of_the_hosts(worker):
    assert traced_call(worker, "add", 2, 3) == ("result", 5)
    spans = finished(worker)
    span = server_span(spans, "add")
    assert span["kind"] == "SERVER"
    assert span["trace_id"] == TRACE_ID
    assert span["parent_span_id"] == HOST_SPAN
    assert span["attributes"] == {
        "rpc.system": "snakebridge",
        "rpc.method": f"{TRACING}.add",
        "snakebridge.op": "call",
        "snakebridge.kind": "call",
        "snakebridge.worker.pid": worker.process.pid,
        "snakebridge.outcome": "ok",
    }


def test_spans_the_users_code_makes_during_the_call_are_children_of_the_server_span(worker):
    traced_call(worker, "add", 2, 3)
    spans = finished(worker)
    (user,) = children(spans, server_span(spans, "add"))
    assert user["name"] == "user add"
    assert user["trace_id"] == TRACE_ID
    # With a pool, its threads run user code: the span was current there too.
    assert user["attributes"]["thread.name"].startswith("snakebridge-call") == (worker.threads > 0)


def test_a_coroutine_functions_spans_are_children_of_its_server_span(worker):
    assert traced_call(worker, "async_add", 2, 3) == ("result", 5)
    spans = finished(worker)
    (user,) = children(spans, server_span(spans, "async_add"))
    assert user["name"] == "user async add"
    assert user["attributes"]["thread.name"] == "snakebridge-asyncio"


def test_each_turn_of_a_generator_runs_in_its_streams_server_span(worker):
    assert traced_stream(worker, "count", 3) == [0, 1, 2]
    spans = finished(worker)
    span = server_span(spans, "count")
    assert span["attributes"]["snakebridge.kind"] == "stream"
    assert sorted(s["name"] for s in children(spans, span)) == ["user item 0", "user item 1", "user item 2"]


def test_an_async_generators_spans_are_children_of_its_streams_server_span(worker):
    assert traced_stream(worker, "async_count", 2) == [0, 1]
    spans = finished(worker)
    names = sorted(s["name"] for s in children(spans, server_span(spans, "async_count")))
    assert names == ["user async item 0", "user async item 1"]


def test_a_python_exception_is_recorded_on_the_server_span_with_an_error_status(worker):
    kind, error = traced_call(worker, "fail", "no good")
    assert kind == "error" and error["type"] == "ValueError"
    span = server_span(finished(worker), "fail")
    assert span["status"] == "ERROR"
    assert span["status_description"] == "ValueError: no good"
    assert span["attributes"]["error.type"] == "ValueError"
    assert span["attributes"]["snakebridge.outcome"] == "error"
    (event,) = [e for e in span["events"] if e["name"] == "exception"]
    assert event["attributes"]["exception.type"] == "ValueError"
    assert event["attributes"]["exception.message"] == "no good"


@pytest.mark.parametrize(
    "traceparent",
    ["not-a-traceparent", f"00-{'0' * 32}-{HOST_SPAN}-01", f"ff-{TRACE_ID}-{HOST_SPAN}-01", "00-" + "z" * 52],
)
def test_a_traceparent_that_does_not_parse_is_ignored_and_the_call_runs_in_a_trace_of_its_own(worker, traceparent):
    assert traced_call(worker, "add", 2, 3, trace=TraceContext(traceparent)) == ("result", 5)
    span = server_span(finished(worker), "add")
    assert span["parent_span_id"] is None
    assert span["trace_id"] != TRACE_ID


def test_a_call_without_a_trace_context_gets_no_span(worker):
    assert traced_call(worker, "current_span", trace=None) == ("result", None)
    assert traced_call(worker, "add", 2, 3, trace=None) == ("result", 5)
    assert [s["name"] for s in finished(worker)] == ["user add"]


@pytest.mark.parametrize("where", ["start", "end"])
def test_a_tracer_that_fails_never_loses_a_calls_outcome(where):
    worker = WorkerClient()
    try:
        worker.ready()
        assert worker.call("tracing_targets.install_failing_tracer", where) == ("result", True)
        assert worker.outcome(worker.send_call("operator.add", (2, 3), trace=HOST)) == ("result", 5)
        kind, error = worker.outcome(worker.send_call("operator.truediv", (1, 0), trace=HOST))
        assert kind == "error" and error["type"] == "ZeroDivisionError"
    finally:
        worker.close()


def test_an_untraced_call_imports_nothing_of_opentelemetry():
    worker = WorkerClient()
    try:
        worker.ready()
        assert worker.call("tracing_targets.opentelemetry_imported") == ("result", False)
    finally:
        worker.close()


def test_without_opentelemetry_a_traced_call_runs_untraced(tmp_path: Path):
    blocked = tmp_path / "opentelemetry"
    blocked.mkdir()
    (blocked / "__init__.py").write_text('raise ImportError("opentelemetry is not installed here")\n')
    worker = WorkerClient(python_path=(str(tmp_path),))
    try:
        worker.ready()
        assert worker.outcome(worker.send_call("operator.add", (2, 3), trace=HOST)) == ("result", 5)
        assert worker.outcome(worker.send_call("operator.add", (4, 5), trace=HOST)) == ("result", 9)
        assert worker.call("tracing_targets.opentelemetry_imported") == ("result", False)
    finally:
        worker.close()


# --- over gRPC: the trace context comes as metadata -----------------------------------------------


@pytest.fixture(scope="module")
def server_client() -> Iterator[Client]:
    server = ServerProcess("--threads", "1")
    channel = server.channel()
    client = Client(channel)
    client.hello()
    assert client.call(f"{TRACING}.install") == ("result", True)
    yield client
    channel.close()
    server.stop()


@pytest.fixture
def traced_server(server_client: Client) -> Client:
    """The server, its finished spans forgotten."""
    assert server_client.call(f"{TRACING}.install") == ("result", True)
    return server_client


def server_call(client: Client, name: str, metadata: list[tuple[str, str]], *args: Any) -> tuple[str, Any]:
    return client.outcome(client.stub.Call(client.request(f"{TRACING}.{name}", args), metadata=metadata))


def server_finished(client: Client) -> list[dict[str, Any]]:
    kind, spans = client.call(f"{TRACING}.finished")
    assert kind == "result", spans
    return spans


def test_a_call_with_traceparent_metadata_runs_in_a_child_server_span(traced_server: Client):
    metadata = [("traceparent", TRACEPARENT), ("tracestate", HOST.tracestate)]
    assert server_call(traced_server, "add", metadata, 2, 3) == ("result", 5)
    spans = server_finished(traced_server)
    span = server_span(spans, "add")
    assert (span["kind"], span["trace_id"], span["parent_span_id"]) == ("SERVER", TRACE_ID, HOST_SPAN)
    assert [s["name"] for s in children(spans, span)] == ["user add"]


def test_a_coroutine_function_run_straight_from_the_event_loop_has_its_server_span_current(traced_server: Client):
    # The first call finds out it is a coroutine function (on the executor's thread); the second starts on the loop.
    metadata = [("traceparent", TRACEPARENT)]
    for _ in range(2):
        assert server_call(traced_server, "async_add", metadata, 2, 3) == ("result", 5)
    spans = server_finished(traced_server)
    servers = [s for s in spans if s["name"] == f"python {TRACING}.async_add"]
    assert len(servers) == 2
    for span in servers:
        assert span["parent_span_id"] == HOST_SPAN
        assert [s["name"] for s in children(spans, span)] == ["user async add"]


def test_a_stream_over_exchange_with_traceparent_metadata_runs_in_a_child_server_span(traced_server: Client):
    request = pb.ExchangeRequest(call=traced_server.request(f"{TRACING}.count", [2]), window=8)
    replies = traced_server.stub.Exchange(iter([request]), metadata=[("traceparent", TRACEPARENT)])
    assert [json.loads(reply.item) for reply in replies] == [0, 1]
    spans = server_finished(traced_server)
    span = server_span(spans, "count")
    assert span["parent_span_id"] == HOST_SPAN
    assert sorted(s["name"] for s in children(spans, span)) == ["user item 0", "user item 1"]


def test_traceparent_metadata_that_does_not_parse_is_ignored_and_the_call_runs_in_a_trace_of_its_own(
    traced_server: Client,
):
    assert server_call(traced_server, "add", [("traceparent", "garbage")], 1, 1) == ("result", 2)
    span = server_span(server_finished(traced_server), "add")
    assert span["parent_span_id"] is None and span["trace_id"] != TRACE_ID


def test_traceparent_metadata_longer_than_the_wire_allows_is_dropped_before_it_is_read(traced_server: Client):
    too_long = f"{TRACEPARENT}-{'a' * 256}"
    assert server_call(traced_server, "add", [("traceparent", too_long)], 1, 1) == ("result", 2)
    assert [s["name"] for s in server_finished(traced_server)] == ["user add"]


def test_traced_pipelined_calls_run_in_server_spans_that_are_children_of_their_own_host_spans(worker):
    """A CALL with both the meta's trace block and the PIPELINED flag: the call that makes a promise, and
    one held back on it until it settles, each run in its own SERVER span, the child of the host's span it
    brought (held back or not)."""
    gate = f"traced-{id(worker)}"
    other = TraceContext(f"00-{'1' * 32}-{'2' * 16}-01")
    made = worker.send_call("snakebridge.testing.pipelining.held", [gate, 5], trace=HOST, promise=PROMISED_1)
    on_it = worker.send_call("plus", [1], handle=PROMISED_1, trace=other, pipelined=True)
    assert worker.outcome(worker.send_call("snakebridge.testing.pipelining.open_gate", [gate])) == ("result", None)
    assert worker.outcome(made)[0] == "result"
    assert worker.outcome(on_it)[0] == "result"
    spans = finished(worker)
    (held,) = [s for s in spans if s["name"] == "python snakebridge.testing.pipelining.held"]
    assert held["kind"] == "SERVER"
    assert (held["trace_id"], held["parent_span_id"]) == (TRACE_ID, HOST_SPAN)
    (plus,) = [s for s in spans if s["name"] == "python plus"]
    assert plus["kind"] == "SERVER"
    assert (plus["trace_id"], plus["parent_span_id"]) == ("1" * 32, "2" * 16)
