"""Classes turned into the format's Class: kind, constructor, methods, properties, fields, enum members,
``__call__`` and ``__iter__``; from the live class with its stub's signatures, or from a stub alone.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import functools
import inspect
import sys
import types
import typing
from typing import Any

from . import model
from .annotations import RuntimeTypes, qualified_name
from .classhome import class_globals
from .context import ModuleContext, Scope
from .docstrings import DocItem, ParsedDoc, parse_docstring
from .doctypes import parse_phrase
from .kinds import class_kind
from .model import Type
from .signatures import Signatures, doc_text, own_doc
from .sourcedocs import SourceDocs
from .sourcetypes import Evaluated
from .stubonly import (
    NO_CONSTRUCTOR,
    NOT_BASES,
    REQUIRED,
    StubOnlyClasses,
    annotation_head,
    item_type,
    stub_constructor,
)
from .stubs import Def, StubClass, StubIndex
from .stubtypes import StubTypes


class Classes:
    """Builds Classes for one module's context."""

    def __init__(
        self,
        ctx: ModuleContext,
        runtime: RuntimeTypes,
        stubtypes: StubTypes,
        signatures: Signatures,
        sources: SourceDocs,
        stubs: StubIndex,
    ) -> None:
        self.ctx = ctx
        self.runtime = runtime
        self.stubtypes = stubtypes
        self.stubclasses = stubtypes.classes
        self.stub_only = StubOnlyClasses(stubtypes, signatures, stubs)
        self.signatures = signatures
        self.annotations = signatures.annotations
        self.sources = sources
        self.stubs = stubs

    def build(self, name: str, cls: type | None, stub: StubClass | None) -> dict[str, Any]:
        """The Class named ``name`` in this module: the live class (with its stub, if any), or a stub's alone."""
        if cls is None:
            assert stub is not None
            return self.stub_only.build(name, stub)
        return self._from_runtime(name, cls, stub)

    # ----- live classes

    def _from_runtime(self, name: str, cls: type, stub: StubClass | None) -> dict[str, Any]:
        qualname = qualified_name(cls)
        kind = class_kind(cls)
        docs = parse_docstring(cls.__dict__.get("__doc__"))
        if docs.text is None and stub is not None:
            docs = parse_docstring(ast.get_docstring(stub.node))
        names, type_params = self._runtime_typevars(cls, stub)
        scope = Scope(frozenset(names), model.class_type(qualname, [model.typevar_type(n) for n in names]))
        hidden = _hidden_bases(cls, kind)
        fields, field_types = self._fields(cls, kind, docs, scope, stub)
        result = model.empty_class(name, qualname, kind, docs.text)
        result["bases"] = [] if kind == "typeddict" else _bases(cls)
        result["type_params"] = type_params
        result["constructor"] = self._constructor(cls, kind, stub, scope, docs, field_types, qualname)
        result["methods"] = self._methods(cls, hidden, stub, scope, qualname)
        skip = {field["name"] for field in fields} | {method["name"] for method in result["methods"]}
        if kind == "enum":
            skip |= set(cls.__members__)  # type: ignore[attr-defined]
        result["properties"] = self._properties(cls, kind, hidden, stub, scope, docs, skip, qualname)
        result["fields"] = fields
        result["members"] = _enum_members(cls) if kind == "enum" else []
        result["call"] = self._call(cls, stub, scope, qualname)
        result["iterates"] = self._iterates(cls, stub, scope)
        return result

    def _runtime_typevars(self, cls: type, stub: StubClass | None) -> tuple[list[str], list[dict[str, Any]]]:
        params = [param for param in getattr(cls, "__parameters__", ()) if isinstance(param, typing.TypeVar)]
        if params:
            return [param.__name__ for param in params], [self.runtime.typevar_def(param) for param in params]
        if stub is not None:
            names = self.stubclasses.typevars(stub)
            return names, self.stubclasses.type_params(stub, names)
        return [], []

    def _stub_def(self, stub: StubClass | None, name: str, kinds: tuple[str, ...]) -> tuple[Def, Any] | None:
        if stub is None:
            return None
        found = self.stubclasses.member(stub, name)
        if found is None or found[1].kind not in kinds:
            return None
        return found[1], found[0].module

    def _constructor(
        self,
        cls: type,
        kind: str,
        stub: StubClass | None,
        scope: Scope,
        docs: ParsedDoc,
        field_types: dict[str, Type],
        label: str,
    ) -> dict[str, Any] | None:
        if kind in NO_CONSTRUCTOR:
            return None
        chosen = _constructor_of(cls)
        stub_def = stub_constructor(self.stubclasses, stub)
        if stub_def is not None:
            definition, module, method = stub_def
            target = chosen[1] if chosen else cls.__init__
            function = self.signatures.function(
                target, method, label, stub=(definition, module), scope=scope, extra_docs=docs
            )
            function["doc"] = doc_text(target) if chosen else None
            return function
        if chosen is None:
            return model.function("__init__", "function", None, "signature", [model.signature([], None, None, [])])
        method, value = chosen
        target = getattr(value, "__func__", value)
        if inspect.isfunction(target):
            return self.signatures.function(
                target,
                method,
                f"{label}.{method}",
                scope=scope,
                drop_first=True,
                extra_docs=docs,
                field_types=field_types,
            )
        function = self.signatures.function(cls, method, label, scope=scope, extra_docs=docs)
        function["doc"] = doc_text(target)
        return function

    def _methods(self, cls: type, hidden: set[type], stub: StubClass | None, scope: Scope, label: str) -> list[dict]:
        methods = []
        for attr, value in _public_attributes(cls, hidden):
            shape = _method_shape(cls, attr, value)
            if shape is None:
                continue
            binding, target, drop_first = shape
            stub_def = self._stub_def(stub, attr, ("function",))
            function = self.signatures.function(
                target, attr, f"{label}.{attr}", stub=stub_def, scope=scope, drop_first=drop_first
            )
            function["binding"] = binding
            methods.append(function)
        return model.by_name(methods)

    def _properties(
        self,
        cls: type,
        kind: str,
        hidden: set[type],
        stub: StubClass | None,
        scope: Scope,
        docs: ParsedDoc,
        skip: set[str],
        label: str,
    ) -> list[dict[str, Any]]:
        properties: dict[str, dict[str, Any]] = {}
        for attr, value in _public_attributes(cls, hidden):
            shape = _property_shape(value)
            if shape is not None and attr not in skip:
                properties[attr] = self._property(attr, shape, stub, scope, f"{label}.{attr}")
        for klass in cls.__mro__:
            if klass in hidden:
                continue
            for attr, annotation in _own_annotations(klass).items():
                if attr.startswith("_") or attr in skip or attr in properties:
                    continue
                properties[attr] = self._annotated(klass, attr, annotation, scope, f"{label}.{attr}")
        if stub is not None and kind != "enum":
            self._stub_attributes(stub, scope, skip, properties)
        _document(properties, docs.attributes, self._resolver(cls))
        return model.by_name(list(properties.values()))

    def _property(self, attr: str, shape: tuple[bool, Any], stub: StubClass | None, scope: Scope, label: str) -> dict:
        readonly, getter = shape
        stub_def = self._stub_def(stub, attr, ("property", "variable"))
        docs = parse_docstring(own_doc(getter)) if getter is not None else ParsedDoc()
        doc = docs.text
        if stub_def is not None:
            definition, module = stub_def
            if definition.kind == "property":
                type_ = self.stubtypes.convert(definition.nodes[0].returns, module, scope.for_members())
                return model.prop(attr, type_, not definition.setter, doc)
            return model.prop(
                attr, self.stubtypes.convert(definition.annotation, module, scope.for_members()), readonly, doc
            )
        type_ = None
        if getter is not None:
            returns = _return_annotation(getter)
            if returns is not None:
                type_ = self._evaluated(getter, returns, scope, label)
            elif docs.returns and docs.returns[0].type:
                type_ = parse_phrase(docs.returns[0].type, self._resolver(getter)).type
            if doc is None and docs.returns:
                doc = docs.returns[0].doc
        return model.prop(attr, type_, readonly, doc)

    def _evaluated(self, function: Any, annotation: object, scope: Scope, label: str) -> Type:
        namespace = getattr(function, "__globals__", None) or _module_dict(function)
        return self._read(annotation, namespace, scope, label).type

    def _read(
        self, annotation: object, namespace: dict[str, Any], scope: Scope, label: str, localns: dict | None = None
    ) -> Evaluated:
        """An attribute's (or a getter's) annotation, with a warning when part of it stays unknown."""
        evaluated = self.annotations.read(annotation, namespace, scope.for_members(), localns=localns)
        if evaluated.warning is not None:
            self.ctx.warn(f"{label}: could not evaluate its annotation ({evaluated.warning})")
        return evaluated

    def _annotated(self, klass: type, attr: str, annotation: object, scope: Scope, label: str) -> dict[str, Any]:
        """A property for an annotated class-body attribute."""
        module = sys.modules.get(klass.__module__)
        evaluated = self._read(annotation, class_globals(klass), scope, label, dict(vars(klass)))
        doc = self.sources.doc(module, f"{klass.__qualname__}.{attr}")
        return model.prop(attr, evaluated.type, evaluated.final, doc)

    def _stub_attributes(self, stub: StubClass, scope: Scope, skip: set[str], properties: dict[str, dict]) -> None:
        """Attributes a stub declares (instance attributes included) that the class body does not show."""
        for attr in self.stubclasses.member_names(stub):
            if attr.startswith("_") or attr in skip or attr in properties:
                continue
            found = self.stubclasses.member(stub, attr)
            if found is None or found[1].kind != "variable" or found[1].annotation is None:
                continue
            type_ = self.stubtypes.convert(found[1].annotation, found[0].module, scope.for_members())
            properties[attr] = model.prop(attr, type_, annotation_head(found[1].annotation) == "Final", None)

    def _fields(
        self, cls: type, kind: str, docs: ParsedDoc, scope: Scope, stub: StubClass | None
    ) -> tuple[list[dict], dict[str, Type]]:
        """The fields of a TypedDict, NamedTuple or dataclass, and their types by name (for the constructor)."""
        if kind == "typeddict":
            entries = [(name, annotation, None) for name, annotation in _own_annotations(cls).items()]
        elif kind == "namedtuple":
            annotations = _own_annotations(cls)
            defaults = getattr(cls, "_field_defaults", {})
            entries = [(name, annotations.get(name, _NO_TYPE), name not in defaults) for name in cls._fields]
        elif kind == "dataclass":
            entries = [(f.name, f.type, _dataclass_required(f)) for f in dataclasses.fields(cls)]
        else:
            return [], {}
        fields, types_ = [], {}
        module = sys.modules.get(cls.__module__)
        for name, annotation, required in entries:
            type_, value = self._field_type(cls, name, annotation, scope)
            if type_ is None and stub is not None:  # collections.namedtuple: only its stub has types
                stub_def = self._stub_def(stub, name, ("variable",))
                if stub_def is not None and stub_def[0].annotation is not None:
                    type_ = self.stubtypes.convert(stub_def[0].annotation, stub_def[1], scope.for_members())
            if kind == "typeddict":
                required = _typeddict_required(cls, name, value)
            item = docs.attributes.get(name)
            doc = item.doc if item and item.doc else self.sources.doc(module, f"{cls.__qualname__}.{name}")
            fields.append(model.field(name, type_, bool(required), doc))
            if type_ is not None:
                types_[name] = type_
        return fields, types_

    def _field_type(self, cls: type, name: str, annotation: object, scope: Scope) -> tuple[Type | None, object]:
        if annotation is _NO_TYPE:
            return None, None
        owner = next((klass for klass in cls.__mro__ if name in _own_annotations(klass)), cls)
        label = f"{qualified_name(cls)}.{name}"
        evaluated = self._read(annotation, class_globals(owner), scope, label, dict(vars(owner)))
        return evaluated.type, evaluated.value

    def _call(self, cls: type, stub: StubClass | None, scope: Scope, label: str) -> dict[str, Any] | None:
        found = _first_in_mro(cls, "__call__", exclude=(object, type))
        if found is None:
            return None
        target = getattr(found, "__func__", found)
        stub_def = self._stub_def(stub, "__call__", ("function",))
        return self.signatures.function(
            target, "__call__", f"{label}.__call__", stub=stub_def, scope=scope, drop_first=True
        )

    def _iterates(self, cls: type, stub: StubClass | None, scope: Scope) -> Type | None:
        found = _first_in_mro(cls, "__iter__", exclude=(object,))
        if found is None:
            return None
        stub_def = self._stub_def(stub, "__iter__", ("function",))
        returned: Type | None = None
        if stub_def is not None and stub_def[0].nodes[0].returns is not None:
            returned = self.stubtypes.convert(stub_def[0].nodes[0].returns, stub_def[1], scope.for_members())
        elif inspect.isfunction(found) and _return_annotation(found) is not None:
            returned = self._evaluated(found, _return_annotation(found), scope, f"{qualified_name(cls)}.__iter__")
        return item_type(returned)

    def _resolver(self, obj: object) -> Any:
        return self.signatures.resolver(obj)


