"""Seeded fuzzing of the Python JSON decoder (fuzz_kit.py), its nesting limit, and its refusals one by one."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from fuzz_kit import fuzz, nested
from values import expected_bytes, load_vectors

from snakebridge.errors import SerializationError
from snakebridge.serializers.base import MAX_NESTING_DEPTH, NESTING_REFUSAL
from snakebridge.serializers.json import JsonSerializer, _Walk, decode_tree

pytest.importorskip("numpy")  # the vectors include arrays

SERIALIZER = JsonSerializer()
TAGS = ("float", "int", "bytes", "date", "map", "set", "ndarray", "handle", "callback", "object", "nope")


def resolve(handle_id: int) -> object:
    return ("handle", handle_id)


def random_json(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value, tagged objects of our kinds included (some of them malformed)."""
    pick = rng.randrange(6 if depth > 3 else 10)
    if pick == 0:
        return rng.choice([None, True, False, 0, -1, 1.5, 2**53, 1e308])
    if pick < 4:
        return rng.choice(["", "NaN", "-Infinity", "12", "-0", "AAE=", "x", "2024-02-29T12:00:00Z", "int8", [2, 3]])
    items = [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    if pick in (4, 5):
        return items
    if pick in (6, 7):
        return {f"k{i}": item for i, item in enumerate(items)}
    tagged: dict[str, Any] = {"$sb": rng.choice(TAGS), "v": random_json(rng, depth + 1)}
    if rng.random() < 0.5:
        tagged.update(id=rng.choice([1, 0, -1, "x", 2**32]), type="m.C")
    if rng.random() < 0.5:
        tagged.update(dtype=rng.choice(["float64", "int8", "x"]), shape=random_json(rng, 9))
    return tagged


def corpus() -> list[bytes]:
    rng = random.Random(7)
    structured = [json.dumps(random_json(rng)).encode() for _ in range(300)]
    return [expected_bytes(v) for v in load_vectors("serializers/json.json")] + structured


def decode_and_count(data: bytes) -> None:
    SERIALIZER.decode(data, resolve)
    walk = _Walk(resolve, None)
    decode_tree(json.loads(data.decode("utf-8")), walk)
    assert walk.nodes <= len(data), f"visited {walk.nodes} nodes in {len(data)} bytes"


def test_every_mutated_and_random_input_decodes_or_is_refused_with_a_serialization_error():
    report = fuzz(
        "json",
        corpus(),
        decode_and_count,
        (SerializationError,),
        generate=lambda rng: json.dumps(random_json(rng)).encode(),
    )
    assert report.decoded > report.refused / 20


@pytest.mark.parametrize(
    ("open_", "leaf", "close"),
    [("[", "1", "]"), ('{"a":', "1", "}"), ('{"$sb":"map","v":[[1,', "1", "]]}"), ('{"$sb":"set","v":[', "1", "]}")],
    ids=["arrays", "objects", "maps", "sets"],
)
def test_a_hundred_thousand_nested_containers_are_refused_without_a_recursion_error(open_, leaf, close):
    with pytest.raises(SerializationError, match=NESTING_REFUSAL):
        SERIALIZER.decode(nested(open_, leaf, close, 100_000).encode())


def at_stack_depth(frames: int, call: Any) -> Any:
    """Runs ``call`` from ``frames`` frames down, as a worker's call stack would (with room to spare)."""
    return call() if frames == 0 else at_stack_depth(frames - 1, call)


def test_values_nested_to_the_limit_round_trip_from_a_deep_call_stack_and_one_more_level_is_refused():
    value: Any = 1
    for i in range(MAX_NESTING_DEPTH):
        value = [value] if i % 3 == 0 else {"a": value} if i % 3 == 1 else {i: value}
    encoded = at_stack_depth(100, lambda: SERIALIZER.encode(value))
    assert at_stack_depth(100, lambda: SERIALIZER.decode(encoded)) == value
    with pytest.raises(SerializationError, match=rf"at \[0\].*{NESTING_REFUSAL}"):
        SERIALIZER.encode([value])
    with pytest.raises(SerializationError, match=NESTING_REFUSAL):
        SERIALIZER.decode(b"[" + encoded + b"]")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"$sb":5}', "unknown tag of type int"),
        ('{"$sb":"pickle","v":"x"}', "unknown tag 'pickle'"),
        ('{"$sb":"float","v":"one"}', "bad float 'one'"),
        ('{"$sb":"float","v":1}', "tag float needs a string"),
        ('{"$sb":"int","v":"12a"}', "bad int '12a'"),
        ('{"$sb":"int","v":"' + "9" * 5000 + '"}', "an int of 5000 digits"),
        ('{"$sb":"bytes","v":"@@@@"}', "tag bytes needs base64"),
        ('{"$sb":"bytes","v":"AAE"}', "tag bytes needs base64"),
        ('{"$sb":"date","v":"yesterday"}', "bad date 'yesterday'"),
        ('{"$sb":"map","v":[[1]]}', r"at <entry 0>: a map entry must be \[key, value\]"),
        ('{"$sb":"map","v":[[[1],2],[{"a":1},3]]}', "unhashable|could not be decoded"),
        ('{"$sb":"set","v":{}}', "tag set needs a list"),
        ('{"$sb":"ndarray","dtype":"complex","shape":[1],"v":""}', "unsupported dtype"),
        ('{"$sb":"ndarray","dtype":"int8","shape":[-1],"v":""}', "non-negative"),
        ('{"$sb":"ndarray","dtype":"int8","shape":[3],"v":"AQ=="}', "cannot hold 1 bytes"),
        ('{"$sb":"handle","id":"1","type":"x"}', "a handle needs an id"),
        ('{"$sb":"handle","id":1}', "a handle needs a type name"),
        ('{"$sb":"callback","id":true}', "positive integer id"),
        ('{"$sb":"object","v":[1]}', "tag object needs a dict"),
        ('{"rows":[{"x":{"$sb":"float","v":"?"}}]}', r"at rows\[0\]\.x: bad float"),
    ],
)
def test_a_malformed_tagged_value_is_refused_with_a_serialization_error_naming_it(text, message):
    with pytest.raises(SerializationError, match=message):
        SERIALIZER.decode(text.encode(), resolve)


def test_bytes_that_are_not_utf8_json_are_refused_with_a_serialization_error():
    for data in (b"\xff", b"[1,", b"", b"NaN"):
        with pytest.raises(SerializationError):
            SERIALIZER.decode(data)
