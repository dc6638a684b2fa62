"""Functions (and methods) at run time turned into the format's Function: from a stub when there is one,
else from ``inspect.signature``, its annotations and its docstring, whichever say something.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import sys
import typing
from typing import Any

from . import model
from .annotations import Evaluator, RuntimeTypes
from .context import ModuleContext, Scope
from .docnames import DocNames
from .docstrings import DocItem, ParsedDoc, clean, parse_docstring
from .doctypes import parse_phrase, says_self
from .kinds import is_class
from .model import Type
from .sourcetypes import AnnotationReader, warning_text
from .stubfunctions import StubFunctions, returns_doc
from .stubs import Def, Found, StubIndex, StubModule
from .stubtypes import StubTypes

_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}
_VARIADIC = ("var_positional", "var_keyword")
#: Docstrings that C slots inherit from ``object``: they describe nothing about this callable.
_BOILERPLATE = ("Initialize self.", "Create and return a new object.", "Call self as a function.")


class Signatures:
    """Builds Functions for one module's context."""

    def __init__(
        self, ctx: ModuleContext, runtime: RuntimeTypes, stubtypes: StubTypes, stubs: StubIndex, evaluator: Evaluator
    ) -> None:
        self.ctx = ctx
        self.runtime = runtime
        self.stubtypes = stubtypes
        self.stubfunctions = StubFunctions(stubs, stubtypes)
        self.stubs = stubs
        self.annotations = AnnotationReader(evaluator, runtime, stubtypes, stubs)
        self.docnames = DocNames(ctx, runtime)

    def function(
        self,
        obj: object,
        name: str,
        label: str,
        *,
        stub: tuple[Def, StubModule] | None = None,
        scope: Scope | None = None,
        drop_first: bool = False,
        extra_docs: ParsedDoc | None = None,
        field_types: dict[str, Type] | None = None,
    ) -> dict[str, Any]:
        """The Function for ``obj``; ``drop_first`` leaves out ``self``/``cls`` of a runtime method."""
        scope = scope or Scope()
        docs = parse_docstring(own_doc(obj))
        if extra_docs is not None:  # a constructor documented in its class's docstring
            for param_name, item in extra_docs.params.items():
                docs.params.setdefault(param_name, item)
        kind = runtime_kind(obj)
        if stub is not None:
            definition, module = stub
            signatures = self.stubfunctions.signatures(
                definition,
                module,
                scope,
                docs,
                drop_first=scope.self_type is not None and definition.binding != "static",
            )
            if kind == "function":
                kind = self.stubfunctions.function_kind(definition, module)
            return model.function(name, kind, docs.text, "stub", signatures)
        signatures, source = self._runtime(obj, label, scope, docs, drop_first, field_types or {})
        return model.function(name, kind, docs.text, source, signatures)

    def stub_function(self, name: str, definition: Def, module: StubModule, scope: Scope) -> dict[str, Any]:
        """A Function known only from a stub (a member of a class that exists only in stubs)."""
        node = definition.nodes[0]
        docs = parse_docstring(_node_doc(node))
        signatures = self.stubfunctions.signatures(
            definition, module, scope, docs, drop_first=scope.self_type is not None and definition.binding != "static"
        )
        return model.function(name, self.stubfunctions.function_kind(definition, module), docs.text, "stub", signatures)

    def _runtime(
        self, obj: object, label: str, scope: Scope, docs: ParsedDoc, drop_first: bool, field_types: dict[str, Type]
    ) -> tuple[list[dict[str, Any]], str]:
        target = getattr(obj, "__func__", obj)
        overloads = _overloads(target)
        if overloads is None:  # Python 3.10: typing cannot list them, the source can
            from_source = self._source_overloads(target, scope, docs)
            if from_source:
                return from_source, "annotations"
        elif overloads:
            return [
                self._from_signature(o, label, scope, docs, drop_first, field_types)[0] for o in overloads
            ], "annotations"
        try:
            inspect.signature(target)
        except (ValueError, TypeError, RecursionError):
            return self._docstring_only(target, scope, docs)
        signature, source = self._from_signature(target, label, scope, docs, drop_first, field_types)
        return [signature], source

    def _from_signature(
        self, target: object, label: str, scope: Scope, docs: ParsedDoc, drop_first: bool, field_types: dict[str, Type]
    ) -> tuple[dict[str, Any], str]:
        signature = inspect.signature(target)
        scope = scope.for_members()
        params = list(signature.parameters.values())
        if drop_first and params and params[0].kind in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
            params = params[1:]
        annotations = {p.name: p.annotation for p in params if p.annotation is not p.empty}
        if signature.return_annotation is not signature.empty:
            annotations["return"] = signature.return_annotation
        hints = self._hints(target, annotations, label, scope)
        hints.update({name: type_ for name, type_ in field_types.items() if any(p.name == name for p in params)})
        resolve = self.resolver(target)
        typed_by_doc = False
        out = []
        for parameter in params:
            kind = _KINDS[parameter.kind]
            type_ = hints.get(parameter.name)
            item = docs.params.get(parameter.name)
            if type_ is None and item is not None and item.type:
                type_ = _doc_param_type(parse_phrase(item.type, resolve).type, kind)
                typed_by_doc = typed_by_doc or type_ is not None
            if type_ is None and kind in _VARIADIC:
                type_ = model.any_type()
            default = (
                None
                if parameter.default is parameter.empty or kind in _VARIADIC
                else model.default_text(parameter.default)
            )
            out.append(model.param(parameter.name, kind, type_, default, item.doc if item else None))
        returns = hints.get("return")
        if returns is None:
            returns = self._doc_returns(docs, scope, resolve)
            typed_by_doc = typed_by_doc or returns is not None
        source = "annotations" if hints else "docstring" if typed_by_doc else "signature"
        return model.signature(out, returns, returns_doc(docs), scope.type_params()), source

    def _hints(self, target: object, annotations: dict[str, object], label: str, scope: Scope) -> dict[str, Type]:
        """Each annotation evaluated (or read from the source) and converted; what neither resolves is ``unknown``
        with its text, and one warning names the annotations it is in."""
        if not annotations:
            return {}
        globalns = _globals(target)
        hints: dict[str, Type] = {}
        failed: list[str] = []
        first_error = ""
        unresolved: list[str] = []
        for name, annotation in annotations.items():
            evaluated = self.annotations.read(annotation, globalns, scope, param=name != "return")
            hints[name] = evaluated.type
            if evaluated.error is not None:
                failed.append(name)
                first_error = first_error or evaluated.error
                unresolved += [text for text in evaluated.unresolved if text not in unresolved]
        if failed:
            reason = warning_text(first_error, unresolved)
            self.ctx.warn(f"{label}: could not evaluate the annotations of {', '.join(failed)} ({reason})")
        return hints

    def _doc_returns(self, docs: ParsedDoc, scope: Scope, resolve: Any) -> Type | None:
        generator = bool(docs.yields) and not docs.returns
        items = [item for item in (docs.yields if generator else docs.returns) if item.type]
        if not items:
            return None
        if (
            scope.self_type is not None
            and not generator
            and len(items) == 1
            and says_self(items[0].name, items[0].type)
        ):
            return scope.self_type  # scikit-learn's ``self : object`` / ``Fitted estimator.``: the class itself
        types = [parse_phrase(item.type or "", resolve).type for item in items]
        returned = types[0] if len(types) == 1 else model.tuple_type(types)
        return model.class_type("collections.abc.Iterator", [returned]) if generator else returned

    def _docstring_only(self, target: object, scope: Scope, docs: ParsedDoc) -> tuple[list[dict[str, Any]], str]:
        """No signature to read: the docstring's parameter section, if it has one, is all there is."""
        if not docs.params:
            return [], "none"
        resolve = self.resolver(target)
        params = [self._doc_param(name, item, resolve) for name, item in docs.params.items()]
        returns = self._doc_returns(docs, scope, resolve)
        return [model.signature(params, returns, returns_doc(docs), [])], "docstring"

    def _doc_param(self, name: str, item: DocItem, resolve: Any) -> dict[str, Any]:
        kind = {1: "var_positional", 2: "var_keyword"}.get(item.stars, "positional_or_keyword")
        phrase = parse_phrase(item.type, resolve) if item.type else None
        type_ = _doc_param_type(phrase.type, kind) if phrase else None
        if type_ is None and kind in _VARIADIC:
            type_ = model.any_type()
        default = phrase.default if phrase and kind not in _VARIADIC else None
        return model.param(name, kind, type_, default, item.doc)

    def _source_overloads(self, target: object, scope: Scope, docs: ParsedDoc) -> list[dict[str, Any]]:
        """``@overload``s read from the source, where ``typing.get_overloads`` does not exist (Python 3.10)."""
        module_name = getattr(target, "__module__", None)
        qualname = getattr(target, "__qualname__", None)
        if not module_name or not qualname or "<locals>" in qualname:
            return []
        module = self.stubs.source_module(module_name)
        found = self.stubs.lookup_qualname(module, qualname) if module else None
        if found is None or found.module is None or found.definition.kind != "function":
            return []
        if not found.definition.overloaded:
            return []
        return self.stubfunctions.signatures(
            found.definition,
            found.module,
            scope,
            docs,
            drop_first=scope.self_type is not None and found.definition.binding != "static",
        )

    def resolver(self, target: object) -> Any:
        """Finds the class a docstring names, in the function's module first (``docnames.py``)."""
        return self.docnames.resolver(_globals(target))