_NO_TYPE = object()


def _bases(cls: type) -> list[str]:
    names = [qualified_name(base) for base in cls.__bases__]
    return [name for name in names if name not in NOT_BASES]


def _hidden_bases(cls: type, kind: str) -> set[type]:
    """Classes whose members a class of this kind does not list: ``object``'s, and those its kind rests on."""
    hidden: set[type] = {object}
    for klass in cls.__mro__:
        module = klass.__module__
        if (module in ("typing", "typing_extensions") and klass.__name__ in ("Generic", "Protocol")) or (
            (kind == "namedtuple" and klass is tuple)
            or (kind == "typeddict" and klass is dict)
            or (kind == "enum" and module in ("enum", "builtins"))
            or (kind == "exception" and module == "builtins")
        ):
            hidden.add(klass)
    return hidden


def _public_attributes(cls: type, hidden: set[type]) -> list[tuple[str, Any]]:
    """Public names of the class and its bases (nearest definition wins), leaving out the hidden bases'."""
    seen: set[str] = set()
    found = []
    for klass in cls.__mro__:
        for attr, value in list(vars(klass).items()):
            if attr in seen:
                continue
            seen.add(attr)
            if not attr.startswith("_") and klass not in hidden:
                found.append((attr, value))
    return found


def _method_shape(cls: type, attr: str, value: Any) -> tuple[str, Any, bool] | None:
    """(binding, the callable to read, whether its first parameter is self/cls) for a method; None otherwise."""
    if isinstance(value, staticmethod):
        return "static", value.__func__, False
    if isinstance(value, classmethod):
        return "class", value.__func__, True
    if inspect.isfunction(value):
        return "instance", value, True
    if type(value).__name__ == "classmethod_descriptor":
        return "class", getattr(cls, attr), False
    if isinstance(value, (types.MethodDescriptorType, types.WrapperDescriptorType)):
        return "instance", value, True
    if isinstance(value, types.BuiltinFunctionType):
        return "static", value, False
    return None


