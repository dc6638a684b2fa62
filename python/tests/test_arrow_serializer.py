"""The Python Arrow serializer: the golden vectors shared with TypeScript, forms, frames, copies and edge cases."""

from __future__ import annotations

import asyncio
import math
import struct
import subprocess
import sys
import textwrap
import types
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgpack
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from values import build_value, expected_bytes, load_vectors, same

from snakebridge.errors import SerializationError
from snakebridge.serializers import get_serializer
from snakebridge.serializers.arrow import (
    EXT_ARROW,
    ArrowSerializer,
    read_payload,
    table_as,
    tables_as,
)
from snakebridge.serializers.base import CallbackRef

VECTORS = load_vectors("serializers/arrow.json")
PY_VECTORS = [v for v in VECTORS if "py" in v["encode"]]
HEAD = struct.Struct("<BBH")

# --- the value notation, with Arrow values (see vectors/serializers/arrow.json) -------

ARROW_TYPES = {"int64": pa.int64(), "float64": pa.float64(), "utf8": pa.string(), "bool": pa.bool_()}


def _cell(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "int64":
        return int(value)
    if kind == "float64":
        return float(value)
    return value


def batch_of(notation: dict[str, Any]) -> pa.RecordBatch:
    columns = notation["columns"]
    schema = pa.schema([pa.field(c["name"], ARROW_TYPES[c["type"]], nullable=True) for c in columns])
    arrays = [pa.array([_cell(c["type"], v) for v in c["values"]], ARROW_TYPES[c["type"]]) for c in columns]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def table_of(notation: dict[str, Any]) -> pa.Table:
    return pa.Table.from_batches([batch_of(notation)])


class Form:
    """What a ``tableAs`` notation decodes to in Python: ``table`` in ``form``."""

    def __init__(self, form: str, table: pa.Table) -> None:
        self.form = form
        self.table = table


def build_arrow_value(notation: dict[str, Any], *, for_decode: bool = False) -> Any:
    """The Python value for a notation; with ``for_decode``, ``tableAs`` stands for what decoding gives."""
    ((kind, raw),) = notation.items()
    if kind == "table":
        return table_of(raw)
    if kind == "recordBatch":
        return batch_of(raw)
    if kind == "tableAs":
        if not for_decode:
            raise ValueError("tableAs is a TypeScript value: Python cannot encode it")
        return Form(raw["form"], table_of(raw["table"]))
    if kind in ("list", "tuple"):
        items = [build_arrow_value(item, for_decode=for_decode) for item in raw]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {key: build_arrow_value(value, for_decode=for_decode) for key, value in raw}
    if kind == "map":
        return {build_value(key): build_arrow_value(value, for_decode=for_decode) for key, value in raw}
    return build_value(notation)


def same_table(actual: Any, expected: pa.Table | pa.RecordBatch) -> bool:
    """Same kind, schema (names, types, nullability) and values; NaN equals NaN, -0.0 differs from 0.0."""
    if type(actual) is not type(expected) or not actual.schema.equals(expected.schema):
        return False
    return all(
        same(a, b) if isinstance(a, float) and isinstance(b, float) else type(a) is type(b) and a == b
        for name in expected.schema.names
        for a, b in zip(actual.column(name).to_pylist(), expected.column(name).to_pylist(), strict=True)
    )


def same_value(actual: Any, expected: Any) -> bool:
    if isinstance(expected, (pa.Table, pa.RecordBatch)):
        return same_table(actual, expected)
    if isinstance(expected, Form):
        assert expected.form == "pandas", "the vectors only ask for pandas"
        # pandas has no utf8 of its own: read the frame back with the expected schema.
        return isinstance(actual, pd.DataFrame) and same_table(
            pa.Table.from_pandas(actual, schema=expected.table.schema, preserve_index=False), expected.table
        )
    if isinstance(expected, (list, tuple)):
        return (
            type(actual) is type(expected)
            and len(actual) == len(expected)
            and all(same_value(a, b) for a, b in zip(actual, expected, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(same_value(actual[k], expected[k]) for k in expected)
        )
    return same(actual, expected)


@pytest.fixture(scope="module")
def serializer() -> ArrowSerializer:
    return get_serializer("arrow")  # type: ignore[return-value]


def round_trip(serializer: ArrowSerializer, value: Any) -> Any:
    return serializer.decode(serializer.encode(value))


def sample_table(rows: int = 5) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "score": pa.array([i / 4 if i % 3 else None for i in range(rows)], pa.float64()),
            "label": pa.array([f"row {i}" if i % 2 else None for i in range(rows)], pa.string()),
            "ok": pa.array([i % 2 == 0 for i in range(rows)], pa.bool_()),
        }
    )


def arrow_ext_at(message: bytes, at: int) -> tuple[int, int]:
    """(start of the payload, its length) of the ext 8/16/32 value at ``at``."""
    code = message[at]
    if code == 0xC7:
        length, ext_type = message[at + 1], message[at + 2]
        start = at + 3
    elif code == 0xC8:
        (length,), ext_type = struct.unpack_from(">H", message, at + 1), message[at + 3]
        start = at + 4
    else:
        assert code == 0xC9
        (length,), ext_type = struct.unpack_from(">I", message, at + 1), message[at + 5]
        start = at + 6
    assert ext_type == EXT_ARROW
    return start, length


# --- golden vectors ---------------------------------------------------------------


def test_the_vectors_cover_tables_batches_nesting_and_plain_msgpack():
    kinds = {next(iter(v["value"])) for v in VECTORS}
    assert {"table", "recordBatch", "list", "tableAs", "map", "null", "int", "str", "dict", "bytes"} <= kinds
    assert {"py"} < {e for v in VECTORS for e in v["encode"]}  # both sides write some vectors exactly


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_decodes_each_vector_to_its_value(serializer, vector):
    expected = build_arrow_value(vector["value"], for_decode=True)
    assert same_value(serializer.decode(expected_bytes(vector)), expected)


@pytest.mark.parametrize("vector", PY_VECTORS, ids=[v["name"] for v in PY_VECTORS])
def test_encodes_each_vector_to_the_expected_bytes(serializer, vector):
    assert serializer.encode(build_arrow_value(vector["value"])).hex() == expected_bytes(vector).hex()


# --- callbacks ----------------------------------------------------------------------


def test_callback_references_travel_as_in_msgpack_next_to_tables(serializer):
    value = [CallbackRef(1), sample_table(2), {"on_done": CallbackRef(2)}]
    encoded = serializer.encode(value)
    assert encoded.startswith(bytes.fromhex("93d45601"))  # [ext 86 (1), ...
    assert encoded.endswith(bytes.fromhex("81a76f6e5f646f6e65d45602"))  # ..., {"on_done": ext 86 (2)}]
    assert serializer.decode(encoded)[0] == CallbackRef(1)
    decoded = serializer.decode(encoded, None, lambda index: f"callback {index}")
    assert decoded[0] == "callback 1" and decoded[2] == {"on_done": "callback 2"}
    assert same_table(decoded[1], sample_table(2))


# --- tables and batches -------------------------------------------------------------


def test_a_table_round_trips_with_its_schema_nulls_and_values(serializer):
    table = sample_table(7)
    back = round_trip(serializer, table)
    assert isinstance(back, pa.Table)
    assert same_table(back, table)
    assert back.column("score").null_count == table.column("score").null_count > 0


def test_a_record_batch_comes_back_a_record_batch(serializer):
    batch = sample_table(4).to_batches()[0]
    back = round_trip(serializer, batch)
    assert isinstance(back, pa.RecordBatch)
    assert back.equals(batch)


def test_many_column_types_round_trip(serializer):
    table = pa.table(
        {
            "i8": pa.array([1, None, -3], pa.int8()),
            "u64": pa.array([0, 2**64 - 1, None], pa.uint64()),
            "f32": pa.array([1.5, None, -0.0], pa.float32()),
            "when": pa.array([0, 1_700_000_000_000_000, None], pa.timestamp("us", tz="UTC")),
            "day": pa.array([0, 19_000, None], pa.date32()),
            "money": pa.array([1, None, 3], pa.decimal128(10, 2)),
            "blob": pa.array([b"\x00\xff", None, b""], pa.binary()),
            "big": pa.array(["x", None, "z"], pa.large_string()),
            "tags": pa.array([["a"], None, []], pa.list_(pa.string())),
            "point": pa.array([{"x": 1, "y": 2}, None, {"x": 3, "y": None}]),
            "color": pa.array(["red", "blue", "red"]).dictionary_encode(),
        }
    )
    back = round_trip(serializer, table)
    assert back.schema.equals(table.schema)
    assert back.equals(table)


def test_schema_metadata_travels(serializer):
    table = sample_table(2).replace_schema_metadata({"source": "sensor 7"})
    assert round_trip(serializer, table).schema.metadata == {b"source": b"sensor 7"}


def test_an_empty_table_keeps_its_schema(serializer):
    table = sample_table(0)
    back = round_trip(serializer, table)
    assert back.num_rows == 0
    assert back.schema.equals(table.schema)


def test_a_table_without_columns_round_trips_in_a_small_extension(serializer):
    message = serializer.encode(pa.table({}))
    assert message[0] == 0xC7  # ext 8: the payload is under 256 bytes
    back = serializer.decode(message)
    assert (back.num_columns, back.num_rows) == (0, 0)


def test_a_table_of_many_chunks_round_trips(serializer):
    table = pa.concat_tables([sample_table(3), sample_table(4), sample_table(0)])
    back = round_trip(serializer, table)
    assert back.equals(table)


def test_a_big_table_round_trips(serializer):
    rows = 1_000_000
    table = pa.table({"id": np.arange(rows), "x": np.arange(rows) / 7, "flag": np.arange(rows) % 3 == 0})
    back = round_trip(serializer, table)
    assert back.equals(table)


def test_tables_travel_anywhere_in_a_value_beside_plain_data(serializer):
    table, batch = sample_table(3), sample_table(2).to_batches()[0]
    value = [[1, {"frame": table, "note": "n"}, [batch, batch]], {"limit": 10, "other": table}]
    back = round_trip(serializer, value)
    assert same_value(back, value)


def test_plain_values_are_encoded_exactly_as_by_the_msgpack_serializer(serializer):
    value = {"a": [1, 2.5, None, "x", b"\x00"], "b": {1, 2}, "n": 2**70, "t": (1, 2)}
    assert serializer.encode(value) == get_serializer("msgpack").encode(value)


def test_objects_without_an_arrow_or_msgpack_form_still_become_handles(serializer):
    class Model:
        pass

    model = Model()
    seen = []

    def to_handle(obj):
        from snakebridge.serializers.base import HandleWire

        seen.append(obj)
        return HandleWire(9, "Model")

    back = serializer.decode(serializer.encode([sample_table(1), model], to_handle), {9: "resolved"}.__getitem__)
    assert seen == [model]
    assert back[1] == "resolved"


# --- where the bytes are --------------------------------------------------------------


def test_a_received_table_views_the_payload_without_copying_it(serializer):
    table = pa.table({"x": np.arange(10_000, dtype="float64")})
    payloads = []
    message = serializer.encode(table)
    msgpack.unpackb(message, ext_hook=lambda code, data: payloads.append(data) or data)
    (payload,) = payloads
    kind, form, back = read_payload(payload)
    values = back.column("x").chunk(0).buffers()[1]
    start = np.frombuffer(payload, dtype=np.uint8).ctypes.data
    assert (kind, form) == (0, 0)
    assert start <= values.address < start + len(payload)  # inside the payload: not a copy


def stream_starts(message: bytes) -> list[int]:
    """Where the Arrow streams start in a message that is a flat array of strings and Arrow values."""
    assert 0x90 <= message[0] <= 0x9F, "a fixarray"
    starts, at = [], 1
    for _ in range(message[0] & 0x0F):
        code = message[at]
        if 0xA0 <= code <= 0xBF:  # fixstr
            at += 1 + (code & 0x1F)
        elif code == 0xD9:  # str 8
            at += 2 + message[at + 1]
        else:
            start, length = arrow_ext_at(message, at)
            (offset,) = struct.unpack_from("<H", message, start + 2)
            starts.append(start + offset)
            at = start + length
    assert at == len(message)
    return starts


@pytest.mark.parametrize("prefix", ["", "x", "xy" * 7, "a longer string of some 37 characters"])
def test_python_aligns_each_stream_8_bytes_from_the_start_of_the_message(serializer, prefix):
    message = serializer.encode([prefix, sample_table(3), prefix * 2, pa.table({"x": np.arange(20_000)})])
    starts = stream_starts(message)
    assert len(starts) == 2
    assert [position % 8 for position in starts] == [0, 0]
    assert all(message[position : position + 4] == b"\xff\xff\xff\xff" for position in starts)


def test_a_stream_the_host_writes_with_any_padding_is_read(serializer):
    table = sample_table(3)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    stream = sink.getvalue().to_pybytes()
    for offset in (4, 5, 8, 13):
        payload = HEAD.pack(0, 0, offset) + bytes(offset - 4) + stream
        message = msgpack.packb(msgpack.ExtType(EXT_ARROW, payload))
        assert serializer.decode(message).equals(table)


def test_encodes_from_many_threads_at_once(serializer):
    tables = [pa.table({"x": np.full(50_000, i)}) for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        messages = list(pool.map(lambda t: serializer.encode([t, t.slice(0, 10)]), tables))
    for i, message in enumerate(messages):
        whole, part = serializer.decode(message)
        assert whole.column("x").to_pylist()[-1] == i
        assert part.num_rows == 10


# --- DataFrames -----------------------------------------------------------------------


def frame() -> pd.DataFrame:
    return pd.DataFrame({"city": ["Oslo", "Lima", None], "temp": [-3.5, 19.0, float("nan")], "n": [1, 2, 3]})


def test_a_pandas_dataframe_is_sent_as_an_arrow_table(serializer):
    back = round_trip(serializer, frame())
    assert isinstance(back, pa.Table)
    assert back.column_names == ["city", "temp", "n"]
    assert back.column("city").to_pylist() == ["Oslo", "Lima", None]
    assert back.column("n").type == pa.int64()


def test_a_default_range_index_is_left_out_of_the_columns_but_kept_in_the_pandas_metadata(serializer):
    back = round_trip(serializer, frame())
    assert "__index_level_0__" not in back.column_names
    assert b"pandas" in back.schema.metadata
    assert back.to_pandas().equals(frame())


def test_a_named_index_becomes_a_column_by_default(serializer):
    indexed = frame().set_index("city")
    back = round_trip(serializer, indexed)
    assert back.column_names == ["temp", "n", "city"]
    restored = back.to_pandas()  # the pandas metadata puts the index back
    assert restored.index.name == "city"
    assert restored.equals(indexed)


@pytest.mark.parametrize(
    ("mode", "columns"),
    [("column", ["temp", "n", "__index_level_0__"]), ("drop", ["temp", "n"]), ("auto", ["temp", "n"])],
)
def test_pandas_index_option_decides_what_becomes_of_a_range_index(mode, columns):
    serializer = ArrowSerializer(pandas_index=mode)
    back = round_trip(serializer, frame().drop(columns="city"))
    assert back.column_names == columns


def test_a_dataframe_that_arrow_cannot_represent_is_refused_with_the_reason(serializer):
    mixed = pd.DataFrame({"x": [1, "two", object()]})
    with pytest.raises(SerializationError, match=r"^\[arrow\] .*pandas DataFrame could not be made into an Arrow"):
        serializer.encode({"result": mixed})


def test_works_in_a_worker_without_pandas_or_polars():
    script = textwrap.dedent(
        """
        import sys
        from importlib.abc import MetaPathFinder

        class NotInstalled(MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in ("pandas", "polars"):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)

        sys.meta_path.insert(0, NotInstalled())
        import pyarrow as pa
        from snakebridge.errors import SerializationError
        from snakebridge.serializers.arrow import ArrowSerializer, table_as
        s = ArrowSerializer()
        table = pa.Table.from_arrays([pa.array([1, 2])], names=["x"])
        back = s.decode(s.encode([table, {"a": 1}]))
        assert back[0].equals(table) and back[1] == {"a": 1}
        try:
            table_as(table, "pandas")
        except SerializationError as exc:
            assert "pip install pandas" in str(exc), exc
        else:
            raise AssertionError("the pandas form worked without pandas")
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=_python_dir())


def _python_dir() -> str:
    import snakebridge

    return str(__import__("pathlib").Path(snakebridge.__file__).parents[1])


# --- forms: what a table argument arrives as -------------------------------------------


def host_message(table: pa.Table, form: int = 0) -> bytes:
    """A message as the TypeScript side writes it: the stream 8-aligned within the payload."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    payload = HEAD.pack(0, form, 8) + bytes(4) + sink.getvalue().to_pybytes()
    return msgpack.packb([[msgpack.ExtType(EXT_ARROW, payload)], {}])


def test_a_table_argument_arrives_as_a_pyarrow_table_by_default(serializer):
    (args, _) = serializer.decode(host_message(sample_table(3)))
    assert isinstance(args[0], pa.Table)


@pytest.mark.parametrize(("option", "expected"), [("pyarrow", pa.Table), ("pandas", pd.DataFrame), ("numpy", dict)])
def test_the_tables_as_option_from_the_handshake_sets_the_form_of_every_table(option, expected):
    serializer = get_serializer("arrow", {"tables_as": option, "pandas_index": "auto"})
    (args, _) = serializer.decode(host_message(sample_table(3)))
    assert isinstance(args[0], expected)


@pytest.mark.parametrize(("code", "expected"), [(1, pa.Table), (2, pd.DataFrame), (4, dict)])
def test_the_form_byte_the_host_sets_for_one_table_wins_over_the_option(code, expected):
    serializer = ArrowSerializer(tables_as="pandas" if code != 2 else "pyarrow")
    (args, _) = serializer.decode(host_message(sample_table(3), form=code))
    assert isinstance(args[0], expected)


def test_the_pandas_form_is_the_table_as_a_dataframe(serializer):
    table = sample_table(4)
    df = table_as(table, "pandas")
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == table.column_names
    assert df["id"].tolist() == [0, 1, 2, 3]
    assert pd.isna(df["label"][0])
    assert df["label"][1] == "row 1"


def test_the_numpy_form_is_a_dict_of_column_arrays():
    table = pa.table({"x": pa.array([1.0, 2.0, 3.0]), "n": pa.array([1, None, 3]), "s": ["a", "b", None]})
    columns = table_as(table, "numpy")
    assert list(columns) == ["x", "n", "s"]
    assert columns["x"].dtype == np.float64
    assert columns["x"].tolist() == [1.0, 2.0, 3.0]
    assert columns["n"].dtype == np.float64 and math.isnan(columns["n"][1])  # a null in ints becomes NaN
    assert columns["s"].tolist() == ["a", "b", None]


def test_the_numpy_form_refuses_duplicate_column_names():
    table = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["a", "a"])
    with pytest.raises(SerializationError, match="distinct column names"):
        table_as(table, "numpy")


def test_table_as_accepts_a_dataframe_and_refuses_other_values():
    assert isinstance(table_as(frame(), "pyarrow"), pa.Table)
    df = frame()
    assert table_as(df, "pandas") is df
    with pytest.raises(TypeError, match="takes a pyarrow Table"):
        table_as([1, 2], "pandas")
    with pytest.raises(ValueError, match="form must be one of"):
        table_as(sample_table(1), "excel")


def test_the_tables_as_decorator_converts_table_arguments_before_the_call():
    @tables_as("pandas")
    def describe(table, label, *, other=None):
        return type(table).__name__, label, type(other).__name__

    assert describe(sample_table(2), "l", other=sample_table(1).to_batches()[0]) == ("DataFrame", "l", "DataFrame")
    assert describe.__name__ == "describe"


def test_the_tables_as_decorator_works_on_coroutine_functions():
    @tables_as("numpy")
    async def total(columns):
        return float(columns["id"].sum())

    assert asyncio.run(total(sample_table(5))) == 10.0


def test_the_polars_form_without_polars_installed_names_the_package_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "polars", None)  # import polars now raises ImportError
    with pytest.raises(SerializationError, match=r"needs the Python package polars.*pip install polars"):
        table_as(sample_table(2), "polars")
    serializer = ArrowSerializer(tables_as="polars")
    with pytest.raises(SerializationError, match="pip install polars"):
        serializer.decode(host_message(sample_table(2)))


def test_polars_frames_are_sent_and_made_through_to_arrow_and_from_arrow_with_a_stand_in_module(monkeypatch):
    # polars is not installed here: a stand-in module checks how this serializer
    # calls it (to_arrow to send, polars.from_arrow to receive), not polars itself.
    stand_in = types.ModuleType("polars")

    class DataFrame:
        def __init__(self, table: pa.Table) -> None:
            self.table = table

        def to_arrow(self) -> pa.Table:
            return self.table

    stand_in.DataFrame = DataFrame  # type: ignore[attr-defined]
    stand_in.from_arrow = DataFrame  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "polars", stand_in)
    serializer = ArrowSerializer(tables_as="polars")
    received = serializer.decode(serializer.encode({"frame": DataFrame(sample_table(3))}))["frame"]
    assert isinstance(received, DataFrame)
    assert same_table(received.table, sample_table(3))


