"""The Python protobuf serializer: golden vectors shared with TypeScript, the
schema checks a worker makes at start-up, and messages of the host's schema."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math

import numpy as np  # the vectors include arrays; numpy and protobuf are in the dev environment
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from values import VECTORS, build_value, expected_bytes, same

from snakebridge.errors import SerializationError
from snakebridge.serializers import get_serializer
from snakebridge.serializers.base import HandleWire
from snakebridge.serializers.protobuf import (
    DESCRIPTORS_ENV,
    SCHEMA_HASH_ENV,
    ProtobufSerializer,
    SchemaError,
    _value_file,
)

FILE = json.loads((VECTORS / "serializers" / "protobuf.json").read_text(encoding="utf-8"))
SCHEMA = FILE["schema"]
ALL = FILE["vectors"]
HANDLE_OBJECT = object()
HANDLES = {3: HANDLE_OBJECT}


def to_handle(obj: object) -> HandleWire:
    assert obj is HANDLE_OBJECT
    return HandleWire(3, "pkg.Model", None)


def schema_options(**overrides):
    options = {
        "descriptor_set": SCHEMA["descriptorSet"],
        "schema_hash": SCHEMA["schemaHash"],
        "callables": SCHEMA["callables"],
    }
    options.update(overrides)
    return options


@pytest.fixture(scope="module")
def serializer() -> ProtobufSerializer:
    return get_serializer("protobuf", schema_options())  # type: ignore[return-value]


def context(vector):
    ctx = vector.get("context")
    return {"target": ctx["target"], "role": ctx["role"]} if ctx else {}


def ids(vectors):
    return [v["name"] for v in vectors]


# --- golden vectors ------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", ALL, ids=ids(ALL))
def test_decodes_each_vector_to_its_value(serializer, vector):
    expected = build_value(vector.get("decoded", vector["value"]), HANDLES)
    decoded = serializer.decode(expected_bytes(vector), HANDLES.__getitem__)
    if vector.get("context", {}).get("role") == "result":
        assert decoded.DESCRIPTOR.full_name.startswith("vectors.")  # a message instance, not a dict
        decoded = serializer.to_python(decoded)
    assert same(decoded, expected), decoded


ENCODED_BY_PYTHON = [v for v in ALL if "py" in v["encode"]]


@pytest.mark.parametrize("vector", ENCODED_BY_PYTHON, ids=ids(ENCODED_BY_PYTHON))
def test_encodes_each_vector_to_the_expected_bytes(serializer, vector):
    value = build_value(vector["value"], HANDLES)
    assert serializer.encode(value, to_handle, **context(vector)).hex() == vector["hex"]


def value_class():
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(_value_file().SerializeToString())
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("snakebridge.Value"))


# upb parses at most 100 nested messages; the deep nesting vector has more (see the test after this one).
WITHIN_UPB_DEPTH = [v for v in ALL if v["name"] != "deep nesting"]


@pytest.mark.parametrize("vector", WITHIN_UPB_DEPTH, ids=ids(WITHIN_UPB_DEPTH))
def test_each_vector_is_what_the_protobuf_library_itself_writes(vector):
    value = value_class().FromString(expected_bytes(vector))
    assert value.SerializeToString(deterministic=True).hex() == vector["hex"]


def test_deep_nesting_goes_beyond_what_upb_parses_which_is_why_values_are_read_by_hand(serializer):
    from google.protobuf.message import DecodeError

    (vector,) = [v for v in ALL if v["name"] == "deep nesting"]
    with pytest.raises(DecodeError, match="MaxDepth"):
        value_class().FromString(expected_bytes(vector))
    assert same(serializer.decode(expected_bytes(vector)), build_value(vector["value"]))


def test_the_schema_messages_in_the_vectors_are_what_the_protobuf_library_writes(serializer):
    for vector in (v for v in ALL if v.get("context")):
        outer = value_class().FromString(expected_bytes(vector))
        embedded = outer.message_value if outer.HasField("message_value") else outer.request_value
        message = serializer.message_class(embedded.type).FromString(embedded.data)
        assert message.SerializeToString(deterministic=True) == embedded.data, vector["name"]


def test_the_value_descriptor_built_in_code_is_the_one_in_snakebridge_proto():
    files = descriptor_pb2.FileDescriptorSet.FromString(base64.b64decode(SCHEMA["descriptorSet"])).file
    (host,) = [f for f in files if f.name == "snakebridge.proto"]
    mine = _value_file()
    for proto in (host, mine):
        for message in proto.message_type:
            for field in message.field:
                field.ClearField("json_name")
                field.ClearField("options")
    assert {m.name: m for m in host.message_type} == {m.name: m for m in mine.message_type}
    assert list(host.enum_type) == list(mine.enum_type)


# --- the dynamic value ---------------------------------------------------------------------------------


def test_round_trips_special_floats_and_big_ints():
    serializer = ProtobufSerializer()
    for value in (math.inf, -math.inf, -0.0, 1e308, 2**200, -(2**200), -(2**63) - 1, 2**63):
        assert same(serializer.decode(serializer.encode(value)), value)


def test_refuses_an_object_it_cannot_carry_when_handles_are_off():
    with pytest.raises(SerializationError, match=r"at rows\[0\]: cannot send a object"):
        ProtobufSerializer().encode({"rows": [object()]})


def test_refuses_a_cycle_naming_it():
    loop: list = []
    loop.append(loop)
    with pytest.raises(SerializationError, match="cycle"):
        ProtobufSerializer().encode({"a": loop})


@pytest.mark.parametrize(
    "data",
    [b"", b"\xc1", b"\xff\xfe\x00\x7b", b"\x2a\x05ab", b"\x2a\x02\xff\xfe", b"\x88\x01\x00", b"\x42\x02\x0a\x00"],
    ids=["empty", "truncated varint", "garbage", "short string", "invalid utf-8", "unknown kind", "empty item"],
)
def test_refuses_malformed_input(data):
    with pytest.raises(SerializationError):
        ProtobufSerializer().decode(data)


def test_arrays_arrive_writable_with_their_dtype_and_shape():
    serializer = ProtobufSerializer()
    array = np.arange(12, dtype=">f8").reshape(3, 4)[:, 1:3]  # big-endian and not contiguous
    decoded = serializer.decode(serializer.encode(array))
    assert decoded.dtype == np.dtype("<f8") and decoded.shape == (3, 2)
    assert decoded.tolist() == array.tolist()
    decoded[0, 0] = -1.0  # the worker's callee may change its arguments in place


def test_naive_datetimes_are_taken_as_utc_and_keep_microseconds():
    serializer = ProtobufSerializer()
    decoded = serializer.decode(serializer.encode(dt.datetime(2024, 1, 2, 3, 4, 5, 6007)))
    assert decoded == dt.datetime(2024, 1, 2, 3, 4, 5, 6007, tzinfo=dt.timezone.utc)


def test_lone_surrogates_become_replacement_characters_as_in_typescript():
    serializer = ProtobufSerializer()
    assert serializer.decode(serializer.encode("a\udc80b")) == "a\ufffdb"


def test_deep_nesting_is_limited_only_by_python():
    serializer = ProtobufSerializer()
    value: object = "bottom"
    for _ in range(200):
        value = [value]
    assert serializer.decode(serializer.encode(value)) == value


# --- messages of the schema ----------------------------------------------------------------------------


def test_a_request_reaches_the_callee_as_keyword_arguments(serializer):
    data = serializer.encode((["Ada"], {"age": 36}), target="vectors.create_user", role="args")
    args, kwargs = serializer.decode(data)
    assert args == []
    assert kwargs == {"name": "Ada", "age": 36, "tags": [], "role": "ROLE_UNSPECIFIED"}


def test_a_function_may_return_a_message_a_dict_or_the_value_of_a_single_field(serializer):
    total = serializer.message_class("vectors.Total")
    expected = serializer.encode(total(total=5), target="vectors.count")
    assert serializer.encode({"total": 5}, target="vectors.count") == expected
    assert serializer.encode(5, target="vectors.count") == expected
    assert serializer.to_python(serializer.decode(expected)) == {"total": 5}


def test_a_message_returned_without_a_schema_travels_by_type(serializer):
    total = serializer.message_class("vectors.Total")(total=9)
    decoded = serializer.decode(serializer.encode({"t": total}))
    assert decoded["t"] == total


def test_a_message_the_host_does_not_know_travels_as_a_dict():
    from google.protobuf import duration_pb2

    serializer = ProtobufSerializer()
    assert serializer.decode(serializer.encode(duration_pb2.Duration(seconds=3))) == {"seconds": 3, "nanos": 0}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"age": "x"}, r"at result\.age: expected int32, got 'x'"),
        ({"age": 2**31}, r"at result\.age: expected int32 \(-2147483648 to 2147483647\)"),
        ({"address": {"city": 5}}, r"at result\.address\.city: expected string, got 5"),
        ({"nmae": "Ada"}, r"at result\.nmae: vectors\.User has no field 'nmae'"),
        ({"role": "ROLE_KING"}, r"at result\.role: 'ROLE_KING' is not a value of vectors\.Role"),
        ({"tags": "admin"}, r"at result\.tags: expected a list"),
        ({"email": "a@b", "phone": "1"}, r"only one field of the oneof contact"),
        ({"labels": {"x": "y"}}, r"at result\.labels\['x'\]: expected int64"),
        (None, r"returned None, but its response is a vectors\.User"),
    ],
)
def test_a_response_is_checked_against_its_message_type(serializer, value, message):
    with pytest.raises(SerializationError, match=message):
        serializer.encode(value, target="vectors.create_user", role="result")


def test_a_response_message_of_another_type_is_refused(serializer):
    total = serializer.message_class("vectors.Total")(total=1)
    with pytest.raises(SerializationError, match=r"expected a vectors\.User, got a vectors\.Total"):
        serializer.encode(total, target="vectors.create_user", role="result")


def test_a_result_that_cannot_travel_by_value_stays_a_handle(serializer):
    decoded = serializer.decode(
        serializer.encode(HANDLE_OBJECT, to_handle, target="vectors.create_user", role="result"), HANDLES.__getitem__
    )
    assert decoded is HANDLE_OBJECT


def worker_own_user_class(age_type: int):
    """A vectors.User as a worker's own protoc-generated module would define it, with one field changed."""
    files = descriptor_pb2.FileDescriptorSet.FromString(base64.b64decode(SCHEMA["descriptorSet"])).file
    pool = descriptor_pool.DescriptorPool()
    for file in files:
        if file.name == "protobuf_vectors.proto":
            for message in file.message_type:
                if message.name == "User":
                    next(f for f in message.field if f.name == "age").type = age_type
        pool.AddSerializedFile(file.SerializeToString())
    return pool, message_factory.GetMessageClass(pool.FindMessageTypeByName("vectors.User"))


