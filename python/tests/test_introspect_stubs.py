"""Stubs (.pyi) read with ast, never imported: beside the module or in a ``-stubs`` package, their version and
platform branches evaluated, their overloads, aliases and re-exports followed; the runtime decides membership."""

from __future__ import annotations

import sys

import pytest
from introspect_helpers import BOOL, FLOAT, INT, NONE, STR, Sources, cls, named, only_signature, param_types

RUNTIME = """
__all__ = ["Thing", "double", "helper", "nested", "only_runtime", "platformed", "starred", "unknown_name", "versioned"]

from ._impl import helper, starred


def versioned(x):
    return x


def platformed():
    return 1


def double(x):
    return x * 2


def nested(value):
    return value


def unknown_name(x):
    return x


def only_runtime(a, b=2):
    return a + b


class Thing:
    def __init__(self, size):
        self.size = size

    @property
    def area(self):
        return 1.0

    def grow(self, by=1):
        return Thing(self.size + by)
"""

STUB = """
import sys
from typing import Literal, TypeAlias, overload

from typing_extensions import Self

from ._impl import *
from ._impl import helper as helper
from ._shapes import Sized as Sized

Number: TypeAlias = int | float
Nested: TypeAlias = int | list[Nested]

if sys.version_info >= (3, 10):
    def versioned(x: int) -> int: ...
else:
    def versioned(x: str) -> str: ...

if sys.platform == "nonesuch":
    def platformed() -> int: ...
else:
    def platformed() -> Literal["other"]: ...

@overload
def double(x: int) -> int: ...
@overload
def double(x: str) -> str: ...

def nested(value: Nested) -> Number: ...
def unknown_name(x: NotDefinedAnywhere) -> Sized: ...
def stub_only() -> int: ...

class Thing:
    size: int
    def __init__(self, size: int) -> None: ...
    @property
    def area(self) -> float: ...
    def grow(self, by: int = 1) -> Self: ...
"""


@pytest.fixture
def stubbed(sources: Sources) -> dict:
    return sources.introspect(
        "stubbed",
        {
            "stubbed/__init__.py": RUNTIME,
            "stubbed/__init__.pyi": STUB,
            "stubbed/_impl.py": "def helper(a):\n    return a\n\ndef starred(b):\n    return b\n",
            "stubbed/_impl.pyi": "def helper(a: str) -> bytes: ...\ndef starred(b: float) -> None: ...\n",
            # Only the stub refers to this module, and it must never be imported: ast reads it.
            "stubbed/_shapes.py": (
                "raise RuntimeError('imported!')\n"
                "from typing import Protocol\n"
                "class Sized(Protocol):\n"
                "    def size(self) -> int: ...\n"
            ),
        },
    )


def test_a_stub_beside_the_module_types_its_functions(stubbed: dict) -> None:
    assert stubbed["stub"] == "inline"
    function = named(stubbed["functions"], "nested")
    assert function["source"] == "stub"
    assert only_signature(function)["returns"] == {"kind": "alias", "name": "stubbed.Number", "args": []}


def test_version_branches_are_evaluated_for_the_running_interpreter(stubbed: dict) -> None:
    signature = only_signature(named(stubbed["functions"], "versioned"))
    assert param_types(signature) == {"x": INT}


def test_platform_branches_are_evaluated_for_the_running_interpreter(stubbed: dict) -> None:
    signature = only_signature(named(stubbed["functions"], "platformed"))
    assert signature["returns"] == {"kind": "literal", "values": ["other"]}


def test_overloads_in_a_stub_become_several_signatures(stubbed: dict) -> None:
    overloads = named(stubbed["functions"], "double")["overloads"]
    assert [(param_types(o)["x"], o["returns"]) for o in overloads] == [(INT, INT), (STR, STR)]


def test_re_exports_and_star_imports_are_followed_into_other_stubs(stubbed: dict) -> None:
    helper = only_signature(named(stubbed["functions"], "helper"))
    assert (param_types(helper), helper["returns"]) == ({"a": STR}, cls("builtins.bytes"))
    starred = only_signature(named(stubbed["functions"], "starred"))
    assert (param_types(starred), starred["returns"]) == ({"b": FLOAT}, NONE)


