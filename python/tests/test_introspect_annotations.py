"""Runtime annotations become the format's Types: every kind, names normalised to where classes live,
aliases referenced by name, and annotations that will not evaluate left as text with a warning."""

from __future__ import annotations

import sys

import pytest
from introspect_helpers import ANY, BOOL, FLOAT, INT, NONE, STR, Sources, cls, named, only_signature, param_types

KINDS = """
from __future__ import annotations

import collections.abc
import datetime
import typing
from typing import Annotated, Any, Callable, Dict, Iterator, List, Literal, NoReturn, Optional, Sequence
from typing import Tuple, Type, Union

T = typing.TypeVar("T")
Num = typing.TypeVar("Num", int, float)
B = typing.TypeVar("B", bound="Base")
P = typing.ParamSpec("P")
UserId = typing.NewType("UserId", int)


class Base:
    pass


def kinds(
    anything: Any,
    whatever: object,
    nothing: None,
    number: int,
    when: datetime.datetime,
    numbers: List[int],
    mapping: Dict[str, float],
    pair: Tuple[int, str],
    many: tuple[int, ...],
    empty: tuple[()],
    maybe: Optional[int],
    either: Union[int, str],
    piped: int | None,
    choice: Literal[1, "a", True, None],
    callback: Callable[[int, str], bool],
    loose: Callable[..., int],
    kind: Type[Base],
    lower: type[int],
    noted: Annotated[int, "metres"],
    iterator: Iterator[int],
    sequence: Sequence[str],
    abc: collections.abc.Mapping[str, int],
    user: UserId,
    bare_list: list,
    objects: list[object],
) -> NoReturn:
    raise RuntimeError


def generic(items: Sequence[T], number: Num, based: B) -> T:
    return items[0]


def spec(function: Callable[P, int]) -> Callable[P, int]:
    return function


def broken(value: NoSuchName, fine: int) -> Missing:
    return value
"""


@pytest.fixture
def kinds(sources: Sources) -> dict:
    module = sources.introspect("annotated_kinds", {"annotated_kinds.py": KINDS})
    return module


def test_each_typing_construct_becomes_its_type_kind(kinds: dict) -> None:
    types = param_types(only_signature(named(kinds["functions"], "kinds")))
    assert types["anything"] == ANY
    assert types["whatever"] == ANY, "object as a parameter's type means anything"
    assert types["nothing"] == NONE
    assert types["number"] == INT
    assert types["when"] == cls("datetime.datetime")
    assert types["numbers"] == cls("builtins.list", INT)
    assert types["mapping"] == cls("builtins.dict", STR, FLOAT)
    assert types["pair"] == {"kind": "tuple", "items": [INT, STR]}
    assert types["many"] == cls("builtins.tuple", INT)
    assert types["empty"] == {"kind": "tuple", "items": []}
    assert types["maybe"] == {"kind": "union", "options": [INT, NONE]}
    assert types["either"] == {"kind": "union", "options": [INT, STR]}
    assert types["piped"] == {"kind": "union", "options": [INT, NONE]}
    assert types["choice"] == {"kind": "literal", "values": [1, "a", True, None]}
    assert types["callback"] == {"kind": "callable", "params": [INT, STR], "returns": BOOL}
    assert types["loose"] == {"kind": "callable", "params": None, "returns": INT}
    assert types["kind"] == {"kind": "type", "of": cls("annotated_kinds.Base")}
    assert types["lower"] == {"kind": "type", "of": INT}
    assert types["noted"] == INT
    assert types["iterator"] == cls("collections.abc.Iterator", INT)
    assert types["sequence"] == cls("collections.abc.Sequence", STR)
    assert types["abc"] == cls("collections.abc.Mapping", STR, INT)
    assert types["bare_list"] == cls("builtins.list")
    assert types["objects"] == cls("builtins.list", cls("builtins.object")), "object is any only as the whole type"


def test_no_return_is_never(kinds: dict) -> None:
    assert only_signature(named(kinds["functions"], "kinds"))["returns"] == {"kind": "never"}


def test_a_newtype_bound_in_the_module_is_an_alias_of_its_supertype(kinds: dict) -> None:
    types = param_types(only_signature(named(kinds["functions"], "kinds")))
    assert types["user"] == {"kind": "alias", "name": "annotated_kinds.UserId", "args": []}
    assert named(kinds["aliases"], "annotated_kinds.UserId")["type"] == INT


def test_type_variables_are_listed_by_the_signature_that_uses_them_with_bounds_and_constraints(kinds: dict) -> None:
    signature = only_signature(named(kinds["functions"], "generic"))
    assert signature["type_params"] == [
        {"name": "T", "bound": None, "constraints": []},
        {"name": "Num", "bound": None, "constraints": [INT, FLOAT]},
        {"name": "B", "bound": cls("annotated_kinds.Base"), "constraints": []},
    ]
    assert signature["returns"] == {"kind": "typevar", "name": "T"}


def test_a_param_spec_makes_a_callable_whose_parameters_are_unknown(kinds: dict) -> None:
    signature = only_signature(named(kinds["functions"], "spec"))
    loose = {"kind": "callable", "params": None, "returns": INT}
    assert param_types(signature)["function"] == loose
    assert signature["returns"] == loose


