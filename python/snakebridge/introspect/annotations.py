"""Runtime typing objects (what ``typing.get_type_hints`` returns) turned into the format's Type JSON, and
annotations evaluated one at a time, so one that fails leaves the others typed."""

from __future__ import annotations

import collections.abc
import enum
import re
import sys
import types
import typing
from typing import Any

from . import model
from .context import ClassRef, ModuleContext, Scope
from .kinds import SHAPE_KINDS, class_kind, is_class
from .model import Type

try:  # only to recognise its forms when a module uses them; never required
    import typing_extensions as _te
except ImportError:  # pragma: no cover - depends on the environment
    _te = None

_MAX_DEPTH = 40
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _forms(*names: str) -> tuple[object, ...]:
    found = []
    for module in (typing, _te):
        for name in names:
            form = getattr(module, name, None) if module is not None else None
            if form is not None and not any(form is seen for seen in found):
                found.append(form)
    return tuple(found)


def _is(obj: object, forms: tuple[object, ...]) -> bool:
    # Identity, not ==: an annotation can be any object, and some (arrays) compare element-wise.
    return any(obj is form for form in forms)


_ANY = _forms("Any")
_NEVER = _forms("NoReturn", "Never")
_SELF = _forms("Self")
_STRING = _forms("LiteralString", "Text")
_LITERAL = _forms("Literal")
_UNION = (typing.Union, types.UnionType)
_TRANSPARENT = _forms("Annotated", "Required", "NotRequired", "ReadOnly", "Final", "ClassVar")
_BARE_ANY = _forms("Final", "ClassVar", "TypeAlias")
_BOOLEAN = _forms("TypeGuard", "TypeIs")
_UNPACK = _forms("Unpack")
_CONCATENATE = _forms("Concatenate")
_PARAMSPEC_PARTS = (typing.ParamSpecArgs, typing.ParamSpecKwargs)
_VARIADIC = tuple(
    cls for cls in (getattr(typing, "TypeVarTuple", None), getattr(_te, "TypeVarTuple", None)) if isinstance(cls, type)
)


def qualified_name(cls: type) -> str:
    """Where a class lives at run time: ``module.qualname``."""
    module = getattr(cls, "__module__", None) or "builtins"
    return f"{module}.{getattr(cls, '__qualname__', cls.__name__)}"


