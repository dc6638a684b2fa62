"""Every call gets exactly one final frame, whatever it raised or returned:
lone surrogates, failed encodes, errors larger than the frame limit. Failed
encodes free the handles they made, released objects are not kept alive by
caches, and a malformed frame is reported as such."""

from __future__ import annotations

import gc
import json
import os
import weakref
from typing import Any

import pytest
from server_client import Client, ServerProcess
from worker_client import WorkerClient

from snakebridge.calls import Dispatcher, HandleTable, Resolver
from snakebridge.errors import HandleError, ProtocolError, SerializationError
from snakebridge.protocol import HEADER, FrameReader, Kind, Op, encode_frame
from snakebridge.serializers.json import JsonSerializer
from snakebridge.serializers.msgpack import MsgpackSerializer
from snakebridge.worker.connection import FrameSource, MalformedFrameError
from snakebridge.worker.outcomes import Outcomes

LONE = "bad " + chr(0xDCFF)
SERIALIZERS = [JsonSerializer, MsgpackSerializer]


class RecordingWriter:
    """Stands in for the worker's Writer: keeps the frames it is asked to send."""

    def __init__(self) -> None:
        self.frames: list[tuple[int, int, bytes]] = []

    def send(self, kind, id, body=b"", serializer=0, flags=0, aux=0, *, flush=True) -> None:
        self.frames.append((kind, id, bytes(body)))


def make_outcomes(max_frame_bytes: int = 1 << 20, serializer: Any = None, handles: HandleTable | None = None):
    writer = RecordingWriter()
    handles = handles if handles is not None else HandleTable()
    outcomes = Outcomes(writer, serializer or JsonSerializer(), handles, max_frame_bytes)  # type: ignore[arg-type]
    return outcomes, writer, handles


def only_error(writer: RecordingWriter, call_id: int = 1) -> tuple[bytes, dict[str, Any]]:
    """The body and payload of the single ERROR frame the writer got."""
    assert [(kind, id) for kind, id, _ in writer.frames] == [(Kind.ERROR, call_id)]
    body = writer.frames[0][2]
    return body, json.loads(body)


def raised(exc: BaseException) -> BaseException:
    """``exc`` with a traceback, as user code would raise it."""
    try:
        raise exc
    except BaseException as caught:
        return caught


def down(depth: int) -> None:
    if depth == 0:
        raise ValueError("deep")
    across(depth - 1)


def across(depth: int) -> None:
    # Two functions in turn: a traceback folds one that calls itself into "[Previous line repeated]".
    down(depth)


def pong(worker: WorkerClient) -> dict[str, Any]:
    worker.send(Kind.PING, 77, control=True)
    return json.loads(bytes(worker.next_frame(kinds=(Kind.PONG,)).body))


# --- lone surrogates ------------------------------------------------------------------------------


def test_an_error_whose_message_holds_a_lone_surrogate_is_sent_intact():
    outcomes, writer, _ = make_outcomes()
    exc = raised(ValueError(LONE))
    exc.__notes__ = ["note " + chr(0xD800)]  # add_note() is 3.11+; this is what it sets
    outcomes.error(1, exc)
    _, payload = only_error(writer)
    assert payload["type"] == "ValueError"
    assert payload["message"] == LONE
    assert payload["notes"] == ["note " + chr(0xD800)]


def test_an_exception_that_cannot_be_described_still_gets_one_error():
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no str")

    exc = raised(KeyError("k"))
    exc.__notes__ = [Unprintable()]  # exception_payload calls str() on each note
    outcomes, writer, _ = make_outcomes()
    outcomes.error(1, exc)
    _, payload = only_error(writer)
    assert payload["type"] == "KeyError"
    assert payload["module"] == "builtins"
    assert "could not be described" in payload["message"]


def test_the_worker_answers_an_error_with_a_lone_surrogate_and_keeps_serving(worker):
    call = worker.send_call("raise ValueError('bad ' + chr(0xdcff))", op=Op.EXEC)
    kind, payload = worker.outcome(call)
    assert (kind, payload["type"], payload["message"]) == ("error", "ValueError", LONE)
    assert worker.call("len", [1, 2]) == ("result", 2)


@pytest.mark.parametrize("serializer", ["json", "msgpack"])
def test_a_result_with_a_lone_surrogate_is_a_serialization_error(serializer):
    client = WorkerClient(serializer=serializer)
    try:
        client.ready()
        kind, payload = client.outcome(client.send_call("'bad ' + chr(0xdcff)", op=Op.EVAL))
        assert (kind, payload["code"]) == ("error", "SERIALIZATION")
        kind, payload = client.outcome(client.send_call("{'k' + chr(0xdcff): 1}", op=Op.EVAL))
        assert (kind, payload["code"]) == ("error", "SERIALIZATION")
        call = client.send_call("1 + 1", op=Op.EVAL)
        assert (client.next_frame(kinds=(Kind.RESULT, Kind.ERROR)).kind, call) == (Kind.RESULT, 3)
    finally:
        assert client.close() == 0


