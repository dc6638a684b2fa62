"""The gRPC server on its own: a real ``python -m snakebridge.server`` process,
called through the generated stubs."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from server_client import CONTRACT, PYTHON_ROOT, Client, Ref, ServerProcess, decode, pb, recall, tag
from waiting import eventually

from snakebridge import PROTOCOL_VERSION
from snakebridge.server.options import UsageError, parse_options


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    process = ServerProcess()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[Client]:
    channel = server.channel()
    client = Client(channel)
    client.hello()
    yield client
    channel.close()


# --- start-up -----------------------------------------------------------------------------------


def test_writes_one_ready_line_with_port_and_pid_once_it_serves(server: ServerProcess):
    assert server.info["pid"] == server.process.pid
    assert server.info["port"] > 0
    with server.channel() as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_hello_reports_protocol_pid_python_and_serializer(server: ServerProcess, client: Client):
    reply = client.hello()
    assert reply.protocol == PROTOCOL_VERSION
    assert reply.pid == server.process.pid
    assert reply.python.count(".") == 2
    assert reply.serializer == "json"


def test_hello_refuses_another_protocol_version_and_an_unknown_serializer(client: Client):
    with pytest.raises(grpc.RpcError) as version:
        client.hello(protocol=99)
    assert version.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "protocol 99" in version.value.details()
    with pytest.raises(grpc.RpcError) as serializer:
        client.hello(serializer="yaml")
    assert serializer.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "yaml" in serializer.value.details()


def test_refuses_calls_before_hello_agreed_on_a_serializer(server: ServerProcess):
    fresh = ServerProcess()
    try:
        with fresh.channel() as channel:
            with pytest.raises(grpc.RpcError) as error:
                Client(channel).call("math.hypot", 3, 4)
            assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    finally:
        fresh.stop()


# --- calls and errors ------------------------------------------------------------------------------


def test_calls_functions_by_dotted_name_with_kwargs(client: Client):
    assert client.call(f"{CONTRACT}.greet", "Ada", greeting="Hi") == ("result", "Hi, Ada!")
    assert client.call("math.hypot", 3, 4) == ("result", 5.0)
    assert client.call("len", [1, 2]) == ("result", 2)


def test_awaits_async_functions_on_its_loop(client: Client):
    assert client.call(f"{CONTRACT}.async_echo", [1, "two"]) == ("result", [1, "two"])
    assert client.call(f"{CONTRACT}.async_echo", 3) == ("result", 3)  # the second time straight from the loop


def test_an_async_function_called_before_does_not_wait_for_a_sync_call_on_the_main_thread(client: Client):
    assert client.call(f"{CONTRACT}.async_echo", "known") == ("result", "known")
    busy = client.stub.Call.future(client.request(f"{CONTRACT}.sleep", [1.5]))
    time.sleep(0.2)  # the sleep holds the main thread
    started = time.monotonic()
    assert client.call(f"{CONTRACT}.async_echo", "now") == ("result", "now")
    assert time.monotonic() - started < 1
    assert decode(busy.result().result) == 1.5


def test_runs_eval_exec_getattr_and_setattr(client: Client):
    assert client.send(client.request("x * 2 + 1", kwargs={"x": 20}, op="eval")) == ("result", 41)
    assert client.send(client.request(f"{CONTRACT}.ANSWER", op="getattr")) == ("result", 42)
    assert client.send(client.request(f"{CONTRACT}.ANSWER", [43], op="setattr")) == ("result", None)
    assert client.send(client.request(f"{CONTRACT}.ANSWER", op="getattr")) == ("result", 43)
    client.send(client.request(f"{CONTRACT}.ANSWER", [42], op="setattr"))


def test_describes_an_exception_with_its_cause_chain_and_only_user_frames(client: Client):
    kind, payload = client.call(f"{CONTRACT}.fail_with_cause")
    assert kind == "error"
    assert payload["type"] == "RuntimeError"
    assert payload["message"] == "lookup failed"
    assert payload["mro"][:2] == ["builtins.RuntimeError", "builtins.Exception"]
    assert payload["cause"]["type"] == "KeyError"
    assert payload["frames"][-1]["name"] == "fail_with_cause"
    assert all("snakebridge/server" not in frame["file"] for frame in payload["frames"])
    assert "code" not in payload


def test_marks_its_own_refusals_with_a_code(client: Client):
    kind, payload = client.send(client.request("increment", handle=999_999))
    assert (kind, payload["code"]) == ("error", "HANDLE_INVALID")


# --- handles and sessions ------------------------------------------------------------------------


def test_keeps_an_object_it_cannot_send_as_a_handle_until_released(client: Client):
    kind, handle = client.call(f"{CONTRACT}.make_counter", 5)
    assert kind == "result" and handle[0] == "handle"
    counter = handle[1]
    assert client.send(client.request("increment", [2], handle=counter)) == ("result", 7)
    assert client.send(client.request("value", handle=counter, op="getattr")) == ("result", 7)
    assert client.call(f"{CONTRACT}.read_counter", Ref(counter)) == ("result", 7)
    client.stub.Release(pb.ReleaseRequest(handles=[counter]))
    kind, payload = client.send(client.request("increment", handle=counter))
    assert (kind, payload["code"]) == ("error", "HANDLE_INVALID")


def test_a_session_keeps_its_eval_namespace_and_handles_until_it_is_released(client: Client):
    session = str(uuid.uuid4())
    assert client.send(client.request("kept = 7", op="exec", session=session)) == ("result", None)
    assert client.send(client.request("kept", op="eval", session=session)) == ("result", 7)
    kind, payload = client.send(client.request("kept", op="eval", session=str(uuid.uuid4())))
    assert (kind, payload["type"]) == ("error", "NameError")
    _, (_, counter) = client.send(client.request(f"{CONTRACT}.make_counter", [1], session=session))
    before = client.stub.Stats(pb.StatsRequest()).handles
    client.stub.Release(pb.ReleaseRequest(session=session))
    assert client.stub.Stats(pb.StatsRequest()).handles == before - 1
    kind, payload = client.send(client.request("increment", handle=counter, session=session))
    assert (kind, payload["code"]) == ("error", "HANDLE_INVALID")


def test_refuses_handles_of_another_instance_of_the_server(client: Client):
    _, (_, counter) = client.call(f"{CONTRACT}.make_counter", 1)
    stale = [("snakebridge-instance", "000000000000")]
    reply = client.stub.Call(client.request("increment", handle=counter), metadata=stale)
    assert client.outcome(reply)[1]["code"] == "HANDLE_INVALID"
    client.stub.Release(pb.ReleaseRequest(handles=[counter]), metadata=stale)  # must not free this life's object
    assert client.send(client.request("increment", handle=counter)) == ("result", 2)


def test_reports_memory_calls_in_flight_and_handles(client: Client):
    _, (_, counter) = client.call(f"{CONTRACT}.make_counter", 1)
    stats = client.stub.Stats(pb.StatsRequest())
    assert stats.rss > 10 * 1024 * 1024
    assert stats.handles >= 1
    assert stats.in_flight == 0
    client.stub.Release(pb.ReleaseRequest(handles=[counter]))


# --- streams: Exchange with a window ----------------------------------------------------------------


def test_an_exchange_streams_a_generator_then_ends_with_ok(client: Client):
    replies = client.stream(client.request(f"{CONTRACT}.count", [5]), window=64)
    assert [decode(reply.item) for reply in replies] == [0, 1, 2, 3, 4]
    assert replies.code() == grpc.StatusCode.OK


def test_an_exchange_streams_an_async_generator(client: Client):
    replies = client.stream(client.request(f"{CONTRACT}.async_count", [4]), window=2, credits=iter([2, 2, 2]))
    assert [decode(reply.item) for reply in replies] == [0, 1, 2, 3]


def test_an_exchange_sends_the_items_before_an_exception_then_the_exception(client: Client):
    replies = list(client.stream(client.request(f"{CONTRACT}.count_then_fail", [3]), window=64))
    assert [decode(reply.item) for reply in replies[:-1]] == [0, 1, 2]
    assert replies[-1].WhichOneof("message") == "error"
    assert b"stream failed" in replies[-1].error


def test_an_exchange_never_runs_a_generator_more_than_its_credit_ahead_and_closes_it_when_cancelled(client: Client):
    name = tag()
    grants: queue.Queue[int | None] = queue.Queue()

    def credits() -> Iterator[int]:
        while (count := grants.get()) is not None:
            yield count

    replies = client.stream(client.request(f"{CONTRACT}.endless", [name]), window=4, credits=credits())
    assert decode(next(replies).item) == 0
    time.sleep(0.3)
    assert recall(client, f"{name}:produced") == 4  # the window, and not one more
    grants.put(3)
    assert eventually(lambda: recall(client, f"{name}:produced") == 7)
    time.sleep(0.2)
    assert recall(client, f"{name}:produced") == 7
    replies.cancel()
    grants.put(None)
    assert eventually(lambda: recall(client, name) == "closed")


# --- cancellation -----------------------------------------------------------------------------------


def test_a_deadline_cancels_an_async_call_inside_python(client: Client):
    name = tag()
    with pytest.raises(grpc.RpcError) as error:
        client.send(client.request(f"{CONTRACT}.cancellable_sleep", [name, 30]), timeout=0.5)
    assert error.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert eventually(lambda: recall(client, name) == "cancelled")


def test_a_client_cancel_interrupts_a_running_sync_call_on_the_main_thread(client: Client):
    future = client.stub.Call.future(client.request(f"{CONTRACT}.sleep", [30]))
    time.sleep(0.3)
    future.cancel()
    started = time.monotonic()
    # One sync call at a time: this one runs only once the sleep was interrupted.
    assert client.call(f"{CONTRACT}.add", 2, 2) == ("result", 4)
    assert time.monotonic() - started < 3


def test_a_cancel_raises_cancelled_in_a_pool_thread():
    server = ServerProcess("--threads", "2")
    try:
        with server.channel() as channel:
            client = Client(channel)
            client.hello()
            name = tag()
            with pytest.raises(grpc.RpcError):
                client.send(client.request("server_fixtures.spin", [name]), timeout=0.5)
            assert eventually(lambda: recall(client, name) == "Cancelled")
    finally:
        server.stop()


def test_exits_when_a_cancelled_call_does_not_stop_within_the_grace_period():
    # time.sleep in a pool thread ignores PyThreadState_SetAsyncExc until it returns.
    server = ServerProcess("--threads", "1", "--cancel-grace-ms", "300")
    with server.channel() as channel:
        client = Client(channel)
        client.hello()
        with pytest.raises(grpc.RpcError):
            client.send(client.request(f"{CONTRACT}.sleep", [30]), timeout=0.2)
    assert server.process.wait(timeout=10) == 6
    assert "did not stop within 300 ms" in server.stderr()


# --- limits ------------------------------------------------------------------------------------------


def test_refuses_oversize_messages_in_both_directions_and_keeps_serving():
    server = ServerProcess("--max-message-bytes", str(1024 * 1024))
    try:
        with server.channel(**{"grpc.max_receive_message_length": 8 * 1024 * 1024}) as channel:
            client = Client(channel)
            client.hello()
            with pytest.raises(grpc.RpcError) as error:
                client.call(f"{CONTRACT}.echo", "x" * 2 * 1024 * 1024)
            assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            kind, payload = client.call("server_fixtures.big", 2 * 1024 * 1024)
            assert (kind, payload["code"]) == ("error", "PROTOCOL")
            assert "--max-message-bytes" in payload["message"]
            assert client.call(f"{CONTRACT}.add", 1, 2) == ("result", 3)
    finally:
        server.stop()


# --- the token ---------------------------------------------------------------------------------------


def test_a_missing_or_wrong_token_is_refused_before_any_code_runs():
    server = ServerProcess(env={"SNAKEBRIDGE_TOKEN": "s3cret"})
    try:
        with server.channel() as channel:
            name = tag()
            for token in (None, "wrong"):
                intruder = Client(channel, token)
                with pytest.raises(grpc.RpcError) as error:
                    intruder.call(f"{CONTRACT}.remember", name, "ran")
                assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
                with pytest.raises(grpc.RpcError) as stream_error:
                    list(intruder.stream(intruder.request(f"{CONTRACT}.count", [3]), window=4))
                assert stream_error.value.code() == grpc.StatusCode.UNAUTHENTICATED
            # Health checks need no token: probes cannot send one.
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            owner = Client(channel, "s3cret")
            owner.hello()
            assert recall(owner, name) is None
            assert owner.call(f"{CONTRACT}.add", 1, 1) == ("result", 2)
    finally:
        server.stop()


# --- exposure ------------------------------------------------------------------------------------------


def test_refuses_a_non_loopback_address_without_tls_and_a_token():
    with pytest.raises(UsageError, match="without TLS and a token"):
        parse_options(["--host", "0.0.0.0"], env={})
    with pytest.raises(UsageError, match="without TLS"):
        parse_options(["--host", "0.0.0.0", "--token", "t"], env={})
    assert parse_options(["--host", "::1"], env={}).exposure_warning is None
    insecure = parse_options(["--host", "0.0.0.0", "--insecure"], env={})
    assert "anyone who can reach this port" in (insecure.exposure_warning or "")


def test_the_command_exits_with_a_usage_error_for_a_public_address_and_warns_when_insecure():
    refused = subprocess.run(
        [sys.executable, "-m", "snakebridge.server", "--host", "0.0.0.0"],
        env={**os.environ, "PYTHONPATH": str(PYTHON_ROOT), "SNAKEBRIDGE_TOKEN": ""},
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert refused.returncode == 2
    assert "refusing to listen on 0.0.0.0" in refused.stderr
    insecure = ServerProcess("--host", "0.0.0.0", "--insecure")
    assert insecure.stop() == 0
    assert "anyone who can reach this port" in insecure.stderr()


# --- lifetime -----------------------------------------------------------------------------------------


def test_exits_when_its_lifeline_reaches_end_of_file():
    server = ServerProcess()
    server.close_lifeline()
    assert server.process.wait(timeout=10) == 0


def test_sigterm_lets_the_call_in_flight_finish_then_exits():
    server = ServerProcess()
    with server.channel() as channel:
        client = Client(channel)
        client.hello()
        outcome: list[tuple[str, object]] = []
        call = threading.Thread(target=lambda: outcome.append(client.call(f"{CONTRACT}.slow_echo", "done", 0.5)))
        call.start()
        time.sleep(0.2)
        server.process.send_signal(signal.SIGTERM)
        call.join(timeout=10)
    assert outcome == [("result", "done")]
    assert server.process.wait(timeout=10) == 0
    server.close_lifeline()


def test_dies_at_once_when_started_by_a_host_that_is_not_its_parent():
    server = ServerProcess(env={"SNAKEBRIDGE_HOST_PID": "1"}, wait_ready=False)
    assert server.process.wait(timeout=10) == 5
    server.close_lifeline()


def test_serves_health_alone_in_plaintext_on_the_health_port_for_probes():
    probe_port = _free_port()
    server = ServerProcess("--health-port", str(probe_port), env={"SNAKEBRIDGE_TOKEN": "t"})
    try:
        with grpc.insecure_channel(f"127.0.0.1:{probe_port}") as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            with pytest.raises(grpc.RpcError) as error:
                Client(channel, "t").hello()
            assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        server.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_listens_on_a_unix_socket(tmp_path):
    path = tmp_path / "bridge.sock"
    server = ServerProcess("--unix", str(path))
    try:
        assert server.info == {"socket": str(path), "pid": server.process.pid}
        with grpc.insecure_channel(f"unix:{path}") as channel:
            client = Client(channel)
            client.hello()
            assert client.call("math.hypot", 3, 4) == ("result", 5.0)
    finally:
        server.stop()