def test_an_annotation_that_will_not_evaluate_is_unknown_with_its_text_and_a_warning(kinds: dict) -> None:
    signature = only_signature(named(kinds["functions"], "broken"))
    assert param_types(signature) == {"value": {"kind": "unknown", "text": "NoSuchName"}, "fine": INT}
    assert signature["returns"] == {"kind": "unknown", "text": "Missing"}
    warning = next(text for text in kinds["warnings"] if "broken" in text)
    assert "annotated_kinds.broken" in warning and "value" in warning and "NameError" in warning


def test_a_module_alias_is_referenced_by_name_where_an_annotation_is_that_very_object(sources: Sources) -> None:
    module = sources.introspect(
        "aliased",
        {
            "aliased.py": """
                from typing import Literal, TypeVar

                T = TypeVar("T")
                Unit = Literal["mm", "m"]
                Pair = tuple[T, T]

                def convert(unit: Unit, other: Literal["mm", "m"], pair: Pair) -> Unit:
                    return unit
            """
        },
    )
    signature = only_signature(named(module["functions"], "convert"))
    unit = {"kind": "alias", "name": "aliased.Unit", "args": []}
    assert param_types(signature)["unit"] == unit
    assert param_types(signature)["other"] == unit, "typing caches Literal[...]: the same object is the alias"
    assert signature["returns"] == unit
    assert named(module["aliases"], "aliased.Unit") == {
        "name": "aliased.Unit",
        "type_params": [],
        "type": {"kind": "literal", "values": ["mm", "m"]},
    }
    pair = named(module["aliases"], "aliased.Pair")
    assert pair["type_params"] == [{"name": "T", "bound": None, "constraints": []}]
    assert pair["type"] == {"kind": "tuple", "items": [{"kind": "typevar", "name": "T"}] * 2}
    assert module["constants"] == [named(module["constants"], "T")], "an alias is not a constant"


def test_a_class_that_travels_by_shape_from_another_module_is_described_in_types(sources: Sources) -> None:
    module = sources.introspect(
        "shapes_user",
        {
            "shapes_lib.py": """
                import enum
                from typing import NamedTuple, TypedDict

                class Mode(enum.Enum):
                    FAST = "fast"

                class Options(TypedDict):
                    mode: Mode

                class Plain:
                    pass
            """,
            "shapes_user.py": """
                from shapes_lib import Options, Plain

                def run(options: Options, plain: Plain) -> None:
                    pass
            """,
        },
    )
    assert [entry["qualname"] for entry in module["types"]] == ["shapes_lib.Mode", "shapes_lib.Options"]
    assert named(module["types"], "Options")["fields"] == [
        {"name": "mode", "type": cls("shapes_lib.Mode"), "required": True, "doc": None}
    ]
    assert named(module["types"], "Mode")["members"] == [
        {"name": "FAST", "value": "fast", "repr": "<Mode.FAST: 'fast'>"}
    ]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="typing.Required/NotRequired/Self are Python 3.11+")
def test_required_and_not_required_decide_a_typeddict_fields_requiredness_and_self_is_the_class(
    sources: Sources,
) -> None:
    module = sources.introspect(
        "modern_typing",
        {
            "modern_typing.py": """
                from __future__ import annotations
                from typing import NotRequired, Required, Self, TypedDict

                class Movie(TypedDict, total=False):
                    title: Required[str]
                    year: int

                class Book(TypedDict):
                    title: str
                    pages: NotRequired[int]

                class Builder:
                    def again(self) -> Self:
                        return self
            """
        },
    )
    assert [(f["name"], f["required"]) for f in named(module["classes"], "Movie")["fields"]] == [
        ("title", True),
        ("year", False),
    ]
    assert [(f["name"], f["type"], f["required"]) for f in named(module["classes"], "Book")["fields"]] == [
        ("title", STR, True),
        ("pages", INT, False),
    ]
    again = named(named(module["classes"], "Builder")["methods"], "again")
    assert only_signature(again)["returns"] == cls("modern_typing.Builder")


@pytest.mark.skipif(sys.version_info < (3, 12), reason="the type statement is Python 3.12+")
def test_a_type_statement_is_an_alias_referenced_by_name_even_when_recursive(sources: Sources) -> None:
    module = sources.introspect(
        "pep695",
        {
            "pep695.py": """
                type Tree = int | list[Tree]
                type Pair[T] = tuple[T, T]

                def total(tree: Tree, pair: Pair[int]) -> int:
                    return 0
            """
        },
    )
    types = param_types(only_signature(named(module["functions"], "total")))
    assert types["tree"] == {"kind": "alias", "name": "pep695.Tree", "args": []}
    assert types["pair"] == {"kind": "alias", "name": "pep695.Pair", "args": [INT]}
    tree = named(module["aliases"], "pep695.Tree")
    assert tree["type"] == {
        "kind": "union",
        "options": [INT, cls("builtins.list", {"kind": "alias", "name": "pep695.Tree", "args": []})],
    }
    assert named(module["aliases"], "pep695.Pair")["type_params"] == [{"name": "T", "bound": None, "constraints": []}]
