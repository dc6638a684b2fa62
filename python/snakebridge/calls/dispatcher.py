"""The operations a call can ask for (docs/protocol.md, "Calls"): call, getattr,
setattr, eval, exec, and the source of a stream."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..errors import ProtocolError
from ..protocol import Op
from .handles import HandleTable
from .resolver import Resolver

#: Runs user code; a transport passes its own to make the code interruptible.
Invoke = Callable[[Callable[..., Any], list[Any], dict[str, Any]], Any]


def call_directly(function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
    return function(*args, **kwargs)


class Dispatcher:
    def __init__(self, resolver: Resolver, handles: HandleTable) -> None:
        self.resolver = resolver
        self.handles = handles
        # inspect.iscoroutinefunction costs microseconds on builtins; a call's target rarely changes kind.
        self._async_functions: dict[int, tuple[object, bool]] = {}

    def is_coroutine_function(self, function: object) -> bool:
        """inspect.iscoroutinefunction, remembered per function object."""
        known = self._async_functions.get(id(function))
        if known is not None and known[0] is function:
            return known[1]
        answer = inspect.iscoroutinefunction(function)
        if len(self._async_functions) > 4096:
            self._async_functions.clear()
        # The function itself is kept alongside, so a recycled id() cannot give a stale answer.
        self._async_functions[id(function)] = (function, answer)
        return answer

    def lookup(self, target: str, handle: int) -> Any:
        """The object a call names: a dotted name, or an attribute path on a handle."""
        if handle:
            return Resolver.attribute(self.handles.get(handle), target)
        return self.resolver.resolve(target)

    def run(
        self,
        op: int,
        target: str,
        handle: int,
        session: int,
        args: list[Any],
        kwargs: dict[str, Any],
        invoke: Invoke = call_directly,
    ) -> Any:
        """Runs one non-streamed operation. A coroutine function's call returns the coroutine: await it."""
        if op == Op.CALL:
            return invoke(self.lookup(target, handle), args, kwargs)
        if op == Op.GETATTR:
            return self.lookup(target, handle)
        if op == Op.SETATTR:
            self.setattr(target, handle, args[0] if args else None)
            return None
        if op == Op.EVAL:
            namespace = self.resolver.namespace(session)
            return invoke(lambda: eval(target, namespace, kwargs), [], {})
        if op == Op.EXEC:
            namespace = self.resolver.namespace(session)
            namespace.update(kwargs)
            invoke(lambda: exec(target, namespace), [], {})
            return None
        if op == Op.ITER:
            raise ProtocolError("op iter needs a stream")
        raise ProtocolError(f"unknown op {op}")

    def stream_source(
        self, op: int, target: str, handle: int, args: list[Any], kwargs: dict[str, Any], invoke: Invoke = call_directly
    ) -> Any:
        """What a stream iterates: the result of the call, or the object itself for op iter."""
        source = self.lookup(target, handle)
        if op == Op.CALL:
            return invoke(source, args, kwargs)
        if op == Op.ITER:
            return source
        raise ProtocolError(f"op {op} cannot be streamed")

    def setattr(self, target: str, handle: int, value: Any) -> None:
        if handle:
            parent_path, _, name = target.rpartition(".")
            setattr(Resolver.attribute(self.handles.get(handle), parent_path), name, value)
        else:
            parent, name = self.resolver.parent_and_name(target)
            setattr(parent, name, value)

    def release(self, handle_ids: list[int], session: int | None = None) -> None:
        """Frees handles, and with a session everything it holds and its eval namespace."""
        self.handles.release(handle_ids)
        if session:
            self.handles.release_session(session)
            self.resolver.forget(session)
