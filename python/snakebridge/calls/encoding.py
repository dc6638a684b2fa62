"""Values encoded for the host, whichever transport sends them: results,
stream items and a host callback's arguments. What the serializer cannot
carry becomes a handle of the call's session; a body over the transport's
limit is refused. The stdio worker's frames and the gRPC server's replies
are both encoded here."""

from __future__ import annotations

from typing import Any

from ..errors import ProtocolError
from ..serializers.base import HandleWire, Scattered, Serializer
from .handles import HandleTable


def encode_value(
    serializer: Serializer,
    value: Any,
    handles: HandleTable,
    session: int,
    limit: int,
    too_large: str,
    created: list[int],
    *,
    per_callable: bool = False,
    target: str | None = None,
    role: str = "result",
    scatter: bool = False,
    segments: list[Any] | None = None,
) -> bytes | Scattered:
    """``value`` encoded by ``serializer``; objects it cannot carry become handles of ``session``.

    The ids of the handles made are appended to ``created``. If the encode
    fails, or its body is over ``limit`` (``too_large`` is the message, with
    ``{size}`` for the body's size and ``{limit}`` for the limit), they are released again: the host never
    hears of them, so it could never release them itself. ``per_callable``
    serializers (protobuf) are told the dotted name called and the value's
    role. With ``scatter``, a serializer that can (msgpack) leaves large
    arrays out of the message, for a vectored write (``Scattered``), and, given ``segments``
    and a shared-memory lane, puts the largest into segments, appending their entries to it.
    """

    def to_handle(obj: object) -> HandleWire:
        wire = handles.add(obj, session)
        created.append(wire.id)
        return wire

    try:
        if per_callable:
            body = serializer.encode(value, to_handle, target=target, role=role)  # type: ignore[call-arg]
        elif scatter and hasattr(serializer, "encode_scattered"):
            body = serializer.encode_scattered(value, to_handle, segments)
        else:
            body = serializer.encode(value, to_handle)
        # Arrays in shared-memory segments count too: the host refuses a frame whose segments hold more.
        size = len(body) + sum(entry.length for entry in segments or ())
        if size > limit:
            raise ProtocolError(too_large.format(size=size, limit=limit))
    except BaseException:
        handles.release(created)
        if segments:
            serializer.shared_memory.release([entry.ref for entry in segments])  # type: ignore[attr-defined]
            segments.clear()
        raise
    return body
