"""The worker's end of the shared-memory lane (worker/shared_memory.py), the segment table
(protocol/segments.py, pinned by vectors/protocol/segments.json) and msgpack's shared ndarray.

A "host" here is this very process: the lane reaches segments through
/proc/<host pid>/fd/<fd>, so a file opened by the test stands for one the host made."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest
from values import VECTORS

from snakebridge.errors import ProtocolError, SerializationError
from snakebridge.options import WorkerOptions
from snakebridge.protocol.segments import SegmentEntry, segment_table, split_segment_table
from snakebridge.serializers.msgpack import EXT_SHARED_NDARRAY, MsgpackSerializer
from snakebridge.worker.shared_memory import SharedMemoryLane

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the lane needs /proc and /dev/shm")

TABLES = json.loads((VECTORS / "protocol" / "segments.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("vector", TABLES["valid"], ids=lambda v: v["name"])
def test_a_valid_table_splits_and_is_written_byte_for_byte(vector):
    body, entries = split_segment_table(bytes.fromhex(vector["hex"]))
    assert bytes(body).hex() == vector["body"]
    assert [list(entry) for entry in entries] == vector["entries"]
    assert vector["body"] + segment_table([SegmentEntry(*entry) for entry in vector["entries"]]).hex() == vector["hex"]


@pytest.mark.parametrize("vector", TABLES["invalid"], ids=lambda v: v["name"])
def test_an_invalid_table_is_a_protocol_error(vector):
    with pytest.raises(ProtocolError, match="segment table"):
        split_segment_table(bytes.fromhex(vector["hex"]))


def _host_segment(data: bytes) -> int:
    """A file as the host makes one: created in /dev/shm, unlinked at once, kept open."""
    path = f"/dev/shm/snakebridge-test-{os.getpid()}"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    os.unlink(path)
    os.write(fd, data)
    return fd


@pytest.fixture
def lane():
    return SharedMemoryLane(os.getpid(), threshold_bytes=1024)


def test_the_host_segment_is_mapped_read_only_as_an_array_from_the_pipe_is(lane):
    data = np.arange(512, dtype=np.float64).tobytes()
    fd = _host_segment(data)
    try:
        (view,) = lane.map([SegmentEntry(fd, len(data))], max_bytes=1 << 20)
        array = np.frombuffer(view, dtype=np.float64)
        assert array[511] == 511
        assert not array.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            array[0] = -1
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (lambda fd: SegmentEntry(fd, 99), "is not a file of 99 bytes"),
        (lambda fd: SegmentEntry(987_654, 8), "could not be opened"),
        (lambda fd: SegmentEntry(fd, 1 << 30), "more than protocol.maxFrameBytes"),
    ],
    ids=["another length", "no such descriptor", "over the frame limit"],
)
def test_a_segment_that_is_not_what_its_entry_says_is_refused(lane, entry, message):
    fd = _host_segment(bytes(64))
    try:
        with pytest.raises(ProtocolError, match=message):
            lane.map([entry(fd)], max_bytes=1 << 20)
    finally:
        os.close(fd)


def test_segments_that_together_hold_more_than_a_frame_may_are_refused_before_any_is_opened(lane):
    entries = [SegmentEntry(987_654, 600_000), SegmentEntry(987_655, 600_000)]  # neither descriptor exists
    with pytest.raises(ProtocolError, match=r"hold 1200000 bytes, more than protocol\.maxFrameBytes"):
        lane.map(entries, max_bytes=1 << 20)


def test_a_fifo_is_refused_without_blocking(lane, tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    try:
        with pytest.raises(ProtocolError, match="is not a file"):
            lane.map([SegmentEntry(fd, 8)], max_bytes=1 << 20)
    finally:
        os.close(fd)


def test_result_segments_stay_open_until_the_host_releases_them(lane):
    raw = memoryview(np.arange(256, dtype=np.float64)).cast("B")
    entry = lane.put(raw)
    assert entry.length == 2048
    assert os.pread(entry.ref, 2048, 0) == raw.tobytes()
    assert "(deleted)" in os.readlink(f"/proc/self/fd/{entry.ref}")  # no name to leak
    assert lane.outstanding == 1
    lane.release([entry.ref])
    assert lane.outstanding == 0
    with pytest.raises(OSError):
        os.fstat(entry.ref)


def test_release_closes_nothing_but_segments_it_sent(lane):
    read_end, write_end = os.pipe()
    try:
        lane.release([read_end, write_end, 0, 1, 2])
        os.fstat(read_end)  # still open: a host cannot make the worker close what it likes
        os.fstat(write_end)
    finally:
        os.close(read_end)
        os.close(write_end)


def _serializer(lane: SharedMemoryLane) -> MsgpackSerializer:
    serializer = MsgpackSerializer()
    serializer.shared_memory = lane
    return serializer


def test_large_arrays_in_results_go_to_segments_and_read_back_from_them(lane):
    serializer = _serializer(lane)
    segments: list[SegmentEntry] = []
    value = {"big": np.arange(1000, dtype=np.float64), "small": np.arange(3, dtype=np.float64)}
    body = serializer.encode_scattered(value, segments=segments)
    assert len(segments) == 1
    assert len(body) < 200  # the big array's 8,000 bytes are not in the message
    mapped = lane.map([SegmentEntry(segments[0].ref, segments[0].length)], max_bytes=1 << 20)
    back = serializer.decode(bytes(body), segments=mapped)
    assert np.array_equal(back["big"], value["big"])
    assert np.array_equal(back["small"], value["small"])
    lane.release([entry.ref for entry in segments])


def test_an_array_goes_in_the_message_when_no_segment_can_be_made(tmp_path):
    full = SharedMemoryLane(os.getpid(), threshold_bytes=1024, directory=str(tmp_path / "missing"))
    serializer = _serializer(full)
    segments: list[SegmentEntry] = []
    value = np.arange(1000, dtype=np.float64)
    body = serializer.encode_scattered(value, segments=segments)
    assert segments == []
    assert np.array_equal(serializer.decode(bytes(body)), value)


def test_a_result_whose_segments_hold_more_than_a_frame_may_is_refused_and_its_segments_freed(lane):
    from snakebridge.calls.encoding import encode_value
    from snakebridge.calls.handles import HandleTable

    segments: list[SegmentEntry] = []
    too_large = "the result is {size} bytes, more than {limit}"
    with pytest.raises(ProtocolError, match=r"the result is 80\d\d bytes, more than 4096"):
        encode_value(
            _serializer(lane), np.arange(1000, dtype=np.float64), HandleTable(), 0, 4096, too_large, [],
            scatter=True, segments=segments,
        )  # fmt: skip
    assert segments == []
    assert lane.outstanding == 0


def test_without_a_segments_list_nothing_goes_to_a_segment(lane):
    serializer = _serializer(lane)
    body = serializer.encode_scattered(np.arange(1000, dtype=np.float64))
    assert len(body) > 8000
    assert lane.outstanding == 0


def test_a_failed_encode_releases_the_segments_it_made(lane):
    serializer = _serializer(lane)
    segments: list[SegmentEntry] = []
    with pytest.raises(SerializationError):
        serializer.encode_scattered([np.arange(1000, dtype=np.float64), object()], segments=segments)
    assert lane.outstanding == 0


@pytest.mark.parametrize(
    ("segments", "message"),
    [(None, "did not come with the message"), ([], "did not come with the message")],
    ids=["no segments", "too few"],
)
def test_a_shared_ndarray_naming_a_missing_segment_is_malformed(segments, message):
    import msgpack

    payload = bytes.fromhex("09010800") + (5).to_bytes(4, "little") + (0).to_bytes(4, "little")
    data = msgpack.packb(msgpack.ExtType(EXT_SHARED_NDARRAY, payload))
    with pytest.raises(SerializationError, match=message):
        MsgpackSerializer().decode(data, segments=segments)


def test_a_shared_ndarray_whose_segment_does_not_fit_its_shape_is_malformed():
    import msgpack

    payload = bytes.fromhex("09010800") + (5).to_bytes(4, "little") + (0).to_bytes(4, "little")
    data = msgpack.packb(msgpack.ExtType(EXT_SHARED_NDARRAY, payload))
    with pytest.raises(SerializationError, match="cannot hold 16 bytes"):
        MsgpackSerializer().decode(data, segments=[memoryview(bytes(16))])


def test_hello_carries_the_lane():
    options = WorkerOptions.from_hello(
        {"serializer": "msgpack", "sharedMemory": {"thresholdBytes": 4096, "hostPid": 7}}
    )
    assert options.shared_memory is not None
    assert (options.shared_memory.threshold_bytes, options.shared_memory.host_pid) == (4096, 7)
    assert WorkerOptions.from_hello({"serializer": "msgpack", "sharedMemory": None}).shared_memory is None
    with pytest.raises(ProtocolError, match=r"sharedMemory\.thresholdBytes"):
        WorkerOptions.from_hello({"serializer": "msgpack", "sharedMemory": {"thresholdBytes": 0, "hostPid": 7}})


def _split_and_rewrite(data: bytes) -> None:
    body, entries = split_segment_table(data)
    assert 1 <= len(entries) <= 1024
    assert bytes(body) + segment_table(entries) == data, "the table does not encode back to its bytes"


def test_every_mutated_and_random_table_splits_or_is_refused_with_a_protocol_error():
    from fuzz_kit import fuzz

    corpus = [bytes.fromhex(vector["hex"]) for vector in TABLES["valid"]]
    fuzz("segment table", corpus, _split_and_rewrite, (ProtocolError,))
