"""Error payloads, as every call's final error travels whichever transport brought it.

``describe`` turns any exception into a PythonErrorPayload and never raises;
``payload_body`` encodes one as JSON cut to fit a message limit; ``bridge_error``
makes the payload of a refusal by the runtime itself. The stdio worker's
ERROR frames and the gRPC server's error replies are both built with them, so
that every call gets exactly one final error, however odd the exception.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..errors import exception_payload, qualified_name

#: Shortest cut of an error's texts tried before it is sent without its traceback, notes and chain.
_SHORTEST_TEXT = 64

_BRIDGE_ERROR_MRO = ("snakebridge.errors.SnakeBridgeError", "builtins.Exception", "builtins.BaseException")


def bridge_error(code: str, message: str) -> dict[str, Any]:
    """An error payload for a refusal by the runtime itself (the worker or the server), marked with ``code``."""
    payload = _class_payload("SnakeBridgeError", "snakebridge.errors", message, list(_BRIDGE_ERROR_MRO))
    payload["code"] = code
    return payload


def _class_payload(type_name: str, module: str, message: str, mro: list[str]) -> dict[str, Any]:
    """A payload that names an exception class and a message, with no traceback or chain."""
    return {
        "type": type_name,
        "module": module,
        "message": message,
        "mro": mro,
        "traceback": [],
        "frames": [],
        "notes": [],
        "cause": None,
        "context": None,
        "suppressContext": False,
    }


# --- describing and encoding errors: total, so that every call gets its one final frame ----------------


def describe(exc: BaseException) -> dict[str, Any]:
    """``exception_payload(exc)``; never raises.

    If describing fails (a note whose ``str()`` raises, say), the payload
    still names the exception's class, so the host raises the right error.
    """
    try:
        return exception_payload(exc)
    except Exception as failure:
        reason = type(failure).__qualname__
    cls = type(exc)
    message = f"a {cls.__qualname__} was raised, but it could not be described ({reason})"
    try:
        mro = [qualified_name(c) for c in cls.__mro__ if c is not object]
        return _class_payload(cls.__qualname__, cls.__module__, message, mro)
    except Exception:  # a class whose __module__ cannot even be formatted
        return bridge_error("PROTOCOL", message)


def payload_body(payload: dict[str, Any], limit: int) -> bytes:
    """``payload`` as JSON of at most ``limit`` bytes, its texts cut if need be; never raises.

    The JSON is ASCII: a lone surrogate in a message (bytes decoded with
    ``surrogateescape``, say) travels as a ``\\u`` escape instead of failing
    to encode as UTF-8.
    """
    try:
        return _fit(payload, limit)
    except Exception as failure:  # a value json cannot write even through str()
        return _dumps(bridge_error("PROTOCOL", f"the error could not be encoded ({type(failure).__qualname__})"))


def _dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), default=str).encode("ascii")


def _fit(payload: dict[str, Any], limit: int) -> bytes:
    body = _dumps(payload)
    # Halving the texts' length converges quickly, whatever the mix of long message, traceback and chain.
    budget = limit
    while len(body) > limit and budget > _SHORTEST_TEXT:
        budget //= 2
        body = _dumps(_cut_payload(payload, budget))
    if len(body) > limit:
        # Even short texts are too much (a long chain, a small limit): the exception alone. A limit too
        # small for that is not met; the host then refuses the frame with an error of its own.
        alone = {**payload, "traceback": [], "frames": [], "notes": [], "cause": None, "context": None}
        body = _dumps(_cut_payload(alone, _SHORTEST_TEXT))
    return body


def _cut_payload(payload: dict[str, Any], budget: int) -> dict[str, Any]:
    """A copy of ``payload`` whose texts are cut to about ``budget`` characters, saying so; its chain too."""
    cut = dict(payload)
    cut["message"] = _cut(payload.get("message") or "", budget)
    cut["notes"] = _cut_lines(payload.get("notes") or [], budget, "notes", "")
    cut["traceback"] = _cut_lines(payload.get("traceback") or [], budget, "frames", "\n")
    # Not aligned with the traceback's lines, which fold repeated frames: cut on their own.
    cut["frames"] = [_cut_frame(frame, budget) for frame in _last(payload.get("frames") or [], budget, _frame_size)]
    for link in ("cause", "context"):
        if payload.get(link):
            cut[link] = _cut_payload(payload[link], budget)
    return cut


def _cut_lines(lines: list[str], budget: int, what: str, end: str) -> list[str]:
    """The last ``lines`` within ``budget`` characters, each cut to it, after one saying how many were left out."""
    kept = [_cut(line, budget) for line in _last(lines, budget, len)]
    dropped = len(lines) - len(kept)
    return [f"… [truncated {dropped} earlier {what}]{end}", *kept] if dropped else kept


def _last(entries: list[Any], budget: int, size: Callable[[Any], int]) -> list[Any]:
    """The last ``entries`` whose sizes add up to ``budget``, and at least one: the innermost frames tell
    what failed, so the earliest go first."""
    kept: list[Any] = []
    used = 0
    for entry in reversed(entries):
        used += size(entry)
        if kept and used > budget:
            break
        kept.append(entry)
    kept.reverse()
    return kept


def _frame_size(frame: dict[str, Any]) -> int:
    return sum(len(value) for value in frame.values() if isinstance(value, str))


def _cut_frame(frame: dict[str, Any], budget: int) -> dict[str, Any]:
    return {key: _cut(value, budget) if isinstance(value, str) else value for key, value in frame.items()}


def _cut(text: str, keep: int) -> str:
    if len(text) <= keep:
        return text
    return f"{text[:keep]}… [truncated {len(text) - keep} chars]"