def test_a_message_class_of_the_workers_own_that_differs_from_the_hosts_is_refused(serializer):
    _, user = worker_own_user_class(descriptor_pb2.FieldDescriptorProto.TYPE_STRING)
    with pytest.raises(
        SerializationError, match=r"vectors\.User field 3: the host has int32 age, the worker string age"
    ):
        serializer.encode(user(name="Ada"), target="vectors.create_user", role="result")


def test_a_message_class_of_the_workers_own_that_matches_is_accepted(serializer):
    _, user = worker_own_user_class(descriptor_pb2.FieldDescriptorProto.TYPE_INT32)
    data = serializer.encode(user(name="Ada", age=3), target="vectors.create_user", role="result")
    assert serializer.to_python(serializer.decode(data))["age"] == 3


# --- start-up checks -------------------------------------------------------------------------------------


def test_refuses_descriptors_that_do_not_match_their_hash():
    with pytest.raises(SchemaError, match="do not match their hash"):
        ProtobufSerializer(**schema_options(schema_hash="0" * 64))


def test_refuses_callables_without_descriptors():
    with pytest.raises(SchemaError, match="sent no schema descriptors"):
        ProtobufSerializer(callables=SCHEMA["callables"])


def test_refuses_a_callable_whose_type_the_descriptors_lack():
    with pytest.raises(SchemaError, match=r"lack vectors\.Missing, the response type of m\.f"):
        ProtobufSerializer(**schema_options(callables={"m.f": {"response": "vectors.Missing"}}))


