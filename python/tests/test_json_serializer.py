"""The Python JSON serializer against the golden vectors shared with TypeScript."""

from __future__ import annotations

import json
import math

import pytest
from values import build_value, expected_bytes, load_vectors, same

from snakebridge.errors import SerializationError
from snakebridge.serializers import get_serializer
from snakebridge.serializers.base import CallbackRef, HandleWire

VECTORS = load_vectors("serializers/json.json")
HANDLE_OBJECT = object()
HANDLES = {3: HANDLE_OBJECT}


def to_handle(obj: object) -> HandleWire:
    assert obj is HANDLE_OBJECT
    return HandleWire(3, "pkg.Model", None)


@pytest.fixture(scope="module")
def serializer():
    pytest.importorskip("numpy")  # the vectors include arrays; numpy is in the dev extras
    return get_serializer("json")


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_decodes_each_vector_to_its_value(serializer, vector):
    expected = build_value(vector.get("decoded", vector["value"]), HANDLES)
    assert same(serializer.decode(expected_bytes(vector), HANDLES.__getitem__), expected)


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if "py" in v["encode"]], ids=[v["name"] for v in VECTORS if "py" in v["encode"]]
)
def test_encodes_each_vector_to_the_expected_bytes(serializer, vector):
    value = build_value(vector["value"], HANDLES)
    assert serializer.encode(value, to_handle) == expected_bytes(vector)


def test_a_callback_reference_round_trips_as_itself_without_from_callback(serializer):
    value = {"on_done": CallbackRef(2), "steps": [CallbackRef(1), 3]}
    assert serializer.decode(serializer.encode(value)) == value


def test_callback_references_decode_through_from_callback_wherever_they_are(serializer):
    encoded = serializer.encode([CallbackRef(1), {"nested": (CallbackRef(300),)}, {CallbackRef(2)}])
    decoded = serializer.decode(encoded, None, lambda index: f"callback {index}")
    assert decoded == ["callback 1", {"nested": ["callback 300"]}, {"callback 2"}]


def test_a_user_dict_shaped_like_a_callback_tag_stays_a_dict(serializer):
    lookalike = {"$sb": "callback", "id": 1}
    encoded = serializer.encode(lookalike)
    assert serializer.decode(encoded, None, lambda index: pytest.fail("not a callback")) == lookalike


@pytest.mark.parametrize("index", [0, -1, "1", True, None, 1.5])
def test_refuses_a_callback_reference_that_is_not_a_positive_int(serializer, index):
    with pytest.raises(SerializationError, match="callback"):
        serializer.decode(json.dumps({"$sb": "callback", "id": index}).encode(), None, lambda i: i)


def test_round_trips_special_floats(serializer):
    for value in (math.inf, -math.inf, -0.0, 1e308):
        assert same(serializer.decode(serializer.encode(value)), value)


def test_refuses_an_object_it_cannot_carry_when_handles_are_off(serializer):
    with pytest.raises(SerializationError, match="rows\\[0\\]"):
        serializer.encode({"rows": [object()]})


def test_refuses_malformed_input(serializer):
    with pytest.raises(SerializationError):
        serializer.decode(b"\xff{")
    with pytest.raises(SerializationError):
        serializer.decode(b'{"$sb":"martian"}')


def test_naive_datetimes_are_taken_as_utc(serializer):
    import datetime as dt

    assert serializer.encode(dt.datetime(2024, 1, 2, 3, 4, 5, 6000)) == b'{"$sb":"date","v":"2024-01-02T03:04:05.006Z"}'
