"""Errors the worker raises itself, and the payload that describes any exception.

The payload shape is the one ``PythonErrorPayload`` declares in
``@snakebridge/core``: the host turns it into a ``PythonError`` (or, when
``code`` is set, into the matching SnakeBridge error).
"""

from __future__ import annotations

import os
from typing import Any

#: Longest chain of causes/contexts sent; deeper links are cut.
MAX_CHAIN = 16
#: Frames of the runtime itself are left out of tracebacks: users want their own code.
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_RUNTIME_DIRS = tuple(os.path.join(_PACKAGE_DIR, name) + os.sep for name in ("worker", "calls", "server"))


class SnakeBridgeError(Exception):
    """A refusal by the worker itself rather than by the user's code.

    Named as its counterpart in ``@snakebridge/core``; its ``code`` is one of that package's ``ErrorCode``s.
    """

    code = "PROTOCOL"


class ForbiddenError(SnakeBridgeError):
    """The call is switched off by configuration (eval, a module off the allowlist)."""

    code = "FORBIDDEN"


class HandleError(SnakeBridgeError):
    """A handle id that is unknown, released or expired."""

    code = "HANDLE_INVALID"


class SessionError(SnakeBridgeError):
    """A session that is unknown or closed."""

    code = "SESSION_INVALID"


class SerializationError(SnakeBridgeError):
    """A value could not be encoded or decoded."""

    code = "SERIALIZATION"


class ProtocolError(SnakeBridgeError):
    """A malformed frame or an unsupported protocol feature."""

    code = "PROTOCOL"


class HostCallbackError(Exception):
    """A host function called from Python (``snakebridge.HostCallback``) failed.

    Either the JavaScript function threw (``js_name`` is its error's name,
    ``TypeError`` say, and ``js_stack`` its stack), or it could not run: its
    call had ended (the host keeps functions only while their call is in
    flight), or the host is gone. The message is the JavaScript one.

    Not a ``SnakeBridgeError``: uncaught, it reaches the host as an error of the
    user's code, like any other exception.
    """

    def __init__(self, message: str, js_name: str = "Error", js_stack: str | None = None) -> None:
        super().__init__(message)
        self.js_name = js_name
        self.js_stack = js_stack

    def __reduce__(self) -> tuple[type[HostCallbackError], tuple[str, str, str | None]]:
        # Pickled whole (a process pool's result, say), not from args alone, which lack name and stack.
        return type(self), (str(self), self.js_name, self.js_stack)


class Cancelled(BaseException):
    """Raised inside a sync call that the host cancelled.

    A BaseException, like KeyboardInterrupt, so that ``except Exception`` in
    user code does not swallow it.
    """


def qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def exception_payload(exc: BaseException, depth: int = 0) -> dict[str, Any]:
    """Describes an exception, its traceback and its cause/context chain."""
    import traceback  # here: a worker that never fails never needs it, and it costs start-up time

    tb = exc.__traceback__
    frames = traceback.extract_tb(tb) if tb is not None else traceback.StackSummary()
    while frames and frames[0].filename.startswith(_RUNTIME_DIRS):
        frames.pop(0)
    payload: dict[str, Any] = {
        "type": type(exc).__qualname__,
        "module": type(exc).__module__,
        "message": _message(exc),
        "mro": [qualified_name(cls) for cls in type(exc).__mro__ if cls is not object],
        "traceback": traceback.format_list(frames),
        "frames": [
            {"file": f.filename, "line": f.lineno or 0, "name": f.name, "source": f.line or None} for f in frames
        ],
        "notes": [str(note) for note in getattr(exc, "__notes__", [])],
        "cause": None,
        "context": None,
        "suppressContext": exc.__suppress_context__,
    }
    if isinstance(exc, SnakeBridgeError):
        payload["code"] = exc.code
    if depth < MAX_CHAIN:
        if exc.__cause__ is not None:
            payload["cause"] = exception_payload(exc.__cause__, depth + 1)
        elif exc.__context__ is not None and not exc.__suppress_context__:
            payload["context"] = exception_payload(exc.__context__, depth + 1)
    return payload


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # a broken __str__ must not break error reporting
        return f"<unprintable {type(exc).__name__}>"
