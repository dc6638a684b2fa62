"""Classes as stubs define them: their kind, type variables, stub bases and members (nearest first)."""

from __future__ import annotations

import ast
from typing import Any

from .kinds import is_class
from .stubs import Def, Found, StubClass, StubIndex, dotted
from .stubtypes import StubTypes, callee, live_class, plain_typevar, safe_kind

_STUB_SHAPE_BASES = {"Protocol": "protocol", "TypedDict": "typeddict", "NamedTuple": "namedtuple"}


class StubClasses:
    """Answers questions about stub classes for one module's context."""

    def __init__(self, stubs: StubIndex, types: StubTypes) -> None:
        self.stubs = stubs
        self.types = types
        self._kinds: dict[str, str] = {}

    def kind(self, stub_class: StubClass) -> str:
        """The kind of a class known only from a stub, from its bases and decorators."""
        key = f"{stub_class.module.name}.{stub_class.qualname}"
        if key not in self._kinds:
            self._kinds[key] = "class"  # a class that inherits from itself stops here
            self._kinds[key] = self._stub_kind(stub_class)
        return self._kinds[key]

    def _stub_kind(self, stub_class: StubClass) -> str:
        decorators = {(dotted(callee(node)) or [""])[-1] for node in stub_class.node.decorator_list}
        kinds = []
        for base in stub_class.node.bases:
            found = self.stubs.resolve_expr(stub_class.module, base.value if isinstance(base, ast.Subscript) else base)
            kinds.append(self._base_kind(found))
        for kind in ("protocol", "typeddict", "namedtuple", "enum"):
            if kind in kinds:
                return kind
        if "dataclass" in decorators:
            return "dataclass"
        return "exception" if "exception" in kinds else "class"

    def _base_kind(self, found: Found | None) -> str:
        if found is None:
            return "class"
        definition = found.definition
        if definition.kind == "special":
            return _STUB_SHAPE_BASES.get(definition.attr or "", "class")
        if definition.kind == "class" and definition.cls is not None:
            live = live_class(definition.cls)
            kind = safe_kind(live) if live is not None else self.kind(definition.cls)
            return kind if kind in ("enum", "exception") else "class"
        if definition.kind == "runtime" and is_class(definition.value):
            kind = safe_kind(definition.value)
            return kind if kind in ("enum", "exception") else "class"
        return "class"

    def typevars(self, stub_class: StubClass) -> list[str]:
        """The type variables a stub class is generic over (``Generic[...]``, ``Protocol[...]``, or its bases')."""
        names: list[str] = []
        explicit = []
        for base in stub_class.node.bases:
            if isinstance(base, ast.Subscript) and (dotted(base.value) or [""])[-1] in ("Generic", "Protocol"):
                explicit.append(base)
        for param in getattr(stub_class.node, "type_params", []) or []:
            names.append(param.name)
        for base in explicit or stub_class.node.bases:
            for node in ast.walk(base):
                if isinstance(node, ast.Name) and node.id not in names:
                    found = self.stubs.lookup(stub_class.module, node.id)
                    if found and found.definition.kind == "typevar" and found.definition.attr == "TypeVar":
                        names.append(node.id)
        return names

    def type_params(self, stub_class: StubClass, names: list[str]) -> list[dict[str, Any]]:
        """TypeVarDefs for a stub class's type variables."""
        defs = []
        for name in names:
            found = self.stubs.lookup(stub_class.module, name)
            if found and found.definition.kind == "typevar":
                defs.append(self.types.typevar_def(name, found.definition, found.module))
            else:
                defs.append(plain_typevar(name))
        return defs

    def bases(self, stub_class: StubClass) -> list[StubClass]:
        """The stub classes a stub class derives from (those a stub defines)."""
        bases = []
        for base in stub_class.node.bases:
            found = self.stubs.resolve_expr(stub_class.module, base.value if isinstance(base, ast.Subscript) else base)
            if found and found.definition.kind == "class" and found.definition.cls is not None:
                bases.append(found.definition.cls)
        return bases

    def member(
        self, stub_class: StubClass, name: str, seen: frozenset[int] = frozenset()
    ) -> tuple[StubClass, Def] | None:
        """A member of a stub class or of the stub classes it derives from, nearest first."""
        if id(stub_class) in seen or len(seen) > 20:
            return None
        if name in stub_class.defs:
            definition = stub_class.defs[name]
            if definition.kind == "ref" and isinstance(definition.expr, ast.Name):  # ``__radd__ = __add__``
                definition = stub_class.defs.get(definition.expr.id, definition)
            return stub_class, definition
        for base in self.bases(stub_class):
            found = self.member(base, name, seen | {id(stub_class)})
            if found:
                return found
        return None

    def chain(self, stub_class: StubClass) -> list[StubClass]:
        """The stub class and the stub classes it derives from, nearest first, each once."""
        chain: list[StubClass] = []
        pending = [stub_class]
        while pending and len(chain) < 50:
            current = pending.pop(0)
            if any(current is seen for seen in chain):
                continue
            chain.append(current)
            pending.extend(self.bases(current))
        return chain

    def member_names(self, stub_class: StubClass, seen: frozenset[int] = frozenset()) -> list[str]:
        """Every name a stub class and its stub bases define, nearest first."""
        if id(stub_class) in seen or len(seen) > 20:
            return []
        names = list(stub_class.defs)
        for base in self.bases(stub_class):
            names += [name for name in self.member_names(base, seen | {id(stub_class)}) if name not in names]
        return names
