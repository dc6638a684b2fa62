"""The Arrow serializer: the Python side of ``@snakebridge/serializer-arrow``.

The msgpack serializer's envelope (msgpack.py) with one more extension type,
85, whose payload is an Arrow IPC stream behind a 4-byte header:

- byte 0, kind: 0 a table, 1 a record batch;
- byte 1, form: how the host asks Python to receive it (0 leaves it to ``tables_as``;
  1 pyarrow, 2 pandas, 3 polars, 4 numpy), always 0 from Python;
- bytes 2-3, the offset of the stream in the payload (u16, little-endian); zero padding up to it.

``pyarrow.Table`` and ``pyarrow.RecordBatch`` travel as themselves; a pandas
``DataFrame`` (and a polars one, if polars is imported) is sent as a table.
Everything else travels exactly as with the msgpack serializer.
packages/serializer-arrow/README.md has the whole story, and
vectors/serializers/arrow.json pins the bytes.

Forms. A table argument arrives as a ``pyarrow.Table`` unless asked otherwise:
by the host for every table (``createArrowSerializer({ tablesAs: 'pandas' })``,
sent here in the handshake as ``tables_as``), by the host for one argument
(``tableAs(table, 'pandas')``), or by the callee with ``table_as()`` or the
``@tables_as()`` decorator.

Copies. A received stream is read in place from the extension payload
(msgpack hands the payload over as a bytes object of its own: that is the
one copy). To send, msgpack only ever sees a 16-byte placeholder per table;
the streams are then written into a staging buffer the thread reuses, and
joined with the rest of the message into the bytes returned.
"""

from __future__ import annotations

import abc
import functools
import inspect
import os
import struct
import sys
import threading
from collections.abc import Callable
from typing import Any, Literal, NoReturn, TypeVar

import pyarrow as pa

from ..errors import SerializationError, SnakeBridgeError
from .base import FromCallback, FromHandle, ToHandle
from .msgpack import MsgpackExtension, MsgpackSerializer

EXT_ARROW = 85
KIND_TABLE = 0
KIND_RECORD_BATCH = 1

TableForm = Literal["pyarrow", "pandas", "polars", "numpy"]
PandasIndex = Literal["auto", "column", "drop"]
FORMS: tuple[TableForm, ...] = ("pyarrow", "pandas", "polars", "numpy")
#: The form byte of each form (1-4); 0 leaves the choice to the receiver's ``tables_as``.
FORM_CODES: dict[str, int] = {form: code for code, form in enumerate(FORMS, 1)}
PANDAS_INDEX: dict[str, bool | None] = {"auto": None, "column": True, "drop": False}

#: kind, form, offset of the stream (u16 LE): the payload header before its padding.
_HEAD = struct.Struct("<BBH")
#: The stream starts 8-aligned in the message: the TypeScript side reads its buffers in place.
_ALIGN = 8
_INDEX = struct.Struct("<I")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
#: How deep Arrow types may nest: what pyarrow's and apache-arrow's readers accept (ARROW_MAX_NESTING in TypeScript).
ARROW_MAX_NESTING = 64
#: fixext 16 of type 85, then a random marker of this process. A placeholder never leaves the process.
_NEEDLE = bytes((0xD8, EXT_ARROW)) + os.urandom(12)
#: The ext header and payload of a placeholder: marker and stream index.
_PLACEHOLDER_BYTES = len(_NEEDLE) + _INDEX.size

#: The largest staging buffer a thread keeps between encodes (see _staging_buffer).
_KEEP_STAGING_BYTES = 64 << 20

_F = TypeVar("_F", bound=Callable[..., Any])


