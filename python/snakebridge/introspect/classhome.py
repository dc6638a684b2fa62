"""The namespace a class body was written in, which its annotations are evaluated in.

``cls.__module__`` usually names it, but libraries rewrite it to where the class is exported (pandas sets
``Int8Dtype.__module__ = "pandas"``; it is defined in ``pandas.core.arrays.integer``), and annotations written in
the class body name what *that* module imports."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


def class_globals(klass: type) -> dict[str, Any]:
    """The globals of the module whose source defines ``klass``; its ``__module__``'s when that cannot be told."""
    namespace = _from_functions(klass)
    if namespace is not None:
        return namespace
    named = sys.modules.get(getattr(klass, "__module__", "") or "")
    if named is None or _defines(named, klass):
        return getattr(named, "__dict__", {})
    home = _search(klass, named.__name__.split(".")[0])
    return vars(home) if home is not None else vars(named)


def _from_functions(klass: type) -> dict[str, Any] | None:
    """The globals of a function written in the class body (a method, a property's getter); not those of one
    made by ``exec`` (a namedtuple's ``__new__``), whose namespace is no module's."""
    prefix = f"{klass.__qualname__}."
    for value in vars(klass).values():
        function = getattr(value, "__func__", None) or getattr(value, "fget", None) or value
        namespace = getattr(function, "__globals__", None)
        if not isinstance(namespace, dict) or not str(getattr(function, "__qualname__", "")).startswith(prefix):
            continue
        if getattr(sys.modules.get(str(namespace.get("__name__"))), "__dict__", None) is namespace:
            return namespace
    return None


def _search(klass: type, package: str) -> ModuleType | None:
    """The loaded module of ``package`` that binds the class under its name and whose source defines it (modules
    in order of name, so the answer does not depend on the order they were imported in)."""
    prefix = f"{package}."
    for name in sorted(name for name in list(sys.modules) if name == package or name.startswith(prefix)):
        module = sys.modules.get(name)
        if module is not None and _defines(module, klass):
            return module
    return None


def _defines(module: ModuleType, klass: type) -> bool:
    if getattr(module, "__dict__", {}).get(klass.__name__) is not klass:
        return False
    file = getattr(module, "__file__", None)
    return isinstance(file, str) and file.endswith(".py") and klass.__name__ in _top_level_classes(file)


def _top_level_classes(file: str) -> frozenset[str]:
    """Names of the classes a source file defines at its top level (a text search: parsing is not needed)."""
    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return frozenset()
    return frozenset(re.findall(r"^class\s+(\w+)", text, flags=re.MULTILINE))
