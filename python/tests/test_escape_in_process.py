"""Restricted mode against the escape attacks, in the test process: the
Resolver and Dispatcher as the transports use them, results encoded so that
handles are made as a worker makes them. Also: what restricted mode still
allows, that nothing changes without a list, that an unsafe module stops
the start, and that each rule is needed (switched off, its attack gets
through)."""

from __future__ import annotations

import contextlib
import heapq
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import test_escape_target as target_module
from test_escape_attacks import ATTACKS, OPS, TARGET, Attack, Ref, Refused, generator, widget

from snakebridge.calls import Dispatcher, HandleTable, Resolver
from snakebridge.calls.restrictions import Restrictions
from snakebridge.errors import ForbiddenError, SnakeBridgeError
from snakebridge.serializers.base import HandleWire
from snakebridge.serializers.json import JsonSerializer

JSON = JsonSerializer()


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    """Turns the runtime's own errors into ``Refused``, as a host sees them."""
    try:
        yield
    except SnakeBridgeError as error:
        raise Refused(error.code, str(error)) from error


class InProcess:
    """A Driver over a Dispatcher in this process: lookups and runs as a worker's executor does them, results
    encoded as its Outcomes encodes them (objects the serializer cannot carry become handles)."""

    def __init__(self, resolver: Resolver) -> None:
        self.dispatcher = Dispatcher(resolver, HandleTable())

    def run(self, op: str, target: str, *args: Any, handle: Ref | None = None) -> Any:
        with _refusals():
            values, handle_id = [self._argument(arg) for arg in args], handle.id if handle else 0
            if op == "call":
                return self._encoded(self.dispatcher.lookup(target, handle_id)(*values))
            return self._encoded(self.dispatcher.run(OPS[op], target, handle_id, 0, values, {}))

    def stream(self, op: str, target: str, *args: Any, handle: Ref | None = None) -> list[Any]:
        with _refusals():
            values, handle_id = [self._argument(arg) for arg in args], handle.id if handle else 0
            source = self.dispatcher.stream_source(OPS[op], target, handle_id, values, {})
            return [self._encoded(item) for item in source]

    def _argument(self, value: Any) -> Any:
        if isinstance(value, Ref):
            return self.dispatcher.handles.get(value.id)
        if isinstance(value, list):
            return [self._argument(item) for item in value]
        return value

    def _encoded(self, value: Any) -> Any:
        def to_handle(obj: object) -> HandleWire:
            return self.dispatcher.handles.add(obj, 0)

        return JSON.decode(JSON.encode(value, to_handle), Ref)


@pytest.fixture
def driver() -> InProcess:
    return InProcess(Resolver(allow_eval=False, allowed_modules=[TARGET]))


@pytest.fixture
def command(tmp_path: Path) -> Iterator[str]:
    """A shell command that leaves a marker file; the test fails if it ran."""
    marker = tmp_path / "marker"
    yield f"touch {marker}"
    assert not marker.exists(), "the attack ran its command"


@pytest.fixture(autouse=True)
def _module_state_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    # An attack that got through setattr must not leak into the next test.
    for name in ("SECRET", "echo"):
        monkeypatch.setattr(target_module, name, getattr(target_module, name))


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_every_escape_is_refused_with_forbidden_and_runs_nothing(driver: InProcess, attack: Attack, command: str):
    with pytest.raises(Refused) as refusal:
        attack(driver, command)
    assert refusal.value.code == "FORBIDDEN"
    assert "restricted mode" in refusal.value.message or "allow" in refusal.value.message
    assert target_module.SECRET == "the module's secret"


# --- what restricted mode still allows ------------------------------------------------------------------------------


def test_functions_classes_and_methods_of_allowed_modules_work(driver: InProcess):
    assert driver.run("call", f"{TARGET}.echo", [1, "a"]) == [1, "a"]
    assert driver.run("call", f"{TARGET}.square", 7) == 49  # a functools.cache wrapper of the module's function
    assert driver.run("getattr", f"{TARGET}.SECRET") == "the module's secret"
    made = widget(driver)
    assert driver.run("call", "describe", handle=made) == "widget widget"
    assert driver.run("getattr", "name", handle=made) == "widget"
    another = driver.run("call", "", "other", handle=driver.run("getattr", f"{TARGET}.Widget"))
    assert driver.run("call", "describe", handle=another) == "widget other"