@pytest.mark.parametrize("serializer_class", SERIALIZERS)
def test_a_stream_item_with_a_lone_surrogate_raises_a_typed_error(serializer_class):
    outcomes, writer, _ = make_outcomes(serializer=serializer_class())
    with pytest.raises(SerializationError):
        outcomes.item(1, LONE, 0)
    assert writer.frames == []


# --- handles made by an encode that fails ------------------------------------------------------------


@pytest.mark.parametrize("serializer_class", SERIALIZERS)
def test_a_result_over_the_frame_limit_frees_the_handles_it_made(serializer_class):
    outcomes, writer, handles = make_outcomes(max_frame_bytes=256, serializer=serializer_class())
    outcomes.result(1, [object() for _ in range(50)], 0)
    _, payload = only_error(writer)
    assert payload["code"] == "PROTOCOL"
    assert len(handles) == 0


@pytest.mark.parametrize("serializer_class", SERIALIZERS)
def test_a_result_whose_later_element_fails_frees_the_handles_made_before(serializer_class):
    outcomes, writer, handles = make_outcomes(serializer=serializer_class())
    outcomes.result(1, [object(), object(), LONE], 0)
    _, payload = only_error(writer)
    assert payload["code"] == "SERIALIZATION"
    assert len(handles) == 0


def test_a_result_past_the_session_handle_limit_frees_the_handles_it_made():
    outcomes, writer, handles = make_outcomes(handles=HandleTable(max_per_session=2))
    kept = handles.add(object(), 5)
    outcomes.result(1, [object(), object()], 5)
    _, payload = only_error(writer)
    assert payload["code"] == HandleError.code
    assert len(handles) == 1
    assert handles.get(kept.id) is not None


def test_a_stream_item_that_fails_frees_its_handles_and_a_good_one_keeps_them():
    outcomes, writer, handles = make_outcomes(max_frame_bytes=256)
    with pytest.raises(ProtocolError):
        outcomes.item(1, [object() for _ in range(50)], 0)
    assert len(handles) == 0
    outcomes.item(1, [object()], 0)
    outcomes.result(2, object(), 0)
    assert [kind for kind, _, _ in writer.frames] == [Kind.ITEM, Kind.RESULT]
    assert len(handles) == 2


def test_the_worker_keeps_no_handles_for_a_result_it_could_not_send():
    client = WorkerClient(maxFrameBytes=4096)
    try:
        client.ready()
        kind, payload = client.outcome(client.send_call("[object() for _ in range(500)]", op=Op.EVAL))
        assert (kind, payload["code"]) == ("error", "PROTOCOL")
        assert pong(client)["handles"] == 0
    finally:
        assert client.close() == 0


# --- released objects and the coroutine cache ----------------------------------------------------------


class Counter:
    def bump(self) -> int:
        return 1

    async def later(self) -> int:
        return 2


class Items(list):
    """A list that can be weakly referenced; its ``append`` is a builtin bound method."""


def test_a_released_handle_object_is_not_kept_alive_by_the_coroutine_cache():
    dispatcher = Dispatcher(Resolver(), HandleTable())
    counter, items = Counter(), Items()
    counter_ref, items_ref = weakref.ref(counter), weakref.ref(items)
    wires = [dispatcher.handles.add(counter, 0), dispatcher.handles.add(items, 0)]
    del counter, items
    # Each lookup makes a fresh bound method whose __self__ is the handle's object.
    assert dispatcher.is_coroutine_function(dispatcher.lookup("bump", wires[0].id)) is False
    assert dispatcher.is_coroutine_function(dispatcher.lookup("later", wires[0].id)) is True
    assert dispatcher.is_coroutine_function(dispatcher.lookup("append", wires[1].id)) is False
    dispatcher.release([wire.id for wire in wires])
    gc.collect()
    assert counter_ref() is None
    assert items_ref() is None


def test_the_coroutine_cache_still_answers_per_function():
    dispatcher = Dispatcher(Resolver(), HandleTable())
    a, b = Counter(), Counter()
    assert dispatcher.is_coroutine_function(a.bump) is False
    assert dispatcher.is_coroutine_function(b.later) is True
    assert dispatcher.is_coroutine_function(a.later) is True
    assert dispatcher.is_coroutine_function(len) is False

    class Unhashable:
        __hash__ = None  # type: ignore[assignment]

        def __call__(self) -> None:
            return None

    class Slotted:
        __slots__ = ()

        def __call__(self) -> None:
            return None

    assert dispatcher.is_coroutine_function(Unhashable()) is False
    assert dispatcher.is_coroutine_function(Slotted()) is False


