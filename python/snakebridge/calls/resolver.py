"""Finds what a call names: a dotted name, an attribute path on a handle, or
code to eval/exec; enforces the module allowlist and the eval switch."""

from __future__ import annotations

import builtins
import importlib
from typing import Any

from ..errors import ForbiddenError


class Resolver:
    def __init__(self, allow_eval: bool = True, allowed_modules: list[str] | None = None) -> None:
        self.allow_eval = allow_eval
        self.allowed_modules = tuple(allowed_modules) if allowed_modules is not None else None
        self._namespaces: dict[int, dict[str, Any]] = {}
        # target -> (root object, attribute names after it); imports happen once.
        self._roots: dict[str, tuple[object, tuple[str, ...]]] = {}

    # --- dotted names -----------------------------------------------------------

    def resolve(self, target: str) -> Any:
        """The object a dotted name refers to: ``numpy.linalg.norm``, ``len``."""
        cached = self._roots.get(target)
        if cached is None:
            cached = self._find_root(target)
            self._roots[target] = cached
        obj, attributes = cached
        for name in attributes:
            obj = getattr(obj, name)
        return obj

    def parent_and_name(self, target: str) -> tuple[Any, str]:
        """For setattr on a dotted name: the object owning the last attribute, and its name."""
        parent, _, name = target.rpartition(".")
        if not parent:
            raise ForbiddenError(f"cannot set {target!r}: name a module attribute, like 'mymodule.{target}'")
        return self.resolve(parent), name

    def _find_root(self, target: str) -> tuple[object, tuple[str, ...]]:
        parts = target.split(".")
        if not all(parts):
            raise ValueError(f"not a dotted name: {target!r}")
        if len(parts) == 1 and hasattr(builtins, target) and self.allowed_modules is None:
            return builtins, (target,)
        self._check_allowed(parts[0])
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
        return module, tuple(parts[index:])

    def _check_allowed(self, top_level: str) -> None:
        if self.allowed_modules is None:
            return
        if not any(top_level == m or m.startswith(f"{top_level}.") for m in self.allowed_modules):
            raise ForbiddenError(
                f"module {top_level!r} is not in security.allowedModules ({', '.join(self.allowed_modules)})"
            )

    # --- attribute paths on objects ---------------------------------------------------

    @staticmethod
    def attribute(obj: Any, path: str) -> Any:
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
