"""The Python msgpack serializer: the golden vectors shared with TypeScript, and its own edge cases."""

from __future__ import annotations

import datetime as dt
import math
import struct
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import msgpack
import pytest
from values import build_value, expected_bytes, load_vectors, same

from snakebridge.errors import HandleError, SerializationError
from snakebridge.serializers import get_serializer
from snakebridge.serializers.base import CallbackRef, HandleWire, Scattered
from snakebridge.serializers.msgpack import (
    EXT_CALLBACK,
    EXT_HANDLE,
    EXT_NDARRAY,
    SCATTER_BYTES,
    MsgpackExtension,
    MsgpackSerializer,
)

np = pytest.importorskip("numpy")  # the vectors include arrays; numpy is in the dev extras

VECTORS = load_vectors("serializers/msgpack.json")
PY_VECTORS = [v for v in VECTORS if "py" in v["encode"]]
HANDLE_OBJECT = object()
HANDLES = {3: HANDLE_OBJECT}
UTC = dt.timezone.utc


def to_handle(obj: object) -> HandleWire:
    assert obj is HANDLE_OBJECT
    return HandleWire(3, "pkg.Model", None)


class Table:
    """Stands for an Arrow table in the extension tests."""

    def __init__(self, rows: list[int]) -> None:
        self.rows = rows


@pytest.fixture(scope="module")
def serializer() -> MsgpackSerializer:
    return get_serializer("msgpack")  # type: ignore[return-value]


def round_trip(serializer, value, **kwargs):
    return serializer.decode(serializer.encode(value, **kwargs))


def element_offset(encoded: bytes, ext_at: int) -> int:
    """Where the elements of the ndarray extension starting at ``ext_at`` begin, from the start of the message."""
    header = encoded[ext_at]
    size = {0xD4: 2, 0xD5: 2, 0xD6: 2, 0xD7: 2, 0xD8: 2, 0xC7: 3, 0xC8: 4, 0xC9: 6}[header]
    assert encoded[ext_at + size - 1] == EXT_NDARRAY
    (offset,) = struct.unpack_from("<H", encoded, ext_at + size + 2)
    return ext_at + size + offset


# --- golden vectors ---------------------------------------------------------------


def test_the_vectors_cover_every_row_of_the_mapping():
    kinds = {next(iter(v["value"])) for v in VECTORS}
    assert kinds >= {"null", "bool", "int", "bigint", "float", "str", "bytes", "list", "tuple", "dict", "map", "set"}
    assert kinds >= {"date", "ndarray", "handle"}


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_decodes_each_vector_to_its_value(serializer, vector):
    expected = build_value(vector.get("decoded", vector["value"]), HANDLES)
    assert same(serializer.decode(expected_bytes(vector), HANDLES.__getitem__), expected)


@pytest.mark.parametrize("vector", PY_VECTORS, ids=[v["name"] for v in PY_VECTORS])
def test_encodes_each_vector_to_the_expected_bytes(serializer, vector):
    value = build_value(vector["value"], HANDLES)
    assert serializer.encode(value, to_handle).hex() == expected_bytes(vector).hex()


# --- callbacks --------------------------------------------------------------------


def test_a_callback_reference_round_trips_as_itself_without_from_callback(serializer):
    value = {"on_done": CallbackRef(2), "steps": [CallbackRef(1), 3]}
    assert round_trip(serializer, value) == value


def test_callback_references_decode_through_from_callback_wherever_they_are(serializer):
    encoded = serializer.encode([CallbackRef(1), {"nested": (CallbackRef(300),)}, {CallbackRef(2)}])
    made: list[int] = []

    def from_callback(index: int) -> str:
        made.append(index)
        return f"callback {index}"

    decoded = serializer.decode(encoded, None, from_callback)
    assert decoded == ["callback 1", {"nested": ["callback 300"]}, {"callback 2"}]
    assert made == [1, 300, 2]


