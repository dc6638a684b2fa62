"""Seeded fuzzing of the Python Arrow decoder (fuzz_kit.py), and the regressions it guards.

pyarrow checks an IPC stream's structure itself; the serializer refuses compressed bodies,
validates what arrives in full, and bounds what a conversion to pandas may allocate. Every
mutated message must decode or be refused with a SerializationError, within its allocation budget.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal

import msgpack
import pyarrow as pa
import pytest
from fuzz_kit import fuzz, nested
from values import expected_bytes, load_vectors

from snakebridge.errors import SerializationError
from snakebridge.serializers.arrow import EXT_ARROW, ArrowSerializer, read_payload

pd = pytest.importorskip("pandas")

VECTORS = load_vectors("serializers/arrow.json")
SERIALIZER = ArrowSerializer()


def resolve(handle_id: int) -> object:
    return ("handle", handle_id)


def rich_table() -> pa.Table:
    """A table of many of the types pyarrow writes, each column with a null."""
    struct = pa.struct([("i", pa.int32()), ("s", pa.string())])
    union = pa.UnionArray.from_sparse(pa.array([0, 1, 0], pa.int8()), [pa.array([1, 2, 3]), pa.array(["a", "b", "c"])])
    columns = {
        "null": pa.array([None, None, None], pa.null()),
        "i8": pa.array([1, None, -3], pa.int8()),
        "u64": pa.array([1, None, 2**64 - 1], pa.uint64()),
        "f16": pa.array([1.5, None, 2.0], pa.float16()),
        "dec": pa.array([decimal.Decimal("1.25"), None, decimal.Decimal("-2.50")], pa.decimal128(10, 2)),
        "day": pa.array([dt.date(2024, 1, 1), None, dt.date(1970, 1, 1)], pa.date32()),
        "ts": pa.array([0, None, 1000], pa.timestamp("ms", tz="UTC")),
        "time": pa.array([1, None, 2], pa.time64("us")),
        "duration": pa.array([1, None, 2], pa.duration("s")),
        "fsb": pa.array([b"abc", None, b"def"], pa.binary(3)),
        "large": pa.array(["a", None, "ccc"], pa.large_string()),
        "view": pa.array(["short", None, "a string longer than twelve bytes"], pa.string_view()),
        "list": pa.array([[1, 2], None, []], pa.list_(pa.int32())),
        "fsl": pa.array([[1.0, 2.0], None, [3.0, 4.0]], pa.list_(pa.float64(), 2)),
        "struct": pa.array([{"i": 1, "s": "a"}, None, {"i": 2, "s": None}], struct),
        "map": pa.array([[("a", 1)], None, []], pa.map_(pa.string(), pa.int32())),
        "dict": pa.array(["red", None, "blue"]).dictionary_encode(),
        "union": union,
    }
    return pa.table(columns)


def corpus() -> list[bytes]:
    rich = rich_table()
    messages = [
        SERIALIZER.encode([rich, rich.slice(1).to_batches()[0], {"n": 1}]),
        SERIALIZER.encode(pa.concat_tables([rich, rich])),
        SERIALIZER.encode(rich.slice(0, 0)),
    ]
    return [expected_bytes(v) for v in VECTORS] + messages


def decode_within_arrow_budget(data: bytes) -> None:
    """Decodes, and checks what Arrow's own allocator holds for the result against the input's size."""
    before = pa.total_allocated_bytes()
    value = SERIALIZER.decode(data, resolve)
    held = pa.total_allocated_bytes() - before
    assert held <= 64 * len(data) + (1 << 20), f"Arrow holds {held} bytes for {len(data)} bytes of input"
    del value


def test_every_mutated_and_random_message_decodes_or_is_refused_with_a_serialization_error():
    pool = pa.default_memory_pool()
    peak = pool.max_memory()
    report = fuzz("arrow", corpus(), decode_within_arrow_budget, (SerializationError,))
    assert report.decoded > report.refused / 50
    # The peak of Arrow's allocator over the whole run: no single input made it allocate much.
    assert (pool.max_memory() or 0) - (peak or 0) < 256 << 20


def test_the_golden_table_with_its_field_count_corrupted_is_refused_at_once():
    # Byte 62 of vector 0 is the high byte of the schema's field count: apache-arrow ran out of heap on it.
    data = bytearray(expected_bytes(VECTORS[0]))
    data[62] = 0xFF
    with pytest.raises(SerializationError, match="pyarrow cannot read the stream"):
        SERIALIZER.decode(bytes(data))


def test_every_single_byte_corruption_of_the_golden_tables_decodes_or_is_refused_with_a_serialization_error():
    for vector in VECTORS[:4]:
        original = expected_bytes(vector)
        for at in range(len(original)):
            for value in (0x00, 0x7F, 0x80, 0xFF):
                data = bytearray(original)
                data[at] = value
                with contextlib.suppress(SerializationError):
                    SERIALIZER.decode(bytes(data))


def payload_of(stream: bytes, form: int = 0) -> bytes:
    return bytes((0, form, 8, 0)) + bytes(4) + stream


def stream_of(table: pa.Table, **options: object) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(**options)) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


@pytest.mark.parametrize("codec", ["lz4", "zstd"])
def test_a_compressed_stream_is_refused_before_pyarrow_trusts_its_declared_sizes(codec):
    stream = stream_of(pa.table({"x": list(range(100))}), compression=codec)
    with pytest.raises(SerializationError, match="compressed"):
        read_payload(payload_of(stream))


def test_a_null_column_of_a_billion_rows_stays_an_arrow_table_and_is_refused_rather_than_made_a_frame():
    table = pa.table({"x": pa.nulls(1_000_000_000)})
    message = msgpack.packb(msgpack.ExtType(EXT_ARROW, payload_of(stream_of(table), form=2)))
    with pytest.raises(SerializationError, match="cells in"):
        SERIALIZER.decode(message)
    plain = msgpack.packb(msgpack.ExtType(EXT_ARROW, payload_of(stream_of(table))))
    assert SERIALIZER.decode(plain).num_rows == 1_000_000_000


def test_types_nested_deeper_than_the_readers_take_are_refused_on_encode():
    arrow_type: pa.DataType = pa.int32()
    for _ in range(64):
        arrow_type = pa.list_(arrow_type)
    with pytest.raises(SerializationError, match="nested 65 deep, more than 64"):
        SERIALIZER.encode(pa.table({"x": pa.array([], arrow_type)}))


def test_a_hundred_thousand_nested_arrays_around_a_table_are_refused_with_a_serialization_error():
    with pytest.raises(SerializationError, match="nested"):
        SERIALIZER.decode(nested(b"\x91", expected_bytes(VECTORS[0]), b"", 100_000))
