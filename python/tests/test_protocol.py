"""The Python frame codec against the golden vectors shared with TypeScript."""

from __future__ import annotations

import json

import pytest
from values import VECTORS

from snakebridge.protocol import (
    CallMeta,
    Frame,
    FrameReader,
    FrameTooLarge,
    Op,
    TraceContext,
    decode_call,
    encode_call,
    encode_frame,
)
from snakebridge.protocol.frames import FrameError

DOCUMENT = json.loads((VECTORS / "protocol" / "frames.json").read_text(encoding="utf-8"))
FRAMES = DOCUMENT["vectors"]
INVALID = DOCUMENT["invalid"]
OPS = {op.name.lower(): int(op) for op in Op}


@pytest.mark.parametrize("vector", FRAMES, ids=[v["name"] for v in FRAMES])
def test_encodes_each_frame_to_the_expected_bytes(vector):
    frame = encode_frame(
        vector["kind"],
        vector["id"],
        bytes.fromhex(vector["body"]),
        vector["serializer"],
        vector["flags"],
        vector["aux"],
    )
    assert frame.hex() == vector["hex"]


@pytest.mark.parametrize("vector", FRAMES, ids=[v["name"] for v in FRAMES])
def test_decodes_each_frame_whatever_the_chunking(vector):
    data = bytes.fromhex(vector["hex"])
    for size in (1, 3, 16, len(data)):
        reader = FrameReader(max_frame_bytes=1 << 20)
        frames = []
        for start in range(0, len(data), size):
            reader.feed(data[start : start + size])
            frames += reader.frames()
        assert frames == [
            Frame(
                vector["kind"],
                vector["id"],
                bytes.fromhex(vector["body"]),
                vector["serializer"],
                vector["flags"],
                vector["aux"],
            )
        ]


@pytest.mark.parametrize("vector", [v for v in FRAMES if "call" in v], ids=[v["name"] for v in FRAMES if "call" in v])
def test_call_meta_round_trips(vector):
    call = vector["call"]
    trace = call.get("trace")
    meta = CallMeta(
        OPS[call["op"]],
        call["target"],
        call["handle"],
        call["session"],
        call["window"],
        call["timeoutMs"],
        None if trace is None else TraceContext(trace["traceparent"], trace.get("tracestate", "")),
    )
    body = encode_call(meta, bytes.fromhex(call["payload"]))
    assert body.hex() == vector["body"]
    decoded, payload = decode_call(body)
    assert decoded == meta
    assert bytes(payload).hex() == call["payload"]


def test_skips_an_oversized_frame_and_stays_in_step():
    big = encode_frame(0x11, 7, b"x" * 100, 1)
    small = encode_frame(0x11, 8, b"ok", 1)
    reader = FrameReader(max_frame_bytes=50)
    frames = []
    data = big + small
    for start in range(0, len(data), 7):
        reader.feed(data[start : start + 7])
        frames += reader.frames()
    assert frames == [FrameTooLarge(0x11, 7, 100), Frame(0x11, 8, b"ok", 1)]


def test_fills_a_large_body_in_place():
    body = bytes(range(256)) * 1024
    data = encode_frame(0x10, 1, body, 1)
    reader = FrameReader(max_frame_bytes=1 << 20)
    reader.feed(data[:1000])
    assert reader.frames() == []
    while reader.wants():
        start = len(data) - reader.wants()
        chunk = data[start : start + 4096]
        with reader.buffer_for_body() as target:
            target[: len(chunk)] = chunk
        reader.filled(len(chunk))
    (frame,) = reader.frames()
    assert bytes(frame.body) == body


@pytest.mark.parametrize("vector", INVALID, ids=[v["name"] for v in INVALID])
def test_refuses_each_invalid_vector_naming_the_rule_it_breaks(vector):
    data = bytes.fromhex(vector["hex"])
    for size in (1, 7, len(data)):
        reader = FrameReader(max_frame_bytes=1 << 20)
        frames = []
        with pytest.raises(FrameError) as info:
            for start in range(0, len(data), size):
                reader.feed(data[start : start + size])
                frames += reader.frames()
        assert info.value.fault == vector["fault"]
        assert "malformed frame" in str(info.value)
        assert len(frames) + len(info.value.frames) == vector["before"]
