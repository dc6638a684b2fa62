"""Seeded fuzz of the worker's frame reader: golden frames with bits flipped,
bytes cut, inserted or deleted, length fields corrupted, and random bytes.

Whatever comes in, the reader raises only FrameError, never hangs, never
holds more than what arrived (plus the one step of room it hands out for a
large body), and never lets a lost frame boundary pass: every frame it hands
out is one that was sent. FRAME_FUZZ_SEED=<n> replays a run,
FRAME_FUZZ_CASES=<n> makes it longer, FRAME_FUZZ_ONLY=<case> replays one case.
"""

from __future__ import annotations

import os
import random
import zlib
from collections import Counter

from values import load_vectors

from snakebridge.protocol.frames import (
    BODY_STEP,
    HEADER_SIZE,
    Frame,
    FrameError,
    FrameReader,
    FrameTooLarge,
    encode_frame,
)

SEED = int(os.environ.get("FRAME_FUZZ_SEED", random.randrange(1 << 32)))
CASES = int(os.environ.get("FRAME_FUZZ_CASES", 10_000))
ONLY = os.environ.get("FRAME_FUZZ_ONLY")
MAX_FRAME_BYTES = 1 << 17
MUTATIONS = ("flip", "truncate", "insert", "delete", "length", "length-rechecked", "random")

GOLDEN = [bytes.fromhex(v["hex"]) for v in load_vectors("protocol/frames.json")]
#: A body that spans many chunks.
LARGE = encode_frame(0x11, 3, b"\xab" * 3000, 2)
#: A body large enough to be read straight into the reader's room (FrameSource's path), under its own limit.
HUGE = encode_frame(0x11, 4, b"\xcd" * 70_000, 2)


def sent_frames(rng: random.Random) -> list[bytes]:
    frames = []
    for _ in range(1 + rng.randrange(6)):
        pick = rng.randrange(100)
        frames.append(HUGE if pick == 0 else LARGE if pick < 10 else rng.choice(GOLDEN))
    return frames


def mutate(mutation: str, frames: list[bytes], rng: random.Random) -> bytes:
    """The bytes the reader gets: what was sent, damaged one way."""
    data = b"".join(frames)
    at = rng.randrange(len(data) + 1)
    if mutation == "flip":
        copy = bytearray(data)
        for _ in range(1 + rng.randrange(4)):
            bit = rng.randrange(len(copy) * 8)
            copy[bit >> 3] ^= 1 << (bit & 7)
        return bytes(copy)
    if mutation == "truncate":
        return data[:at]
    if mutation == "insert":
        return data[:at] + rng.randbytes(1 + rng.randrange(32)) + data[at:]
    if mutation == "delete":
        return data[:at] + data[at + 1 + rng.randrange(32) :]
    if mutation in ("length", "length-rechecked"):
        return corrupt_length(frames, rng, recheck=mutation == "length-rechecked")
    return rng.randbytes(1 + rng.randrange(200))


def corrupt_length(frames: list[bytes], rng: random.Random, recheck: bool) -> bytes:
    """One frame's length field set to a boundary or random value; with ``recheck``, its checksum made to match."""
    copies = [bytearray(frame) for frame in frames]
    victim = rng.choice(copies)
    overhead = HEADER_SIZE - 4
    boundaries = (0, overhead - 1, overhead, overhead + 1, MAX_FRAME_BYTES + overhead, MAX_FRAME_BYTES + overhead + 1)
    length = rng.choice((*boundaries, 0xFFFFFFFF, rng.randrange(1 << 32)))
    victim[0:4] = length.to_bytes(4, "little")
    if recheck:
        victim[HEADER_SIZE - 4 : HEADER_SIZE] = zlib.crc32(bytes(victim[: HEADER_SIZE - 4])).to_bytes(4, "little")
    return b"".join(bytes(c) for c in copies)


