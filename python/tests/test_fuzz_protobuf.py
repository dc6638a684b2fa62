"""Seeded fuzzing of the Python protobuf decoder (fuzz_kit.py), its nesting limit, and its refusals one by one."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from fuzz_kit import fuzz
from values import VECTORS

from snakebridge.errors import SerializationError
from snakebridge.serializers.base import MAX_NESTING_DEPTH, NESTING_REFUSAL
from snakebridge.serializers.protobuf import ProtobufSerializer

pytest.importorskip("numpy")  # the vectors include arrays

FILE = json.loads((VECTORS / "serializers" / "protobuf.json").read_text(encoding="utf-8"))
SCHEMA = FILE["schema"]
SERIALIZER = ProtobufSerializer(
    descriptor_set=SCHEMA["descriptorSet"], schema_hash=SCHEMA["schemaHash"], callables=SCHEMA["callables"]
)


def resolve(handle_id: int) -> object:
    return ("handle", handle_id)


def varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def nested_lists(count: int, leaf: bytes = b"\x08\x00") -> bytes:
    """``count`` list_values, each holding the next: a nesting bomb, built from the inside out."""
    parts: list[bytes] = []
    size = len(leaf)
    for _ in range(count):
        item_head = b"\x0a" + varint(size)
        list_head = b"\x42" + varint(len(item_head) + size)
        parts.append(list_head + item_head)
        size += len(item_head) + len(list_head)
    return b"".join(reversed(parts)) + leaf


def test_every_mutated_and_random_input_decodes_or_is_refused_with_a_serialization_error():
    corpus = [bytes.fromhex(v["hex"]) for v in FILE["vectors"]] + [nested_lists(MAX_NESTING_DEPTH)]
    report = fuzz("protobuf", corpus, lambda data: SERIALIZER.decode(data, resolve), (SerializationError,))
    assert report.decoded > report.refused / 20


def test_a_hundred_thousand_nested_lists_are_refused_without_a_recursion_error():
    with pytest.raises(SerializationError, match=NESTING_REFUSAL):
        SERIALIZER.decode(nested_lists(100_000))


def test_lists_nested_to_the_limit_decode_in_a_small_thread_and_one_level_more_is_refused():
    outcome: list[Any] = []
    previous = threading.stack_size(1 << 20)
    try:
        thread = threading.Thread(target=lambda: outcome.append(SERIALIZER.decode(nested_lists(MAX_NESTING_DEPTH))))
        thread.start()
        thread.join()
    finally:
        threading.stack_size(previous)
    value = outcome[0]
    for _ in range(MAX_NESTING_DEPTH):
        value = value[0]
    assert value is None
    with pytest.raises(SerializationError, match=NESTING_REFUSAL):
        SERIALIZER.decode(nested_lists(MAX_NESTING_DEPTH + 1))


def test_a_value_nested_deeper_than_the_limit_is_refused_on_encode_naming_where():
    value: Any = "bottom"
    for i in range(MAX_NESTING_DEPTH + 1):
        value = [value] if i % 2 else {"k": value}
    with pytest.raises(SerializationError, match=rf"at .*: {NESTING_REFUSAL}"):
        SERIALIZER.encode(value)


@pytest.mark.parametrize(
    "data",
    [
        b"\x2a\xff\xff\xff\xff\x0f\x61",  # a string of 2^32 - 1 bytes
        b"\x42\x80\x80\x80\x80\x08\x0a\x02\x08\x00",  # a list of 2^31 bytes
        b"\x18" + b"\xff" * 10 + b"\x01",  # a varint of eleven bytes
        b"\x21\x00\x00\x00",  # a double cut short
        b"\x42\x04\x0b\x0c\x0a\x00",  # a group inside a list
        b"\x08\x00\x10\x01",  # two kinds in one Value
        b"\xf8\x01\x00",  # an unknown kind
        b"\x2a\x02\xc3\x28",  # a string that is not UTF-8
        b"\x3a\x00",  # an empty bigint
        b"\x72\x00",  # a handle without an id
        b"\x62\x0b\x08\xff\xff\xff\xff\xff\xff\xff\xff\x7f",  # a Timestamp beyond a datetime
        b"\x6a\x05\x0a\x03i32",  # an ndarray of an unknown dtype
        b"\x6a\x0e\x0a\x07float64\x12\x01\x03\x1a\x00",  # an ndarray whose shape does not match its data
        b"\x7a\x0b\x0a\x09no.such.T",  # a message of a type the schema lacks
        b"\x7a\x14\x0a\x0cvectors.User\x12\x04\x12\x02\xff\xff",  # a message whose string is not UTF-8
        b"",
    ],
)
def test_malformed_protobuf_is_refused_with_a_serialization_error(data):
    with pytest.raises(SerializationError):
        SERIALIZER.decode(data, resolve)
