"""Classes that exist only in stubs (typeshed's ``_typeshed.SupportsWrite`` and the like), described from the
stub alone: kind, bases, constructor, methods, properties, fields, enum members, ``__call__`` and ``__iter__``.
"""

from __future__ import annotations

import ast
from typing import Any

from . import model
from .annotations import qualified_name
from .context import Scope
from .docstrings import clean, parse_docstring
from .kinds import is_class
from .signatures import Signatures
from .stubclasses import StubClasses
from .stubs import Def, StubClass, StubIndex, dotted
from .stubtypes import StubTypes, live_class

#: Kinds whose classes are not constructed (an enum's members are its values).
NO_CONSTRUCTOR = ("protocol", "typeddict", "enum")
#: What these wrappers around a TypedDict field's annotation say about its being required.
REQUIRED = {"Required": True, "NotRequired": False}
#: Bases not worth naming.
NOT_BASES = {"builtins.object", "typing.Generic", "typing.Protocol", "typing_extensions.Protocol"}
_ITERATORS = {
    "collections.abc.Iterator",
    "collections.abc.Generator",
    "collections.abc.Iterable",
    "collections.abc.AsyncIterator",
    "collections.abc.AsyncGenerator",
}


class StubOnlyClasses:
    """Builds Classes from stub classes that have no live class behind them."""

    def __init__(self, stubtypes: StubTypes, signatures: Signatures, stubs: StubIndex) -> None:
        self.stubtypes = stubtypes
        self.stubclasses = stubtypes.classes
        self.signatures = signatures
        self.stubs = stubs

    def build(self, name: str, stub: StubClass) -> dict[str, Any]:
        kind = self.stubclasses.kind(stub)
        qualname = f"{stub.module.name}.{stub.qualname}"
        docs = parse_docstring(ast.get_docstring(stub.node))
        names = self.stubclasses.typevars(stub)
        scope = Scope(frozenset(names), model.class_type(qualname, [model.typevar_type(n) for n in names]))
        result = model.empty_class(name, qualname, kind, docs.text)
        result["bases"] = self._stub_bases(stub)
        result["type_params"] = self.stubclasses.type_params(stub, names)
        if kind not in NO_CONSTRUCTOR:
            constructor = stub_constructor(self.stubclasses, stub)
            if constructor is not None:
                definition, module, method = constructor
                result["constructor"] = self.signatures.stub_function(method, definition, module, scope)
        methods, properties, variables = self._stub_members(stub, scope)
        result["methods"] = model.by_name(methods)
        if kind in ("typeddict", "namedtuple", "dataclass"):
            result["fields"] = self._stub_fields(stub, kind, variables, scope)
        elif kind == "enum":
            result["members"] = [
                _enum_member(stub, attr, definition) for attr, definition, _ in variables if not attr.startswith("_")
            ]
        else:
            properties += [
                model.prop(attr, self.stubtypes.convert(d.annotation, module, scope.for_members()), False, None)
                for attr, d, module in variables
                if d.annotation is not None and not attr.startswith("_")
            ]
        result["properties"] = model.by_name(properties)
        call = self.stubclasses.member(stub, "__call__")
        if call is not None and call[1].kind == "function":
            result["call"] = self.signatures.stub_function("__call__", call[1], call[0].module, scope)
        iterator = self.stubclasses.member(stub, "__iter__")
        if iterator is not None and iterator[1].kind == "function":
            returns = iterator[1].nodes[0].returns
            converted = self.stubtypes.convert(returns, iterator[0].module, scope.for_members()) if returns else None
            result["iterates"] = item_type(converted)
        return result

    def _stub_members(self, stub: StubClass, scope: Scope) -> tuple[list[dict], list[dict], list[tuple]]:
        methods, properties, variables = [], [], []
        for stub_class in reversed(self.stubclasses.chain(stub)):
            if stub_class.module.name == "builtins" and stub_class.qualname == "object":
                continue
            for attr, definition in stub_class.defs.items():
                if definition.kind == "variable":
                    variables = [entry for entry in variables if entry[0] != attr]
                    variables.append((attr, definition, stub_class.module))
        seen = set()
        for stub_class in self.stubclasses.chain(stub):
            if stub_class.module.name == "builtins" and stub_class.qualname == "object":
                continue
            for attr, definition in stub_class.defs.items():
                if attr.startswith("_") or attr in seen:
                    continue
                seen.add(attr)
                if definition.kind == "function":
                    function = self.signatures.stub_function(attr, definition, stub_class.module, scope)
                    function["binding"] = definition.binding
                    methods.append(function)
                elif definition.kind == "property":
                    returns = definition.nodes[0].returns
                    type_ = self.stubtypes.convert(returns, stub_class.module, scope.for_members()) if returns else None
                    doc = clean(ast.get_docstring(definition.nodes[0]))
                    properties.append(model.prop(attr, type_, not definition.setter, doc))
        return methods, properties, variables

    def _stub_fields(self, stub: StubClass, kind: str, variables: list[tuple], scope: Scope) -> list[dict[str, Any]]:
        total = True
        for keyword in stub.node.keywords:
            if keyword.arg == "total" and isinstance(keyword.value, ast.Constant):
                total = bool(keyword.value.value)
        fields = []
        for attr, definition, module in variables:
            if definition.annotation is None:
                continue
            type_ = self.stubtypes.convert(definition.annotation, module, scope.for_members())
            if kind == "typeddict":
                required = REQUIRED.get(annotation_head(definition.annotation) or "", total)
            else:
                required = definition.expr is None
            fields.append(model.field(attr, type_, required, None))
        return fields

    def _stub_bases(self, stub: StubClass) -> list[str]:
        bases = []
        for base in stub.node.bases:
            head = base.value if isinstance(base, ast.Subscript) else base
            found = self.stubs.resolve_expr(stub.module, head)
            if found is None:
                name = ".".join(dotted(head) or [ast.unparse(head)])
            elif found.definition.kind == "class" and found.definition.cls is not None:
                live = live_class(found.definition.cls)
                cls = found.definition.cls
                name = qualified_name(live) if live else f"{cls.module.name}.{cls.qualname}"
            elif found.definition.kind == "runtime" and is_class(found.definition.value):
                name = qualified_name(found.definition.value)
            else:
                name = found.name
            if name not in NOT_BASES and not name.endswith((".Generic", ".Protocol", ".TypedDict", ".NamedTuple")):
                bases.append(name)
        return bases