def _doc_param_type(type_: Type, kind: str) -> Type | None:
    """A docstring's type for a parameter; for ``*args``/``**kwargs`` a tuple/dict describes them all, not each."""
    if (
        kind in _VARIADIC
        and type_["kind"] == "class"
        and type_["name"] in ("builtins.tuple", "builtins.dict", "builtins.list")
    ):
        return None
    return type_


def stub_for(found: Found | None) -> tuple[Def, StubModule] | None:
    """The stub ``def`` a lookup found, if it found a function in a stub."""
    if found is None or found.module is None or found.definition.kind != "function":
        return None
    return found.definition, found.module


def own_doc(obj: object) -> str | None:
    """The docstring of ``obj`` itself: not its class's (for a callable instance), not ``object``'s boilerplate."""
    doc = getattr(obj, "__doc__", None)
    if not isinstance(doc, str):
        return None
    if not (inspect.isroutine(obj) or is_class(obj)) and doc == getattr(type(obj), "__doc__", None):
        return None
    if doc.strip().startswith(_BOILERPLATE):
        return None
    return doc


def runtime_kind(obj: object) -> str:
    """``function``, ``generator``, ``async`` or ``async_generator``, as ``inspect`` tells it."""
    target = getattr(obj, "__func__", obj)
    with contextlib.suppress(ValueError):  # a __wrapped__ cycle
        target = inspect.unwrap(target)
    if inspect.isasyncgenfunction(target):
        return "async_generator"
    if inspect.iscoroutinefunction(target):
        return "async"
    if inspect.isgeneratorfunction(target):
        return "generator"
    return "function"


def _overloads(target: object) -> list[object] | None:
    """The ``@overload``s of a function (Python 3.11+); None where ``typing.get_overloads`` does not exist."""
    get_overloads = getattr(typing, "get_overloads", None)
    if get_overloads is None:
        return None
    try:
        return list(get_overloads(target))
    except Exception:
        return []


def _globals(target: object) -> dict[str, Any]:
    try:
        unwrapped = inspect.unwrap(target)
    except ValueError:
        unwrapped = target
    namespace = getattr(unwrapped, "__globals__", None)
    if isinstance(namespace, dict):
        return namespace
    module = sys.modules.get(getattr(unwrapped, "__module__", None) or "")
    return getattr(module, "__dict__", {})


def _node_doc(node: Any) -> str | None:
    try:
        return ast.get_docstring(node)
    except TypeError:
        return None


def doc_text(obj: object) -> str | None:
    """The cleaned docstring of ``obj`` (for members whose docstring has no sections to parse)."""
    return clean(own_doc(obj))
