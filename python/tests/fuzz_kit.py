"""Seeded fuzzing of the decoders (the test_fuzz_*.py files), as fuzz-kit.ts does for TypeScript.

Inputs are golden vectors changed by bit flips, byte inserts and deletes, truncation, corrupted
length fields and splices, plus random bytes. A decoder must decode an input or raise one of its
typed errors, and allocate no more than a fixed multiple of the input's size while doing so, as
tracemalloc measures it: a count of bytes, never the wall clock.

The seed is random unless SNAKEBRIDGE_FUZZ_SEED is set, and a failure names it with the input's
number and bytes; SNAKEBRIDGE_FUZZ_COUNT sets the number of inputs (10,000 by default).
"""

from __future__ import annotations

import os
import random
import struct
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_BYTE_VALUES = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)


def fuzz_seed() -> int:
    """SNAKEBRIDGE_FUZZ_SEED, or a random seed."""
    text = os.environ.get("SNAKEBRIDGE_FUZZ_SEED", "")
    return int(text) if text else random.SystemRandom().randrange(2**31)


def fuzz_count(default: int = 10_000) -> int:
    """SNAKEBRIDGE_FUZZ_COUNT, or ``default``."""
    text = os.environ.get("SNAKEBRIDGE_FUZZ_COUNT", "")
    return int(text) if text else default


def _length_values(size: int) -> list[int]:
    return [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, size - 1, size + 1]


def _flip_bits(rng: random.Random, data: bytes, _corpus: Sequence[bytes]) -> tuple[bytes, str]:
    out = bytearray(data)
    bits = [rng.randrange(len(out) * 8) for _ in range(rng.randint(1, 4))] if out else []
    for bit in bits:
        out[bit >> 3] ^= 1 << (bit & 7)
    return bytes(out), f"bits {bits} flipped"


def _set_byte(rng: random.Random, data: bytes, _corpus: Sequence[bytes]) -> tuple[bytes, str]:
    if not data:
        return data, "nothing to set"
    at = rng.randrange(len(data))
    value = rng.randrange(256) if rng.random() < 0.3 else rng.choice(_BYTE_VALUES)
    return data[:at] + bytes([value]) + data[at + 1 :], f"byte {at} set to {value}"


def _insert(rng: random.Random, data: bytes, _corpus: Sequence[bytes]) -> tuple[bytes, str]:
    at = rng.randrange(len(data) + 1)
    count = rng.randint(1, 16)
    inserted = rng.randbytes(count) if rng.random() < 0.5 else bytes([rng.randrange(256)]) * count
    return data[:at] + inserted + data[at:], f"{count} bytes inserted at {at}"


def _delete(rng: random.Random, data: bytes, _corpus: Sequence[bytes]) -> tuple[bytes, str]:
    at = rng.randrange(max(1, len(data)))
    count = rng.randint(1, 16)
    return data[:at] + data[at + count :], f"{count} bytes deleted at {at}"


def _truncate(rng: random.Random, data: bytes, _corpus: Sequence[bytes]) -> tuple[bytes, str]:
    length = rng.randrange(max(1, len(data)))
    return data[:length], f"cut to {length} bytes"


def _corrupt_length(rng: random.Random, data: bytes, _corpus: Sequence[bytes]) -> tuple[bytes, str]:
    width = rng.choice((1, 2, 4, 8))
    if len(data) < width:
        return data, "too short for a length field"
    at = rng.randrange(len(data) - width + 1)
    value = rng.choice(_length_values(len(data))) % (1 << (8 * width))
    order = rng.choice(("<", ">"))
    field = struct.pack(f"{order}{ {1: 'B', 2: 'H', 4: 'I', 8: 'Q'}[width] }", value)
    return data[:at] + field + data[at + width :], f"{width}-byte {order} field at {at} set to {value}"


