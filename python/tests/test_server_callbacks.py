"""Host callbacks over gRPC: a real ``python -m snakebridge.server`` runs the
functions of callback_targets.py, called by Exchange; the test plays the host,
answering each ``callback`` reply with a ``callback_result`` on the same RPC
(docs/protocol.md, "gRPC"). Plain calls by Exchange (window 0) are here too;
streams by Exchange are in test_server.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from server_client import CONTRACT, Client, Exchange, Ref, decode, pb, served_client

from snakebridge.calls.callbacks import EXPIRED
from snakebridge.serializers.base import CallbackRef
from snakebridge.server.exchange import HOST_CLOSED

TARGETS = "callback_targets"
#: No exchange of these tests takes long: one that hangs fails instead.
DEADLINE_SECONDS = 30.0


@pytest.fixture(scope="module", params=[(), ("--threads", "2")], ids=["main-thread", "thread-pool"])
def client(request: pytest.FixtureRequest) -> Iterator[Client]:
    with served_client(*request.param) as client:
        yield client


def exchange(
    client: Client, target: str, *args: Any, window: int = 0, session: str = "", timeout: float = DEADLINE_SECONDS
) -> Exchange:
    """An Exchange of ``target`` (in callback_targets unless dotted) with ``args``."""
    name = target if "." in target else f"{TARGETS}.{target}"
    return client.exchange(client.request(name, args, session=session), window, timeout=timeout)


def wait_seen(client: Client, key: str) -> Any:
    """What the server's side recorded under ``key``, once recorded."""
    kind, value = client.call(f"{TARGETS}.wait_seen", key)
    assert kind == "result", value
    return value


def key() -> str:
    return f"k-{uuid.uuid4().hex[:8]}"


# --- plain calls by Exchange --------------------------------------------------------------------


def test_a_plain_call_by_exchange_sends_its_result_then_ends_with_ok(client: Client):
    assert exchange(client, f"{CONTRACT}.add", 2, 3).outcome() == ("result", 5)
    assert exchange(client, f"{CONTRACT}.async_echo", [1, "two"]).outcome() == ("result", [1, "two"])


def test_a_plain_call_by_exchange_sends_its_error_then_ends_with_ok(client: Client):
    kind, payload = exchange(client, f"{CONTRACT}.fail_with_cause").outcome()
    assert (kind, payload["type"], payload["message"]) == ("error", "RuntimeError", "lookup failed")
    refused = client.exchange(client.request("increment", handle=999_999), 0, timeout=DEADLINE_SECONDS)
    kind, payload = refused.outcome()
    assert (kind, payload["code"]) == ("error", "HANDLE_INVALID")


def test_an_exchange_must_start_with_its_call(client: Client):
    replies = client.stub.Exchange(iter([pb.ExchangeRequest(credit=1)]), timeout=DEADLINE_SECONDS)
    with pytest.raises(grpc.RpcError) as error:
        list(replies)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


# --- calling back -------------------------------------------------------------------------------


def test_a_sync_function_calls_a_callback_and_uses_its_result(client: Client):
    call = exchange(client, "apply_plus_one", CallbackRef(1), 5)
    request_id, index, args = call.callback()
    assert (index, args) == (1, [5])
    call.answer(request_id, 41)
    assert call.outcome() == ("result", 42)


def test_a_callback_can_be_called_many_times_each_with_a_fresh_request_id(client: Client):
    call = exchange(client, "call_many", CallbackRef(1), 3)
    ids = []
    for expected in range(3):
        request_id, index, args = call.callback()
        assert (index, args) == (1, [expected])
        ids.append(request_id)
        call.answer(request_id, expected * 10)
    assert call.outcome() == ("result", [0, 10, 20])
    assert len(set(ids)) == 3