class ArrowSerializer:
    """msgpack with ``pyarrow`` tables and record batches as Arrow IPC streams (extension type 85)."""

    id = "arrow"
    wire_id = 3

    def __init__(self, tables_as: TableForm = "pyarrow", pandas_index: PandasIndex = "auto", **unknown: Any) -> None:
        """
        Args:
            tables_as: the form table arguments arrive in, unless the host asks for
                another for one argument: ``pyarrow``, ``pandas``, ``polars`` or ``numpy``.
            pandas_index: what becomes of the index of a pandas DataFrame sent to the
                host: ``auto`` (a default RangeIndex is kept only in the schema's pandas
                metadata, any other index becomes columns), ``column`` or ``drop``.
        """
        if unknown:
            raise SerializationError(
                f"[arrow] unknown serializer options {', '.join(sorted(unknown))}: the host's "
                "@snakebridge/serializer-arrow is newer than this snakebridge package; install matching versions"
            )
        if tables_as not in FORM_CODES:
            raise SerializationError(f"[arrow] tables_as must be one of {', '.join(FORMS)}, not {tables_as!r}")
        if pandas_index not in PANDAS_INDEX:
            raise SerializationError(
                f"[arrow] pandas_index must be one of {', '.join(PANDAS_INDEX)}, not {pandas_index!r}"
            )
        self.tables_as = tables_as
        self.pandas_index = pandas_index
        self._envelope = MsgpackSerializer(
            extensions=[MsgpackExtension(EXT_ARROW, _TableLike, self._placeholder, self._decode_payload)]
        )
        #: The encode running on each thread (encodes run on many threads, and may nest).
        self._local = threading.local()

    def encode(self, value: Any, to_handle: ToHandle | None = None) -> bytes:
        local = self._local
        outer = getattr(local, "run", None)
        local.run = None  # made by the first table met
        try:
            message = self._envelope.encode(value, to_handle)
        except SerializationError as exc:
            if not str(exc).startswith(_MSGPACK_PREFIX):
                raise
            raise _named_arrow(exc) from exc.__cause__ or exc
        finally:
            run: _EncodeRun | None = local.run
            local.run = outer
        if run is None:
            return message
        try:
            return run.splice(message)
        except Exception as exc:
            raise SerializationError(f"[arrow] the tables could not be written: {exc}") from exc

    def decode(
        self, data: bytes | memoryview, from_handle: FromHandle | None = None, from_callback: FromCallback | None = None
    ) -> Any:
        try:
            return self._envelope.decode(data, from_handle, from_callback)
        except SerializationError as exc:
            if not str(exc).startswith(_MSGPACK_PREFIX):
                raise  # ours, or a HandleError
            raise _named_arrow(exc) from exc.__cause__ or exc

    def _placeholder(self, value: Any) -> bytes:
        run = self._local.run
        if run is None:
            run = self._local.run = _EncodeRun(PANDAS_INDEX[self.pandas_index])
        return run.add(value)

    def _decode_payload(self, payload: bytes) -> Any:
        _, code, value = read_payload(payload)
        form: TableForm = FORMS[code - 1] if code else self.tables_as  # type: ignore[assignment]
        if form != "pyarrow":
            _check_expansion(value, len(payload))
        try:
            return table_as(value, form)
        except SnakeBridgeError:
            raise
        except Exception as exc:
            raise SerializationError(f"[arrow] a table could not be made into the {form} form: {exc}") from exc


def read_payload(payload: bytes | memoryview) -> tuple[int, int, pa.Table | pa.RecordBatch]:
    """Kind, form byte and value of an extension 85 payload; the value's buffers view ``payload``.

    Untrusted bytes: pyarrow checks the IPC structure (flatbuffers verified, buffers within the
    body, at most 64 levels of nested types), compressed bodies are refused (nothing in SnakeBridge
    writes them, and decompressing would size memory from the declared lengths rather than the
    input), and the result is validated in full (offsets, dictionary indices, UTF-8), so a table
    that arrives is one that can be read. Anything else is a SerializationError.
    """
    if len(payload) < _HEAD.size:
        _malformed("an Arrow payload header is cut short")
    kind, form, offset = _HEAD.unpack_from(payload)
    if kind not in (KIND_TABLE, KIND_RECORD_BATCH):
        _malformed(f"unknown Arrow payload kind {kind}")
    if form > len(FORMS):
        _malformed(f"unknown table form {form}")
    if not _HEAD.size <= offset <= len(payload):
        _malformed("an Arrow payload header does not fit its payload")
    stream = pa.py_buffer(memoryview(payload)[offset:])
    try:
        _refuse_compression(stream)
        table = pa.ipc.open_stream(stream).read_all()
        value = table if kind == KIND_TABLE else _only_batch(table)
        value.validate(full=True)
    except SnakeBridgeError:
        raise
    except Exception as exc:  # pyarrow's errors (OSError, ArrowInvalid, MemoryError…), and struct's
        _malformed(f"pyarrow cannot read the stream: {exc}")
    return kind, form, value


#: Cells a payload may turn into when converted to pandas, numpy or polars, beyond 8 per byte.
_FREE_CELLS = 1 << 20


def _check_expansion(value: pa.Table | pa.RecordBatch, payload_bytes: int) -> None:
    """Refuses to convert a table with far more cells than its bytes: a null column (or an empty
    struct, a fixed-size list of size 0) of any length takes no bytes at all, but a pandas or numpy
    copy of it takes eight bytes a cell. Every other column takes a bit a row at least, so no
    table a real frame makes comes near this bound."""
    cells = value.num_rows * max(1, value.num_columns)
    if cells > 8 * payload_bytes + _FREE_CELLS:
        _malformed(f"a table of {cells} cells in {payload_bytes} bytes is refused rather than converted")