# --- options, registry and errors -------------------------------------------------------


def test_the_registry_builds_it_with_the_handshake_options():
    serializer = get_serializer("arrow", {"tables_as": "pandas", "pandas_index": "drop"})
    assert isinstance(serializer, ArrowSerializer)
    assert (serializer.id, serializer.wire_id) == ("arrow", 3)
    assert (serializer.tables_as, serializer.pandas_index) == ("pandas", "drop")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tables_as": "excel"}, "tables_as must be one of"),
        ({"pandas_index": "sometimes"}, "pandas_index must be one of"),
        ({"compression": "zstd"}, "unknown serializer options compression"),
    ],
)
def test_refuses_options_it_does_not_know(options, message):
    with pytest.raises(SerializationError, match=message):
        get_serializer("arrow", options)


@pytest.mark.parametrize(
    "payload",
    [
        b"\x00\x00",  # cut short
        HEAD.pack(7, 0, 4) + b"\xff\xff\xff\xff",  # unknown kind
        HEAD.pack(0, 9, 4),  # unknown form
        HEAD.pack(0, 0, 400),  # offset beyond the payload
        HEAD.pack(0, 0, 4) + b"\xff\xff\xff\xff\x10\x00\x00\x00garbage!",  # not an IPC stream
    ],
)
def test_refuses_malformed_payloads_with_a_serialization_error(serializer, payload):
    with pytest.raises(SerializationError, match=r"^\[arrow\] not a valid Arrow value"):
        serializer.decode(msgpack.packb(msgpack.ExtType(EXT_ARROW, payload)))


