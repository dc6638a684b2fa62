"""Type phrases of docstrings (``int``, ``str or None``, ``{'gini', 'entropy'}``, ``array-like of shape (n, m)``…);
what does not parse is ``unknown`` with the phrase as its text, as the format asks."""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Callable

from . import model
from .model import Type

#: Finds the class a name in a phrase means (``RandomState``, ``np.ndarray``…), as a Type; None if none.
Resolver = Callable[[str], "Type | None"]

_BUILTINS = {
    "int": "int",
    "integer": "int",
    "float": "float",
    "str": "str",
    "string": "str",
    "bool": "bool",
    "boolean": "bool",
    "bytes": "bytes",
    "bytearray": "bytearray",
    "complex": "complex",
    "dict": "dict",
    "dictionary": "dict",
    "list": "list",
    "tuple": "tuple",
    "set": "set",
    "frozenset": "frozenset",
    "slice": "slice",
    "range": "range",
    "type": "type",
}
_CONTAINERS = {
    "generator": "collections.abc.Iterator",
    "iterator": "collections.abc.Iterator",
    "list": "builtins.list",
    "tuple": "builtins.tuple",
    "set": "builtins.set",
    "frozenset": "builtins.frozenset",
    "sequence": "collections.abc.Sequence",
    "iterable": "collections.abc.Iterable",
}
_ARRAY_LIKE = {"array-like", "array_like", "arraylike", "array like"}
_NDARRAY = {"ndarray", "np.ndarray", "numpy.ndarray", "numpy array", "array"}  # NumPy-style docs: array is ndarray
_CALLABLE = {"callable", "function"}
_ANY = {
    "any",
    "object",
    "ignored",  # scikit-learn documents unused parameters as "Ignored"
    "keyword arguments",  # the type of each of ``**kwargs``
    "kwargs",
    "cross-validation generator",  # scikit-learn: any object with ``split``; the splitters share no base class
}
_ABSTRACT = {
    "iterable": "collections.abc.Iterable",
    "sequence": "collections.abc.Sequence",
    "mapping": "collections.abc.Mapping",
    "iterator": "collections.abc.Iterator",
    "generator": "collections.abc.Iterator",
}
#: Names docstrings use for well-known classes, spelled as where to find them (resolved at run time if loaded).
KNOWN_CLASSES = {
    "RandomState": "numpy.random.RandomState",
    "Generator": "numpy.random.Generator",
    "DataFrame": "pandas.DataFrame",
    "Series": "pandas.Series",
    "spmatrix": "scipy.sparse.spmatrix",
    "sparray": "scipy.sparse.sparray",
    "BaseEstimator": "sklearn.base.BaseEstimator",
}
#: Words docstrings describe a well-known class by, and the name it is found by (see KNOWN_CLASSES).
_DESCRIBED = {
    "sparse matrix": "spmatrix",
    "sparse matrices": "spmatrix",
    "sparse array": "sparray",
    "sparse arrays": "sparray",
    "estimator": "BaseEstimator",  # scikit-learn's "estimator object", "estimator instance"
    "estimators": "BaseEstimator",
    "dataframe": "DataFrame",
}
#: What the Returns section of a method returning its own instance says (scikit-learn's ``fit``).
_SELF_PHRASES = {
    "self",
    "returns self",
    "instance of self",
    "an instance of self",
    "returns an instance of self",
    "returns a fitted instance of self",
    "the instance itself",
    "returns the instance itself",
    "the estimator instance itself",
}
_ROLE = re.compile(r":[\w:]+:`~?([^`]*)`")
_SHAPE = re.compile(r"\s*,?\s+of\s+shape\s*\([^()]*\)(?:\s+or\s+(?:shape\s*)?\([^()]*\))*", re.IGNORECASE)
_DEFAULT = re.compile(r"^defaults?(?:\s+to|\s+is)?\s*[=:]?\s*(.*)$", re.IGNORECASE)
_QUALIFIER = re.compile(r"^(?:strictly\s+)?(?:non-negative|non-positive|positive|negative|non-zero)\s+", re.IGNORECASE)
_LOOSE_DEFAULT = re.compile(r"\s+(defaults?\b.*)$", re.IGNORECASE)  # "int default=None", the comma forgotten
_NAME = re.compile(r"^[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*$")
_WRAPPED_NAME = re.compile(r"^(?:an?\s+)?(.+?)(?:\s+(?:instance|object))?$")
_ARTICLE = re.compile(r"^(?:an?|the|such)\s+", re.IGNORECASE)  # "a list of such arrays"
#: A range the value lies in: ``float in range (0.0, 1.0]``, ``int in [1, inf)``.
_RANGE = re.compile(r"\s+in\s+(?:the\s+)?(?:range|interval)?\s*[\[(][^\[\]()]*[\])]$", re.IGNORECASE)
#: A parenthesised constraint after a type: ``int (>= 1)``, ``float ([0, 1])``, ``array-like (1-dimensional)``.
_CONSTRAINT = re.compile(r"^(.+?)\s*\((?:[^()]|\([^()]*\))*\)$")
_TUPLE = re.compile(r"^\((.*)\)(?:\s+tuples?)?$")  # "(str, estimator)", "(str, estimator) tuples"
_MAPPING = re.compile(r"^\s*\w+\s*:\s*\w")  # "{class_label: weight}" is a dict, not a set of choices


