"""The fixture module of typed bindings (``snakebridge types``, docs/typing.md).

It uses every annotation the introspector supports, so its introspection
(``vectors/introspect/typing_fixture.json``) and the TypeScript generated from
it (``typing_fixture.d.ts`` beside it) pin the whole mapping. The functions do
real work, so the TypeScript tests call them through the typed proxies.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import (
    Annotated,
    Any,
    Generic,
    Literal,
    NamedTuple,
    NewType,
    NoReturn,
    Optional,
    ParamSpec,
    Protocol,
    TypedDict,
    TypeVar,
    Union,
    overload,
)

__all__ = [
    "DEFAULT_SCALE",
    "GREETING",
    "Color",
    "Counter",
    "FixtureError",
    "Greeter",
    "Labelled",
    "Millimetres",
    "Pair",
    "Point",
    "Priority",
    "Shape",
    "Stack",
    "Stats",
    "Unit",
    "apply",
    "area",
    "async_total",
    "call",
    "clamp",
    "count_up",
    "describe",
    "fail",
    "first",
    "greet",
    "largest",
    "make",
    "mean",
    "midpoint",
    "normalize",
    "parse_pair",
    "rank",
    "retry",
    "scale",
    "shout",
    "summarize",
    "tick",
    "ticks",
    "to_millimetres",
    "to_unit",
    "untyped",
    "word_lengths",
]

T = TypeVar("T")
N = TypeVar("N", int, float)
S = TypeVar("S", bound="Shape")
R = TypeVar("R")
P = ParamSpec("P")

#: How much `scale` multiplies by when given nothing.
DEFAULT_SCALE: float = 2.0
GREETING = "Hello"

Unit = Literal["mm", "cm", "m"]
#: Two of the same thing: a generic alias.
Pair = tuple[T, T]
#: A length in millimetres: a float at run time, a distinct type to a type checker.
Millimetres = NewType("Millimetres", float)


class Color(enum.Enum):
    """A colour, sent to Python as its value."""

    RED = "red"
    GREEN = "green"


class Priority(enum.IntEnum):
    """How urgent something is; an enum whose values are ints."""

    LOW = 1
    HIGH = 2


class FixtureError(Exception):
    """What `fail` raises."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class Point(NamedTuple):
    """A point in the plane; travels as an array ``[x, y]``."""

    x: float
    y: float


class _StatsRequired(TypedDict):
    count: int
    mean: float


class Stats(_StatsRequired, total=False):
    """Summary statistics, as a plain object."""

    label: str


@dataclasses.dataclass
class Labelled:
    """A labelled value; dataclasses stay in Python, as handles."""

    label: str
    value: float = 0.0


class Shape(Protocol):
    """Anything with an area."""

    def area(self) -> float: ...


class Greeter:
    """Greets people, counting how often.

    Attributes:
        greeting: the word it greets with.
    """

    #: Greeters made so far.
    made: int = 0

    def __init__(self, greeting: str = "Hello", *, punctuation: str = "!") -> None:
        self.greeting = greeting
        self._punctuation = punctuation
        self._count = 0
        Greeter.made += 1

    @property
    def count(self) -> int:
        """Greetings so far."""
        return self._count

    @property
    def punctuation(self) -> str:
        return self._punctuation

    @punctuation.setter
    def punctuation(self, value: str) -> None:
        self._punctuation = value

    def greet(self, name: str, times: int = 1) -> str:
        """Greets ``name``, ``times`` times over."""
        self._count += 1
        return " ".join([f"{self.greeting}, {name}{self._punctuation}"] * times)

    @classmethod
    def formal(cls) -> Greeter:
        """A greeter that says Good day."""
        return cls("Good day", punctuation=".")

    @staticmethod
    def words(text: str) -> list[str]:
        return text.split()

    def __call__(self, name: str) -> str:
        return self.greet(name)


class Stack(Generic[T]):
    """A last-in, first-out stack of anything."""

    def __init__(self, items: Sequence[T] = ()) -> None:
        self._items = list(items)

    def push(self, item: T) -> None:
        self._items.append(item)

    def pop(self) -> T:
        return self._items.pop()

    def peek(self) -> Optional[T]:  # noqa: UP045 - Optional is what this fixture is for
        return self._items[-1] if self._items else None

    def __iter__(self) -> Iterator[T]:
        return iter(reversed(self._items))

    def __len__(self) -> int:
        return len(self._items)


class Counter:
    """Counts; a class with no annotations at all."""

    def __init__(self, start=0):
        self.value = start

    def increment(self, by=1):
        self.value += by
        return self.value


def greet(name: str, greeting: str = "Hello", *, punctuation: str = "!") -> str:
    """Greets someone.

    Args:
        name: who to greet.
        greeting: the word to greet with.
        punctuation: what ends the greeting.

    Returns:
        The greeting.
    """
    return f"{greeting}, {name}{punctuation}"


def clamp(value: float, /, low: float = 0.0, high: float = 1.0) -> float:
    """Limits ``value`` to ``[low, high]``."""
    return max(low, min(high, value))


