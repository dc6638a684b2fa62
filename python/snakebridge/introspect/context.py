"""What introspecting one module accumulates (aliases, classes whose shape it needs, warnings), and the
``Scope`` an annotation is converted in (which type variables are bound, and by whom)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from .model import Type

#: Builds the TypeVarDef of a type variable on first use (converting its bound may itself find more).
TypeVarFactory = Callable[[], dict[str, Any]]


@dataclasses.dataclass
class Scope:
    """Where an annotation is converted: inside a class (its type variables, ``Self``) and/or a signature."""

    class_vars: frozenset[str] = frozenset()
    self_type: Type | None = None
    #: Type variables the signature (or alias) uses that its class does not bind, in order of first use.
    found: dict[str, TypeVarFactory | dict[str, Any]] = dataclasses.field(default_factory=dict)

    def use_typevar(self, name: str, factory: TypeVarFactory) -> None:
        """Notes a type variable the first time it is used, unless the class binds it."""
        if name not in self.class_vars and name not in self.found:
            self.found[name] = factory

    def type_params(self) -> list[dict[str, Any]]:
        """The TypeVarDefs of the variables used, in order of first use."""
        defs = []
        for name in list(self.found):
            entry = self.found[name]
            if callable(entry):
                entry = self.found[name] = entry()
            defs.append(entry)
        return defs

    def for_members(self) -> Scope:
        """A fresh scope for one member of the same class."""
        return Scope(self.class_vars, self.self_type)


@dataclasses.dataclass
class ClassRef:
    """A class referenced by a Type whose shape the module's ``types`` must carry."""

    qualname: str
    name: str
    runtime: type | None = None
    stub: Any = None  # a stubs.StubClass when a stub defines it


class ModuleContext:
    """The aliases, referenced classes and warnings of the module being introspected."""

    def __init__(self, module_name: str, stubs: Any) -> None:
        self.module_name = module_name
        self.stubs = stubs
        #: Alias name -> its entry; an entry is ``None`` while it is being converted (that stops recursion).
        self.aliases: dict[str, dict[str, Any] | None] = {}
        #: id() of an object bound to a public alias name of this module -> the alias's name.
        self.alias_ids: dict[int, str] = {}
        self._alias_objects: list[object] = []  # keeps the objects alive, so their ids stay theirs
        self.referenced: dict[str, ClassRef] = {}
        self.warnings: list[str] = []
        self._warned: set[str] = set()

    def bind_alias(self, obj: object, name: str) -> None:
        """Makes annotations that evaluate to ``obj`` itself references to the alias ``name``."""
        self.alias_ids[id(obj)] = name
        self._alias_objects.append(obj)

    def define_alias(self, name: str, build: Callable[[], dict[str, Any]]) -> None:
        """Defines the alias ``name`` once, by ``build()``; a reference met while building it stays a reference."""
        if name in self.aliases:
            return
        self.aliases[name] = None
        self.aliases[name] = build()

    def reference_class(self, ref: ClassRef) -> None:
        self.referenced.setdefault(ref.qualname, ref)

    def warn(self, text: str) -> None:
        if text not in self._warned:
            self._warned.add(text)
            self.warnings.append(text)