def test_a_recursive_alias_is_defined_once_and_refers_to_itself(stubbed: dict) -> None:
    nested = {"kind": "alias", "name": "stubbed.Nested", "args": []}
    assert param_types(only_signature(named(stubbed["functions"], "nested"))) == {"value": nested}
    assert named(stubbed["aliases"], "stubbed.Nested")["type"] == {
        "kind": "union",
        "options": [INT, cls("builtins.list", nested)],
    }
    assert named(stubbed["aliases"], "stubbed.Number")["type"] == {"kind": "union", "options": [INT, FLOAT]}


def test_a_name_no_stub_defines_is_unknown_with_the_name_as_text(stubbed: dict) -> None:
    signature = only_signature(named(stubbed["functions"], "unknown_name"))
    assert param_types(signature) == {"x": {"kind": "unknown", "text": "NotDefinedAnywhere"}}


def test_a_module_only_a_stub_refers_to_is_read_not_imported(stubbed: dict) -> None:
    assert "stubbed._shapes" not in sys.modules
    signature = only_signature(named(stubbed["functions"], "unknown_name"))
    assert signature["returns"] == cls("stubbed._shapes.Sized")
    sized = named(stubbed["types"], "Sized")
    assert sized["kind"] == "protocol"
    assert only_signature(named(sized["methods"], "size"))["returns"] == INT


def test_the_runtime_decides_which_members_exist(stubbed: dict) -> None:
    names = [function["name"] for function in stubbed["functions"]]
    assert "stub_only" not in names
    only_runtime = named(stubbed["functions"], "only_runtime")
    assert only_runtime["source"] == "signature"
    assert [(p["name"], p["type"], p["default"]) for p in only_signature(only_runtime)["params"]] == [
        ("a", None, None),
        ("b", None, "2"),
    ]


def test_a_stub_class_types_the_constructor_methods_and_properties_of_the_live_class(stubbed: dict) -> None:
    thing = named(stubbed["classes"], "Thing")
    constructor = thing["constructor"]
    assert constructor["source"] == "stub"
    assert param_types(only_signature(constructor)) == {"size": INT}
    grow = named(thing["methods"], "grow")
    assert grow["binding"] == "instance"
    assert [(p["name"], p["type"], p["default"]) for p in only_signature(grow)["params"]] == [("by", INT, "1")]
    assert only_signature(grow)["returns"] == cls("stubbed.Thing"), "Self is the class"
    assert named(thing["properties"], "area") == {"name": "area", "type": FLOAT, "readonly": True, "doc": None}
    assert named(thing["properties"], "size")["type"] == INT, "attributes a stub declares are properties"


def test_a_stub_package_is_preferred_and_reported(sources: Sources) -> None:
    module = sources.introspect(
        "distpkg",
        {
            "distpkg/__init__.py": "def run(flag):\n    return flag\n",
            "distpkg/__init__.pyi": "def run(flag: int) -> int: ...\n",
            "distpkg-stubs/__init__.pyi": "def run(flag: bool) -> bool: ...\n",
        },
    )
    assert module["stub"] == "stub-package"
    assert param_types(only_signature(named(module["functions"], "run"))) == {"flag": BOOL}


def test_a_stub_that_does_not_parse_is_a_warning_and_the_runtime_is_used(sources: Sources) -> None:
    module = sources.introspect(
        "badstub",
        {"badstub.py": "def run(flag: int) -> int:\n    return flag\n", "badstub.pyi": "def run(:\n"},
    )
    assert module["stub"] is None
    assert named(module["functions"], "run")["source"] == "annotations"
    assert any("badstub" in warning and "SyntaxError" in warning for warning in module["warnings"])