def _only_batch(table: pa.Table) -> pa.RecordBatch:
    batches = table.to_batches()
    if len(batches) != 1:
        _malformed(f"a record batch payload holds {len(batches)} batches")
    return batches[0]


def _refuse_compression(stream: pa.Buffer) -> None:
    """Refuses a stream with a compressed record or dictionary batch, before pyarrow decompresses it."""
    for message in pa.ipc.MessageReader.open_stream(stream):
        if message.type in ("record batch", "dictionary") and _compressed(message.metadata, message.type):
            _malformed("the batch is compressed; SnakeBridge sends and accepts uncompressed Arrow only")


def _compressed(metadata: pa.Buffer, message_type: str) -> bool:
    """Whether a batch's metadata (a flatbuffer pyarrow has verified) sets its ``compression`` field.

    Message.header (slot 2) is the RecordBatch, or a DictionaryBatch whose data (slot 1) is one;
    RecordBatch.compression is slot 3.
    """
    buf = memoryview(metadata)
    header = _fb_table(buf, _fb_field(buf, _fb_table(buf, 0), 2))
    if message_type == "dictionary":
        header = _fb_table(buf, _fb_field(buf, header, 1))
    return header is not None and _fb_field(buf, header, 3) is not None


def _fb_table(buf: memoryview, at: int | None) -> tuple[int, int, int] | None:
    """The table the offset at ``at`` points to, as (position, vtable, vtable size); None for a missing field."""
    if at is None:
        return None
    (offset,) = _U32.unpack_from(buf, at)
    pos = at + offset
    (back,) = _I32.unpack_from(buf, pos)
    vtable = pos - back
    if vtable < 0:
        raise ValueError("a flatbuffer vtable lies before the metadata")
    (size,) = _U16.unpack_from(buf, vtable)
    return pos, vtable, size


def _fb_field(buf: memoryview, table: tuple[int, int, int] | None, slot: int) -> int | None:
    """Where field ``slot`` of ``table`` is, or None when it is absent."""
    if table is None:
        return None
    pos, vtable, size = table
    entry = 4 + 2 * slot
    if entry >= size:
        return None
    (offset,) = _U16.unpack_from(buf, vtable + entry)
    return pos + offset if offset else None


def table_as(value: Any, form: TableForm) -> Any:
    """``value`` (a pyarrow Table or RecordBatch, or a DataFrame) in ``form``.

    - ``pyarrow``: a ``pyarrow.Table`` or ``pyarrow.RecordBatch``, as it arrived;
    - ``pandas``: a ``pandas.DataFrame`` (an index saved in the pandas metadata is restored);
    - ``polars``: a ``polars.DataFrame`` (polars must be installed);
    - ``numpy``: a dict of column name to ``numpy.ndarray`` (nulls become NaN, or None in object arrays).

    For use in a function that wants a form the host did not ask for::

        def summarize(table):
            frame = table_as(table, "pandas")
    """
    if form not in FORM_CODES:
        raise ValueError(f"[arrow] form must be one of {', '.join(FORMS)}, not {form!r}")
    if not isinstance(value, (pa.Table, pa.RecordBatch)):
        converted = _to_arrow(value, PANDAS_INDEX["auto"])
        if converted is None:
            raise TypeError(f"[arrow] table_as() takes a pyarrow Table or RecordBatch, not {type(value).__qualname__}")
        if form != "pyarrow" and _is_instance_of(value, form):
            return value  # already what was asked for
        value = converted[1]
    try:
        if form == "pyarrow":
            return value
        if form == "pandas":
            return value.to_pandas()
        if form == "polars":
            import polars

            return polars.from_arrow(value)
        return _numpy_columns(value)
    except ImportError as exc:
        raise SerializationError(
            f"[arrow] the {form} form needs the Python package {exc.name or form}, which is not installed "
            f"in this interpreter: pip install {exc.name or form}"
        ) from exc


def tables_as(form: TableForm) -> Callable[[_F], _F]:
    """Decorates a function so that the tables it is called with arrive in ``form``.

    Every argument that is a pyarrow Table or RecordBatch (not those nested
    in lists or dicts) is converted with ``table_as`` before the call::

        @tables_as("pandas")
        def summarize(frame, columns):
            return frame[columns].describe()
    """
    if form not in FORM_CODES:
        raise ValueError(f"[arrow] form must be one of {', '.join(FORMS)}, not {form!r}")

    def convert(value: Any) -> Any:
        return table_as(value, form) if isinstance(value, (pa.Table, pa.RecordBatch)) else value

    def decorate(function: _F) -> _F:
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                return await function(*map(convert, args), **{k: convert(v) for k, v in kwargs.items()})

            return run_async  # type: ignore[return-value]

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            return function(*map(convert, args), **{k: convert(v) for k, v in kwargs.items()})

        return run  # type: ignore[return-value]

    return decorate


