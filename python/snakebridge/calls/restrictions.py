"""Restricted mode (``security.allowedModules``): the rules that decide what a
caller may name, read, call and hold. The Resolver and the Dispatcher apply
them; without an allowlist none of this runs.

Each rule is one method of ``Restrictions``, and each refusal a
``ForbiddenError`` (code ``FORBIDDEN``) whose message names the rule:

- *unsafe modules*: an allowlist entry within ``UNSAFE_MODULES`` fails the
  start unless ``allow_unsafe`` (``check_entries``); a name or a callable
  within one is refused too, even under an allowed parent package
  (``unsafe_refusal``);
- *private names*: no part of a dotted name past its entry, and no part of an
  attribute path on a handle, may start with ``_`` (``check_name``);
- *modules*: a walk may not reach a module off the list (``check_module``),
  and no module, even an allowed one, is handed out (``check_not_module``);
- *interpreter internals*: no attribute of a frame, code object, traceback,
  generator or coroutine is read (``check_walkable``), and no frame, code
  object or traceback is handed out (``check_not_internal``);
- *callables*: only a callable defined in an allowed module can be called or
  held (``check_callable``, ``defining_module``), which refuses re-exports
  (``from os import system``). A method counts as defined where the class
  of its object is, so that the methods of objects of allowed classes,
  inherited ones included, work. A module's C twin counts as the module
  (``_heapq`` for ``heapq``), and an entry's module under its real name
  (``posixpath`` for ``os.path``);
- *formatting*: ``str.format``/``format_map`` and ``string.Formatter``'s
  ``format``/``vformat``/``get_field`` are never called (``check_format``):
  a template's fields read attributes (``'{0.__class__}'``) past every other
  rule, and the method of a ``str`` or ``Formatter`` subclass of an allowed
  module would pass the callable rule. Refusing the methods, rather than
  parsing templates for ``.`` and ``[``, keeps the rule independent of how
  each formatter parses (a Formatter subclass may parse its own way);
- *setattr*: refused (``check_setattr``), since it changes what every later
  caller gets.

``check_object`` groups the rules on objects: what a call, read or stream
names, and every object about to become a handle, must pass it.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from types import (
    AsyncGeneratorType,
    BuiltinFunctionType,
    ClassMethodDescriptorType,
    CodeType,
    CoroutineType,
    FrameType,
    FunctionType,
    GeneratorType,
    MethodDescriptorType,
    MethodType,
    MethodWrapperType,
    ModuleType,
    TracebackType,
    WrapperDescriptorType,
)
from typing import Any

from ..errors import ForbiddenError
from .unsafe_modules import UNSAFE_MODULES, module_of_twin, unsafe_entry

#: Objects whose attributes are the interpreter's own state (f_globals, f_back, gi_frame, cr_frame, tb_frame, co_*):
#: from any of them every global of every module on the stack is two reads away.
INTERNAL_TYPES = (FrameType, CodeType, TracebackType, GeneratorType, CoroutineType, AsyncGeneratorType)
#: Of those, the ones never handed out. Generators and coroutines are (a generator's handle is how a host
#: iterates it); their attributes are still unreadable.
NEVER_HANDED_OUT = (FrameType, CodeType, TracebackType)
_INTERNAL_NAMES = {FrameType: "frame", CodeType: "code object", TracebackType: "traceback"}
#: Unbound methods of C classes: ``str.format``, ``dict.get``. Their class is ``__objclass__``.
_DESCRIPTOR_TYPES = (MethodDescriptorType, ClassMethodDescriptorType, WrapperDescriptorType)
#: Wrappers the callable rule looks through: what they call is what decides.
_LRU_WRAPPER = type(functools.lru_cache(maxsize=None)(len))
#: Cython compiles functions to objects of its own class, whose module is Cython's: their __module__ says where they
#: were defined, as a Python function's does.
_CYTHON_FUNCTIONS = frozenset({"cython_function_or_method", "fused_cython_function"})
#: Verdicts remembered at most; past it they start over (there are as many as modules that define callables).
_MAX_REMEMBERED = 4096
_UNDECIDED = object()
#: How many wrappers deep the rule looks (a partial of a cached function of ...) before refusing.
_MAX_WRAPPERS = 8
#: Methods that read the attributes a template's fields name.
_STR_FORMATTERS = frozenset({"format", "format_map"})
_FORMATTER_WALKERS = frozenset({"format", "vformat", "get_field"})

#: What an object is, for a refusal's message: the text, or a function making it (a repr costs a call).
What = str | Callable[[], str]

SET_BY_FLAG = "security.allowUnsafeModules (--allow-unsafe-modules)"
#: The list, by its config name (the same as in the refusals before restricted mode had more rules).
LISTED_BY = "security.allowedModules"


class Restrictions:
    """The rules of restricted mode for one allowlist.

    ``allowed`` are the allowlist's entries (modules and everything below
    them); ``allow_unsafe`` lets entries and callables within
    ``UNSAFE_MODULES`` through. Construction fails if an entry is unsafe
    and the flag is off.
    """

    def __init__(self, allowed: tuple[str, ...], allow_unsafe: bool = False) -> None:
        #: An empty entry is what an empty list becomes on the server's command line: it allows nothing.
        self.allowed = tuple(entry for entry in allowed if entry)
        self.allow_unsafe = allow_unsafe
        #: The callable rule's verdict per defining module, where the entries alone decide it.
        self._verdicts: dict[str, str | None] = {}
        self.check_entries()

    # --- unsafe modules -------------------------------------------------------------------------------

    def check_entries(self) -> None:
        """Refuses an allowlist naming a module within ``UNSAFE_MODULES``, unless the flag is set."""
        if self.allow_unsafe:
            return
        unsafe = [(entry, covering) for entry in self.allowed if (covering := unsafe_entry(entry)) is not None]
        if unsafe:
            named = ", ".join(_unsafe_entry_text(entry, covering) for entry, covering in unsafe)
            raise ForbiddenError(
                f"restricted mode: {LISTED_BY} names unsafe modules: {named}. They let callers run code or reach "
                f"any object; they can be listed only with {SET_BY_FLAG}"
            )

    def unsafe_refusal(self, module: str) -> str | None:
        """Why ``module`` (or a name in it) may not be reached although an entry covers it, or None if it may."""
        covering = None if self.allow_unsafe else unsafe_entry(module)
        if covering is None:
            return None
        return f"{covering} is an unsafe module ({UNSAFE_MODULES[covering]}) and needs {SET_BY_FLAG}"

    # --- names and modules ------------------------------------------------------------------------------

    def listed(self, module: str) -> bool:
        """Whether an entry covers ``module``, by name, by the name an entry's module really has (``os.path``
        is ``posixpath``), or as the C twin of a covered module (``_heapq`` of ``heapq``)."""
        return _covered(module, self.allowed) or _covered(module, self._real_names())

    def check_name(self, target: str, name: str) -> None:
        """Refuses a private or dunder name: dunders lead anywhere (__globals__, __builtins__, __class__,
        __subclasses__, __reduce_ex__, __getattribute__), and private names are no module's API."""
        if name.startswith("_"):
            raise ForbiddenError(
                f"restricted mode: {target!r} reads {name!r}: private and dunder attributes cannot be reached "
                f"while {LISTED_BY} is set"
            )

    def check_module(self, target: str, obj: object) -> None:
        """Refuses reaching, by a walk, a module no entry covers, or an unsafe one."""
        if not _is(obj, ModuleType):
            return
        name = getattr(obj, "__name__", None)
        if isinstance(name, str) and self.listed(name):
            unsafe = self.unsafe_refusal(name)
            if unsafe is None:
                return
            raise ForbiddenError(f"restricted mode: {target!r} reaches module {name!r}; {unsafe}")
        raise ForbiddenError(
            f"restricted mode: {target!r} reaches module {name!r}, which is not in {LISTED_BY} ({self.listing()})"
        )

    def check_walkable(self, target: str, obj: object, name: str) -> None:
        """Refuses reading an attribute of a frame, code object, traceback, generator or coroutine."""
        if _is(obj, INTERNAL_TYPES):
            raise ForbiddenError(
                f"restricted mode: {target!r} reads {name!r} of a {type(obj).__name__}: the attributes of frames, "
                "code objects, tracebacks, generators and coroutines lead to every global, and cannot be read"
            )

    # --- objects: what can be called, returned and held ------------------------------------------------------

    def check_object(self, what: What, obj: object) -> None:
        """Refuses handing ``obj`` out (as a handle, or as what a call names): modules, interpreter internals,
        and callables that could not be called. ``what`` says what ``obj`` is, for the message (a function
        making the text, when only a refusal needs it)."""
        self.check_not_module(what, obj)
        self.check_not_internal(what, obj)
        if callable(obj):
            self.check_callable(what, obj)
            self.check_format(what, obj)

    def check_not_module(self, what: What, obj: object) -> None:
        """Refuses a module, even an allowed one: its handle would be a way around the names' rules."""
        if _is(obj, ModuleType):
            raise ForbiddenError(
                f"restricted mode: {_text(what)} is module {getattr(obj, '__name__', '?')!r}; no handle is made "
                "for a module: call its functions by name"
            )

    def check_not_internal(self, what: What, obj: object) -> None:
        if _is(obj, NEVER_HANDED_OUT):
            raise ForbiddenError(
                f"restricted mode: {_text(what)} is a {_INTERNAL_NAMES[type(obj)]}; frames, code objects and "
                "tracebacks are interpreter internals and are never handed out"
            )

    def check_callable(self, what: What, obj: object) -> None:
        """Refuses a callable not defined in an allowed module (see ``defining_module``)."""
        module = defining_module(obj)
        if module is None:
            raise ForbiddenError(
                f"restricted mode: {_text(what)} is a {type(obj).__qualname__} whose module cannot be told; "
                "only callables defined in an allowed module can be called or handed out"
            )
        refusal = self._module_refusal(module)
        if refusal is not None:
            raise ForbiddenError(f"restricted mode: {_text(what)} is defined in {module}{refusal}")

    def _module_refusal(self, module: str) -> str | None:
        """Why a callable defined in ``module`` is refused (the end of the message), or None if it is not.

        Remembered per module when the entries alone decide, since they and the flag never change; not when
        it takes an entry's real name, which a later import can add.
        """
        known = self._verdicts.get(module, _UNDECIDED)
        if known is not _UNDECIDED:
            return known
        by_entry = _covered(module, self.allowed)
        if by_entry or _covered(module, self._real_names()):
            unsafe = self.unsafe_refusal(module)
            verdict = None if unsafe is None else f"; {unsafe}"
        else:
            verdict = (
                f", which is not an allowed module ({LISTED_BY}: {self.listing()}); it can be neither called "
                "nor handed out"
            )
        if by_entry:
            if len(self._verdicts) >= _MAX_REMEMBERED:
                self._verdicts.clear()
            self._verdicts[module] = verdict
        return verdict

    def check_format(self, what: What, obj: object) -> None:
        """Refuses the methods that format a template: its fields read attributes ({0.__class__.__mro__})."""
        unwrapped = _unwrapped(obj)
        if formats_fields(obj if unwrapped is None else unwrapped):
            raise ForbiddenError(
                f"restricted mode: {_text(what)} formats a template, whose fields can read any attribute "
                "('{0.__class__}'); str.format, str.format_map and string.Formatter cannot be called"
            )

    # --- writes ---------------------------------------------------------------------------------------------

    def check_setattr(self, target: str) -> None:
        raise ForbiddenError(
            f"restricted mode: cannot set {target!r}: setattr is refused while {LISTED_BY} is set, since it "
            "would change what every later caller gets"
        )

    # --- helpers ----------------------------------------------------------------------------------------------

    def listing(self) -> str:
        return ", ".join(self.allowed) or "empty"

    def _real_names(self) -> list[str]:
        """The names the modules of imported entries really have, where they differ (``os.path`` →
        ``posixpath``): what their functions' ``__module__`` says."""
        names = []
        for entry in self.allowed:
            name = getattr(sys.modules.get(entry), "__name__", None)
            if isinstance(name, str) and name != entry:
                names.append(name)
        return names


