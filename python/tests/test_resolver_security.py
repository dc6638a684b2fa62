"""security.allowedModules: only the listed modules and their submodules can
be called or read by name (docs/operations.md). A dotted name may not go
around the list through an attribute that is another module, a private or
dunder attribute, or a parent package of an allowed submodule. The attacks
past the names themselves are in the test_escape_*.py suites."""

from __future__ import annotations

import os
import sys
import types
import uuid
from collections.abc import Iterator

import pytest
from worker_client import WorkerClient

from snakebridge.calls import Dispatcher, HandleTable, Resolver
from snakebridge.errors import ForbiddenError

PACKAGE_INIT = """\
import os
import json as codec
from . import sub
from types import SimpleNamespace

_private = 1
SECRET = 2
thing = SimpleNamespace(value=3)


def func():
    return "func"


class Thing:
    value = 4
"""


@pytest.fixture
def pkg(tmp_path, monkeypatch) -> Iterator[str]:
    """A throwaway package: ``sub`` imported by its __init__, ``lazy`` not."""
    name = f"sbpkg_{uuid.uuid4().hex[:8]}"
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text(PACKAGE_INIT)
    (root / "sub.py").write_text("def twice(x):\n    return 2 * x\n")
    (root / "lazy.py").write_text("def hello():\n    return 'hi'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]


def refused(resolver: Resolver, target: str) -> str:
    with pytest.raises(ForbiddenError) as info:
        resolver.resolve(target)
    assert info.value.code == "FORBIDDEN"
    return str(info.value)


# --- what the list allows ------------------------------------------------------------------------


def test_allowed_modules_and_their_submodules_resolve(pkg):
    resolver = Resolver(allowed_modules=[pkg])
    assert resolver.resolve(f"{pkg}.func")() == "func"
    assert resolver.resolve(f"{pkg}.sub.twice")(2) == 4
    assert resolver.resolve(f"{pkg}.lazy.hello")() == "hi"  # imported on demand
    assert resolver.resolve(f"{pkg}.Thing.value") == 4
    assert resolver.resolve(f"{pkg}.thing.value") == 3
    assert resolver.resolve(f"{pkg}.sub").__name__ == f"{pkg}.sub"


# --- bypasses ------------------------------------------------------------------------------------------


def test_another_module_reached_through_an_attribute_is_refused(pkg):
    resolver = Resolver(allowed_modules=[pkg])
    assert "'os'" in refused(resolver, f"{pkg}.os.system")
    refused(resolver, f"{pkg}.os")
    refused(resolver, f"{pkg}.codec.dumps")  # imported under another name


@pytest.mark.parametrize(
    "path",
    [
        "func.__globals__",
        "Thing.__init__.__globals__",
        "__class__",
        "__builtins__",
        "__dict__",
        "__loader__",
        "_private",
        "sub.__dict__",
        "func.__code__",
    ],
)
def test_private_and_dunder_attributes_are_refused(pkg, path):
    resolver = Resolver(allowed_modules=[pkg])
    assert "'_" in refused(resolver, f"{pkg}.{path}")


def test_an_allowed_submodule_does_not_allow_its_parent_package(pkg):
    resolver = Resolver(allowed_modules=[f"{pkg}.sub"])
    assert resolver.resolve(f"{pkg}.sub.twice")(3) == 6
    refused(resolver, f"{pkg}.func")
    refused(resolver, pkg)
    refused(resolver, f"{pkg}.lazy.hello")
    assert f"{pkg}.lazy" not in sys.modules  # refused before anything was imported


def test_entries_match_on_dotted_boundaries_only(pkg):
    # os.path lies within os, an unsafe module: only the flag lets it be listed.
    resolver = Resolver(allowed_modules=["os.path", pkg[:-1]], allow_unsafe_modules=True)
    assert resolver.resolve("os.path.join")("a", "b") == os.path.join("a", "b")
    refused(resolver, "os.pathconf")  # shares a prefix with os.path, but is os's
    refused(resolver, "os.system")
    refused(resolver, "os")
    refused(resolver, f"{pkg}.func")  # the entry is a prefix of the package's name, not a parent


def test_a_module_reached_from_an_allowed_submodule_is_refused():
    resolver = Resolver(allowed_modules=["os.path"], allow_unsafe_modules=True)
    refused(resolver, "os.path.os.system")  # posixpath imports os
    refused(resolver, "os.path.sys.modules")


def test_a_name_already_resolved_is_checked_again_on_each_walk(pkg):
    resolver = Resolver(allowed_modules=[pkg])
    assert resolver.resolve(f"{pkg}.thing.value") == 3
    foreign = types.ModuleType("foreign")
    foreign.value = "leak"  # type: ignore[attr-defined]
    sys.modules[pkg].thing = foreign  # type: ignore[attr-defined]
    assert "'foreign'" in refused(resolver, f"{pkg}.thing.value")


def test_builtins_need_no_module_unless_there_is_a_list(pkg):
    assert Resolver().resolve("len") is len
    refused(Resolver(allowed_modules=[pkg]), "len")


def test_setattr_by_name_is_refused_even_on_a_public_attribute(pkg):
    dispatcher = Dispatcher(Resolver(allowed_modules=[pkg]), HandleTable())
    assert dispatcher.lookup(f"{pkg}.SECRET", 0) == 2
    for target in (f"{pkg}.SECRET", f"{pkg}._private", f"{pkg}.__class__", f"{pkg}.os.environ"):
        with pytest.raises(ForbiddenError, match="setattr is refused"):
            dispatcher.setattr(target, 0, None)
    assert (sys.modules[pkg].SECRET, sys.modules[pkg]._private) == (2, 1)


# --- without a list, and on handles ----------------------------------------------------------------------


def test_without_a_list_every_name_resolves_as_before(pkg):
    resolver = Resolver()
    assert resolver.resolve(f"{pkg}.os.getcwd") is os.getcwd
    assert resolver.resolve(f"{pkg}.func.__globals__")["SECRET"] == 2
    assert resolver.resolve(f"{pkg}._private") == 1
    assert resolver.resolve("os.path.os") is os


def test_attribute_paths_on_handles_are_restricted_only_with_a_list(pkg):
    free = Dispatcher(Resolver(), HandleTable())
    assert free.lookup("__class__", free.handles.add([1], 0).id) is list
    restricted = Dispatcher(Resolver(allowed_modules=[pkg]), HandleTable())
    with pytest.raises(ForbiddenError, match="'__class__'"):
        restricted.lookup("__class__", restricted.handles.add([1], 0).id)


# --- end to end ---------------------------------------------------------------------------------------------


def test_the_worker_refuses_each_bypass_with_forbidden():
    client = WorkerClient(allowedModules=["os.path"], allowUnsafeModules=True)  # os.path is within os
    try:
        client.ready()
        assert client.call("os.path.join", "a", "b") == ("result", os.path.join("a", "b"))
        for target in ("os.system", "os.path.os.getcwd", "os.path.__loader__", "os.pathconf", "os.getcwd"):
            kind, payload = client.call(target)
            assert (kind, payload.get("code")) == ("error", "FORBIDDEN"), target
    finally:
        assert client.close() == 0