# --- encoding -------------------------------------------------------------------


class _EncodeRun:
    """One encode: the values met so far, each standing behind a placeholder in the message."""

    def __init__(self, preserve_index: bool | None) -> None:
        self._preserve_index = preserve_index
        #: (kind, the pyarrow value, the size of its IPC stream) for each placeholder, by index.
        self.tables: list[tuple[int, pa.Table | pa.RecordBatch, int]] = []

    def add(self, value: Any) -> bytes:
        """The placeholder payload for ``value``.

        The stream is sized now, by writing it to a stream that only counts
        (which fails as writing it would), and written when the message is joined.
        """
        converted = _to_arrow(value, self._preserve_index)
        if converted is None:  # msgpack only hands over instances of _TableLike
            raise TypeError(f"cannot send a {type(value).__qualname__} as an Arrow table")
        kind, arrow = converted
        depth = max((_type_depth(field.type) for field in arrow.schema), default=0)
        if depth > ARROW_MAX_NESTING:
            raise ValueError(f"its types are nested {depth} deep, more than {ARROW_MAX_NESTING}")
        counter = pa.MockOutputStream()  # fails where writing the stream would
        _write_to(counter, arrow)
        self.tables.append((kind, arrow, counter.size()))
        return _NEEDLE[2:] + _INDEX.pack(len(self.tables) - 1)

    def splice(self, message: bytes) -> bytes:
        """``message`` with every placeholder replaced by its payload.

        The streams are written into a staging buffer (reused by the thread,
        so its pages are already mapped), then the join copies each once more,
        into the bytes returned.
        """
        found = self._placeholders(message)
        staging = _staging_buffer(sum(size for _, _, size in self.tables))
        sink = pa.FixedSizeBufferWriter(staging)
        streams: list[pa.Buffer] = []
        for _, arrow, size in self.tables:
            start = sink.tell()
            _write_to(sink, arrow)
            if sink.tell() - start != size:
                raise ValueError(f"an Arrow stream was {sink.tell() - start} bytes, not the {size} counted")
            streams.append(staging.slice(start, size))
        view = memoryview(message)
        pieces: list[Any] = []
        position = 0  # bytes of the output before the next piece
        read = 0
        for at, index in found:
            pieces.append(view[read:at])
            position += at - read
            read = at + _PLACEHOLDER_BYTES
            head = _payload_head(self.tables[index][0], position, len(streams[index]))
            pieces.append(head)
            pieces.append(streams[index])
            position += len(head) + len(streams[index])
        pieces.append(view[read:])
        return b"".join(pieces)

    def _placeholders(self, message: bytes) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        seen: set[int] = set()
        at = message.find(_NEEDLE)
        while at != -1:
            (index,) = _INDEX.unpack_from(message, at + len(_NEEDLE))
            if index >= len(self.tables) or index in seen:
                raise ValueError(f"a stray Arrow placeholder ({index})")
            seen.add(index)
            found.append((at, index))
            at = message.find(_NEEDLE, at + _PLACEHOLDER_BYTES)
        if len(found) != len(self.tables):
            # Inside a set's payload, whose length is fixed: pyarrow tables cannot be set members (unhashable).
            raise ValueError(f"{len(self.tables)} Arrow tables were encoded, but {len(found)} placeholders were found")
        return found


_staging = threading.local()


def _staging_buffer(size: int) -> pa.Buffer:
    """A writable buffer of at least ``size`` bytes, kept by the thread for its next encode if not too big.

    Freshly allocated memory costs a page fault per page when first written,
    which for large tables takes longer than copying into memory in use. Only
    its contents matter until the join, so one buffer per thread serves every encode.
    """
    if size > _KEEP_STAGING_BYTES:
        return pa.allocate_buffer(size)
    buffer = getattr(_staging, "buffer", None)
    if buffer is None:
        buffer = _staging.buffer = pa.allocate_buffer(size, resizable=True)
    elif buffer.size < size:
        buffer.resize(size)
    return buffer