@pytest.mark.parametrize("payload", [0, -1, "1", True, [1]])
def test_refuses_a_callback_reference_that_is_not_a_positive_int(serializer, payload):
    with pytest.raises(SerializationError, match="callback"):
        serializer.decode(msgpack.packb(msgpack.ExtType(EXT_CALLBACK, msgpack.packb(payload))), None, lambda i: i)


# --- numbers ----------------------------------------------------------------------


def test_round_trips_special_floats_as_float64(serializer):
    for value in (math.inf, -math.inf, -0.0, 1e308, 5e-324, 0.1):
        encoded = serializer.encode(value)
        assert encoded[0] == 0xCB
        assert same(serializer.decode(encoded), value)
    assert math.isnan(round_trip(serializer, math.nan))


def test_ints_beyond_64_bits_round_trip_through_the_bigint_extension(serializer):
    for value in (2**64, -(2**63) - 1, 10**40, -(10**40), 2**1000):
        encoded = serializer.encode(value)
        assert encoded[1:3] == bytes([len(encoded) - 3, 80]) or encoded[2] == 80
        assert round_trip(serializer, value) == value


def test_ints_within_64_bits_are_plain_msgpack_ints(serializer):
    for value in (0, -1, 2**32, 2**63 - 1, -(2**63), 2**64 - 1):
        assert serializer.encode(value) == msgpack.packb(value)


def test_numpy_scalars_travel_as_python_scalars(serializer):
    assert serializer.encode(np.int64(7)) == b"\x07"
    assert serializer.encode(np.float32(1.5)) == msgpack.packb(1.5)
    assert serializer.encode(np.bool_(True)) == b"\xc3"
    assert serializer.encode(np.uint64(2**64 - 1)) == msgpack.packb(2**64 - 1)
    assert round_trip(serializer, np.datetime64("2024-02-29T12:34:56.789")) == dt.datetime(
        2024, 2, 29, 12, 34, 56, 789000, tzinfo=UTC
    )


def test_a_numpy_scalar_without_a_msgpack_form_becomes_a_handle_to_itself(serializer):
    held: list[object] = []

    def keep(obj: object) -> HandleWire:
        held.append(obj)
        return HandleWire(9, type(obj).__name__, None)

    serializer.encode([np.complex128(1j)], keep)
    assert isinstance(held[0], np.complex128)


# --- containers -------------------------------------------------------------------


def test_tuples_arrive_as_lists(serializer):
    assert round_trip(serializer, (1, (2, 3))) == [1, [2, 3]]


def test_bytearray_and_memoryview_travel_as_bytes(serializer):
    assert serializer.encode(bytearray(b"ab")) == b"\xc4\x02ab"
    assert round_trip(serializer, memoryview(b"cd")) == b"cd"


def test_sets_and_frozensets_arrive_as_sets(serializer):
    assert round_trip(serializer, {1, "a"}) == {1, "a"}
    decoded = round_trip(serializer, frozenset({(1, 2)}))
    assert decoded == {(1, 2)} and type(decoded) is set


def test_dicts_with_tuple_keys_come_back_with_tuple_keys(serializer):
    value = {(1, 2): "x", (3, (4, 5)): {(6,): 1}}
    assert round_trip(serializer, value) == value


def test_a_javascript_map_with_array_and_set_keys_reads_with_hashable_keys(serializer):
    payload = msgpack.packb({(1, 2): "pair"})
    encoded = msgpack.packb(msgpack.ExtType(82, payload))
    assert serializer.decode(encoded) == {(1, 2): "pair"}
    set_key = msgpack.ExtType(81, msgpack.packb([1]))
    encoded = msgpack.packb(msgpack.ExtType(82, msgpack.packb({set_key: "set"})))
    assert serializer.decode(encoded) == {frozenset({1}): "set"}


def test_a_set_member_that_is_a_list_becomes_a_tuple(serializer):
    encoded = msgpack.packb(msgpack.ExtType(81, msgpack.packb([[1, [2]], "a"])))
    assert serializer.decode(encoded) == {(1, (2,)), "a"}