def test_a_stub_alias_reached_through_a_source_module_keeps_its_defining_name(sources: Sources) -> None:
    module = sources.introspect(
        "arraylib",
        {
            "arraylib/__init__.py": "def total(values):\n    return sum(values)\n",
            "arraylib/__init__.pyi": (
                "from arraylib._typing import ArrayLike\n\ndef total(values: ArrayLike) -> float: ...\n"
            ),
            "arraylib/_typing/__init__.py": "from ._array_like import ArrayLike as ArrayLike\n",
            "arraylib/_typing/_array_like.py": (
                "from typing import TypeAlias, Union\n"
                "from collections.abc import Sequence\n"
                "_Nested: TypeAlias = Union[float, Sequence['_Nested']]\n"
                "ArrayLike: TypeAlias = _Nested | bytes\n"
            ),
        },
    )
    name = "arraylib._typing._array_like.ArrayLike"
    values = param_types(only_signature(named(module["functions"], "total")))["values"]
    assert values == {"kind": "alias", "name": name, "args": []}
    nested = {"kind": "alias", "name": "arraylib._typing._array_like._Nested", "args": []}
    assert named(module["aliases"], name)["type"] == {"kind": "union", "options": [nested, cls("builtins.bytes")]}
    assert named(module["aliases"], nested["name"])["type"] == {
        "kind": "union",
        "options": [FLOAT, cls("collections.abc.Sequence", nested)],
    }


def test_generic_stub_classes_and_aliases_keep_their_type_variables(sources: Sources) -> None:
    module = sources.introspect(
        "genstub",
        {
            "genstub.py": "class Box:\n    def get(self):\n        return None\n\ndef unbox(box):\n    return box\n",
            "genstub.pyi": (
                "from typing import Generic, TypeVar, TypeAlias\n"
                "_T = TypeVar('_T', bound=int)\n"
                "_U = TypeVar('_U')\n"
                "Boxes: TypeAlias = list[Box[_U]]\n"
                "class Box(Generic[_T]):\n"
                "    def get(self) -> _T: ...\n"
                "def unbox(box: Box[_T], boxes: Boxes[_T]) -> _T: ...\n"
            ),
        },
    )
    box = named(module["classes"], "Box")
    assert box["type_params"] == [{"name": "_T", "bound": INT, "constraints": []}]
    assert only_signature(named(box["methods"], "get")) == {
        "params": [],
        "returns": {"kind": "typevar", "name": "_T"},
        "returns_doc": None,
        "type_params": [],
    }
    unbox = only_signature(named(module["functions"], "unbox"))
    assert [tp["name"] for tp in unbox["type_params"]] == ["_T"]
    assert param_types(unbox)["boxes"] == {
        "kind": "alias",
        "name": "genstub.Boxes",
        "args": [{"kind": "typevar", "name": "_T"}],
    }
    assert [tp["name"] for tp in named(module["aliases"], "genstub.Boxes")["type_params"]] == ["_U"]


def test_a_callable_object_a_stub_declares_as_an_instance_is_typed_by_its_class_call(sources: Sources) -> None:
    module = sources.introspect(
        "ufuncish",
        {
            "ufuncish.py": (
                "class _Op:\n    def __call__(self, a, b):\n        return a + b\n\nadd = _Op()\n__all__ = ['add']\n"
            ),
            "ufuncish.pyi": (
                "from typing import Final\n"
                "class _Op:\n    def __call__(self, a: int, b: int, /) -> int: ...\n"
                "add: Final[_Op]\n"
            ),
        },
    )
    add = named(module["functions"], "add")
    assert add["source"] == "stub"
    assert [(p["name"], p["kind"], p["type"]) for p in only_signature(add)["params"]] == [
        ("a", "positional_only", INT),
        ("b", "positional_only", INT),
    ]


