"""Not tests: the attacks the escape suites run against restricted mode, in
the test process (test_escape_in_process.py), through a real worker
(test_escape_worker.py) and a real gRPC server (test_escape_server.py).

Each attack drives a ``Driver`` (call, getattr, setattr, eval, exec and
streams, by dotted name or on handles, as a host would) against a worker
that allows only ``test_escape_target``. It must end in a FORBIDDEN refusal,
and a shell command it tries must not run. Its preparatory steps (making a
widget, a generator) are calls the rules allow; a chain of handles is
refused at the first step that leaves what the rules allow."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from snakebridge.protocol import Op

#: The one module the escape suites allow.
TARGET = "test_escape_target"
OPS = {"call": Op.CALL, "getattr": Op.GETATTR, "setattr": Op.SETATTR, "eval": Op.EVAL, "exec": Op.EXEC, "iter": Op.ITER}


@dataclass(frozen=True)
class Ref:
    """A handle a driver received, to send back as a call's handle or argument (not a tuple: the encoders
    would send a tuple as a list)."""

    id: int


class Refused(Exception):
    """A call that failed with an error the runtime raised itself (``code`` is its error code)."""

    def __init__(self, code: str | None, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Driver(Protocol):
    def run(self, op: str, target: str, *args: Any, handle: Ref | None = None) -> Any:
        """One call; handles in the result come back as ``Ref``. Raises ``Refused``."""

    def stream(self, op: str, target: str, *args: Any, handle: Ref | None = None) -> list[Any]:
        """A streamed call (op "call") or iteration (op "iter"): its items. Raises ``Refused``."""


#: An attack: given a driver and a shell command that would leave a marker file, it makes the call to be refused.
Attack = Callable[[Driver, str], Any]


class _RunsCommand:
    """Pickles to a call of os.system: what unpickling attacker bytes does."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.system, (self.command,)


def pickle_running(command: str) -> bytes:
    return pickle.dumps(_RunsCommand(command), protocol=0)


def widget(driver: Driver) -> Ref:
    return driver.run("call", f"{TARGET}.make_widget")


def generator(driver: Driver) -> Ref:
    """A generator handed out as a handle: a call (not a stream) of a generator function."""
    return driver.run("call", f"{TARGET}.numbers", 3)


def class_handle(driver: Driver) -> Ref:
    return driver.run("getattr", f"{TARGET}.Widget")


def _python(command: str) -> str:
    return f"__import__('os').system({command!r})"