def describe(obj: object) -> str:
    """Stable text for something that could not be turned into a Type (no addresses, no reprs of typing internals)."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, typing.ForwardRef):
        return obj.__forward_arg__
    if is_class(obj):
        return qualified_name(obj)
    try:
        text = repr(obj)
    except Exception:
        text = type(obj).__name__
    return _ADDRESS.sub("", text)


def is_newtype(obj: object) -> bool:
    return callable(obj) and hasattr(obj, "__supertype__") and not is_class(obj)


def is_type_alias_type(obj: object) -> bool:
    """A PEP 695 ``type X = ...`` alias (or typing_extensions' backport of it)."""
    return type(obj).__name__ == "TypeAliasType" and hasattr(obj, "__value__")


def is_typing_construct(obj: object) -> bool:
    """Something a public module-level name can be bound to that makes the name a type alias."""
    if is_class(obj) or isinstance(obj, typing.TypeVar):
        return False
    if is_type_alias_type(obj) or is_newtype(obj) or isinstance(obj, types.UnionType):
        return True
    return isinstance(obj, types.GenericAlias) or (
        typing.get_origin(obj) is not None and type(obj).__module__ in ("typing", "typing_extensions")
    )


class _Holder:
    """Carries one annotation at a time through ``typing.get_type_hints``, which does the hard part of evaluating."""


class Evaluator:
    """Evaluates annotations (strings or objects) in a namespace, one at a time, remembering strings it has seen."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int], object] = {}

    def evaluate(self, annotation: object, globalns: dict[str, Any], localns: dict[str, Any] | None = None) -> object:
        """The annotation's value; raises what evaluating it raised."""
        key = (annotation, id(globalns)) if isinstance(annotation, str) and localns is None else None
        if key is not None and key in self._cache:
            value = self._cache[key]
        else:
            try:
                value = self._evaluate(annotation, globalns, localns)
            except Exception as error:
                value = error
            if key is not None:
                self._cache[key] = value
        if isinstance(value, Exception):
            raise value
        return value

    @staticmethod
    def _evaluate(annotation: object, globalns: dict[str, Any], localns: dict[str, Any] | None) -> object:
        # A class holder: get_type_hints then allows ClassVar/Final (class-level rules), and it never adds
        # the implicit Optional that Python 3.10 gives a function parameter whose default is None.
        _Holder.__annotations__ = {"value": annotation}
        try:
            hints = typing.get_type_hints(
                _Holder, globalns=globalns, localns=globalns if localns is None else localns, include_extras=True
            )
        finally:
            _Holder.__annotations__ = {}
        return hints["value"]


class RuntimeTypes:
    """Converts runtime typing objects to Type JSON for one module's context."""

    def __init__(self, ctx: ModuleContext, evaluator: Evaluator) -> None:
        self.ctx = ctx
        self.evaluator = evaluator
        self._depth = 0

    def convert(self, obj: object, scope: Scope, *, param: bool = False, alias_top: bool = False) -> Type:
        """The Type of ``obj``; ``param`` when it is a parameter's own type (``object`` then means any)."""
        if self._depth > _MAX_DEPTH:
            return model.unknown_type(describe(obj))
        self._depth += 1
        try:
            return self._convert(obj, scope, param, alias_top)
        except Exception:  # a typing object from some library that does not behave like the others
            return model.unknown_type(describe(obj))
        finally:
            self._depth -= 1

    def _convert(self, obj: object, scope: Scope, param: bool, alias_top: bool) -> Type:
        if not alias_top and id(obj) in self.ctx.alias_ids:
            return model.alias_type(self.ctx.alias_ids[id(obj)])
        if obj is None or obj is type(None):
            return model.none_type()
        if isinstance(obj, (str, typing.ForwardRef)):
            return model.unknown_type(describe(obj))
        simple = self._simple(obj, scope, param)
        if simple is not None:
            return simple
        if isinstance(obj, typing.TypeVar):
            return self._typevar(obj, scope)
        if is_newtype(obj):
            return self.convert(obj.__supertype__, scope, param=param)
        if is_type_alias_type(obj):
            return self._alias_reference(obj, (), scope)
        origin = typing.get_origin(obj)
        if origin is not None:
            return self._generic(obj, origin, scope, param)
        if is_class(obj):
            return self.class_reference(obj, [])
        return model.unknown_type(describe(obj))

    def _simple(self, obj: object, scope: Scope, param: bool) -> Type | None:
        """The Type of a form that takes no arguments, or None when ``obj`` is not one."""
        if _is(obj, _ANY) or obj is Ellipsis or _is(obj, _BARE_ANY):
            return model.any_type()
        if obj is object:
            return model.any_type() if param else model.class_type("builtins.object")
        if _is(obj, _NEVER):
            return {"kind": "never"}
        if _is(obj, _SELF):
            return scope.self_type or model.any_type()
        if _is(obj, _STRING):
            return model.class_type("builtins.str")
        if isinstance(obj, typing.ParamSpec):
            return model.callable_type(None, model.any_type())
        if isinstance(obj, _PARAMSPEC_PARTS) or (_VARIADIC and isinstance(obj, _VARIADIC)):
            return model.any_type()
        return None

    def _generic(self, obj: object, origin: object, scope: Scope, param: bool) -> Type:
        args = _args(obj)
        if _is(origin, _TRANSPARENT):
            return self.convert(args[0], scope, param=param) if args else model.any_type()
        if _is(origin, _UNION):
            return model.union_type([self.convert(arg, scope) for arg in args])
        if _is(origin, _LITERAL):
            return _literal(obj, args)
        if origin is collections.abc.Callable:
            return self._callable(args, scope)
        if _is(origin, _BOOLEAN):
            return model.class_type("builtins.bool")
        if _is(origin, _UNPACK):
            return model.any_type()
        if origin is type:
            return model.type_of(self.convert(args[0], scope)) if args else model.class_type("builtins.type")
        if origin is tuple and hasattr(obj, "__args__"):
            return self._tuple(args, scope)
        if is_type_alias_type(origin):
            return self._alias_reference(origin, args, scope)
        if is_class(origin):
            return self.class_reference(origin, [self.convert(arg, scope) for arg in args])
        return model.unknown_type(describe(obj))

    def _callable(self, args: tuple[object, ...], scope: Scope) -> Type:
        if not args:
            return model.callable_type(None, model.any_type())
        params, returns = args[0], args[-1]
        converted = None
        if isinstance(params, (list, tuple)):
            converted = [self.convert(param, scope) for param in params]
        return model.callable_type(converted, self.convert(returns, scope))

    def _tuple(self, args: tuple[object, ...], scope: Scope) -> Type:
        if len(args) == 2 and args[1] is Ellipsis:
            return model.class_type("builtins.tuple", [self.convert(args[0], scope)])
        return model.tuple_type([self.convert(arg, scope) for arg in args])

    def class_reference(self, cls: type, args: list[Type]) -> Type:
        """A reference to a class; a class whose shape travels is noted for the module's ``types``."""
        if cls is type(None):
            return model.none_type()
        name = qualified_name(cls)
        try:
            kind = class_kind(cls)
        except Exception:
            kind = "class"
        if kind in SHAPE_KINDS:
            self.ctx.reference_class(ClassRef(name, cls.__name__, runtime=cls))
        return model.class_type(name, args)

    def _typevar(self, var: typing.TypeVar, scope: Scope) -> Type:
        scope.use_typevar(var.__name__, lambda: self.typevar_def(var))
        return model.typevar_type(var.__name__)

    def typevar_def(self, var: typing.TypeVar) -> dict[str, Any]:
        """The TypeVarDef of a runtime type variable (its bound may be a string: evaluated where it was made)."""
        bound = var.__bound__
        if isinstance(bound, (str, typing.ForwardRef)):
            text = bound if isinstance(bound, str) else bound.__forward_arg__
            namespace = getattr(sys.modules.get(getattr(var, "__module__", "") or ""), "__dict__", {})
            try:
                bound = self.evaluator.evaluate(text, namespace)
            except Exception:
                bound = text
        scope = Scope()
        converted_bound = None if bound is None else self.convert(bound, scope)
        constraints = [self.convert(constraint, scope) for constraint in var.__constraints__]
        return model.typevar_def(var.__name__, converted_bound, constraints)

    def _alias_reference(self, alias: Any, args: tuple[object, ...], scope: Scope) -> Type:
        name = f"{alias.__module__}.{alias.__name__}"
        self.ctx.define_alias(name, lambda: self._type_alias_entry(alias, name))
        return model.alias_type(name, [self.convert(arg, scope) for arg in args])

    def _type_alias_entry(self, alias: Any, name: str) -> dict[str, Any]:
        params = [param for param in getattr(alias, "__type_params__", ()) if isinstance(param, typing.TypeVar)]
        scope = Scope(class_vars=frozenset(param.__name__ for param in params))
        try:
            value = alias.__value__
        except Exception as error:  # its value is evaluated lazily, and may name something undefined
            self.ctx.warn(f"{name}: the value of this type alias could not be evaluated ({error_text(error)})")
            return {"name": name, "type_params": [], "type": model.unknown_type(alias.__name__)}
        converted = self.convert(value, scope)
        return {"name": name, "type_params": [self.typevar_def(param) for param in params], "type": converted}

    def alias_entry(self, obj: object, name: str) -> dict[str, Any]:
        """The definition of a module's own alias ``name`` bound to ``obj``; its type variables are its parameters."""
        if is_type_alias_type(obj):
            return self._type_alias_entry(obj, name)
        scope = Scope()
        converted = self.convert(obj, scope, alias_top=True)
        return {"name": name, "type_params": scope.type_params(), "type": converted}


def _args(obj: object) -> tuple[object, ...]:
    args = getattr(obj, "__args__", None)
    if args is None:
        return typing.get_args(obj)
    if args == ((),):  # tuple[()] on Python 3.10
        return ()
    if typing.get_origin(obj) is collections.abc.Callable:
        return typing.get_args(obj)  # regroups the flattened parameters into a list
    return tuple(args)


def _literal(obj: object, args: tuple[object, ...]) -> Type:
    values = []
    for value in args:
        if isinstance(value, enum.Enum):
            value = value.value  # an enum member travels as its value
        if type(value) not in (str, int, bool, type(None)):
            return model.unknown_type(describe(obj))
        values.append(value)
    return model.literal_type(values)


def error_text(error: BaseException) -> str:
    """An exception as ``Type: message``, without memory addresses."""
    return _ADDRESS.sub("", f"{type(error).__name__}: {error}")