@dataclasses.dataclass
class Phrase:
    """What a docstring's type phrase says: the type, and the default it mentions (``optional`` → ``"..."``)."""

    type: Type
    default: str | None = None


def parse_phrase(text: str, resolve: Resolver) -> Phrase:
    """Parses a docstring type phrase; anything it cannot read whole is ``unknown`` with the phrase as text."""
    phrase = " ".join(text.split()).strip().rstrip(".").strip()
    default = None
    kept = []
    for part in _parts(phrase):
        lowered = part.lower()
        if lowered == "optional":
            default = default or "..."
        elif _DEFAULT.match(part) and lowered.startswith("default"):
            default = _default(_DEFAULT.match(part).group(1))
        elif not lowered.startswith(("shape ", "shape=", "dtype", "length ")):
            kept.append(re.sub(r"^or\s+", "", part))
    alternatives = [alternative for part in kept for alternative in _split(part, " or ")]
    types = [_alternative(alternative, resolve) for alternative in alternatives]
    if not types or any(type_ is None for type_ in types):
        return Phrase(model.unknown_type(phrase), default)
    if default == "None":  # "int, default=None": None is one of the values it takes
        types.append(model.none_type())
    return Phrase(_union(types), default)


def says_self(name: str | None, phrase: str | None) -> bool:
    """Whether a Returns item says the method returns its own instance: it is named ``self`` (NumPy's
    ``self : object``), or its type is ``self`` or a phrase such as ``returns an instance of self``."""
    if name == "self":
        return True
    text = " ".join((phrase or "").split()).strip().rstrip(".").strip("`").lower()
    return text in _SELF_PHRASES


def _union(types: list[Type]) -> Type:
    """The union of the types, its literal options gathered into one literal where the first stood
    (``"auto", "sqrt", int`` is ``Literal["auto", "sqrt"] | int``)."""
    merged: list[Type] = []
    literal: Type | None = None
    for type_ in types:
        if type_["kind"] != "literal":
            merged.append(type_)
        elif literal is None:
            literal = model.literal_type(list(type_["values"]))
            merged.append(literal)
        else:
            # By type as well as value: 1 and True are equal, and both may be choices.
            seen = [(type(value), value) for value in literal["values"]]
            literal["values"] += [value for value in type_["values"] if (type(value), value) not in seen]
    return model.union_type(merged)


def _parts(phrase: str) -> list[str]:
    """The comma-separated parts of a phrase, its roles and shapes dropped, a loose ``default=`` split off."""
    parts = []
    for part in _split(_SHAPE.sub("", _ROLE.sub(r"\1", phrase)), ","):
        loose = _LOOSE_DEFAULT.search(part) if not part.lower().startswith("default") else None
        parts += [part[: loose.start()], loose.group(1)] if loose else [part]
    return parts


def _split(text: str, separator: str) -> list[str]:
    """Splits at ``separator`` (``","``, ``" or "``) outside brackets and quotes, dropping empty parts."""
    parts, depth, quote, start, index = [], 0, None, 0, 0
    while index < len(text):
        char = text[index]
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith(separator, index):
            parts.append(text[start:index].strip())
            index = start = index + len(separator)
            continue
        index += 1
    parts.append(text[start:].strip())
    return [part for part in parts if part]


