"""A HELLO the worker cannot use is answered with a fatal PROTOCOL error frame
and exit status EXIT_PROTOCOL, never a bare traceback."""

from __future__ import annotations

import json

import pytest
from worker_client import WorkerClient

from snakebridge import PROTOCOL_VERSION
from snakebridge.lifecycle import EXIT_PROTOCOL
from snakebridge.protocol import Kind, encode_frame


def _fatal(first_frame: bytes) -> tuple[dict, int]:
    client = WorkerClient(first_frame=first_frame)
    frame = client.next_frame(kinds=(Kind.READY, Kind.ERROR))
    status = client.close()
    assert frame.kind == Kind.ERROR, bytes(frame.body)
    return json.loads(bytes(frame.body)), status


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not an object of options"),
    ],
)
def test_a_hello_whose_options_are_not_a_json_object_is_refused(body: bytes, says: str) -> None:
    payload, status = _fatal(encode_frame(Kind.HELLO, 0, body, 1, aux=PROTOCOL_VERSION))
    assert payload["code"] == "PROTOCOL"
    assert says in payload["message"]
    assert status == EXIT_PROTOCOL


def test_a_first_frame_that_is_not_hello_is_refused() -> None:
    payload, status = _fatal(encode_frame(Kind.PING, 0, b"", 0))
    assert payload["code"] == "PROTOCOL"
    assert "expected HELLO first" in payload["message"]
    assert status == EXIT_PROTOCOL


def test_a_malformed_header_before_hello_is_refused() -> None:
    # A kind no frame has: the byte stream cannot be trusted from here on.
    bad = bytearray(encode_frame(Kind.HELLO, 0, b"{}", 1, aux=PROTOCOL_VERSION))
    bad[4] = 0xEE  # the header is <IBBBBII: length, then kind
    payload, status = _fatal(bytes(bad))
    assert payload["code"] == "PROTOCOL"
    assert "malformed frame before HELLO" in payload["message"]
    assert status == EXIT_PROTOCOL


def test_a_hello_option_of_the_wrong_type_is_refused_naming_it() -> None:
    body = json.dumps({"serializer": "json", "threads": "four"}).encode()
    payload, status = _fatal(encode_frame(Kind.HELLO, 0, body, 1, aux=PROTOCOL_VERSION))
    assert payload["code"] == "PROTOCOL"
    assert payload["message"] == "HELLO option threads must be an integer of 0 or more, got 'four' (string)"
    assert status == EXIT_PROTOCOL


def test_a_hello_option_this_worker_does_not_know_is_ignored() -> None:
    client = WorkerClient(someFutureOption={"on": True}, threads=1)
    assert client.ready()["serializer"] == "json"
    assert client.call("len", [1, 2, 3]) == ("result", 3)
    assert client.close() == 0