def _duplicate(rng: random.Random, data: bytes, _corpus: Sequence[bytes]) -> tuple[bytes, str]:
    start = rng.randrange(max(1, len(data)))
    piece = data[start : start + rng.randint(1, 64)]
    to = rng.randrange(len(data) + 1)
    return data[:to] + piece + data[to:], f"{len(piece)} bytes from {start} copied to {to}"


def _splice(rng: random.Random, data: bytes, corpus: Sequence[bytes]) -> tuple[bytes, str]:
    other = rng.choice(corpus)
    head, tail = rng.randrange(len(data) + 1), rng.randrange(len(other) + 1)
    return data[:head] + other[tail:], f"first {head} bytes + another from {tail}"


_MUTATIONS = (_flip_bits, _set_byte, _insert, _delete, _truncate, _corrupt_length, _duplicate, _splice)


def mutant(rng: random.Random, corpus: Sequence[bytes]) -> tuple[bytes, str]:
    """An input made from a random corpus entry by one to three mutations, or random bytes."""
    if rng.random() < 1 / 16:
        length = rng.randrange(16 if rng.random() < 0.5 else 256)
        return rng.randbytes(length), f"{length} random bytes"
    index = rng.randrange(len(corpus))
    data, how = corpus[index], f"vector {index}"
    for _ in range(rng.randint(1, 3)):
        data, step = rng.choice(_MUTATIONS)(rng, data, corpus)
        how = f"{how}, {step}"
    return data, how


@dataclass
class FuzzReport:
    seed: int
    decoded: int = 0
    refused: int = 0


def fuzz(
    name: str,
    corpus: Sequence[bytes],
    decode: Callable[[bytes], object],
    typed: tuple[type[BaseException], ...],
    *,
    bytes_per_byte: int = 256,
    slack: int = 512 * 1024,
    generate: Callable[[random.Random], bytes] | None = None,
    count: int | None = None,
) -> FuzzReport:
    """Runs ``decode`` on inputs made from ``corpus``; fails, naming the seed and the input, when it
    raises anything but ``typed``, or its peak allocation exceeds ``bytes_per_byte`` times the input's
    length plus ``slack`` (tracemalloc counts what Python and numpy allocate)."""
    seed = fuzz_seed()
    rng = random.Random(f"{seed}:{name}")
    report = FuzzReport(seed)
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        for index in range(count if count is not None else fuzz_count()):
            data, how = (generate(rng), "generated") if generate and rng.random() < 0.25 else mutant(rng, corpus)
            failure = _run_one(decode, data, typed, bytes_per_byte * len(data) + slack, report)
            if failure is not None:
                raise AssertionError(_describe(name, seed, index, data, how, failure))
    finally:
        if started:
            tracemalloc.stop()
    return report


def _run_one(
    decode: Callable[[bytes], object],
    data: bytes,
    typed: tuple[type[BaseException], ...],
    budget: int,
    report: FuzzReport,
) -> str | None:
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    try:
        decode(data)
        report.decoded += 1
    except typed:
        report.refused += 1
    except Exception as exc:  # anything else is what the fuzzing looks for
        return f"raised an untyped {type(exc).__name__}: {exc}"
    _, peak = tracemalloc.get_traced_memory()
    if peak - before > budget:
        return f"allocated {peak - before} bytes, more than its budget of {budget}"
    return None


def _describe(name: str, seed: int, index: int, data: bytes, how: str, failure: str) -> str:
    shown = data[:512].hex() + ("…" if len(data) > 512 else "")
    return (
        f"{name} fuzz: input #{index} {failure}.\n"
        f"Seed {seed} (replay: SNAKEBRIDGE_FUZZ_SEED={seed} SNAKEBRIDGE_FUZZ_COUNT={index + 1}).\n"
        f"The input ({how}), {len(data)} bytes: {shown}"
    )


def nested(open_: bytes, leaf: bytes, close: bytes, count: int) -> bytes:
    """``count`` copies of ``open_``, then ``leaf``, then ``count`` copies of ``close``: a nesting bomb."""
    return open_ * count + leaf + close * count