def _covered(module: str, entries: tuple[str, ...] | list[str]) -> bool:
    """Whether one of ``entries`` covers ``module``, or covers the module whose C twin it is (``_heapq``)."""
    twin_of = module_of_twin(module)
    return any(within(module, entry) or within(twin_of, entry) for entry in entries)


def _unsafe_entry_text(entry: str, covering: str) -> str:
    where = "" if entry == covering else f"within {covering}: "
    return f"{entry!r} ({where}{UNSAFE_MODULES[covering]})"


def defining_module(obj: object) -> str | None:
    """The module a call of ``obj`` runs the code of, for the callable rule; None if it cannot be told.

    - a class: its ``__module__`` (as ``type`` reads it, past any metaclass);
    - a Python function or a module's C function: its ``__module__`` (``os.system``: posix);
    - a method, bound or not, of Python or C: the module of its object's class (or of the class itself,
      for a classmethod), so that an object's methods, inherited ones included, belong to its class;
    - ``functools.partial``, ``functools.lru_cache`` wrappers and numpy's dispatchers: what they wrap;
    - any other callable object (``operator.attrgetter(...)``, an instance with ``__call__``): its class's.
    """
    target: Any = _unwrapped(obj)
    if target is None:
        return None
    kind = type(target)  # not isinstance, which also believes a __class__ property (a Mock's)
    if issubclass(kind, type):
        return _class_module(target)
    if kind is FunctionType:
        return _name(target.__module__)
    if kind is BuiltinFunctionType:
        owner = target.__self__
        if owner is None or _is(owner, ModuleType):
            return _name(target.__module__) or _name(getattr(owner, "__name__", None))
        return _owner_module(owner)
    if kind is MethodType or kind is MethodWrapperType:
        return _owner_module(target.__self__)
    if issubclass(kind, _DESCRIPTOR_TYPES):
        return _class_module(target.__objclass__)
    if kind.__name__ in _CYTHON_FUNCTIONS:
        return _name(getattr(target, "__module__", None))
    return _class_module(kind)


