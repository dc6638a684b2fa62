"""Finds what a call names: a dotted name, an attribute path on a handle, or
code to eval/exec; enforces the module allowlist and the eval switch.

With ``allowedModules`` set, a dotted name must lie within a listed module
(``numpy.linalg`` allows ``numpy.linalg.norm``, not ``numpy.array``), may not
read private or dunder attributes past it (``pkg.f.__globals__``), and may not
walk into a module outside the list through an attribute (``pkg.os.system``).
Attribute paths on handles are not restricted: the list is not a sandbox
(docs/operations.md).
"""

from __future__ import annotations

import builtins
import importlib
import sys
from types import ModuleType
from typing import Any, NamedTuple

from ..errors import ForbiddenError


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
        allowed_modules: list[str] | None = None,
        allow_unsafe_modules: bool = False,
    ) -> None:
        self.allow_eval = allow_eval
        self.allowed_modules = tuple(allowed_modules) if allowed_modules is not None else None
        self.allow_unsafe_modules = allow_unsafe_modules
        self._namespaces: dict[int, dict[str, Any]] = {}
        # Imports happen once per name; the attributes after the root are read on each call.
        self._roots: dict[str, _Root] = {}

    # --- dotted names -----------------------------------------------------------

    def resolve(self, target: str) -> Any:
        """The object a dotted name refers to: ``numpy.linalg.norm``, ``len``."""
        root = self._roots.get(target)
        if root is None:
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
        if self.allowed_modules is not None:
            self._allowed_depth(target)  # the name set is held to the rules of a name read
        return self.resolve(parent), name

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
        obj, depth = root.obj, root.depth
        self._check_reached(target, obj, depth, root.fenced_from)
        for name in root.attributes:
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
        name = getattr(obj, "__name__", None)
        if not isinstance(name, str) or not self._is_allowed(name):
            raise ForbiddenError(
                f"{target!r} reaches module {name!r}, which is not in security.allowedModules ({self._listed()})"
            )

    def _allowed_depth(self, target: str) -> int:
        """How many parts of ``target`` the longest allowed entry covering it has; refuses a name no entry
        covers, and private or dunder names past the entry."""
        entries = [entry for entry in self.allowed_modules or () if _within(target, entry)]
        if not entries:
            raise ForbiddenError(f"{target!r} is not in security.allowedModules ({self._listed()})")
        depth = max(entry.count(".") + 1 for entry in entries)
        private = next((part for part in target.split(".")[depth:] if part.startswith("_")), None)
        if private is not None:
            # Dunders lead anywhere (__globals__, __builtins__, __class__.__subclasses__); private names are
            # not the module's API either.
            raise ForbiddenError(
                f"{target!r} reads {private!r}: private and dunder attributes cannot be reached by name "
                "while security.allowedModules is set"
            )
        return depth

    def _is_allowed(self, module: str) -> bool:
        return any(_within(module, entry) for entry in self.allowed_modules or ())

    def _listed(self) -> str:
        return ", ".join(self.allowed_modules or ())

    # --- attribute paths on objects ---------------------------------------------------

    @staticmethod
    def attribute(obj: Any, path: str) -> Any:
        """Follows a dotted attribute path from ``obj`` (an empty path is ``obj`` itself).

        Not checked against the allowlist: a handle's attributes stay reachable (docs/operations.md).
        """
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


def _within(name: str, module: str) -> bool:
    """Whether ``name`` is ``module`` or lies under it, on a dotted boundary (``os.pathconf`` is not under ``os.path``)."""
    return name == module or name.startswith(f"{module}.")


def _import_longest(parts: list[str]) -> tuple[ModuleType, int]:
    """The longest importable module the name starts with, and how many parts it takes."""
    module: Any = importlib.import_module(parts[0])
    index = 1
    # Import submodules that are not attributes yet (numpy.linalg before it is loaded).
    while index < len(parts) and not hasattr(module, parts[index]):
        name = ".".join(parts[: index + 1])
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            break
        index += 1
    return module, index
