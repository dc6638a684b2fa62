"""The worker's Writer over a real pipe: scattered bodies (large arrays written
from their own memory) and when deferred frames go out."""

from __future__ import annotations

import contextlib
import os
import select
import threading

import pytest

from snakebridge.protocol import FrameReader, Kind
from snakebridge.serializers.base import Scattered
from snakebridge.serializers.msgpack import SCATTER_BYTES, MsgpackSerializer
from snakebridge.worker.connection import Writer

np = pytest.importorskip("numpy")


@pytest.fixture
def pipe():
    read_end, write_end = os.pipe()
    yield read_end, write_end
    for fd in (read_end, write_end):
        with contextlib.suppress(OSError):  # a test may have closed it
            os.close(fd)


def read_frames(fd: int, count: int, timeout: float = 10.0) -> list:
    """Reads until ``count`` frames have arrived (or fails after ``timeout`` with none coming)."""
    reader = FrameReader(max_frame_bytes=1 << 30)
    frames: list = []
    while len(frames) < count:
        ready, _, _ = select.select([fd], [], [], timeout)
        assert ready, f"only {len(frames)} of {count} frames arrived"
        reader.feed(os.read(fd, 1 << 20))
        frames += reader.frames()
    return frames


def drain_in_thread(fd: int, count: int) -> tuple[threading.Thread, list]:
    out: list = []
    thread = threading.Thread(target=lambda: out.extend(read_frames(fd, count)), daemon=True)
    thread.start()
    return thread, out


def test_a_scattered_body_arrives_as_the_bytes_it_joins_to(pipe):
    read_end, write_end = pipe
    value = ["odd", np.arange(SCATTER_BYTES // 8 + 5, dtype="float64"), "tail"]
    serializer = MsgpackSerializer()
    body = serializer.encode_scattered(value)
    assert isinstance(body, Scattered)
    thread, frames = drain_in_thread(read_end, 1)
    Writer(write_end, on_broken=lambda: None).send(Kind.RESULT, 7, body, serializer.wire_id)
    thread.join(10)
    assert [(f.kind, f.id, bytes(f.body)) for f in frames] == [(Kind.RESULT, 7, serializer.encode(value))]


def test_empty_parts_do_not_stall_the_write(pipe):
    read_end, write_end = pipe
    body = Scattered([b"", b"abc", memoryview(b"")])  # parts of length 0 at either end
    thread, frames = drain_in_thread(read_end, 1)
    Writer(write_end, on_broken=lambda: None).send(Kind.RESULT, 1, body, 2)
    thread.join(10)
    assert [bytes(f.body) for f in frames] == [b"abc"]


def test_a_scattered_body_is_written_at_once_even_when_deferred(pipe):
    # Its parts are memory the caller's code may change next (an array a function returned and keeps).
    read_end, write_end = pipe
    array = np.zeros(SCATTER_BYTES // 8 + 1)
    serializer = MsgpackSerializer()
    thread, frames = drain_in_thread(read_end, 1)
    Writer(write_end, on_broken=lambda: None).send(Kind.RESULT, 1, serializer.encode_scattered(array), 2, flush=False)
    thread.join(10)  # no flush() and no flusher: it must already be out
    array[:] = 1.0
    assert bytes(frames[0].body[-8:]) == bytes(8), "the bytes sent must be the array as it was"


def test_a_deferred_frame_waits_for_flush_and_wakes_no_thread(pipe):
    read_end, write_end = pipe
    writer = Writer(write_end, on_broken=lambda: None)
    threads_before = {t.name for t in threading.enumerate()}
    writer.send(Kind.RESULT, 1, b"\x01", 2, flush=False)
    assert select.select([read_end], [], [], 0)[0] == []  # held back: the executor flushes before it reads
    assert "snakebridge-flusher" not in {t.name for t in threading.enumerate()} - threads_before
    writer.flush()
    assert [f.id for f in read_frames(read_end, 1)] == [1]


def test_flush_soon_gets_deferred_frames_out_without_a_flush(pipe):
    # What the executor calls before running more user code while results are deferred: the flusher
    # thread writes them, so they never wait for a call that blocks.
    read_end, write_end = pipe
    writer = Writer(write_end, on_broken=lambda: None)
    writer.send(Kind.RESULT, 1, b"\x01", 2, flush=False)
    writer.flush_soon()
    assert [f.id for f in read_frames(read_end, 1)] == [1]
