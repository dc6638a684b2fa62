"""Finds what a call names: a dotted name, an attribute path on a handle, or
code to eval/exec; enforces restricted mode and the eval switch.

Restricted mode is ``security.allowedModules`` set (``--allowed-module`` on
a server); without it nothing here refuses anything but eval when it is off.
With it, the rules of ``restrictions.py`` apply:

- a dotted name must lie within a listed module (``numpy.linalg`` allows
  ``numpy.linalg.norm``, not ``numpy.array``), may not read private or
  dunder attributes past it (``pkg.f.__globals__``), may not lie within an
  unsafe module (``unsafe_modules.py``) without ``allowUnsafeModules``, and
  may not walk into a module off the list (``pkg.os.system``);
- an attribute path on a handle is held to the same rules: no ``_`` names,
  no module off the list, and no attribute of a frame, code object,
  traceback, generator or coroutine;
- what a call, a read or an iteration names must be something that could be
  handed out: no module, no frame, code object or traceback, and no callable
  defined outside the allowed modules (a re-exported ``os.system``), nor one
  that formats a template (``str.format``);
- handles are made only for such objects (``admit``, which the Dispatcher
  gives the HandleTable), and setattr is refused;
- a list naming an unsafe module fails here, at construction: the worker or
  server does not start.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any, NamedTuple

from ..errors import ForbiddenError
from ..serializers.base import short_repr
from .restrictions import LISTED_BY, Restrictions, What, within


class _Root(NamedTuple):
    """Where resolving a dotted name starts, found (and imported) once per name."""

    obj: object
    #: Attribute names read from ``obj`` on each resolve, in order.
    attributes: tuple[str, ...]
    #: How many parts of the name ``obj`` stands for.
    depth: int
    #: With an allowlist: parts of the name that the matched entry covers. Every module the walk reaches
    #: beyond them must be on the list. 0 without an allowlist: nothing is checked.
    fenced_from: int = 0


class Resolver:
    """Finds the objects dotted names refer to, and the namespaces eval/exec share."""

    def __init__(
        self,
        allow_eval: bool = True,
        allowed_modules: Sequence[str] | None = None,
        allow_unsafe_modules: bool = False,
    ) -> None:
        self.allow_eval = allow_eval
        self.allowed_modules = tuple(allowed_modules) if allowed_modules is not None else None
        self.allow_unsafe_modules = allow_unsafe_modules
        #: The rules of restricted mode, or None without an allowlist. Refuses an unsafe entry now, at start.
        self.restrictions = (
            Restrictions(self.allowed_modules, allow_unsafe_modules) if self.allowed_modules is not None else None
        )
        self._namespaces: dict[int, dict[str, Any]] = {}
        # Imports happen once per name; the attributes after the root are read on each call.
        self._roots: dict[str, _Root] = {}
        #: Wraps the imports a new name needs. A transport that interrupts cancelled calls holds the interrupt
        #: back here: an import stopped half-way leaves a package that no later import repairs (a submodule
        #: in sys.modules, no longer an attribute of its re-imported parent).
        self.importing: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext

    # --- dotted names -----------------------------------------------------------

    def resolve(self, target: str) -> Any:
        """The object a dotted name refers to: ``numpy.linalg.norm``, ``len``."""
        root = self._roots.get(target)
        if root is None:
            with self.importing():
                root = self._find_root(target)
            self._roots[target] = root
        if root.fenced_from:
            return self._fenced_walk(target, root)
        obj = root.obj
        for name in root.attributes:
            obj = getattr(obj, name)
        return obj

    def parent_and_name(self, target: str) -> tuple[Any, str]:
        """For setattr on a dotted name: the object owning the last attribute, and its name."""
        parent, _, name = target.rpartition(".")
        if not parent:
            raise ForbiddenError(f"cannot set {target!r}: name a module attribute, like 'mymodule.{target}'")
        self.check_setattr(target)
        return self.resolve(parent), name

    def check_setattr(self, target: str) -> None:
        """Refuses setattr in restricted mode, on a name or on a handle's attribute path."""
        if self.restrictions is not None:
            self.restrictions.check_setattr(target)

    def _find_root(self, target: str) -> _Root:
        parts = target.split(".")
        if not all(parts):
            raise ValueError(f"not a dotted name: {target!r}")
        if self.allowed_modules is None:
            if len(parts) == 1 and hasattr(builtins, target):
                return _Root(builtins, (target,), 0)
            module, depth = _import_longest(parts)
            return _Root(module, tuple(parts[depth:]), depth)
        fenced_from = self._allowed_depth(target)  # before anything is imported
        module, depth = _import_longest(parts)
        return _Root(module, tuple(parts[depth:]), depth, fenced_from)

    def _fenced_walk(self, target: str, root: _Root) -> Any:
        """Resolves like ``resolve``, refusing any module off the list reached past the allowed prefix."""
        assert self.restrictions is not None
        obj, depth = root.obj, root.depth
        self._check_reached(target, obj, depth, root.fenced_from)
        for name in root.attributes:
            self.restrictions.check_walkable(target, obj, name)
            obj = getattr(obj, name)
            depth += 1
            self._check_reached(target, obj, depth, root.fenced_from)
        return obj

    def _check_reached(self, target: str, obj: object, depth: int, fenced_from: int) -> None:
        # Checked on every walk, not once: an attribute can be rebound to a module after the name was cached.
        if depth < fenced_from or not isinstance(obj, ModuleType):
            return  # a parent package of an allowed submodule (numpy for numpy.linalg) is only passed through
        path = ".".join(target.split(".")[:depth])
        if sys.modules.get(path) is obj:
            return  # what importing the name so far gives, even under another name (os.path is posixpath)
        assert self.restrictions is not None
        self.restrictions.check_module(target, obj)

    def _allowed_depth(self, target: str) -> int:
        """How many parts of ``target`` the longest allowed entry covering it has; refuses a name no entry
        covers, private or dunder names past the entry, and a name within an unsafe module."""
        restrictions = self.restrictions
        assert restrictions is not None
        entries = [entry for entry in restrictions.allowed if within(target, entry)]
        if not entries:
            raise ForbiddenError(f"{target!r} is not in {LISTED_BY} ({restrictions.listing()})")
        depth = max(entry.count(".") + 1 for entry in entries)
        for part in target.split(".")[depth:]:
            restrictions.check_name(target, part)
        unsafe = restrictions.unsafe_refusal(target)
        if unsafe is not None:
            raise ForbiddenError(f"restricted mode: {target!r} is refused; {unsafe}")
        return depth

    # --- attribute paths on objects, and what may be handed out ------------------------------------

    def walk(self, obj: Any, path: str) -> Any:
        """Follows an attribute path on a handle's object; in restricted mode, under the rules of names."""
        if self.restrictions is None:
            return Resolver.attribute(obj, path)
        for name in path.split(".") if path else ():
            self.restrictions.check_name(path, name)
            self.restrictions.check_walkable(path, obj, name)
            obj = getattr(obj, name)
            self.restrictions.check_module(path, obj)
        return obj

    def check_named(self, what: What, obj: object) -> None:
        """In restricted mode, refuses what a call, read or iteration names (``what`` says how it was named)
        if it could not be handed out."""
        if self.restrictions is not None:
            self.restrictions.check_object(what, obj)

    def admit(self, obj: object) -> None:
        """In restricted mode, refuses making a handle for ``obj`` (the HandleTable asks before each one)."""
        if self.restrictions is not None:
            self.restrictions.check_object(lambda: f"the result {short_repr(obj, 80)}", obj)

    @staticmethod
    def attribute(obj: Any, path: str) -> Any:
        """Follows a dotted attribute path from ``obj`` (an empty path is ``obj`` itself), unchecked."""
        for name in path.split(".") if path else ():
            obj = getattr(obj, name)
        return obj

    # --- eval / exec -----------------------------------------------------------------

    def namespace(self, session: int) -> dict[str, Any]:
        """The globals eval/exec share within a session (one per worker for session 0)."""
        if not self.allow_eval:
            raise ForbiddenError("eval/exec are switched off (security.allowEval is false)")
        return self._namespaces.setdefault(session, {"__name__": "__snakebridge__", "__builtins__": builtins})

    def forget(self, session: int) -> None:
        self._namespaces.pop(session, None)


def _import_longest(parts: list[str]) -> tuple[ModuleType, int]:
    """The longest importable module the name starts with, and how many parts it takes."""
    module: Any = importlib.import_module(parts[0])
    index = 1
    while index < len(parts):
        name = ".".join(parts[: index + 1])
        attribute = getattr(module, parts[index], _MISSING)
        if attribute is not _MISSING:
            # An attribute that is the submodule of that name is the module (a.b, once imported):
            # go on below it, so that a.b.c is imported too. Any other attribute is walked, not imported.
            if sys.modules.get(name) is not attribute:
                break
            module = attribute
            index += 1
            continue
        # A submodule that is not an attribute yet (numpy.linalg before it is loaded).
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            break
        index += 1
    return module, index


_MISSING = object()
