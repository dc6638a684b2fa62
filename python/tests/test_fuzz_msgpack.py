"""Seeded fuzzing of the Python msgpack decoder (fuzz_kit.py), its limits, and its refusals one by one."""

from __future__ import annotations

import threading
from typing import Any

import msgpack
import pytest
from fuzz_kit import fuzz, nested
from values import expected_bytes, load_vectors

from snakebridge.errors import SerializationError
from snakebridge.serializers.base import MAX_NESTING_DEPTH, NESTING_REFUSAL, CallbackRef
from snakebridge.serializers.msgpack import MsgpackSerializer

pytest.importorskip("numpy")  # the vectors include arrays

SERIALIZER = MsgpackSerializer()


def resolve(handle_id: int) -> object:
    return ("handle", handle_id)


def corpus() -> list[bytes]:
    vectors = [expected_bytes(v) for v in load_vectors("serializers/msgpack.json")]
    extras = [
        SERIALIZER.encode([{1, (2, 3)}, {(1, 2): frozenset({"a"})}, CallbackRef(2), 10**40]),
        nested(b"\x91", b"\xc0", b"", MAX_NESTING_DEPTH),
    ]
    return vectors + extras


def test_every_mutated_and_random_input_decodes_or_is_refused_with_a_serialization_error():
    report = fuzz("msgpack", corpus(), lambda data: SERIALIZER.decode(data, resolve), (SerializationError,))
    assert report.decoded > report.refused / 20


@pytest.mark.parametrize(("open_", "leaf"), [(b"\x91", b"\xc0"), (b"\x81\xa1k", b"\xc0")], ids=["arrays", "maps"])
def test_a_hundred_thousand_nested_containers_are_refused_without_a_recursion_error(open_, leaf):
    with pytest.raises(SerializationError, match="nested"):
        SERIALIZER.decode(nested(open_, leaf, b"", 100_000), resolve)


def nested_sets(count: int) -> bytes:
    """``count`` sets, each holding a list holding the next: what a JavaScript Set of Sets is on the wire."""
    payload = msgpack.packb(1)
    for _ in range(count):
        payload = msgpack.packb(msgpack.ExtType(81, msgpack.packb([msgpack.ExtType(81, payload)])))
    return payload


def in_small_thread(call: Any) -> Any:
    """Runs ``call`` in a thread with a 1 MiB stack, far smaller than a worker's, and returns its outcome."""
    outcome: list[Any] = []
    previous = threading.stack_size(1 << 20)
    try:
        thread = threading.Thread(target=lambda: outcome.append(_outcome(call)))
        thread.start()
        thread.join()
    finally:
        threading.stack_size(previous)
    return outcome[0]


def _outcome(call: Any) -> Any:
    try:
        return call()
    except Exception as exc:
        return exc


def test_sets_nested_a_thousand_deep_are_refused_in_a_small_thread_rather_than_overflowing_its_c_stack():
    # unpackb keeps ~30 KiB on the C stack per nested call: sets nested this deep crashed the process before.
    outcome = in_small_thread(lambda: SERIALIZER.decode(nested_sets(1000)))
    assert isinstance(outcome, SerializationError) and NESTING_REFUSAL in str(outcome)


def test_sets_nested_to_the_limit_decode_and_encode_in_a_small_thread():
    value: Any = 1
    for _ in range(MAX_NESTING_DEPTH):
        value = frozenset({value})
    assert in_small_thread(lambda: SERIALIZER.decode(SERIALIZER.encode(value))) == value


def at_stack_depth(frames: int, call: Any) -> Any:
    """Runs ``call`` from ``frames`` frames down, as a worker's call stack would (with room to spare)."""
    return call() if frames == 0 else at_stack_depth(frames - 1, call)


def test_values_nested_to_the_limit_round_trip_from_a_deep_call_stack_and_sets_beyond_it_are_refused():
    value: Any = 1
    for i in range(MAX_NESTING_DEPTH):
        value = {i: value} if i % 2 else [value]
    encoded = at_stack_depth(100, lambda: SERIALIZER.encode(value))
    assert at_stack_depth(100, lambda: SERIALIZER.decode(encoded)) == value
    sets: Any = 1
    for _ in range(MAX_NESTING_DEPTH + 1):
        sets = frozenset({sets})
    with pytest.raises(SerializationError, match=NESTING_REFUSAL):
        SERIALIZER.encode(sets)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xdd\xff\xff\xff\xff\x01", "exceeds max_array_len"),
        (b"\xdf\xff\xff\xff\xff\x01\x02", "exceeds max_map_len"),
        (b"\xdb\xff\xff\xff\xff\x61", "exceeds max_str_len|incomplete"),
        (b"\xc9\xff\xff\xff\xff\x51\x90", "exceeds max_ext_len|incomplete"),
        (b"\xd5\x51\xa1\x61", "a set extension must hold a list"),
        (b"\xd4\x52\x90", "a map extension must hold a dict"),
        (b"\xc7\x02\x51\x90\x01", "extra data"),
        (b"\xd5\x54\x91\x01", r"a handle needs \[id, type, repr\?\]"),
        (b"\xc7\x03\x54\x92\x01\x02", "type and repr are strings"),
        (b"\xd4\x56\x00", "positive integer index"),
        (b"\xc7\x00\x50", "empty bigint"),
        (b"\xd6\x53\x63\x01\x08\x00", "unknown dtype code"),
        (b"\xd6\x53\x00\x05\x08\x00", "does not fit its payload"),
        (b"\xc7\x10\x53\x09\x01\x08\x00\x03\x00\x00\x00" + bytes(8), r"shape \[3\] cannot hold 8 bytes"),
        (b"\xc7\x03\xff\x00\x00\x00", "timestamp"),
        (b"\xd4\x07\x00", "extension type 7 is not known"),
        (b"\xc1", "FormatError|0xc1"),
        (b"\x01\x02", "extra data"),
        (b"", "incomplete|no bytes|Unpack failed"),
    ],
)
def test_malformed_msgpack_is_refused_with_a_serialization_error_saying_what_is_wrong(data, message):
    with pytest.raises(SerializationError, match=message):
        SERIALIZER.decode(data, resolve)
