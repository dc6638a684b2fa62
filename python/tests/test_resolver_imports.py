"""How a dotted name finds its module: submodules are imported as needed, whatever is loaded already."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from snakebridge.calls.resolver import _import_longest


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    root = tmp_path / "sb_resolver_pkg" / "sub"
    root.mkdir(parents=True)
    (root.parent / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "first.py").write_text("def f():\n    return 'first'\n")
    (root / "second.py").write_text("def f():\n    return 'second'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "sb_resolver_pkg"
    for name in [n for n in sys.modules if n.startswith("sb_resolver_pkg")]:
        del sys.modules[name]


def test_imports_a_sibling_submodule_once_the_package_is_loaded(package: str) -> None:
    # Importing pkg.sub.first makes pkg.sub an attribute of pkg; pkg.sub.second must still be imported.
    importlib.import_module(f"{package}.sub.first")
    module, depth = _import_longest(f"{package}.sub.second.f".split("."))
    assert module.__name__ == f"{package}.sub.second"
    assert depth == 3
    assert module.f() == "second"


def test_walks_an_attribute_that_is_not_the_submodule_of_its_name(package: str) -> None:
    first = importlib.import_module(f"{package}.sub.first")
    first.alias = sys  # an attribute holding another module is walked, not taken for a submodule
    module, depth = _import_longest(f"{package}.sub.first.alias.path".split("."))
    assert module is first
    assert depth == 3
