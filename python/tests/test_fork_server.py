"""The fork server: forked workers answer like spawned ones, each over its own
channels; exits are reported with their code or signal; workers die with
the server; the server outlives its requests until its workers are gone;
it never forks while it runs a thread. And its messages against the golden
vectors shared with TypeScript."""

from __future__ import annotations

import json
import os
import signal
import socket

import pytest
from fork_server_host import ForkServerHost
from values import VECTORS

from snakebridge.forkserver import messages
from snakebridge.forkserver.messages import ForkRequest, RequestError, SignalRequest
from snakebridge.lifecycle import EXIT_PROTOCOL

DOCUMENT = json.loads((VECTORS / "protocol" / "fork-server.json").read_text(encoding="utf-8"))


@pytest.fixture
def host():
    server = ForkServerHost()
    yield server
    server.discard()


def test_a_forked_worker_answers_calls_as_a_spawned_one_does(host):
    worker = host.fork("w3")
    ready = worker.ready()
    assert ready["pid"] == worker.pid
    assert worker.call("operator.add", 2, 3) == ("result", 5)
    assert worker.call("os.environ.get", "SNAKEBRIDGE_WORKER_ID") == ("result", "w3")
    # Its parent is the server, which it dies with; the host pid it is told is still the host's.
    assert worker.call("os.getppid") == ("result", host.process.pid)
    assert worker.call("os.environ.get", "SNAKEBRIDGE_HOST_PID") == ("result", str(os.getpid()))
    assert worker.close() == 0


def test_each_forked_worker_has_its_own_stdout_and_stderr(host):
    first, second = host.fork("w1"), host.fork("w2")
    first.ready()
    second.ready()
    first.call("builtins.print", "from the first")
    second.call("builtins.exec", "import sys; print('from the second', file=sys.stderr)")
    assert first.output(first.stdout, b"\n") == b"from the first\n"
    assert second.output(second.stderr, b"\n") == b"from the second\n"
    first.close()
    second.close()


def test_a_forked_worker_holds_no_descriptor_of_the_server(host):
    worker = host.fork()
    worker.ready()
    status, links = worker.call("fork_targets.descriptor_links")
    assert status == "result", links
    server_links = {
        os.readlink(f"/proc/{host.process.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{host.process.pid}/fd")
    }
    # Pipes and sockets are named by inode: none of the server's (its requests, events, wake-up pipe) is open here.
    assert {link for link in links if link.startswith(("pipe:", "socket:"))} & server_links == set()
    worker.close()


def test_the_exit_of_a_worker_is_reported_with_its_code(host):
    worker = host.fork()
    worker.ready()
    worker.send_call("os._exit", [7])
    assert host.exit_of(worker.pid) == {"event": "exit", "pid": worker.pid, "code": 7, "signal": None}


def test_a_signal_the_host_asks_for_reaches_the_worker_and_its_exit_names_it(host):
    worker = host.fork()
    worker.ready()
    host.send({"op": "signal", "pid": worker.pid, "signal": "SIGKILL"})
    assert host.exit_of(worker.pid) == {"event": "exit", "pid": worker.pid, "code": None, "signal": "SIGKILL"}


def test_a_signal_for_a_pid_that_is_not_one_of_its_workers_is_ignored(host):
    bystander = os.fork()
    if bystander == 0:
        signal.pause()
        os._exit(0)
    try:
        host.send({"op": "signal", "pid": bystander, "signal": "SIGKILL"})
        worker = host.fork()  # the server is still serving, and has sent nothing to the bystander
        worker.ready()
        assert os.waitpid(bystander, os.WNOHANG) == (0, 0)
        worker.close()
    finally:
        os.kill(bystander, signal.SIGKILL)
        os.waitpid(bystander, 0)


def test_workers_die_with_the_server(host):
    worker = host.fork()
    worker.ready()
    host.process.kill()
    # Its parent-death signal kills it: its output channel closes, though the host has closed nothing.
    out = socket.socket(fileno=os.dup(worker._out))
    out.settimeout(10)
    assert out.recv(1) == b""
    out.close()


def test_the_server_waits_for_its_workers_when_the_host_closes_its_requests(host):
    worker = host.fork()
    worker.ready()
    os.close(host._requests)
    assert worker.call("operator.add", 1, 1) == ("result", 2)  # alive and served after the requests closed
    assert host.process.poll() is None
    assert worker.close() == 0
    assert host.process.wait(timeout=10) == 0


def test_a_request_it_cannot_read_ends_the_server_with_the_protocol_status(host):
    host.send(b'{"op":"fork","id":1}')
    assert host.process.wait(timeout=10) == EXIT_PROTOCOL
    assert b"a fork request needs" in host.process.stderr.read()  # type: ignore[union-attr]


def test_it_refuses_to_fork_while_it_runs_a_thread(monkeypatch):
    from snakebridge.forkserver import server as server_module

    forks = []
    sent: list[bytes] = []
    monkeypatch.setattr(server_module, "_thread_count", lambda: 2)
    monkeypatch.setattr(server_module.os, "fork", lambda: forks.append(1) or 1)
    fork_server = object.__new__(server_module.ForkServer)
    fork_server._children = {}
    monkeypatch.setattr(fork_server, "_send", sent.append, raising=False)
    fork_server._fork(ForkRequest(9, "w1", bytes(16)))
    assert forks == []
    assert json.loads(sent[0])["event"] == "fork-failed"
    assert "2 threads" in json.loads(sent[0])["message"]


# --- messages, against the golden vectors ------------------------------------------------------------


@pytest.mark.parametrize("vector", DOCUMENT["requests"], ids=[v["name"] for v in DOCUMENT["requests"]])
def test_reads_each_request(vector):
    request = messages.decode_request(vector["line"].encode())
    message = vector["message"]
    if message["op"] == "fork":
        assert request == ForkRequest(message["id"], message["workerId"], bytes.fromhex(message["token"]))
    else:
        assert request == SignalRequest(message["pid"], signal.Signals[message["signal"]])


@pytest.mark.parametrize("vector", DOCUMENT["events"], ids=[v["name"] for v in DOCUMENT["events"]])
def test_writes_each_event_as_the_vector_says(vector):
    message = vector["message"]
    kind = message["event"]
    if kind == "ready":
        line = messages.ready(message["pid"])
    elif kind == "forked":
        line = messages.forked(message["id"], message["pid"])
    elif kind == "fork-failed":
        line = messages.fork_failed(message["id"], message["message"])
    else:
        line = messages.exited(message["pid"], vector["status"])
    assert line == vector["line"].encode() + b"\n"


@pytest.mark.parametrize("vector", DOCUMENT["invalidRequests"], ids=[v["name"] for v in DOCUMENT["invalidRequests"]])
def test_refuses_each_invalid_request(vector):
    with pytest.raises(RequestError):
        messages.decode_request(vector["line"].encode())


@pytest.mark.parametrize("vector", DOCUMENT["preambles"], ids=[v["name"] for v in DOCUMENT["preambles"]])
def test_a_preamble_is_the_token_then_the_fd(vector):
    preamble = bytes.fromhex(vector["token"]) + bytes((vector["fd"],))
    assert preamble.hex() == vector["hex"]
    assert len(preamble) == messages.PREAMBLE_BYTES