def formats_fields(obj: Any) -> bool:
    """Whether calling ``obj`` formats a template whose fields name attributes: ``str.format`` and
    ``format_map`` (bound, unbound, on subclasses), ``string.Formatter``'s ``format``, ``vformat`` and
    ``get_field`` (bound, unbound, on subclasses)."""
    name = getattr(obj, "__name__", None)
    if name not in _STR_FORMATTERS and name not in _FORMATTER_WALKERS:
        return False  # the common case, decided by the name alone
    if _is(obj, (BuiltinFunctionType, MethodType, MethodWrapperType)):
        owner = obj.__self__
    elif _is(obj, _DESCRIPTOR_TYPES):
        owner = obj.__objclass__
    elif _is(obj, FunctionType):
        return any(obj is function for function in _formatter_functions())
    else:
        return False
    cls = owner if _is(owner, type) else type(owner)
    if issubclass(cls, str) and name in _STR_FORMATTERS:
        return True
    formatter = _string_formatter()
    return formatter is not None and issubclass(cls, formatter) and name in _FORMATTER_WALKERS


def _unwrapped(obj: Any) -> object | None:
    """What a wrapper the callable rule looks through calls, or ``obj`` itself; None past ``_MAX_WRAPPERS``."""
    for _ in range(_MAX_WRAPPERS):
        kind = type(obj)
        if issubclass(kind, functools.partial):
            obj = obj.func  # set once, by C code: update_wrapper cannot disguise it
        elif kind is _LRU_WRAPPER or _is_numpy_dispatcher(kind):
            obj = getattr(obj, "__wrapped__", None)
            if obj is None:
                return None
        else:
            return obj
    return None