def test_generators_stream_and_their_handles_iterate(driver: InProcess):
    assert driver.stream("call", f"{TARGET}.numbers", 3) == [0, 1, 2]
    assert driver.stream("iter", "", handle=generator(driver)) == [0, 1, 2]
    assert driver.stream("call", "numbers", 2, handle=widget(driver)) == [0, 1]


def test_a_method_of_an_allowed_object_can_be_held_and_passed_to_an_allowed_function(driver: InProcess):
    describe = driver.run("getattr", "describe", handle=widget(driver))
    assert isinstance(describe, Ref)
    assert driver.run("call", f"{TARGET}.apply", describe) == "widget widget"


def test_a_foreign_object_can_be_held_and_read_but_its_methods_not_called(driver: InProcess):
    environ = driver.run("getattr", "environ", handle=widget(driver))
    assert isinstance(environ, Ref)
    with pytest.raises(Refused, match="defined in os"):
        driver.run("call", "get", "PATH", handle=environ)


def test_a_c_twin_counts_as_its_module_and_an_alias_as_its_real_name():
    assert InProcess(Resolver(allowed_modules=["heapq"])).run("call", "heapq.nsmallest", 1, [3, 1]) == [1]
    assert heapq.heappush.__module__ == "_heapq"
    free_path = InProcess(Resolver(allowed_modules=["os.path"], allow_unsafe_modules=True))
    assert free_path.run("call", "os.path.join", "a", "b") == os.path.join("a", "b")  # defined in posixpath


def test_the_refusal_names_the_rule_and_where_the_callable_is_defined(driver: InProcess):
    with pytest.raises(Refused) as refusal:
        driver.run("call", f"{TARGET}.system", "true")
    assert refusal.value.message.startswith(f"restricted mode: '{TARGET}.system' is defined in posix")
    assert "not an allowed module" in refusal.value.message


# --- unsafe modules -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["os", "pickle", "operator", "builtins", "importlib.util", "_pickle", "snakebridge"])
def test_an_unsafe_module_in_the_list_stops_the_start_naming_it_and_the_flag(module: str):
    with pytest.raises(ForbiddenError) as refusal:
        Resolver(allowed_modules=[TARGET, module])
    message = str(refusal.value)
    assert refusal.value.code == "FORBIDDEN"
    assert repr(module) in message
    assert "security.allowUnsafeModules" in message and "--allow-unsafe-modules" in message


def test_the_flag_lets_an_unsafe_module_be_listed_and_the_other_rules_still_hold():
    driver = InProcess(Resolver(allowed_modules=["operator"], allow_unsafe_modules=True))
    getter = driver.run("call", "operator.attrgetter", "real")
    assert driver.run("call", "", 5, handle=getter) == 5
    with pytest.raises(Refused, match="'__class__'"):
        driver.run("getattr", "operator.attrgetter.__class__")


def test_an_unsafe_module_below_an_allowed_package_stays_refused():
    driver = InProcess(Resolver(allowed_modules=["urllib"]))
    assert driver.run("call", "urllib.parse.quote", "a b") == "a%20b"
    with pytest.raises(Refused, match=r"urllib\.request is an unsafe module"):
        driver.run("getattr", "urllib.request.urlopen")


# --- without a list nothing changes -------------------------------------------------------------------------------


def test_without_a_list_handles_dunders_setattr_and_re_exports_work_as_before():
    driver = InProcess(Resolver())
    made = widget(driver)
    assert driver.run("getattr", "__class__.__name__", handle=made) == "Widget"
    assert isinstance(driver.run("call", "module", handle=made), Ref)  # a module's handle
    assert driver.run("call", f"{TARGET}.Template.format", "{0}", 1) == "1"
    assert driver.dispatcher.lookup(f"{TARGET}.system", 0) is os.system
    driver.run("setattr", "name", "renamed", handle=made)
    assert driver.run("getattr", "name", handle=made) == "renamed"
    assert driver.dispatcher.handles.admit is None