def stub_constructor(stubclasses: StubClasses, stub: StubClass | None) -> tuple[Def, Any, str] | None:
    """The stub's ``__init__`` or ``__new__``, whichever the nearest stub class (short of ``object``) defines."""
    if stub is None:
        return None
    for stub_class in stubclasses.chain(stub):
        if stub_class.qualname == "object" and stub_class.module.name == "builtins":
            return None
        for method in ("__init__", "__new__"):
            definition = stub_class.defs.get(method)
            if definition is not None and definition.kind == "function":
                return definition, stub_class.module, method
    return None


def item_type(returned: dict[str, Any] | None) -> dict[str, Any]:
    """The item type of the iterator an ``__iter__`` returns (``any`` when that is not said)."""
    if returned and returned["kind"] == "class" and returned["name"] in _ITERATORS and returned["args"]:
        return returned["args"][0]
    return model.any_type()


def annotation_head(annotation: ast.expr) -> str | None:
    """The last name of an annotation's head: ``Final`` for ``typing.Final[int]``."""
    head = annotation.value if isinstance(annotation, ast.Subscript) else annotation
    parts = dotted(head)
    return parts[-1] if parts else None


def _enum_member(stub: StubClass, attr: str, definition: Def) -> dict[str, Any]:
    value = None
    if isinstance(definition.expr, ast.Constant):
        value = model.json_scalar(definition.expr.value)
    text = f"<{stub.name}.{attr}: {value!r}>" if isinstance(definition.expr, ast.Constant) else f"{stub.name}.{attr}"
    return {"name": attr, "value": value, "repr": text}