def test_each_callback_of_a_call_keeps_its_index_wherever_it_is_in_the_arguments(client: Client):
    outcome, value, _, requests = exchange(client, "compose", CallbackRef(1), CallbackRef(2), 3).serve(
        {1: lambda x: x + 1, 2: lambda x: x * 2}
    )
    assert (outcome, value, requests) == ("result", 8, [(1, [3]), (2, [4])])
    options = {"on_item": CallbackRef(1), "items": ["a", "b"], "on_done": CallbackRef(2)}
    outcome, value, _, requests = exchange(client, "call_nested", options).serve(
        {1: lambda item: None, 2: lambda count: f"{count} done"}
    )
    assert (outcome, value, requests) == ("result", "2 done", [(1, ["a"]), (1, ["b"]), (2, [2])])


def test_a_callback_is_a_host_callback_with_a_useful_repr(client: Client):
    kind, value = exchange(client, "describe", CallbackRef(1)).outcome()
    assert kind == "result"
    assert (value["type"], value["index"]) == ("HostCallback", 1)
    assert value["repr"].startswith("<HostCallback #1 of call ")


def test_objects_travel_to_the_host_as_handles_of_the_calls_session_and_come_back_as_themselves(client: Client):
    session = str(uuid.uuid4())
    outcome, value, _, requests = exchange(client, "round_trip_object", CallbackRef(1), session=session).serve(
        {1: lambda handle: Ref(handle[1])}
    )
    assert (outcome, value) == ("result", True)
    assert requests[0][1][0][0] == "handle"
    before = client.stub.Stats(pb.StatsRequest()).handles
    client.stub.Release(pb.ReleaseRequest(session=session))
    assert client.stub.Stats(pb.StatsRequest()).handles == before - 1


def test_a_callback_called_from_a_thread_of_the_users_own(client: Client):
    outcome, value, _, _ = exchange(client, "call_in_thread", CallbackRef(1), 2).serve({1: lambda x: x * 3})
    assert (outcome, value) == ("result", 6)


def test_an_async_function_awaits_a_callback_without_blocking_the_event_loop(client: Client):
    call = exchange(client, "apply_async", CallbackRef(1), "ping")
    request_id, index, args = call.callback()
    assert (index, args) == (1, ["ping"])
    # Meanwhile other calls run to their end, async and sync.
    assert client.call(f"{CONTRACT}.async_echo", "meanwhile") == ("result", "meanwhile")
    assert client.call("len", "abc") == ("result", 3)
    call.answer(request_id, "pong")
    assert call.outcome() == ("result", "pong")


def test_a_sync_call_of_a_callback_on_the_event_loop_is_refused_rather_than_deadlocked(client: Client):
    kind, payload = exchange(client, "call_without_await", CallbackRef(1)).outcome()
    assert (kind, payload["type"]) == ("error", "RuntimeError")
    assert "acall" in payload["message"]


@pytest.mark.parametrize("target", ["report_progress", "report_progress_async"])
def test_a_stream_calls_back_between_its_items(client: Client, target: str):
    outcome, _, items, requests = exchange(client, target, CallbackRef(1), 3, window=8).serve({1: lambda i: None})
    assert (outcome, items) == ("end", [0, 1, 2])
    assert requests == [(1, [0]), (1, [1]), (1, [2])]


# --- errors ---------------------------------------------------------------------------------------


def test_a_javascript_exception_raises_host_callback_error_in_python(client: Client):
    call = exchange(client, "describe_failure", CallbackRef(1))
    request_id, _, _ = call.callback()
    call.fail(request_id, "TypeError", "boom", "TypeError: boom\n    at cb (host.ts:3:9)")
    assert call.outcome() == (
        "result",
        {
            "type": "HostCallbackError",
            "message": "boom",
            "name": "TypeError",
            "stack": "TypeError: boom\n    at cb (host.ts:3:9)",
        },
    )


