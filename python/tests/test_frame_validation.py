"""Header validation on the worker's side: every field is checked as it arrives, a
header never makes the reader allocate what it announces, and a malformed frame
from the host ends the worker with a clear error (exit status EXIT_PROTOCOL)."""

from __future__ import annotations

import json
import os
import zlib

import pytest
from worker_client import WorkerClient

from snakebridge.lifecycle import EXIT_PROTOCOL
from snakebridge.protocol import Frame, FrameReader, Kind, encode_frame
from snakebridge.protocol.frames import BODY_STEP, HEADER, HEADER_SIZE, FrameError, header_fault
from snakebridge.worker.connection import CONTROL_KINDS, DATA_KINDS, FrameSource, MalformedFrameError

# --- the reader ------------------------------------------------------------------------------------


def test_a_bad_field_is_refused_as_soon_as_it_arrives():
    # Five bytes: a plausible length, then a kind no frame has. The other fifteen are not waited for.
    reader = FrameReader(1 << 20)
    reader.feed(HEADER.pack(HEADER_SIZE - 4, 0xEE, 0, 0, 2, 0, 0)[:5])
    with pytest.raises(FrameError) as info:
        reader.frames()
    assert info.value.fault == "kind"


def test_a_prefix_of_a_good_header_is_waited_for():
    frame = encode_frame(Kind.CALL, 1, b"x" * 30, 1)
    for cut in range(HEADER_SIZE):
        assert header_fault(frame[:cut]) is None


def test_a_header_announcing_200_mib_costs_only_the_bytes_that_came():
    fields = HEADER.pack(HEADER_SIZE - 4 + 200 * 1024 * 1024, Kind.CALL, 0, 1, 2, 1, 0) + bytes(4)
    header = fields + zlib.crc32(fields).to_bytes(4, "little")
    reader = FrameReader(256 * 1024 * 1024)
    reader.feed(header + b"abc")
    assert reader.frames() == []
    assert reader.buffered == HEADER_SIZE + 3
    # Reading it from a pipe, the room handed out is one step at most, never the announced size.
    with reader.buffer_for_body() as room:
        assert 0 < len(room) <= BODY_STEP
    reader.filled(0)
    assert reader.buffered == HEADER_SIZE + 3


def test_kinds_that_do_not_come_this_way_are_refused_at_their_header():
    reader = FrameReader(1 << 20, accept=DATA_KINDS)
    reader.feed(encode_frame(Kind.CREDIT, 1, aux=3) + encode_frame(Kind.RESULT, 1, b"5", 1)[:6])
    with pytest.raises(FrameError) as info:
        reader.frames()
    assert info.value.fault == "unexpected-kind"
    assert [f.kind for f in info.value.frames] == [Kind.CREDIT]
    assert Kind.CALLBACK_RESULT in CONTROL_KINDS and Kind.CALL not in CONTROL_KINDS


def test_a_large_body_read_from_a_pipe_never_holds_more_than_arrived_plus_one_step():
    body = os.urandom(3 * BODY_STEP + 12345)
    data = encode_frame(Kind.CALL, 1, body, 1)
    read_fd, write_fd = os.pipe()
    try:
        reader = FrameReader(1 << 24)
        source = FrameSource(read_fd, reader)
        written = 0
        frames: list = []
        while not frames:
            written += os.write(write_fd, data[written : written + 60_000])  # less than a pipe holds
            frames += source.read()
            assert len(reader._buffer) <= written + BODY_STEP
        assert isinstance(frames[0], Frame) and bytes(frames[0].body) == body
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_malformed_frame_keeps_the_rule_it_broke():
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, b"\xff" * HEADER_SIZE)
        with pytest.raises(MalformedFrameError) as info:
            FrameSource(read_fd, FrameReader(1 << 20)).read()
        assert info.value.fault == "kind"
    finally:
        os.close(read_fd)
        os.close(write_fd)


# --- the worker ------------------------------------------------------------------------------------


def _ends_with_a_protocol_error(client: WorkerClient) -> str:
    """Waits for the worker to leave; returns its stderr after checking its exit status."""
    status = client.process.wait(timeout=10)
    stderr = client.process.stderr.read().decode()  # type: ignore[union-attr]
    client.close()
    assert status == EXIT_PROTOCOL, stderr
    return stderr


@pytest.mark.parametrize(
    ("channel", "data", "says"),
    [
        ("data", b"\x00garbage where a header should be\x00", "malformed frame"),
        ("data", encode_frame(Kind.RESULT, 1, b"5", 1), "RESULT frames do not come this way"),
        ("control", encode_frame(Kind.CALL, 1, b"", 1)[:8] + b"\xff" * 16, "malformed frame"),
        ("control", encode_frame(Kind.RELEASE, 0, b"{}", 1), "RELEASE frames do not come this way"),
        ("data", encode_frame(Kind.CREDIT, 1)[:7] + b"\x01" + b"\x00" * 16, "frame version 1"),
    ],
)
def test_a_malformed_frame_from_the_host_ends_the_worker_with_a_clear_error(channel, data, says):
    client = WorkerClient()
    client.ready()
    assert client.call("len", "abc") == ("result", 3)
    os.write(client._control if channel == "control" else client._data, data)
    stderr = _ends_with_a_protocol_error(client)
    assert "malformed frame from the host: malformed frame: " in stderr
    assert says in stderr


def test_a_hello_in_the_old_format_is_refused_naming_the_versions():
    old_hello = bytes.fromhex("210000000100000000000000010000007b2273657269616c697a6572223a226a736f6e227d")
    client = WorkerClient(first_frame=old_hello)
    frame = client.next_frame(kinds=(Kind.READY, Kind.ERROR))
    status = client.close()
    payload = json.loads(bytes(frame.body))
    assert frame.kind == Kind.ERROR and payload["code"] == "PROTOCOL"
    assert "frame version 0" in payload["message"] and "Install matching versions" in payload["message"]
    assert status == EXIT_PROTOCOL