def test_refuses_a_record_batch_payload_that_holds_two_batches(serializer):
    table = pa.concat_tables([sample_table(1), sample_table(1)])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    payload = HEAD.pack(1, 0, 4) + sink.getvalue().to_pybytes()
    with pytest.raises(SerializationError, match="holds 2 batches"):
        serializer.decode(msgpack.packb(msgpack.ExtType(EXT_ARROW, payload)))


def test_malformed_msgpack_is_refused_under_the_arrow_name(serializer):
    with pytest.raises(SerializationError, match=r"^\[arrow\] not valid msgpack"):
        serializer.decode(b"\xc1")


def test_an_unsendable_value_is_refused_under_the_arrow_name_with_its_path(serializer):
    with pytest.raises(SerializationError, match=r"^\[arrow\] at args\[1\]: cannot send a object"):
        serializer.encode({"args": [sample_table(1), object()]})


def test_the_placeholder_marker_never_reaches_the_message(serializer):
    from snakebridge.serializers import arrow

    message = serializer.encode([sample_table(2)] * 5 + [{"t": sample_table(3)}])
    assert arrow._NEEDLE not in message
    assert arrow._NEEDLE[2:] not in message
    assert len(serializer.decode(message)) == 6


def test_the_readme_python_example_works():
    @tables_as("pandas")
    def hottest(frame):
        return frame.loc[frame["temp"].idxmax(), "city"]

    def coldest(table):
        frame = table_as(table, "pandas")
        return frame.loc[frame["temp"].idxmin(), "city"]

    weather = pa.table({"city": ["Oslo", "Lima"], "temp": [-3.5, 19.0]})
    assert hottest(weather) == "Lima"
    assert coldest(weather) == "Oslo"