class Outcome:
    def __init__(self) -> None:
        self.frames: list[Frame | FrameTooLarge] = []
        self.error: BaseException | None = None
        self.over_held = 0


def decode(data: bytes, rng: random.Random) -> Outcome:
    """Feeds ``data`` in random chunks, or straight into the room a large body asks for, as FrameSource does."""
    reader = FrameReader(MAX_FRAME_BYTES)
    outcome = Outcome()
    unconsumed = 0
    start = 0
    try:
        while start < len(data):
            size = 1 + rng.randrange(4096 if rng.randrange(4) == 0 else 64)
            if reader.wants():
                with reader.buffer_for_body() as room:
                    count = min(size, len(room), len(data) - start)
                    room[:count] = data[start : start + count]
                    held_with_room = len(reader._buffer)
                reader.filled(count)
                # The room handed out is the one thing beyond what arrived, and never more than a step.
                outcome.over_held = max(outcome.over_held, held_with_room - (unconsumed + BODY_STEP))
            else:
                count = min(size, len(data) - start)
                reader.feed(data[start : start + count])
            start += count
            unconsumed += count
            for frame in reader.frames():
                outcome.frames.append(frame)
                if isinstance(frame, Frame):
                    unconsumed -= HEADER_SIZE + len(frame.body)
            outcome.over_held = max(outcome.over_held, reader.buffered - unconsumed)
    except Exception as exc:
        if isinstance(exc, FrameError):
            outcome.frames += exc.frames
        outcome.error = exc
    return outcome


def sent_in_order(frames: list[Frame | FrameTooLarge], sent: list[bytes]) -> bool:
    """True if every frame was sent, in the order sent (some may be missing, none may be made up)."""
    headers = [encode_frame(f.kind, f.id, f.body, f.serializer, f.flags, f.aux)[:HEADER_SIZE] for f in frames]
    remaining = iter(frame[:HEADER_SIZE] for frame in sent)
    return all(any(header == candidate for candidate in remaining) for header in headers)


def problem(mutation: str, sent: list[bytes], data: bytes, outcome: Outcome) -> str | None:
    if outcome.error is not None and not isinstance(outcome.error, FrameError):
        return f"raised an untyped error: {outcome.error!r}"
    if len(outcome.frames) > len(data) / HEADER_SIZE:
        return f"made {len(outcome.frames)} frames of {len(data)} bytes"
    if outcome.over_held > 0:
        return f"held {outcome.over_held} bytes more than had arrived"
    if mutation == "length-rechecked":  # a sender's bug, not damage on the way: anything may follow
        return None
    if any(isinstance(f, FrameTooLarge) for f in outcome.frames):
        return "skipped a frame no sender announced"
    if not sent_in_order(outcome.frames, [] if mutation == "random" else sent):
        return "handed out a frame that was never sent: a lost boundary went unnoticed"
    return None


def test_the_reader_survives_damaged_and_random_input():
    cases = range(int(ONLY), int(ONLY) + 1) if ONLY is not None else range(CASES)
    faults: Counter[str] = Counter()
    for index in cases:
        rng = random.Random(f"{SEED}:{index}")
        mutation = rng.choice(MUTATIONS)
        sent = sent_frames(rng)
        data = mutate(mutation, sent, rng)
        outcome = decode(data, rng)
        wrong = problem(mutation, sent, data, outcome)
        assert wrong is None, f"{mutation}: {wrong}. Replay: FRAME_FUZZ_SEED={SEED} FRAME_FUZZ_ONLY={index}"
        faults[outcome.error.fault if isinstance(outcome.error, FrameError) else "accepted"] += 1
    if os.environ.get("FRAME_FUZZ_REPORT"):
        print(f"seed {SEED}: {dict(faults)}")
    if ONLY is None and CASES >= 1000:
        assert faults["checksum"] > 0 and faults["accepted"] > 0, f"seed {SEED}: {dict(faults)}"