def test_deep_nesting_round_trips(serializer):
    value: object = "bottom"
    for i in range(200):
        value = [value] if i % 2 else {"level": value}
    assert round_trip(serializer, value) == value


# --- dates ------------------------------------------------------------------------


def test_naive_datetimes_are_taken_as_utc(serializer):
    assert serializer.encode(dt.datetime(2024, 1, 2, 3, 4, 5, 6000)) == serializer.encode(
        dt.datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    )


def test_aware_datetimes_arrive_in_utc(serializer):
    tokyo = dt.timezone(dt.timedelta(hours=9))
    decoded = round_trip(serializer, dt.datetime(2024, 1, 2, 9, 0, tzinfo=tokyo))
    assert decoded == dt.datetime(2024, 1, 2, 0, 0, tzinfo=UTC) and decoded.tzinfo == UTC


def test_dates_are_midnight_utc(serializer):
    assert round_trip(serializer, dt.date(2020, 2, 29)) == dt.datetime(2020, 2, 29, tzinfo=UTC)


def test_datetimes_keep_whole_milliseconds_rounding_down(serializer):
    assert round_trip(serializer, dt.datetime(2024, 1, 1, 0, 0, 0, 999999, tzinfo=UTC)).microsecond == 999000
    before_epoch = dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert round_trip(serializer, before_epoch) == dt.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)


def test_a_date_beyond_pythons_range_is_refused(serializer):
    year_20000 = msgpack.packb(msgpack.Timestamp(568_971_820_800, 0))
    with pytest.raises(SerializationError):
        serializer.decode(year_20000)


# --- numpy arrays -----------------------------------------------------------------


def test_arrays_round_trip_with_dtype_and_shape(serializer):
    for dtype in ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"):
        array = np.arange(24).astype(dtype).reshape(2, 3, 4)
        decoded = round_trip(serializer, array)
        assert decoded.dtype == array.dtype and decoded.shape == array.shape
        assert np.array_equal(decoded, array)


def test_non_contiguous_and_big_endian_arrays_are_sent_as_c_ordered_little_endian(serializer):
    base = np.arange(12, dtype="float64").reshape(3, 4)
    for array in (base[:, ::2], base.T, np.asfortranarray(base), base.astype(">f8")):
        decoded = round_trip(serializer, array)
        assert np.array_equal(decoded, array) and decoded.dtype == np.dtype("<f8")


def test_a_received_array_views_the_payload_without_a_copy(serializer):
    vector = next(v for v in VECTORS if v["name"] == "2-D int32 array, as TypeScript writes it")
    array = serializer.decode(expected_bytes(vector))
    assert not array.flags.owndata and array.flags.aligned
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    assert isinstance(base, memoryview) and isinstance(base.obj, bytes)


def test_elements_start_8_aligned_in_the_message_when_python_writes_them(serializer):
    for prefix in range(0, 9):
        value = {"k" * prefix: np.arange(5, dtype="float64")} if prefix else np.arange(5, dtype="float64")
        encoded = serializer.encode(value)
        ext_at = 0 if not prefix else 1 + (1 + prefix)
        assert element_offset(encoded, ext_at) % 8 == 0, prefix


# --- large arrays written from their own memory (encode_scattered) -----------------


BIG = SCATTER_BYTES // 8 + 3  # float64 elements: just over the threshold


@pytest.mark.parametrize(
    "make",
    [
        lambda big: big,
        lambda big: [big, "x", big[:10].copy(), big],
        lambda big: {"a": "xyz", "b": big, "c": [1, big.astype("int32"), "odd length!"]},
        lambda big: ["abc", np.ones((400, 300)), {"deep": [[big]]}, 2**70],
        lambda big: [big.reshape(1, -1), big[::2]],  # a view that is not contiguous is made so
    ],
)
def test_scattered_parts_join_to_exactly_the_encoded_bytes(serializer, make):
    value = make(np.arange(BIG, dtype="float64"))
    scattered = serializer.encode_scattered(value)
    assert isinstance(scattered, Scattered)
    assert bytes(scattered) == serializer.encode(value)
    assert len(scattered) == len(serializer.encode(value))
    assert same(serializer.decode(bytes(scattered)), value)