T = TARGET
ATTACKS: dict[str, Attack] = {
    # --- dunder and private names, by dotted name ----------------------------------------------------------
    "a function's __globals__ by name": lambda d, c: d.run("getattr", f"{T}.echo.__globals__"),
    "the module's __builtins__ by name": lambda d, c: d.run("getattr", f"{T}.__builtins__"),
    "a class's __init__.__globals__ by name": lambda d, c: d.run("getattr", f"{T}.Widget.__init__.__globals__"),
    "object.__subclasses__() by name, the way to os._wrap_close": lambda d, c: d.run(
        "call", f"{T}.SECRET.__class__.__base__.__subclasses__"
    ),
    "a private module attribute by name": lambda d, c: d.run("getattr", f"{T}._hidden"),
    # --- dunder names on handles -------------------------------------------------------------------------------
    "__class__ on a handle": lambda d, c: d.run("getattr", "__class__", handle=widget(d)),
    "__mro__ on a handle of a class": lambda d, c: d.run("getattr", "__mro__", handle=class_handle(d)),
    "__init__.__globals__ on a handle of a class": lambda d, c: d.run(
        "getattr", "__init__.__globals__", handle=class_handle(d)
    ),
    "__subclasses__() through a handle's class": lambda d, c: d.run(
        "call", "__class__.__base__.__subclasses__", handle=widget(d)
    ),
    "__reduce_ex__ called on a handle": lambda d, c: d.run("call", "__reduce_ex__", 2, handle=widget(d)),
    "__getattribute__ called on a handle": lambda d, c: d.run("call", "__getattribute__", "__dict__", handle=widget(d)),
    "iterating __dict__ of a handle": lambda d, c: d.stream("iter", "__dict__", handle=widget(d)),
    # --- generators, frames and other interpreter internals -------------------------------------------------------
    "gi_frame of a generator handle": lambda d, c: d.run("getattr", "gi_frame", handle=generator(d)),
    "gi_frame.f_globals of a generator handle": lambda d, c: d.run(
        "getattr", "gi_frame.f_globals", handle=generator(d)
    ),
    "gi_frame.f_back of a generator handle": lambda d, c: d.run("getattr", "gi_frame.f_back", handle=generator(d)),
    "gi_code of a generator handle": lambda d, c: d.run("getattr", "gi_code", handle=generator(d)),
    "iterating gi_frame.f_globals of a generator handle": lambda d, c: d.stream(
        "iter", "gi_frame.f_globals", handle=generator(d)
    ),
    "a frame a method returns": lambda d, c: d.run("call", "frame", handle=widget(d)),
    "a traceback a function returns": lambda d, c: d.run("call", f"{T}.traceback"),
    "a code object a function returns": lambda d, c: d.run("call", f"{T}.code"),
    # --- functions an allowed module re-exports or keeps ------------------------------------------------------------
    "os.system re-exported by an allowed module": lambda d, c: d.run("call", f"{T}.system", c),
    "pickle.loads re-exported, given a pickle that runs a command": lambda d, c: d.run(
        "call", f"{T}.loads", pickle_running(c)
    ),
    "importlib.import_module re-exported": lambda d, c: d.run("call", f"{T}.import_module", "os"),
    "builtins.getattr re-exported under another name": lambda d, c: d.run(
        "call", f"{T}.read_attribute", widget(d), "__class__"
    ),
    "gc.get_objects re-exported": lambda d, c: d.run("call", f"{T}.get_objects"),
    "os.system wrapped in a functools.partial of the module": lambda d, c: d.run("call", f"{T}.run_later", c),
    "os.system as a static method of an allowed class": lambda d, c: d.run("call", f"{T}.Widget.runner", c),
    "os.system as a static method, through a handle": lambda d, c: d.run("call", "runner", c, handle=widget(d)),
    "pickle.loads behind an attribute of a handle": lambda d, c: d.run(
        "call", "loader", pickle_running(c), handle=widget(d)
    ),
    "a re-export read by name, to hold it as a handle": lambda d, c: d.run("getattr", f"{T}.system"),
    "a re-export inside a dict read by name": lambda d, c: d.run("getattr", f"{T}.TOOLS"),
    "a re-export a generator yields": lambda d, c: d.stream("call", f"{T}.exports"),
    "a re-export streamed": lambda d, c: d.stream("call", f"{T}.system", c),
    # --- attribute walkers and type() -----------------------------------------------------------------------------
    "an operator.attrgetter the module holds": lambda d, c: d.run("call", f"{T}.walker", widget(d)),
    "operator.attrgetter built from a caller's string": lambda d, c: d.run("call", f"{T}.make_walker", "__class__"),
    "type(obj) through an allowed module's name": lambda d, c: d.run("call", f"{T}.kind", widget(d)),
    "mro() of an allowed class, which reaches object": lambda d, c: d.run("call", f"{T}.Widget.mro"),
    # --- format strings -------------------------------------------------------------------------------------------
    "str.format unbound, on a caller's template": lambda d, c: d.run(
        "call", f"{T}.Template.format", "{0.__class__.__mro__}", widget(d)
    ),
    "str.format of a module's string": lambda d, c: d.run("call", f"{T}.GREETING.format", widget(d)),
    "format of a str subclass of the allowed module": lambda d, c: d.run("call", f"{T}.TEMPLATE.format", widget(d)),
    "format_map of a str subclass of the allowed module": lambda d, c: d.run(
        "call", f"{T}.TEMPLATE.format_map", {"x": 1}
    ),
    "a string.Formatter of the module, on a caller's template": lambda d, c: d.run(
        "call", f"{T}.formatter.format", "{0.describe.__globals__[SECRET]}", widget(d)
    ),
    "a string.Formatter's get_field, on a caller's field": lambda d, c: d.run(
        "call", f"{T}.formatter.get_field", "0.describe", [widget(d)], {}
    ),
    # --- modules --------------------------------------------------------------------------------------------------
    "sys.modules through the allowed module's import": lambda d, c: d.run("getattr", f"{T}.sys.modules"),
    "os.system through the allowed module's import": lambda d, c: d.run("call", f"{T}.os.system", c),
    "an imported module read by name": lambda d, c: d.run("getattr", f"{T}.os"),
    "the allowed module itself read by name": lambda d, c: d.run("getattr", T),
    "os.system through a module a handle holds": lambda d, c: d.run("call", "os.system", c, handle=widget(d)),
    "a module a method returns": lambda d, c: d.run("call", "module", handle=widget(d)),
    "os.system a method returns": lambda d, c: d.run("call", "system_function", handle=widget(d)),
    # --- chaining handles across calls ----------------------------------------------------------------------------
    "a method of a foreign object reached through a handle": lambda d, c: d.run(
        "call", "get", "PATH", handle=d.run("getattr", "environ", handle=widget(d))
    ),
    "a method of a foreign object, given to a function that calls what it is given": lambda d, c: d.run(
        "call", f"{T}.apply", d.run("getattr", "environ.copy", handle=widget(d))
    ),
    # --- setattr --------------------------------------------------------------------------------------------------
    "setattr of a public module attribute by name": lambda d, c: d.run("setattr", f"{T}.SECRET", "changed"),
    "setattr replacing a module's function by name": lambda d, c: d.run("setattr", f"{T}.echo", None),
    "setattr on a handle": lambda d, c: d.run("setattr", "name", "changed", handle=widget(d)),
    "setattr through a module a handle holds": lambda d, c: d.run("setattr", "os.sep", "!", handle=widget(d)),
    # --- names outside the list, and code strings -----------------------------------------------------------------
    "eval by its bare name": lambda d, c: d.run("call", "eval", _python(c)),
    "getattr by its bare name": lambda d, c: d.run("call", "getattr", widget(d), "__class__"),
    "os.system by its own name": lambda d, c: d.run("call", "os.system", c),
    "gc.get_objects by its own name": lambda d, c: d.run("call", "gc.get_objects"),
    "sys.modules by its own name": lambda d, c: d.run("getattr", "sys.modules"),
    "eval while allowEval is off": lambda d, c: d.run("eval", _python(c)),
    "exec while allowEval is off": lambda d, c: d.run("exec", f"import os; os.system({c!r})"),
}