def mean(*values: float) -> float:
    """The arithmetic mean of the values."""
    return sum(values) / len(values)


def describe(value: int | str | None, **options: bool) -> str:
    """Describes a value; options switch parts of the description on."""
    parts = [type(value).__name__]
    parts += [name for name, on in sorted(options.items()) if on]
    return " ".join(parts)


def to_unit(length: float, unit: Unit = "m") -> float:
    """Converts a length.

    :param length: the length in metres.
    :param unit: the unit to convert to.
    :returns: the length in ``unit``.
    """
    return length * {"mm": 1000.0, "cm": 100.0, "m": 1.0}[unit]


def midpoint(a: Point, b: Point) -> Point:
    """The point halfway between two points."""
    # Unpacked, not a.x: a NamedTuple sent from TypeScript arrives as a list.
    (ax, ay), (bx, by) = a, b
    return Point((ax + bx) / 2, (ay + by) / 2)


def word_lengths(words: Sequence[str]) -> dict[str, int]:
    """Each word's length, by word."""
    return {word: len(word) for word in words}


def parse_pair(text: str) -> tuple[str, int]:
    """Splits ``"name=3"`` into its name and number."""
    name, number = text.split("=")
    return name, int(number)


def normalize(values: Mapping[str, float], stats: Stats | None = None) -> Stats:
    """Statistics of the values, with a label if ``stats`` had one."""
    count = len(values)
    result: Stats = {"count": count, "mean": sum(values.values()) / count if count else 0.0}
    if stats is not None and "label" in stats:
        result["label"] = stats["label"]
    return result


def scale(shape: Labelled, factor: Annotated[float, "a multiplier"] = DEFAULT_SCALE) -> Labelled:
    """A copy of the labelled value, scaled."""
    return Labelled(shape.label, shape.value * factor)


def area(shape: Shape) -> float:
    """The area of anything that has one."""
    return shape.area()


def apply(function: Callable[[int, int], int], a: int, b: int) -> int:
    """Calls ``function(a, b)``: in TypeScript, a function Python calls back."""
    return function(a, b)


def first(items: Sequence[T]) -> T:
    """The first item."""
    return items[0]


@overload
def shout(text: str) -> str: ...
@overload
def shout(text: bytes) -> bytes: ...
def shout(text: Union[str, bytes]) -> Union[str, bytes]:  # noqa: UP007 - Union is what this fixture is for
    """Upper-cases text or bytes."""
    return text.upper()


def largest(shapes: Sequence[S]) -> S:
    """The shape with the largest area (a type variable with a bound)."""
    return max(shapes, key=lambda shape: shape.area())


def make(kind: type[Labelled], label: str) -> Labelled:
    """A labelled value of the given class (a class itself as a value)."""
    return kind(label)


def retry(function: Callable[P, R], times: int = 1) -> Callable[P, R]:
    """``function``, called again (up to ``times`` times in all) while it raises."""

    @functools.wraps(function)
    def tried(*args: P.args, **kwargs: P.kwargs) -> R:
        for _ in range(1, times):
            try:
                return function(*args, **kwargs)
            except Exception:
                continue
        return function(*args, **kwargs)

    return tried


def call(function: Callable[..., float], *args: float) -> float:
    """``function(*args)``: a callback whose parameters are not known."""
    return function(*args)


def fail(message: str) -> NoReturn:
    """Always raises `FixtureError`."""
    raise FixtureError(message)


def to_millimetres(metres: float) -> Millimetres:
    """A length in metres, in millimetres."""
    return Millimetres(metres * 1000)


def summarize(value: object, *, extra: Any = None) -> tuple[str, ...]:
    """The value's type name and repr, then ``extra``'s repr if given."""
    parts = (type(value).__name__, repr(value))
    return parts if extra is None else (*parts, repr(extra))


def rank(priority: Priority, bonus: Literal[0, 1, 2] = 0, strict: Literal[True, None] = None) -> int:
    """A number to sort by: the priority plus a bonus (literals of ints, bools and None)."""
    return int(priority) * 10 + bonus + (1 if strict else 0)


def tick(color: Color) -> Color:
    """The next colour."""
    return Color.GREEN if color is Color.RED else Color.RED


def count_up(limit: int) -> Iterator[int]:
    """Yields 0, 1, … up to ``limit`` (excluded)."""
    yield from range(limit)


async def async_total(values: list[N]) -> N:
    """The total of the values, computed in an async function."""
    total = values[0]
    for value in values[1:]:
        total += value
    return total


async def ticks(count: int) -> AsyncIterator[int]:
    """Yields 0, 1, … from an async generator."""
    for i in range(count):
        yield i


def untyped(a, b=2, *rest, **options):
    """A function with no annotations: the generator must say so.

    Parameters
    ----------
    a : int
        The first number.
    b : int, optional
        The second number.

    Returns
    -------
    int
        Their sum.
    """
    return a + b + sum(rest)


def _private_helper() -> None:  # not in __all__ either
    pass
