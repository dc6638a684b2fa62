"""The operations a call can ask for (docs/protocol.md, "Calls"): call, getattr,
setattr, eval, exec, and the source of a stream.

In restricted mode every operation goes through the Resolver's rules here:
``lookup`` (what a call, read or stream names, by dotted name or by a
handle's attribute path) is the one way the transports find a target, and
the HandleTable is given the Resolver's ``admit`` so that no result becomes
a handle the rules would refuse."""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from types import BuiltinFunctionType, FunctionType
from typing import Any

from ..errors import ProtocolError
from ..protocol import PROMISED, Op
from .handles import HandleTable
from .promises import Promise, PromiseTable
from .resolver import Resolver

#: Runs user code; a transport passes its own to make the code interruptible.
Invoke = Callable[[Callable[..., Any], list[Any], dict[str, Any]], Any]
#: Functions whose kind is remembered at most; past it the cache starts over.
_MAX_REMEMBERED = 4096


def call_directly(function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
    return function(*args, **kwargs)


class Dispatcher:
    """Runs the operations a call asks for, whatever transport brought it.

    Finds targets with the ``Resolver`` (dotted names) or the ``HandleTable``
    (attribute paths on handles), and runs user code through the ``invoke``
    a transport passes, so that the transport can make it interruptible.
    """

    def __init__(self, resolver: Resolver, handles: HandleTable) -> None:
        self.resolver = resolver
        self.handles = handles
        #: Results the host named before they existed (calls/promises.py), with the handles' limits.
        self.promises = PromiseTable(handles.max_per_session, handles.ttl_seconds)
        if resolver.restrictions is not None:
            # Results become handles in the transports' encoders, which only know the table: the rule goes there.
            handles.admit = resolver.admit
        # inspect.iscoroutinefunction costs microseconds; a call's target rarely changes kind. Weak keys:
        # the cache must not keep alive what the host released.
        self._async_functions: weakref.WeakKeyDictionary[object, bool] = weakref.WeakKeyDictionary()

    def is_coroutine_function(self, function: object) -> bool:
        """inspect.iscoroutinefunction, remembered per function."""
        if type(function) is BuiltinFunctionType:
            return False  # a C function or a builtin's bound method (list.append) is never a coroutine function
        if type(function) is FunctionType and not function.__dict__:
            # A plain function: its code says it. (markcoroutinefunction and wrappers leave an attribute.)
            return bool(function.__code__.co_flags & inspect.CO_COROUTINE)
        # A bound method is made afresh for each call on a handle, and holds its object: remember its
        # function instead, which gives the same answer (inspect unwraps methods too).
        key = getattr(function, "__func__", function)
        try:
            known = self._async_functions.get(key)
        except TypeError:  # not hashable, or cannot be weakly referenced: not remembered
            return inspect.iscoroutinefunction(function)
        if known is None:
            known = inspect.iscoroutinefunction(function)
            if len(self._async_functions) > _MAX_REMEMBERED:
                self._async_functions.clear()
            self._async_functions[key] = known
        return known

    def lookup(self, target: str, handle: int) -> Any:
        """The object a call names: a dotted name, or an attribute path on a handle.

        In restricted mode, refuses it unless it is something a handle could be made for: whether it is to be
        called, read or iterated, a re-exported ``os.system`` or a module is refused here, before any use.
        """
        if handle:
            obj = self.resolver.walk(self.handles.get(handle), target)
            self.resolver.check_named(f"{target!r} of handle {handle}" if target else f"handle {handle}", obj)
            return obj
        obj = self.resolver.resolve(target)
        if self.resolver.restrictions is not None:
            self.resolver.check_named(repr(target), obj)
        return obj

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
        self.resolver.check_setattr(target)
        if handle:
            parent_path, _, name = target.rpartition(".")
            setattr(self.resolver.walk(self.handles.get(handle), parent_path), name, value)
        else:
            parent, name = self.resolver.parent_and_name(target)
            setattr(parent, name, value)

    def release(self, handle_ids: list[int], session: int | None = None, scope: str = "") -> None:
        """Frees handles and promised handles (those of the host's pipeline ``scope``), and with a session
        everything it holds and its eval namespace."""
        promised = [i for i in handle_ids if i & PROMISED]
        if promised:
            handle_ids = [i for i in handle_ids if not i & PROMISED]
            handle_ids += self.promises.release(scope, promised)
        self.handles.release(handle_ids)
        if session:
            self.handles.release_session(session)
            self.promises.release_session(session)
            self.resolver.forget(session)

    def receiver_handle(self, promise: Promise) -> int:
        """The handle through which calls on a promise reach its value (kept the first time)."""
        return self.promises.receiver_handle(promise, self.handles.keep)

    def sweep(self) -> int:
        """Frees handles and promises unused for longer than the TTL; returns how many handles."""
        self.handles.release(self.promises.sweep())
        return self.handles.sweep()

    @property
    def held(self) -> int:
        """Handles and promised handles held for the host: what the health check reports."""
        return len(self.handles) + len(self.promises)
