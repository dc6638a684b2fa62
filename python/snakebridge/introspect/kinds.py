"""Which kind of class a class is (the format's Class ``kind``), decided from the class at run time."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing

#: Kinds that travel by value or structurally: the generator needs their shape wherever they are used.
SHAPE_KINDS = frozenset({"typeddict", "namedtuple", "enum", "protocol"})


def is_class(obj: object) -> bool:
    """Whether ``obj`` is a class. Not ``list[int]``: on Python 3.10 a ``types.GenericAlias`` passes for a class
    (``isinstance(list[int], type)`` and ``inspect.isclass`` are true there), though it is a typing construct."""
    return isinstance(obj, type) and not isinstance(obj, types.GenericAlias)


def class_kind(cls: type) -> str:
    """``class``, or what makes this class special: ``typeddict``, ``namedtuple``, ``enum``, ``protocol``…"""
    if is_typeddict(cls):
        return "typeddict"
    if issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple):
        return "namedtuple"
    if issubclass(cls, enum.Enum):
        return "enum"
    if is_protocol(cls):
        return "protocol"
    if dataclasses.is_dataclass(cls):
        return "dataclass"
    if issubclass(cls, BaseException):
        return "exception"
    return "class"


def is_typeddict(cls: type) -> bool:
    # typing_extensions has its own TypedDict metaclass on some versions; both carry __required_keys__.
    return typing.is_typeddict(cls) or (
        isinstance(getattr(cls, "__required_keys__", None), frozenset) and issubclass(cls, dict)
    )


def is_protocol(cls: type) -> bool:
    # typing sets _is_protocol on every subclass: true only where Protocol is a direct base.
    return bool(cls.__dict__.get("_is_protocol", False)) and not (
        cls.__name__ == "Protocol" and cls.__module__ in ("typing", "typing_extensions")
    )