def test_each_type_kind_written_in_a_stub_becomes_its_type(sources: Sources) -> None:
    module = sources.introspect(
        "stubkinds",
        {
            "stubkinds.py": "def kinds(*args, **kwargs):\n    raise RuntimeError\n",
            "stubkinds.pyi": """
                import typing as t
                from collections.abc import Callable, Iterator
                from typing import Annotated, Any, Literal, NoReturn, Optional

                class Base: ...

                def kinds(
                    anything: Any,
                    whatever: object,
                    nothing: None,
                    numbers: list[int],
                    pair: tuple[int, str],
                    many: tuple[int, ...],
                    empty: tuple[()],
                    maybe: Optional[int],
                    either: int | str,
                    old: t.Union[int, "str"],
                    choice: Literal[1, "a", True, None, -2],
                    callback: Callable[[int], str],
                    loose: Callable[..., int],
                    kind: type[Base],
                    noted: Annotated[int, "metres"],
                    legacy: t.List[t.Dict[str, int]],
                    iterator: Iterator[int],
                    forward: "Base",
                    missing: NotAThing,
                    *args: int,
                    **kwargs: str,
                ) -> NoReturn: ...
            """,
        },
    )
    signature = only_signature(named(module["functions"], "kinds"))
    types = param_types(signature)
    assert types == {
        "anything": {"kind": "any"},
        "whatever": {"kind": "any"},
        "nothing": NONE,
        "numbers": cls("builtins.list", INT),
        "pair": {"kind": "tuple", "items": [INT, STR]},
        "many": cls("builtins.tuple", INT),
        "empty": {"kind": "tuple", "items": []},
        "maybe": {"kind": "union", "options": [INT, NONE]},
        "either": {"kind": "union", "options": [INT, STR]},
        "old": {"kind": "union", "options": [INT, STR]},
        "choice": {"kind": "literal", "values": [1, "a", True, None, -2]},
        "callback": {"kind": "callable", "params": [INT], "returns": STR},
        "loose": {"kind": "callable", "params": None, "returns": INT},
        "kind": {"kind": "type", "of": cls("stubkinds.Base")},
        "noted": INT,
        "legacy": cls("builtins.list", cls("builtins.dict", STR, INT)),
        "iterator": cls("collections.abc.Iterator", INT),
        "forward": cls("stubkinds.Base"),
        "missing": {"kind": "unknown", "text": "NotAThing"},
        "args": INT,
        "kwargs": STR,
    }
    assert signature["returns"] == {"kind": "never"}
    assert [p["kind"] for p in signature["params"]][-2:] == ["var_positional", "var_keyword"]


def test_a_stub_says_which_functions_are_coroutines_and_generators(sources: Sources) -> None:
    module = sources.introspect(
        "stubkindsfn",
        {
            "stubkindsfn.py": "def fetch():\n    pass\n\ndef items():\n    pass\n\ndef aitems():\n    pass\n",
            "stubkindsfn.pyi": (
                "from collections.abc import AsyncIterator, Iterator\n"
                "async def fetch() -> int: ...\n"
                "def items() -> Iterator[int]: ...\n"
                "def aitems() -> AsyncIterator[int]: ...\n"
            ),
        },
    )
    assert {f["name"]: f["kind"] for f in module["functions"]} == {
        "aitems": "async_generator",
        "fetch": "async",
        "items": "generator",
    }


@pytest.mark.skipif(sys.version_info < (3, 11), reason="*tuple[...] in a subscript is Python 3.11+ syntax")
def test_unpacked_tuples_param_spec_parts_and_literals_of_aliases_are_read(sources: Sources) -> None:
    module = sources.introspect(
        "stubedges",
        {
            "stubedges.py": "def edges(*args, **kwargs):\n    pass\n",
            "stubedges.pyi": (
                "from typing import Literal, ParamSpec, TypeAlias\n"
                "_P = ParamSpec('_P')\n"
                "_Day: TypeAlias = Literal['D', 'h']\n"
                "_Month: TypeAlias = Literal['M']\n"
                "def edges(shape: tuple[int, *tuple[int, ...]], unit: Literal[_Month, _Day], "
                "*args: _P.args, **kwargs: _P.kwargs) -> None: ...\n"
            ),
        },
    )
    types = param_types(only_signature(named(module["functions"], "edges")))
    assert types == {
        "shape": cls("builtins.tuple", INT),
        "unit": {"kind": "literal", "values": ["M", "D", "h"]},
        "args": {"kind": "any"},
        "kwargs": {"kind": "any"},
    }
