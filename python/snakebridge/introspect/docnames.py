"""Finds the class a docstring names (``RandomState``, ``np.ndarray``, ``DecisionTreeClassifier``,
``BaseEstimator``), as a Type naming the class where it is defined. Never imports: only loaded modules are
searched, in an order that does not depend on the order they were imported in."""

from __future__ import annotations

import builtins
import sys
from typing import Any

from . import model
from .annotations import RuntimeTypes
from .context import ModuleContext
from .doctypes import KNOWN_CLASSES, Resolver
from .kinds import is_class
from .model import Type

_MISSING = object()
#: Packages whose classes docstrings of any library name without importing them (``ndarray``, ``RandomState``).
_SHARED_PACKAGES = ("numpy",)


class DocNames:
    """Resolves the names in one module's docstrings, remembering what the package searches found."""

    def __init__(self, ctx: ModuleContext, runtime: RuntimeTypes) -> None:
        self.ctx = ctx
        self.runtime = runtime
        self._searched: dict[tuple[str, str], type | None] = {}

    def resolver(self, namespace: dict[str, Any]) -> Resolver:
        """Resolves names written in the module whose globals are ``namespace``."""
        introspected = getattr(sys.modules.get(self.ctx.module_name), "__dict__", {})
        packages = _packages(namespace.get("__name__"), self.ctx.module_name)

        def resolve(name: str) -> Type | None:
            value = lookup(namespace, name)
            if value is _MISSING:
                value = lookup(introspected, name)
            if value is _MISSING and name in KNOWN_CLASSES:
                value = lookup({}, KNOWN_CLASSES[name])
                if value is _MISSING:  # its library is not loaded: the name as docstrings mean it
                    return model.class_type(KNOWN_CLASSES[name])
            if value is _MISSING and "." not in name:
                value = self._search(packages, name)
            return self.runtime.class_reference(value, []) if is_class(value) else None

        return resolve

    def _search(self, packages: list[str], name: str) -> type | None:
        """A class called ``name`` in the loaded modules of the packages (the function's, the introspected
        module's, numpy): scikit-learn's docstrings name ``BaseEstimator`` where the module never imports it."""
        for package in packages:
            key = (package, name)
            if key not in self._searched:
                self._searched[key] = _class_in(package, name)
            if self._searched[key] is not None:
                return self._searched[key]
        return None


def _packages(*module_names: object) -> list[str]:
    found = []
    for module_name in module_names:
        if isinstance(module_name, str) and module_name:
            found.append(module_name.split(".")[0])
    found.extend(_SHARED_PACKAGES)
    return list(dict.fromkeys(found))


def _class_in(package: str, name: str) -> type | None:
    """The class named ``name`` (under its own name: not an alias) in a loaded module of ``package``, public
    modules before private ones (``sklearn.base`` before ``sklearn._config``), then by name."""
    prefix = f"{package}."
    module_names = [module_name for module_name in list(sys.modules) if module_name.startswith(prefix)]
    for module_name in [package, *sorted(module_names, key=lambda text: ("._" in text, text))]:
        value = getattr(sys.modules.get(module_name), "__dict__", {}).get(name)
        if is_class(value) and value.__name__ == name:
            return value
    return None


def lookup(namespace: dict[str, Any], name: str) -> object:
    """A dotted name in a namespace, else among builtins and loaded modules; never imports."""
    head, *rest = name.split(".")
    value = namespace.get(head, _MISSING)
    if value is _MISSING:
        value = getattr(builtins, head, _MISSING)
    if value is _MISSING:
        for split in range(len(rest), 0, -1):
            module = sys.modules.get(".".join([head, *rest[: split - 1]]))
            if module is not None:
                value, rest = module, rest[split - 1 :]
                break
        else:
            return _MISSING
    for part in rest:
        value = getattr(value, "__dict__", {}).get(part, _MISSING)
        if value is _MISSING:
            return _MISSING
    return value