# --- each rule is needed: switched off, the attack it alone stops gets through ------------------------------------


def _off(*_: Any) -> None:
    return None


def _via_lookup(target: str, handle: Callable[[InProcess], Ref] | None = None) -> Callable[[InProcess, str], Any]:
    """An attack at the level of a transport's lookup: the object itself, before any result is encoded."""

    def attack(driver: InProcess, command: str) -> Any:
        with _refusals():
            return driver.dispatcher.lookup(target, handle(driver).id if handle else 0)

    return attack


RULES: dict[str, tuple[str, Callable[[InProcess, str], Any], Callable[[Any, Path], bool]]] = {
    "names starting with _": (
        "Restrictions.check_name",
        _via_lookup(f"{TARGET}.echo.__globals__"),
        lambda result, _: result["system"] is os.system,
    ),
    "no attribute of interpreter internals": (
        "Restrictions.check_walkable",
        _via_lookup("gi_frame.f_globals", generator),
        lambda result, _: result["system"] is os.system,
    ),
    "no module off the list reached by a walk": (
        "Restrictions.check_module",
        _via_lookup("os.environ", widget),
        lambda result, _: result is os.environ,
    ),
    "no module handed out": (
        "Restrictions.check_not_module",
        lambda d, _: d.run("call", "module", handle=widget(d)),
        lambda result, _: isinstance(result, Ref),
    ),
    "no frame, code object or traceback handed out": (
        "Restrictions.check_not_internal",
        lambda d, _: d.run("call", "frame", handle=widget(d)),
        lambda result, _: isinstance(result, Ref),
    ),
    "callables defined in an allowed module only": (
        "Restrictions.check_callable",
        lambda d, command: d.run("call", f"{TARGET}.system", command),
        lambda _, marker: marker.exists(),
    ),
    "what a call names is checked before it is called": (
        "Resolver.check_named",
        lambda d, command: d.run("call", f"{TARGET}.Widget.runner", command),
        lambda _, marker: marker.exists(),
    ),
    "no handle for a refused result": (
        "Resolver.admit",
        lambda d, _: d.run("call", "system_function", handle=widget(d)),
        lambda result, _: isinstance(result, Ref),
    ),
    "no template formatting": (
        "Restrictions.check_format",
        lambda d, _: d.run("call", f"{TARGET}.formatter.format", "{0.describe.__globals__[SECRET]}", widget(d)),
        lambda result, _: result == "the module's secret",
    ),
    "no setattr": (
        "Restrictions.check_setattr",
        lambda d, _: d.run("setattr", f"{TARGET}.SECRET", "changed"),
        lambda _, __: target_module.SECRET == "changed",
    ),
    "no unsafe module below an allowed package": (
        "Restrictions.unsafe_refusal",
        lambda d, _: InProcess(Resolver(allowed_modules=["urllib"])).dispatcher.lookup("urllib.request.urlopen", 0),
        lambda result, _: callable(result),
    ),
    "no unsafe module in the list": (
        "Restrictions.check_entries",
        lambda d, _: Resolver(allowed_modules=["os"]),
        lambda result, _: isinstance(result, Resolver),
    ),
}


@pytest.mark.parametrize("rule", RULES.keys())
def test_each_rule_alone_stops_its_attack(rule: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    method, attack, got_through = RULES[rule]
    marker = tmp_path / "marker"
    with pytest.raises((Refused, ForbiddenError)):
        attack(InProcess(Resolver(allow_eval=False, allowed_modules=[TARGET])), f"touch {marker}")
    assert not marker.exists()
    owner, name = method.split(".")
    monkeypatch.setattr({"Restrictions": Restrictions, "Resolver": Resolver}[owner], name, _off)
    result = attack(InProcess(Resolver(allow_eval=False, allowed_modules=[TARGET])), f"touch {marker}")
    assert got_through(result, marker), f"with {method} off, the attack should get through"