def _property_shape(value: Any) -> tuple[bool, Any] | None:
    """(readonly, getter) for something read as an attribute of an instance; None otherwise."""
    if isinstance(value, property):
        return value.fset is None, value.fget
    if isinstance(value, functools.cached_property):
        return True, value.func
    if isinstance(value, (types.GetSetDescriptorType, types.MemberDescriptorType)):
        return False, None
    if isinstance(value, types.DynamicClassAttribute) or type(value).__name__ == "property":
        return True, getattr(value, "fget", None)
    return None


def _own_annotations(klass: type) -> dict[str, object]:
    try:
        return dict(inspect.get_annotations(klass))
    except Exception:  # a class whose __annotations__ is not a dict
        return {}


def _return_annotation(function: Any) -> object | None:
    annotations = getattr(function, "__annotations__", None)
    return annotations.get("return") if isinstance(annotations, dict) else None


def _module_dict(obj: object) -> dict[str, Any]:
    return getattr(sys.modules.get(getattr(obj, "__module__", "") or ""), "__dict__", {})


def _document(properties: dict[str, dict[str, Any]], attributes: dict[str, DocItem], resolve: Any) -> None:
    """Completes the properties from a docstring's Attributes section, adding those it alone describes."""
    for attr, item in attributes.items():
        type_ = parse_phrase(item.type, resolve).type if item.type else None
        existing = properties.get(attr)
        if existing is None:
            properties[attr] = model.prop(attr, type_, False, item.doc)
            continue
        existing["type"] = existing["type"] or type_
        existing["doc"] = existing["doc"] or item.doc


