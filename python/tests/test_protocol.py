"""The Python frame codec against the golden vectors shared with TypeScript."""

from __future__ import annotations

import json

import pytest
from values import VECTORS

from snakebridge.protocol import CallMeta, Frame, FrameReader, FrameTooLarge, Op, decode_call, encode_call, encode_frame

FRAMES = json.loads((VECTORS / "protocol" / "frames.json").read_text(encoding="utf-8"))["vectors"]
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
    meta = CallMeta(OPS[call["op"]], call["target"], call["handle"], call["session"], call["window"], call["timeoutMs"])
    body = encode_call(meta, bytes.fromhex(call["payload"]))
    assert body.hex() == vector["body"]
    decoded, payload = decode_call(body)
    assert decoded == meta
    assert bytes(payload).hex() == call["payload"]


def test_skips_an_oversized_frame_and_stays_in_step():
    big = encode_frame(0x11, 7, b"x" * 100)
    small = encode_frame(0x11, 8, b"ok")
    reader = FrameReader(max_frame_bytes=50)
    frames = []
    data = big + small
    for start in range(0, len(data), 7):
        reader.feed(data[start : start + 7])
        frames += reader.frames()
    assert frames == [FrameTooLarge(0x11, 7, 100), Frame(0x11, 8, b"ok")]


def test_fills_a_large_body_in_place():
    body = bytes(range(256)) * 1024
    data = encode_frame(0x10, 1, body)
    reader = FrameReader(max_frame_bytes=1 << 20)
    reader.feed(data[:1000])
    assert reader.frames() == []
    while reader.wants():
        target = reader.buffer_for_body()
        start = len(data) - reader.wants()
        chunk = data[start : start + 4096]
        target[: len(chunk)] = chunk
        reader.filled(len(chunk))
    (frame,) = reader.frames()
    assert bytes(frame.body) == body


def test_refuses_a_malformed_header():
    reader = FrameReader(max_frame_bytes=1 << 20)
    reader.feed(b"\x05\x00\x00\x00\x99" + b"\x00" * 11)
    with pytest.raises(ValueError, match="malformed"):
        reader.frames()