# --- errors larger than the frame limit ------------------------------------------------------------------


@pytest.mark.parametrize("text", ["x" * 200_000, "é" * 100_000, "\U0001f600" * 50_000, chr(0xDCFF) * 50_000])
def test_a_huge_error_message_is_cut_to_fit_the_frame_limit(text):
    outcomes, writer, _ = make_outcomes(max_frame_bytes=8192)
    outcomes.error(1, raised(ValueError(text)))
    body, payload = only_error(writer)
    assert len(body) <= 8192
    assert payload["type"] == "ValueError"
    assert payload["message"].startswith(text[:100])
    assert "[truncated" in payload["message"]


def test_a_huge_traceback_keeps_its_innermost_frames_and_says_it_was_cut():
    with pytest.raises(ValueError) as info:
        down(200)
    outcomes, writer, _ = make_outcomes(max_frame_bytes=8192)
    outcomes.error(1, info.value)
    body, payload = only_error(writer)
    assert len(body) <= 8192
    assert "truncated" in payload["traceback"][0]
    assert "raise ValueError" in payload["traceback"][-1]
    assert payload["frames"][-1]["name"] == "down"
    assert len(payload["frames"]) < 400


def test_a_long_chain_of_huge_errors_fits_the_frame_limit():
    exc: BaseException | None = None
    for level in range(30):
        try:
            raise RuntimeError(f"level {level} " + "y" * 50_000) from exc
        except RuntimeError as caught:
            exc = caught
    assert exc is not None
    outcomes, writer, _ = make_outcomes(max_frame_bytes=4096)
    outcomes.error(1, exc)
    body, payload = only_error(writer)
    assert len(body) <= 4096
    assert payload["message"].startswith("level 29 ")


def test_a_small_error_is_not_cut():
    outcomes, writer, _ = make_outcomes(max_frame_bytes=8192)
    outcomes.error(1, raised(ValueError("short")))
    _, payload = only_error(writer)
    assert payload["message"] == "short"
    assert "truncated" not in json.dumps(payload)


def test_the_worker_cuts_a_huge_error_to_its_frame_limit():
    client = WorkerClient(maxFrameBytes=64 * 1024)
    try:
        client.ready()
        kind, payload = client.outcome(client.send_call("raise ValueError('z' * 1_000_000)", op=Op.EXEC))
        assert (kind, payload["type"]) == ("error", "ValueError")
        assert "[truncated" in payload["message"]
        assert client.call("len", [1]) == ("result", 1)
    finally:
        assert client.close() == 0


# --- the gRPC server's errors ---------------------------------------------------------------------------


def test_the_server_answers_a_lone_surrogate_and_a_huge_error_within_its_message_limit():
    server = ServerProcess("--max-message-bytes", str(1024 * 1024))
    try:
        with server.channel(**{"grpc.max_receive_message_length": 8 * 1024 * 1024}) as channel:
            client = Client(channel)
            client.hello()
            kind, payload = client.send(client.request("raise ValueError('bad ' + chr(0xdcff))", op="exec"))
            assert (kind, payload["message"]) == ("error", LONE)
            kind, payload = client.send(client.request("raise ValueError('z' * 3_000_000)", op="exec"))
            assert (kind, payload["type"]) == ("error", "ValueError")
            assert "[truncated" in payload["message"]
            assert client.call("len", [1]) == ("result", 1)
    finally:
        server.stop()


# --- malformed frames ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        HEADER.pack(12, 0xEE, 0, 0, 0, 1, 0),  # no such kind
        HEADER.pack(3, int(Kind.CALL), 0, 0, 0, 1, 0),  # shorter than its own header
    ],
)
def test_a_malformed_header_raises_malformed_frame(header):
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, encode_frame(Kind.PING, 1) + header)
        source = FrameSource(read_fd, FrameReader(1 << 20))
        with pytest.raises(MalformedFrameError) as info:
            source.read()
        assert isinstance(info.value, ValueError)  # callers catching ValueError still see it
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_well_formed_frames_read_as_before():
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, encode_frame(Kind.PING, 1) + encode_frame(Kind.CREDIT, 2, aux=3))
        frames = FrameSource(read_fd, FrameReader(1 << 20)).read()
        assert [(f.kind, f.id, f.aux) for f in frames] == [(Kind.PING, 1, 0), (Kind.CREDIT, 2, 3)]
    finally:
        os.close(read_fd)
        os.close(write_fd)
