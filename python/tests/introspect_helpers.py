"""Helpers for the introspection tests: small packages written into a temporary directory, then introspected
(each test names its own package, so nothing cached in ``sys.modules`` leaks between tests)."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from snakebridge.introspect import introspect_module


class Sources:
    """Writes files under a directory on ``sys.path`` and introspects the modules they make."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, files: dict[str, str]) -> None:
        """``{"pkg/__init__.py": "...", "pkg/__init__.pyi": "..."}``: each text is dedented."""
        for relative, text in files.items():
            path = self.root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")

    def introspect(self, name: str, files: dict[str, str] | None = None, **options: Any) -> dict[str, Any]:
        """The Module object of ``name``, after writing ``files``."""
        if files:
            self.write(files)
        return introspect_module(name, **options)


def temporary_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sources]:
    """A fresh directory on ``sys.path``; modules imported from it are forgotten afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield Sources(tmp_path)
    for name in set(sys.modules) - before:
        module_file = getattr(sys.modules[name], "__file__", None) or ""
        if module_file.startswith(str(tmp_path)):
            del sys.modules[name]


def named(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The item called ``name`` in a list of named things."""
    matches = [item for item in items if item["name"] == name]
    assert matches, f"no {name!r} among {[item['name'] for item in items]}"
    return matches[0]


def only_signature(function: dict[str, Any]) -> dict[str, Any]:
    """The one Signature of a Function that has exactly one."""
    assert len(function["overloads"]) == 1, function
    return function["overloads"][0]


def param_types(signature: dict[str, Any]) -> dict[str, Any]:
    """Each parameter's Type, by name."""
    return {param["name"]: param["type"] for param in signature["params"]}


def cls(name: str, *args: dict[str, Any]) -> dict[str, Any]:
    """A class Type, for comparing."""
    return {"kind": "class", "name": name, "args": list(args)}


INT = cls("builtins.int")
STR = cls("builtins.str")
FLOAT = cls("builtins.float")
BOOL = cls("builtins.bool")
NONE = {"kind": "none"}
ANY = {"kind": "any"}