def test_refuses_a_host_whose_snakebridge_proto_differs():
    files = descriptor_pb2.FileDescriptorSet.FromString(base64.b64decode(SCHEMA["descriptorSet"]))
    value_file = next(f for f in files.file if f.name == "snakebridge.proto")
    value = next(m for m in value_file.message_type if m.name == "Value")
    next(f for f in value.field if f.name == "int_value").type = descriptor_pb2.FieldDescriptorProto.TYPE_INT64
    raw = files.SerializeToString()
    with pytest.raises(SchemaError, match=r"snakebridge\.proto differs from this worker's.*int_value"):
        ProtobufSerializer(descriptor_set=raw, schema_hash=hashlib.sha256(raw).hexdigest())


def test_a_worker_pinned_to_another_schema_hash_refuses_to_start(monkeypatch):
    monkeypatch.setenv(SCHEMA_HASH_ENV, "ab" * 32)
    with pytest.raises(SchemaError, match=r"built from different \.proto files"):
        ProtobufSerializer(**schema_options())


def test_a_worker_pinned_to_the_hosts_schema_hash_starts(monkeypatch):
    monkeypatch.setenv(SCHEMA_HASH_ENV, SCHEMA["schemaHash"].upper())
    assert ProtobufSerializer(**schema_options()).schema_hash == SCHEMA["schemaHash"]