def _payload_head(kind: int, position: int, stream_bytes: int) -> bytes:
    """Ext header, payload header and padding for a stream whose ext starts at ``position`` in the message.

    The padding puts the stream 8-aligned from the start of the message; the
    ext header's size depends on the payload's length, hence a search (< 8 steps).
    """
    offset = _HEAD.size
    while (position + _ext_header_size(offset + stream_bytes) + offset) % _ALIGN:
        offset += 1
    return _ext_header(offset + stream_bytes) + _HEAD.pack(kind, 0, offset) + bytes(offset - _HEAD.size)


def _ext_header_size(length: int) -> int:
    if length < 0x100:
        return 3
    return 4 if length < 0x10000 else 6


def _ext_header(length: int) -> bytes:
    """ext 8/16/32 of type 85 (a payload is never one of the fixext sizes: it holds a schema)."""
    if length < 0x100:
        return struct.pack(">BBB", 0xC7, length, EXT_ARROW)
    if length < 0x10000:
        return struct.pack(">BHB", 0xC8, length, EXT_ARROW)
    return struct.pack(">BIB", 0xC9, length, EXT_ARROW)


def _write_to(sink: Any, value: pa.Table | pa.RecordBatch) -> None:
    with pa.ipc.new_stream(sink, value.schema) as writer:
        if isinstance(value, pa.Table):
            writer.write_table(value)
        else:
            writer.write_batch(value)


class _TableLike(abc.ABC):  # noqa: B024 (an ABC for its isinstance hook, with nothing to implement)
    """``isinstance`` is true for what is sent as an Arrow table.

    pyarrow tables and record batches, and pandas and polars DataFrames when
    their module is imported: they are looked up, never imported (without the
    module, there can be no frame of it).
    """

    @classmethod
    def __subclasshook__(cls, subclass: type) -> bool:
        types: list[type] = [pa.Table, pa.RecordBatch]
        for name in ("pandas", "polars"):
            frame = getattr(sys.modules.get(name), "DataFrame", None)
            if isinstance(frame, type):
                types.append(frame)
        # Not NotImplemented: the answer for a class cannot change (a frame's module is imported before it exists).
        return issubclass(subclass, tuple(types))


def _to_arrow(value: Any, preserve_index: bool | None) -> tuple[int, pa.Table | pa.RecordBatch] | None:
    """(kind, the pyarrow value) for what this serializer sends as a table, or None."""
    if isinstance(value, pa.RecordBatch):
        return KIND_RECORD_BATCH, value
    if isinstance(value, pa.Table):
        return KIND_TABLE, value
    for form, convert in _FRAME_CONVERTERS:
        if _is_instance_of(value, form):
            try:
                return KIND_TABLE, convert(value, preserve_index)
            except (pa.ArrowException, TypeError, ValueError) as exc:
                raise ValueError(f"a {form} DataFrame could not be made into an Arrow table: {exc}") from exc
    return None


_FRAME_CONVERTERS: tuple[tuple[str, Callable[[Any, bool | None], pa.Table]], ...] = (
    ("pandas", lambda frame, preserve_index: pa.Table.from_pandas(frame, preserve_index=preserve_index)),
    ("polars", lambda frame, _: frame.to_arrow()),
)


def _is_instance_of(value: Any, form: str) -> bool:
    """True for a pandas or polars DataFrame (the module must already be imported for one to exist)."""
    module = sys.modules.get(form) if form in ("pandas", "polars") else None
    frame = getattr(module, "DataFrame", None)
    return isinstance(frame, type) and isinstance(value, frame)


def _numpy_columns(value: pa.Table | pa.RecordBatch) -> dict[str, Any]:
    names = value.schema.names
    if len(set(names)) != len(names):
        raise SerializationError("[arrow] the numpy form needs distinct column names: a dict would lose columns")
    return {name: value.column(i).to_numpy(zero_copy_only=False) for i, name in enumerate(names)}


def _type_depth(arrow_type: pa.DataType) -> int:
    """How many fields deep a type nests in an IPC schema: 1 for a flat type (a dictionary's is its values')."""
    if isinstance(arrow_type, pa.DictionaryType):
        arrow_type = arrow_type.value_type
    children = [arrow_type.field(i).type for i in range(arrow_type.num_fields)]
    return 1 + max((_type_depth(child) for child in children), default=0)


# --- helpers --------------------------------------------------------------------


def _unused(_: Any) -> Any:
    raise AssertionError("unused direction of the Arrow extension")


_MSGPACK_PREFIX = "[msgpack] "


def _named_arrow(exc: SerializationError) -> SerializationError:
    """An error of the msgpack envelope, named as this serializer's."""
    return SerializationError(f"[arrow] {str(exc)[len(_MSGPACK_PREFIX) :]}")


def _malformed(message: str) -> NoReturn:
    raise SerializationError(f"[arrow] not a valid Arrow value: {message}")