def _is_numpy_dispatcher(cls: type) -> bool:
    return cls.__qualname__ == "_ArrayFunctionDispatcher" and _class_module(cls) == "numpy"


def _owner_module(owner: Any) -> str | None:
    """The module of the class a method is bound to (a module, for a module's C functions)."""
    if _is(owner, ModuleType):
        return _name(getattr(owner, "__name__", None))
    return _class_module(owner if _is(owner, type) else type(owner))


def _class_module(cls: type) -> str | None:
    # type's own descriptor: a metaclass cannot answer for the class.
    return _name(type.__dict__["__module__"].__get__(cls, type))


def _is(obj: object, kinds: type | tuple[type, ...]) -> bool:
    """isinstance by the object's real type: isinstance also believes a ``__class__`` property (a Mock's)."""
    return issubclass(type(obj), kinds)


def _name(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _text(what: What) -> str:
    return what if isinstance(what, str) else what()


def _string_formatter() -> type | None:
    """string.Formatter, if anything imported string (otherwise no object can be one)."""
    module = sys.modules.get("string")
    formatter = getattr(module, "Formatter", None)
    return formatter if isinstance(formatter, type) else None


def _formatter_functions() -> tuple[object, ...]:
    formatter = _string_formatter()
    if formatter is None:
        return ()
    return tuple(vars(formatter).get(name) for name in _FORMATTER_WALKERS)


def within(name: str, module: str) -> bool:
    """Whether ``name`` is ``module`` or lies under it, on a dotted boundary (``os.pathconf`` is not under
    ``os.path``)."""
    return name == module or name.startswith(f"{module}.")