def local_descriptor_file(tmp_path, age_type: int):
    files = descriptor_pb2.FileDescriptorSet.FromString(base64.b64decode(SCHEMA["descriptorSet"]))
    for file in files.file:
        for message in file.message_type:
            if message.name == "User":
                next(f for f in message.field if f.name == "age").type = age_type
    path = tmp_path / "worker.binpb"
    path.write_bytes(files.SerializeToString())
    return path


def test_a_worker_with_its_own_descriptors_that_differ_refuses_to_start(tmp_path, monkeypatch):
    path = local_descriptor_file(tmp_path, descriptor_pb2.FieldDescriptorProto.TYPE_INT64)
    monkeypatch.setenv(DESCRIPTORS_ENV, str(path))
    with pytest.raises(SchemaError, match=r"different .proto files: vectors\.User field 3: the host has int32 age"):
        ProtobufSerializer(**schema_options())


def test_a_worker_with_its_own_descriptors_that_match_starts(tmp_path):
    path = local_descriptor_file(tmp_path, descriptor_pb2.FieldDescriptorProto.TYPE_INT32)
    assert ProtobufSerializer(**schema_options(local_descriptors=str(path))).callables


def test_refuses_options_it_does_not_know():
    with pytest.raises(SchemaError, match="unknown serializer options colour"):
        ProtobufSerializer(colour="blue")


def test_numpy_scalars_fill_fields_of_their_kind(serializer):
    data = serializer.encode(
        {"age": np.int32(7), "scores": {"x": np.float32(0.5)}, "id": np.int64(2)}, target="vectors.create_user"
    )
    assert serializer.to_python(serializer.decode(data)) == {
        "id": 2,
        "name": "",
        "age": 7,
        "tags": [],
        "role": "ROLE_UNSPECIFIED",
        "scores": {"x": 0.5},
        "avatar": b"",
        "labels": {},
        "deltas": [],
        "visits": 0,
    }


def test_a_worker_whose_descriptors_lack_a_callables_type_refuses_to_start(tmp_path):
    files = descriptor_pb2.FileDescriptorSet.FromString(base64.b64decode(SCHEMA["descriptorSet"]))
    kept = [f for f in files.file if f.name != "protobuf_vectors.proto"]
    path = tmp_path / "worker.binpb"
    path.write_bytes(descriptor_pb2.FileDescriptorSet(file=kept).SerializeToString())
    with pytest.raises(SchemaError, match=r"vectors\.User \(used by vectors\.create_user\) is not in the worker's"):
        ProtobufSerializer(**schema_options(local_descriptors=str(path)))


def test_refuses_descriptors_that_are_not_base64():
    with pytest.raises(SchemaError, match="not valid base64"):
        ProtobufSerializer(**schema_options(descriptor_set="not base64!"))
