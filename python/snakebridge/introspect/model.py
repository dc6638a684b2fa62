"""The JSON shapes of the introspection format (vectors/introspect/README.md), as small constructors; every
key of a shape is always present, so each constructor takes them all."""

from __future__ import annotations

import math
import re
from typing import Any

Type = dict[str, Any]
JSON_SCALARS = (str, int, float, bool, type(None))
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_SAFE_INTEGER = 2**53

ANY: Type = {"kind": "any"}
NONE: Type = {"kind": "none"}
NEVER: Type = {"kind": "never"}


def any_type() -> Type:
    return {"kind": "any"}


def none_type() -> Type:
    return {"kind": "none"}


def class_type(name: str, args: list[Type] | None = None) -> Type:
    return {"kind": "class", "name": name, "args": args or []}


def tuple_type(items: list[Type]) -> Type:
    return {"kind": "tuple", "items": items}


def union_type(options: list[Type]) -> Type:
    """A union of the options, flattened and without repeats; a single option stands alone."""
    flat: list[Type] = []
    for option in options:
        for inner in option["options"] if option["kind"] == "union" else [option]:
            if inner not in flat:
                flat.append(inner)
    return flat[0] if len(flat) == 1 else {"kind": "union", "options": flat}


def literal_type(values: list[Any]) -> Type:
    return {"kind": "literal", "values": values}


def callable_type(params: list[Type] | None, returns: Type) -> Type:
    return {"kind": "callable", "params": params, "returns": returns}


def typevar_type(name: str) -> Type:
    return {"kind": "typevar", "name": name}


def type_of(of: Type) -> Type:
    return {"kind": "type", "of": of}


def alias_type(name: str, args: list[Type] | None = None) -> Type:
    return {"kind": "alias", "name": name, "args": args or []}


def unknown_type(text: str) -> Type:
    return {"kind": "unknown", "text": text}


def typevar_def(name: str, bound: Type | None, constraints: list[Type]) -> dict[str, Any]:
    return {"name": name, "bound": bound, "constraints": constraints}


def param(name: str, kind: str, type_: Type | None, default: str | None, doc: str | None) -> dict[str, Any]:
    return {"name": name, "kind": kind, "type": type_, "default": default, "doc": doc}


def signature(
    params: list[dict[str, Any]], returns: Type | None, returns_doc: str | None, type_params: list[dict[str, Any]]
) -> dict[str, Any]:
    return {"params": params, "returns": returns, "returns_doc": returns_doc, "type_params": type_params}


def function(name: str, kind: str, doc: str | None, source: str, overloads: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "kind": kind, "doc": doc, "source": source, "overloads": overloads}


def untyped_function(name: str, kind: str = "function", doc: str | None = None) -> dict[str, Any]:
    """A function that nothing types: the generator writes ``(...args: unknown[]) => Promise<unknown>``."""
    return function(name, kind, doc, "none", [])


def empty_class(name: str, qualname: str, kind: str, doc: str | None) -> dict[str, Any]:
    return {
        "name": name,
        "qualname": qualname,
        "kind": kind,
        "doc": doc,
        "bases": [],
        "type_params": [],
        "constructor": None,
        "methods": [],
        "properties": [],
        "fields": [],
        "members": [],
        "call": None,
        "iterates": None,
    }


def prop(name: str, type_: Type | None, readonly: bool, doc: str | None) -> dict[str, Any]:
    return {"name": name, "type": type_, "readonly": readonly, "doc": doc}


def field(name: str, type_: Type | None, required: bool, doc: str | None) -> dict[str, Any]:
    return {"name": name, "type": type_, "required": required, "doc": doc}


def constant(name: str, type_: Type | None, value: Any, doc: str | None) -> dict[str, Any]:
    return {"name": name, "type": type_, "value": constant_value(value), "doc": doc}


def json_scalar(value: Any) -> Any:
    """``value`` if JSON holds it exactly (a plain str, int, finite float, bool or None), else None."""
    if type(value) not in JSON_SCALARS:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def constant_value(value: Any) -> Any:
    """A constant's value as a declaration may spell it: a JSON scalar, an int JavaScript holds exactly,
    a string of at most 80 characters; else None."""
    value = json_scalar(value)
    if type(value) is int and abs(value) > _SAFE_INTEGER:
        return None
    if isinstance(value, str) and len(value) > 80:
        return None
    return value


def default_text(value: Any) -> str:
    """A default's ``repr()``, cut to 80 characters, without memory addresses (they differ run to run).

    ``...`` (an overload's placeholder) is written ``"..."``, as stubs write it.
    """
    if value is Ellipsis:
        return "..."
    try:
        text = repr(value)
    except Exception:
        return "..."
    return _ADDRESS.sub("", text)[:80]


def repr_text(value: Any) -> str:
    """``repr()`` without memory addresses."""
    try:
        return _ADDRESS.sub("", repr(value))
    except Exception:
        return type(value).__name__


def by_name(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sorted by name (then qualname, so that two classes of one name still sort the same way every run)."""
    return sorted(items, key=lambda item: (item["name"], item.get("qualname") or ""))