def test_an_uncaught_host_callback_error_reaches_the_host_as_an_error_of_user_code(client: Client):
    call = exchange(client, "call_uncaught", CallbackRef(1))
    request_id, _, _ = call.callback()
    call.fail(request_id, "RangeError", "out of range")
    kind, payload = call.outcome()
    assert kind == "error"
    assert (payload["type"], payload["module"], payload["message"]) == (
        "HostCallbackError",
        "snakebridge.errors",
        "out of range",
    )
    assert "code" not in payload


def test_keyword_arguments_are_refused_before_anything_is_sent(client: Client):
    # outcome() checks that the error is the first reply: no callback request came before it.
    kind, payload = exchange(client, "call_with_keywords", CallbackRef(1)).outcome()
    assert (kind, payload["type"]) == ("error", "TypeError")
    assert "positional arguments only" in payload["message"]


def test_a_callback_in_a_unary_call_fails_when_called(client: Client):
    kind, value = client.call(f"{TARGETS}.describe_failure", CallbackRef(1))
    assert (kind, value["type"]) == ("result", "HostCallbackError")
    assert "unary Call" in value["message"]


def test_callbacks_fail_once_the_host_half_closes_the_exchange(client: Client):
    call = exchange(client, "describe_failure", CallbackRef(1))
    call.callback()
    call.half_close()  # without answering: no answer can come any more
    kind, value = call.outcome()
    assert (kind, value["type"], value["message"]) == ("result", "HostCallbackError", HOST_CLOSED)


# --- expiry ---------------------------------------------------------------------------------------


def test_a_callback_returned_as_a_result_is_a_handle_that_expires_with_its_call(client: Client):
    kind, value = exchange(client, "identity", CallbackRef(1)).outcome()
    assert kind == "result" and value[0] == "handle"
    handle = value[1]
    # Called through its handle, by Call or by Exchange: it fails at once, nothing is sent to the host.
    kind, payload = client.send(client.request("", ["late"], handle=handle))
    assert (kind, payload["type"], payload["message"]) == ("error", "HostCallbackError", EXPIRED)
    later = client.exchange(client.request("", ["late"], handle=handle), 0, timeout=DEADLINE_SECONDS)
    kind, payload = later.outcome()
    assert (kind, payload["type"], payload["message"]) == ("error", "HostCallbackError", EXPIRED)
    client.stub.Release(pb.ReleaseRequest(handles=[handle]))


def test_a_callback_still_waiting_when_its_call_ends_expires(client: Client):
    name = key()
    call = exchange(client, "leave_a_callback_waiting", name, CallbackRef(1))
    # The thread's request may leave before the result or not at all; it is never answered here.
    for reply in call.replies:
        if reply.WhichOneof("message") != "callback":
            assert reply.WhichOneof("message") == "result" and decode(reply.result) is None
            break
    call.half_close()
    assert wait_seen(client, name) == f"HostCallbackError: {EXPIRED}"


# --- cancellation and deadlines -------------------------------------------------------------------


@pytest.mark.parametrize(("target", "how"), [("wait_for_callback", "left"), ("wait_for_callback_async", "cancelled")])
def test_cancelling_the_exchange_interrupts_a_wait_for_a_callback(client: Client, target: str, how: str):
    name = key()
    call = exchange(client, target, name, CallbackRef(1))
    call.callback()
    call.cancel()
    with pytest.raises(grpc.RpcError) as error:
        call.next()
    assert error.value.code() == grpc.StatusCode.CANCELLED
    assert wait_seen(client, name) == how
    assert client.call("len", "abc") == ("result", 3)


def test_a_deadline_interrupts_a_wait_for_a_callback_the_host_never_answers(client: Client):
    name = key()
    call = exchange(client, "wait_for_callback", name, CallbackRef(1), timeout=2.0)
    call.callback()
    with pytest.raises(grpc.RpcError) as error:
        call.next()
    assert error.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    call.half_close()
    assert wait_seen(client, name) == "left"
    assert client.call("len", "abcd") == ("result", 4)
