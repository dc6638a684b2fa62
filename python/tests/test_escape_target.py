"""Not tests: the module the escape suites (test_escape_*.py) allow in
restricted mode. It is written the way real modules are, with the mistakes an
attacker looks for: it re-exports dangerous functions (os.system,
pickle.loads, importlib.import_module, getattr, gc.get_objects), keeps
foreign callables and modules in its attributes, and hands out objects whose
attributes lead elsewhere. Every name here is one an attack goes through."""

from __future__ import annotations

import functools
import operator
import os
import string
import sys
from builtins import getattr as read_attribute
from collections.abc import Callable, Iterator
from gc import get_objects
from importlib import import_module
from os import system
from pickle import loads
from types import FrameType, TracebackType

#: The re-exports, on purpose: names of this module that are other modules' functions.
REEXPORTS = (get_objects, import_module, loads, read_attribute, system)

SECRET = "the module's secret"
_hidden = "a private name"
GREETING = "hello {0}"
#: os.system wrapped so that calling it looks like calling something of this module's.
run_later = functools.partial(system)
#: Attribute walkers: instances and the class of operator's, held here.
walker = operator.attrgetter("__class__.__mro__")
make_walker = operator.attrgetter
#: type itself, under a name of this module: type(obj) is any object's class.
kind = type
#: A foreign function inside a value read by value.
TOOLS = {"run": system}


class Template(str):
    """A str subclass of this module: its format method is this module's by the callable rule."""


#: A template of this module's class whose fields walk to the module's globals.
TEMPLATE = Template("{0.describe.__globals__[SECRET]}")


class Formatter(string.Formatter):
    """A string.Formatter of this module: its format takes the template from the caller."""


formatter = Formatter()


class Widget:
    """An object of a class of this module, as a call hands out."""

    #: A foreign function as a class attribute: a C function does not bind, so this is os.system itself.
    runner = staticmethod(system)

    def __init__(self, name: str = "widget") -> None:
        self.name = name
        self.os = os  # a module behind an attribute
        self.environ = os.environ  # a foreign object behind an attribute
        self.loader = loads  # a foreign function behind an attribute

    def describe(self) -> str:
        return f"widget {self.name}"

    def numbers(self, count: int) -> Iterator[int]:
        yield from range(count)

    def system_function(self) -> object:
        """Returns os.system itself: a result that must not become a handle."""
        return system

    def module(self) -> object:
        return os

    def frame(self) -> FrameType:
        return sys._getframe()


def make_widget(name: str = "widget") -> Widget:
    return Widget(name)


def numbers(count: int) -> Iterator[int]:
    """A generator function: its generator is handed out as a handle to iterate."""
    yield from range(count)


def exports() -> Iterator[object]:
    """Yields a re-export: an item that must not become a handle."""
    yield system


def visit(callback: Callable[[object], object]) -> object:
    """Hands os.system to the function it is given (a host callback, over stdio)."""
    return callback(system)


def apply(function: object, *args: object) -> object:
    """Calls whatever it is given: the rules must keep what a caller can give it closed."""
    return function(*args)  # type: ignore[operator]


def echo(value: object) -> object:
    return value


@functools.cache
def square(value: int) -> int:
    """Wrapped by functools (an lru_cache wrapper): still this module's function."""
    return value * value


def traceback() -> TracebackType | None:
    try:
        raise ValueError("for its traceback")
    except ValueError as exc:
        return exc.__traceback__


def code() -> object:
    return echo.__code__