def _default(text: str) -> str:
    text = text.strip().strip("`")
    try:
        return model.default_text(ast.literal_eval(text))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text[:80] or "..."


def _alternative(text: str, resolve: Resolver) -> Type | None:
    text = _QUALIFIER.sub("", _ARTICLE.sub("", text.strip().strip("`").strip()))
    lowered = text.lower()
    if lowered in ("none", "nonetype"):
        return model.none_type()
    literal = _literal(text)
    if literal is not None:
        return model.literal_type([literal[0]])
    if text.startswith("{") and text.endswith("}"):
        return _choices(text[1:-1], resolve)
    items = _TUPLE.match(text)
    if items:
        return _tuple(items.group(1), resolve)
    container = re.match(r"^(\S+(?:\s\S+)?)\s+of\s+(.+)$", text)
    if container:
        return _container(container.group(1).lower(), container.group(2), resolve)
    named = _named(text, lowered, resolve)
    bare = _unconstrained(text)
    if named is None and bare != text:
        return _alternative(bare, resolve)
    return named


def _unconstrained(text: str) -> str:
    """The type a constrained alternative names: ``float`` for ``float in range (0.0, 1.0]`` or ``float ([0, 1])``."""
    ranged = _RANGE.sub("", text)
    if ranged != text:
        return ranged
    constrained = _CONSTRAINT.match(text)
    return constrained.group(1) if constrained else text


def _named(text: str, lowered: str, resolve: Resolver) -> Type | None:
    if lowered in _ARRAY_LIKE:
        return model.alias_type("numpy.typing.ArrayLike")
    if lowered in _NDARRAY:
        return model.class_type("numpy.ndarray")
    if lowered in _CALLABLE:
        return model.callable_type(None, model.any_type())
    if lowered in _ANY:
        return model.any_type()
    if lowered in _BUILTINS:
        return model.class_type(f"builtins.{_BUILTINS[lowered]}")
    if lowered in _ABSTRACT:
        return model.class_type(_ABSTRACT[lowered])
    name = _WRAPPED_NAME.match(text).group(1).strip()
    if name.lower() in _DESCRIBED:  # "sparse matrix", "estimator instance"
        return resolve(_DESCRIBED[name.lower()])
    if _NAME.match(name):
        if name.lower() in _BUILTINS and name != text:
            return model.class_type(f"builtins.{_BUILTINS[name.lower()]}")
        return resolve(name)
    return None


def _literal(text: str) -> tuple[object] | None:
    """``(value,)`` when the text is a literal a Literal may hold (a quoted string, an int, a bool, None)."""
    if not text or not (text[0] in "'\"-" or text[0].isdigit() or text in ("True", "False", "None")):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return (value,) if type(value) in (str, int, bool, type(None)) else None


def _choices(inner: str, resolve: Resolver) -> Type | None:
    """``{'a', 'b'}`` is a literal; ``{array-like, sparse matrix}`` a choice of types; ``{label: weight}`` a dict."""
    if _MAPPING.match(inner):
        return model.class_type("builtins.dict")
    items = [alternative for item in _split(inner, ",") for alternative in _split(item, " or ")]
    literals = [_literal(item) for item in items]
    if items and all(literal is not None for literal in literals):
        return model.literal_type([literal[0] for literal in literals])
    options = []
    for item in items:
        literal = _literal(item)
        option = model.literal_type([literal[0]]) if literal else _alternative(item, resolve)
        if option is None:
            return None
        options.append(option)
    return _union(options) if options else None


def _tuple(inner: str, resolve: Resolver) -> Type | None:
    """``(str, estimator)``: a tuple of those items."""
    items = [_alternative(item, resolve) for item in _split(inner, ",")]
    if not items or any(item is None for item in items):
        return None
    return model.tuple_type(items)


def _container(container: str, of: str, resolve: Resolver) -> Type | None:
    if container in _ARRAY_LIKE:
        return model.alias_type("numpy.typing.ArrayLike")
    if container in _NDARRAY:
        return model.class_type("numpy.ndarray")
    if container not in _CONTAINERS:
        return None
    item = _alternative(of, resolve)
    if item is None and of.endswith("s"):
        item = _alternative(of[:-1], resolve)  # "list of dicts"
    if item is None:
        return None
    return model.class_type(_CONTAINERS[container], [item])
