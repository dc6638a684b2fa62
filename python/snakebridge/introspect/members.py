"""Walks one imported module: decides its members (``__all__``, or public names defined in its package),
sorts them into functions, classes, constants, aliases and submodules, and assembles the Module object.
"""

from __future__ import annotations

import ast
import sys
import types
import typing
from types import ModuleType
from typing import Any

from . import model
from .annotations import Evaluator, RuntimeTypes, error_text, is_typing_construct
from .budget import Budget
from .classes import Classes
from .context import ModuleContext, Scope
from .distribution import distribution_of
from .docstrings import clean, parse_docstring
from .kinds import is_class
from .progress import Progress
from .signatures import Signatures, own_doc, runtime_kind, stub_for
from .sourcedocs import SourceDocs
from .stubs import Found, StubClass, StubIndex
from .stubtypes import StubTypes, live_class, unwrap_qualifiers

_MAX_TYPES = 2000
_TYPING_MODULES = ("typing", "typing_extensions", "collections.abc")


class ModuleWalker:
    """Introspects one imported module within its budget."""

    def __init__(
        self,
        module: ModuleType,
        name: str,
        budget: Budget,
        progress: Progress,
        stubs: StubIndex,
        evaluator: Evaluator,
        sources: SourceDocs,
    ) -> None:
        self.module = module
        self.name = name
        self.top = name.split(".")[0]
        self.budget = budget
        self.progress = progress
        self.stubs = stubs
        self.sources = sources
        self.ctx = ModuleContext(name, stubs)
        self.runtime = RuntimeTypes(self.ctx, evaluator)
        self.stubtypes = StubTypes(self.ctx, stubs, self.runtime)
        self.signatures = Signatures(self.ctx, self.runtime, self.stubtypes, stubs, evaluator)
        self.classes = Classes(self.ctx, self.runtime, self.stubtypes, self.signatures, sources, stubs)
        self.stub = stubs.module_stub(name)
        if self.stub is not None and self.stub.error:
            self.ctx.warn(f"{name}: its stub did not parse ({self.stub.error})")
            self.stub = None

    def walk(self) -> dict[str, Any]:
        """The Module object."""
        members, submodules = self._members()
        aliases = [(name, obj) for name, obj, kind in members if kind == "alias"]
        others = [(name, obj, kind) for name, obj, kind in members if kind != "alias"]
        self._define_aliases(aliases)
        functions, classes, constants = [], [], []
        self.progress.start(len(others))
        for done, (name, obj, kind) in enumerate(others, 1):
            built = self._member(name, obj, kind)
            {"function": functions, "class": classes, "constant": constants}[kind].append(built)
            self.progress.member(done, len(others))
        types_ = self._types({cls["qualname"] for cls in classes})
        return {
            "module": self.name,
            "doc": clean(getattr(self.module, "__doc__", None)),
            "distribution": distribution_of(self.name),
            "stub": self.stub.origin if self.stub is not None else None,
            "functions": model.by_name(functions),
            "classes": model.by_name(classes),
            "constants": model.by_name(constants),
            "submodules": sorted(submodules, key=lambda entry: (entry["name"], entry["module"])),
            "aliases": sorted((entry for entry in self.ctx.aliases.values() if entry), key=lambda e: e["name"]),
            "types": model.by_name(types_),
            "budget": self.budget.report(),
            "warnings": list(self.ctx.warnings),
        }

    # ----- membership

    def _members(self) -> tuple[list[tuple[str, Any, str]], list[dict[str, str]]]:
        """(name, object, kind) of each member, sorted by name, and the submodules."""
        namespace = vars(self.module)
        explicit = namespace.get("__all__")
        # A module's own submodules (numpy.linalg) are part of its surface; `import enum` at its top is not.
        own = f"{self.module.__name__}."
        submodules = {
            name: value.__name__
            for name, value in namespace.items()
            if isinstance(value, ModuleType) and not name.startswith("_") and value.__name__.startswith(own)
        }
        members = []
        if isinstance(explicit, (list, tuple)):
            candidates = sorted({name for name in explicit if isinstance(name, str)})
        else:
            candidates = sorted(name for name in namespace if not name.startswith("_"))
        for name in candidates:
            try:
                value = getattr(self.module, name)
            except Exception as error:
                self.ctx.warn(f"{self.name}.{name}: could not be read ({error_text(error)})")
                continue
            if isinstance(value, ModuleType):
                submodules[name] = value.__name__
                continue
            kind = self._kind(name, value)
            if explicit is None and not self._defined_here(name, value, kind):
                continue
            members.append((name, value, kind))
        return members, [{"name": name, "module": module} for name, module in submodules.items()]

    def _kind(self, name: str, value: object) -> str:
        if is_typing_construct(value):
            return "alias"
        if is_class(value):  # even where a stub calls it an alias (numpy's int32): it can be called
            return "class"
        found = self._stub_lookup(name)
        if found is not None and found.definition.kind == "alias":
            return "alias"
        if callable(value) and not isinstance(value, typing.TypeVar):
            return "function"
        return "constant"

    def _defined_here(self, name: str, value: object, kind: str) -> bool:
        """Without ``__all__``: whether a public name was defined in this module or its package (not imported)."""
        module = getattr(value, "__module__", None) if kind in ("class", "function") else None
        if isinstance(module, str):
            return module == self.name or module == self.top or module.startswith(f"{self.top}.")
        if kind == "alias" and any(getattr(sys.modules.get(m), name, None) is value for m in _TYPING_MODULES):
            return False
        facts = self.sources.for_module(self.module)
        if facts is None:
            return kind != "function" or not isinstance(value, types.BuiltinFunctionType)
        return facts.bindings.get(name) in ("assign", "def")

    # ----- members

    def _member(self, name: str, obj: object, kind: str) -> dict[str, Any]:
        label = f"{self.name}.{name}"
        if self.budget.exceeded():
            self.budget.skip(name)
            return self._untyped(name, obj, kind)
        try:
            if kind == "function":
                return self._function(name, obj, label)
            if kind == "class":
                return self.classes.build(name, obj, self._stub_class(name, obj))  # type: ignore[arg-type]
            return self._constant(name, obj, label)
        except Exception as error:  # one odd member must not cost the module its introspection
            self.ctx.warn(f"{label}: could not be introspected ({error_text(error)})")
            return self._untyped(name, obj, kind)

    def _untyped(self, name: str, obj: object, kind: str) -> dict[str, Any]:
        """A member as the budget leaves it: named, and typed by nothing."""
        doc = parse_docstring(own_doc(obj)).text  # without its sections, as for any member
        if kind == "function":
            return model.untyped_function(name, runtime_kind(obj), doc)
        if kind == "class":
            cls: Any = obj
            return model.empty_class(name, f"{cls.__module__}.{cls.__qualname__}", "class", doc)
        return model.constant(name, None, obj, None)

    def _function(self, name: str, obj: object, label: str) -> dict[str, Any]:
        found = self._stub_for_object(name, obj)
        stub = stub_for(found)
        scope = Scope()
        if stub is None and found is not None and found.definition.kind == "variable" and found.module is not None:
            stub, scope = self._callable_instance(found)
        return self.signatures.function(obj, name, label, stub=stub, scope=scope)

    def _callable_instance(self, found: Found) -> tuple[Any, Scope]:
        """A callable object a stub declares as a variable of some class (numpy's ufuncs): its ``__call__``."""
        assert found.module is not None
        annotation = unwrap_qualifiers(found.definition.annotation)
        head = annotation.value if isinstance(annotation, ast.Subscript) else annotation
        cls_found = self.stubs.resolve_expr(found.module, head) if head is not None else None
        if cls_found is None or cls_found.definition.cls is None:
            return None, Scope()
        member = self.stubtypes.classes.member(cls_found.definition.cls, "__call__")
        if member is None or member[1].kind != "function":
            return None, Scope()
        owner = member[0]
        return (member[1], owner.module), Scope(self_type=model.class_type(f"{owner.module.name}.{owner.qualname}"))

    def _stub_class(self, name: str, obj: object) -> StubClass | None:
        found = self._stub_for_object(name, obj)
        if found is not None and found.definition.kind == "alias" and found.module is not None:
            # ``int32: TypeAlias = signedinteger[_32Bit]``: the class the alias names describes it.
            value = found.definition.expr
            head = value.value if isinstance(value, ast.Subscript) else value
            found = self.stubs.resolve_expr(found.module, head) if head is not None else None
        if found is not None and found.definition.kind == "class":
            return found.definition.cls
        return None

    def _constant(self, name: str, obj: object, label: str) -> dict[str, Any]:
        type_ = self._constant_type(name, obj, label)
        return model.constant(name, type_, obj, self.sources.doc(self.module, name))

    def _constant_type(self, name: str, obj: object, label: str) -> model.Type | None:
        annotations = vars(self.module).get("__annotations__")
        if isinstance(annotations, dict) and name in annotations:
            evaluated = self.signatures.annotations.read(annotations[name], vars(self.module), Scope())
            if evaluated.warning is not None:
                self.ctx.warn(f"{label}: could not evaluate its annotation ({evaluated.warning})")
            return evaluated.type
        found = self._stub_for_object(name, obj)
        if _from_stub(found) and found.definition.kind == "variable" and found.definition.annotation is not None:
            return self.stubtypes.convert(found.definition.annotation, found.module, Scope())
        if obj is None:
            return model.none_type()
        return self.runtime.class_reference(type(obj), [])

    def _define_aliases(self, aliases: list[tuple[str, Any]]) -> None:
        """Binds every alias first (so annotations that use one refer to it), then defines each."""
        named = []
        for name, obj in aliases:
            found = self._stub_lookup(name)
            alias_name = found.name if found is not None and found.definition.kind == "alias" else f"{self.name}.{name}"
            self.ctx.bind_alias(obj, alias_name)
            named.append((alias_name, obj, found))
        for alias_name, obj, found in named:
            if found is not None and found.definition.kind == "alias" and found.module is not None:
                module, definition = found.module, found.definition
                self.ctx.define_alias(
                    alias_name, lambda n=alias_name, d=definition, m=module: self.stubtypes.alias_entry(n, d, m)
                )
            else:
                self.ctx.define_alias(alias_name, lambda n=alias_name, o=obj: self.runtime.alias_entry(o, n))

    # ----- stubs

    def _stub_lookup(self, name: str) -> Found | None:
        return self.stubs.lookup(self.stub, name) if self.stub is not None else None

    def _stub_for_object(self, name: str, obj: object) -> Found | None:
        """What a stub says about a member: this module's stub under its name, else its defining module's stub."""
        found = self._stub_lookup(name)
        if _from_stub(found):
            return found
        module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        if isinstance(module, str) and isinstance(qualname, str) and module != self.name:
            other = self.stubs.module_stub(module)
            found = self.stubs.lookup_qualname(other, qualname) if other is not None else None
            if _from_stub(found):
                return found
        return None

    # ----- types

    def _types(self, local: set[str]) -> list[dict[str, Any]]:
        """Classes that Types reference and whose shape travels, not among this module's classes."""
        built: dict[str, dict[str, Any]] = {}
        while len(built) < _MAX_TYPES:
            pending = [
                ref for qualname, ref in self.ctx.referenced.items() if qualname not in built and qualname not in local
            ]
            if not pending:
                break
            for ref in pending:
                runtime = ref.runtime if ref.runtime is not None else (live_class(ref.stub) if ref.stub else None)
                # A class read from a .py source has live annotations to go by: its ast is no stub.
                stub = ref.stub if runtime is None or (ref.stub and ref.stub.module.origin != "source") else None
                try:
                    built[ref.qualname] = self.classes.build(ref.name, runtime, stub)
                except Exception as error:
                    self.ctx.warn(f"{ref.qualname}: could not be introspected ({error_text(error)})")
                    built[ref.qualname] = model.empty_class(ref.name, ref.qualname, "class", None)
        return list(built.values())


def _from_stub(found: Found | None) -> bool:
    return found is not None and found.module is not None and found.module.origin != "source"