def _constructor_of(cls: type) -> tuple[str, Any] | None:
    """``__init__`` or ``__new__``, whichever the nearest class (short of ``object``) defines."""
    for klass in cls.__mro__:
        if klass is object:
            return None
        if "__init__" in vars(klass):
            return "__init__", vars(klass)["__init__"]
        if "__new__" in vars(klass):
            return "__new__", vars(klass)["__new__"]
    return None


def _first_in_mro(cls: type, name: str, exclude: tuple[type, ...]) -> Any:
    for klass in cls.__mro__:
        if klass in exclude:
            continue
        if name in vars(klass):
            return vars(klass)[name]
    return None


def _enum_members(cls: type[enum.Enum]) -> list[dict[str, Any]]:
    return [
        {"name": name, "value": model.json_scalar(member.value), "repr": model.repr_text(member)}
        for name, member in cls.__members__.items()
    ]


def _dataclass_required(field: dataclasses.Field) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def _typeddict_required(cls: type, name: str, value: object) -> bool:
    """``Required``/``NotRequired`` around the annotation decide; otherwise the class's ``total`` does."""
    for _ in range(5):
        origin = typing.get_origin(value)
        form = getattr(origin, "_name", None) or getattr(value, "_name", None)
        if form in REQUIRED and origin is not None:
            return REQUIRED[form]
        if origin is typing.Annotated:
            value = typing.get_args(value)[0]
            continue
        break
    return name in getattr(cls, "__required_keys__", frozenset())