def test_a_scattered_array_is_its_own_memory_not_a_copy(serializer):
    big = np.arange(BIG, dtype="float64")
    scattered = serializer.encode_scattered([1, big])
    assert isinstance(scattered, Scattered)
    own = [part for part in scattered.parts if isinstance(part, memoryview) and part.nbytes == big.nbytes]
    assert len(own) == 1 and np.shares_memory(np.frombuffer(own[0], dtype="float64"), big)


def test_scattered_elements_stay_8_aligned_in_the_whole_message(serializer):
    for prefix in range(0, 9):
        value = ["k" * prefix, np.arange(BIG, dtype="float64"), "x" * prefix, np.arange(BIG, dtype="float64")]
        encoded = bytes(serializer.encode_scattered(value))
        ext_at = 1 + 1 + prefix
        assert element_offset(encoded, ext_at) % 8 == 0, prefix


def test_small_arrays_and_arrays_in_sets_or_maps_are_not_scattered(serializer):
    assert isinstance(serializer.encode_scattered([np.arange(10.0)]), bytes)
    small = np.arange(SCATTER_BYTES // 8 - 1, dtype="float64")
    assert isinstance(serializer.encode_scattered(small), bytes)
    value = {frozenset({1}): 1, "plain": [1, 2]}
    assert serializer.encode_scattered(value) == serializer.encode(value)


def test_a_failed_scattered_encode_leaves_the_encoder_clean(serializer):
    big = np.arange(BIG, dtype="float64")
    with pytest.raises(SerializationError):
        serializer.encode_scattered([big, object()])  # no to_handle: the object cannot be sent
    assert serializer.encode([big]) == bytes(serializer.encode_scattered([big]))


def test_arrays_of_other_dtypes_become_handles(serializer):
    held: list[object] = []

    def keep(obj: object) -> HandleWire:
        held.append(obj)
        return HandleWire(len(held), "numpy.ndarray", None)

    encoded = serializer.encode([np.array([True, False]), np.array([1j])], keep)
    assert len(held) == 2
    assert msgpack.unpackb(encoded, strict_map_key=False)[0].code == EXT_HANDLE


def test_plain_data_never_imports_numpy():
    code = textwrap.dedent(
        """
        import sys
        from snakebridge.serializers import get_serializer
        s = get_serializer("msgpack")
        value = {"a": [1, 2.5, "x", None, b"b"], "s": {1}, "big": 2**70}
        assert s.decode(s.encode(value)) == value
        assert "numpy" not in sys.modules, "numpy was imported"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- handles ----------------------------------------------------------------------


def test_objects_without_a_msgpack_form_become_handles(serializer):
    class Model:
        pass

    model = Model()
    table: dict[int, object] = {}

    def keep(obj: object) -> HandleWire:
        table[7] = obj
        return HandleWire(7, "tests.Model", "<Model>")

    encoded = serializer.encode({"model": model}, keep)
    assert msgpack.unpackb(encoded)["model"] == msgpack.ExtType(
        EXT_HANDLE, msgpack.packb([7, "tests.Model", "<Model>"])
    )
    assert serializer.decode(encoded, table.__getitem__) == {"model": model}


def test_a_handle_to_a_released_object_raises_the_handle_error(serializer):
    def gone(handle_id: int) -> object:
        raise HandleError(f"handle {handle_id} was released")

    with pytest.raises(HandleError):
        serializer.decode(serializer.encode(HANDLE_OBJECT, to_handle), gone)


def test_a_handle_where_none_can_be_resolved_is_refused(serializer):
    with pytest.raises(SerializationError, match="no handles"):
        serializer.decode(serializer.encode(HANDLE_OBJECT, to_handle))


def test_refuses_an_object_it_cannot_carry_when_handles_are_off_naming_its_path(serializer):
    with pytest.raises(SerializationError, match=r"at rows\[0\]\.cell: cannot send a object"):
        serializer.encode({"rows": [{"cell": object()}]})
    with pytest.raises(SerializationError, match=r"at \(root\)"):
        serializer.encode(object())
    with pytest.raises(SerializationError, match=r"at \[1\]<item>"):
        serializer.encode([1, frozenset({object()})])


# --- malformed input --------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xc1",
        b"\x92\x01",  # an array cut short
        b"\x01\x02",  # bytes after the value
        b"\xd4\x50",  # an extension cut short
        bytes.fromhex("c70150"),  # ext 8 cut short
        bytes.fromhex("c7015000")[:3],
        bytes.fromhex("d45101"),  # a set extension that holds no array
        bytes.fromhex("c7015300"),  # an ndarray header cut short
        bytes.fromhex("c7085363010800"),  # an unknown dtype code
        bytes.fromhex("c70c53090104000100000000000000"),  # elements that do not fill the shape
        bytes.fromhex("d47f00"),  # an extension type nobody registered
        b"\xa2\xff\xfe",  # a string that is not UTF-8
    ],
)
def test_refuses_malformed_input_with_a_serialization_error(serializer, data):
    with pytest.raises(SerializationError):
        serializer.decode(data, HANDLES.__getitem__)


def test_refuses_a_string_with_a_lone_surrogate(serializer):
    with pytest.raises(SerializationError):
        serializer.encode("\ud800")


def test_refuses_a_cycle(serializer):
    cyclic: list[object] = []
    cyclic.append(cyclic)
    with pytest.raises(SerializationError):
        serializer.encode(cyclic)


# --- extensions and threads -------------------------------------------------------


def table_extension(type_code: int = 85) -> MsgpackExtension:
    return MsgpackExtension(
        type=type_code,
        cls=Table,
        encode=lambda table: msgpack.packb(table.rows),
        decode=lambda payload: Table(msgpack.unpackb(payload)),
    )


def test_an_added_extension_carries_its_type_both_ways():
    serializer = MsgpackSerializer(extensions=[table_extension()])
    encoded = serializer.encode({"t": Table([1, 2])})
    assert msgpack.unpackb(encoded)["t"].code == 85
    assert serializer.decode(encoded)["t"].rows == [1, 2]


def test_a_serializer_without_the_extension_refuses_its_type(serializer):
    encoded = MsgpackSerializer(extensions=[table_extension()]).encode(Table([1]))
    with pytest.raises(SerializationError, match="85"):
        serializer.decode(encoded)


@pytest.mark.parametrize("type_code", [80, 84, 86, 0x72, 128, -1])
def test_an_extension_may_not_take_a_reserved_type(type_code):
    with pytest.raises(ValueError):
        MsgpackSerializer(extensions=[table_extension(type_code)])


def test_an_extension_type_may_be_registered_once():
    with pytest.raises(ValueError, match="twice"):
        MsgpackSerializer(extensions=[table_extension(), table_extension()])


def test_encodes_from_many_threads_at_once(serializer):
    values = [{"i": i, "s": {i, i + 1}, "a": np.arange(i % 7 + 1, dtype="int32"), "big": 2**70 + i} for i in range(400)]
    expected = [serializer.encode(v) for v in values]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(serializer.encode, values)) == expected


def test_the_readme_extension_example_works():
    # packages/serializer-msgpack/README.md, "Adding an extension type", as written there.
    from fractions import Fraction

    serializer = MsgpackSerializer(
        extensions=[
            MsgpackExtension(
                type=90, cls=Fraction, encode=lambda f: str(f).encode(), decode=lambda p: Fraction(p.decode())
            ),
        ]
    )
    assert serializer.decode(serializer.encode(Fraction(3, 4))) == Fraction(3, 4)
