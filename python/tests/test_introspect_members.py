"""Which names are a module's members and what each becomes: functions, classes (with their methods,
properties, fields, members, call and iteration), constants, aliases and submodules."""

from __future__ import annotations

import functools

import pytest
from introspect_helpers import ANY, FLOAT, INT, NONE, STR, Sources, cls, named, only_signature, param_types

from snakebridge.introspect import distribution, introspect_module

PACKAGE = {
    "pkg/__init__.py": '''
        """A package without __all__."""
        import json
        from os import path
        from typing import List, Optional

        from pkg.inner import Helper, helper
        from pkg import inner

        Maybe = Optional[int]
        #: How many.
        LIMIT: int = 3
        NAME = "pkg"
        _PRIVATE = 1


        def visible(x: Maybe) -> List[int]:
            return [x or 0]


        def _hidden():
            pass
    ''',
    "pkg/inner.py": """
        def helper():
            return 1

        class Helper:
            pass
    """,
    "explicit.py": """
        from os.path import join
        __all__ = ["join", "sub", "CONSTANT"]
        import pkg.inner as sub
        CONSTANT = 1.5
        NOT_LISTED = 2
    """,
}


def test_without_all_public_names_defined_in_the_package_are_members(sources: Sources) -> None:
    module = sources.introspect("pkg", PACKAGE)
    assert [f["name"] for f in module["functions"]] == ["helper", "visible"]
    assert [c["name"] for c in module["classes"]] == ["Helper"]
    assert [c["name"] for c in module["constants"]] == ["LIMIT", "NAME"]
    assert [a["name"] for a in module["aliases"]] == ["pkg.Maybe"], "typing's own List and Optional are not aliases"
    assert module["submodules"] == [
        {"name": "inner", "module": "pkg.inner"},
        {"name": "json", "module": "json"},
        {"name": "path", "module": module["submodules"][2]["module"]},
    ]
    assert module["doc"] == "A package without __all__."
    assert module["distribution"] is None and module["stub"] is None


def test_a_class_keeps_the_qualified_name_of_where_it_is_defined(sources: Sources) -> None:
    module = sources.introspect("pkg", PACKAGE)
    assert named(module["classes"], "Helper")["qualname"] == "pkg.inner.Helper"


def test_constants_have_their_annotation_or_their_value_class_their_value_and_their_comment_doc(
    sources: Sources,
) -> None:
    module = sources.introspect("pkg", PACKAGE)
    assert named(module["constants"], "LIMIT") == {"name": "LIMIT", "type": INT, "value": 3, "doc": "How many."}
    assert named(module["constants"], "NAME") == {"name": "NAME", "type": STR, "value": "pkg", "doc": None}


def test_an_alias_of_the_module_is_referenced_where_used(sources: Sources) -> None:
    module = sources.introspect("pkg", PACKAGE)
    signature = only_signature(named(module["functions"], "visible"))
    assert param_types(signature) == {"x": {"kind": "alias", "name": "pkg.Maybe", "args": []}}
    assert signature["returns"] == cls("builtins.list", INT)
    assert named(module["aliases"], "pkg.Maybe")["type"] == {"kind": "union", "options": [INT, NONE]}


def test_with_all_exactly_its_names_are_members_and_modules_among_them_are_submodules(sources: Sources) -> None:
    module = sources.introspect("explicit", PACKAGE)
    assert [f["name"] for f in module["functions"]] == ["join"], "imported, but listed in __all__"
    assert [c["name"] for c in module["constants"]] == ["CONSTANT"]
    assert {"name": "sub", "module": "pkg.inner"} in module["submodules"]


CLASSES = '''
from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Iterator
from typing import ClassVar, Final, Generic, NamedTuple, TypeVar

T = TypeVar("T")


class Base:
    """A base."""

    #: Shared by all.
    count: ClassVar[int] = 0

    def inherited(self, x: int) -> int:
        """From the base."""
        return x

    def overridden(self) -> str:
        return "base"


class Child(Base, Generic[T]):
    """A child.

    Attributes:
        extra (str): described only here.
    """

    LIMIT: Final[int] = 3

    def __init__(self, item: T) -> None:
        self.item = item

    def overridden(self) -> str:
        return "child"

    @classmethod
    def create(cls, item: T) -> Child[T]:
        return cls(item)

    @staticmethod
    def helper(x: float) -> float:
        return x

    @property
    def value(self) -> T:
        return self.item

    @value.setter
    def value(self, item: T) -> None:
        self.item = item

    @functools.cached_property
    def size(self) -> int:
        return 1

    def __call__(self, times: int) -> list[T]:
        return [self.item] * times

    def __iter__(self) -> Iterator[T]:
        yield self.item

    def _private(self) -> None:
        pass


class Mode(enum.Enum):
    FAST = 1
    SLOW = "slow"
    ODD = (1, 2)


class Coord(NamedTuple):
    x: float
    y: float = 0.0


@dataclasses.dataclass
class Record:
    name: str
    tags: list[str] = dataclasses.field(default_factory=list)


class Oops(ValueError):
    pass


class Plain:
    pass
'''


def test_methods_include_inherited_ones_with_their_binding_and_without_self(sources: Sources) -> None:
    child = named(sources.introspect("classes_mod", {"classes_mod.py": CLASSES})["classes"], "Child")
    assert [(m["name"], m["binding"]) for m in child["methods"]] == [
        ("create", "class"),
        ("helper", "static"),
        ("inherited", "instance"),
        ("overridden", "instance"),
    ]
    inherited = named(child["methods"], "inherited")
    assert inherited["doc"] == "From the base."
    assert param_types(only_signature(inherited)) == {"x": INT}
    assert param_types(only_signature(named(child["methods"], "create"))) == {"item": {"kind": "typevar", "name": "T"}}


def test_a_generic_class_binds_its_type_variables_for_its_members(sources: Sources) -> None:
    child = named(sources.introspect("classes_mod", {"classes_mod.py": CLASSES})["classes"], "Child")
    assert child["type_params"] == [{"name": "T", "bound": None, "constraints": []}]
    assert child["bases"] == ["classes_mod.Base"], "typing.Generic is not a base worth naming"
    constructor = only_signature(child["constructor"])
    assert constructor["params"][0]["type"] == {"kind": "typevar", "name": "T"}
    assert constructor["type_params"] == [], "the class binds T"


def test_properties_come_from_properties_annotations_and_the_attributes_section(sources: Sources) -> None:
    child = named(sources.introspect("classes_mod", {"classes_mod.py": CLASSES})["classes"], "Child")
    assert child["properties"] == [
        {"name": "LIMIT", "type": INT, "readonly": True, "doc": None},
        {"name": "count", "type": INT, "readonly": False, "doc": "Shared by all."},
        {"name": "extra", "type": STR, "readonly": False, "doc": "described only here."},
        {"name": "size", "type": INT, "readonly": True, "doc": None},
        {"name": "value", "type": {"kind": "typevar", "name": "T"}, "readonly": False, "doc": None},
    ]


def test_call_and_iteration_are_described(sources: Sources) -> None:
    module = sources.introspect("classes_mod", {"classes_mod.py": CLASSES})
    child = named(module["classes"], "Child")
    assert only_signature(child["call"])["returns"] == cls("builtins.list", {"kind": "typevar", "name": "T"})
    assert child["iterates"] == {"kind": "typevar", "name": "T"}
    plain = named(module["classes"], "Plain")
    assert (plain["call"], plain["iterates"]) == (None, None)
    assert plain["constructor"] == {
        "name": "__init__",
        "kind": "function",
        "doc": None,
        "source": "signature",
        "overloads": [{"params": [], "returns": None, "returns_doc": None, "type_params": []}],
    }


def test_enum_members_are_listed_in_order_with_json_values(sources: Sources) -> None:
    mode = named(sources.introspect("classes_mod", {"classes_mod.py": CLASSES})["classes"], "Mode")
    assert mode["kind"] == "enum"
    assert mode["members"] == [
        {"name": "FAST", "value": 1, "repr": "<Mode.FAST: 1>"},
        {"name": "SLOW", "value": "slow", "repr": "<Mode.SLOW: 'slow'>"},
        {"name": "ODD", "value": None, "repr": "<Mode.ODD: (1, 2)>"},
    ]
    assert (mode["constructor"], mode["methods"], mode["properties"]) == (None, [], [])


def test_namedtuple_and_dataclass_fields_are_in_definition_order_with_requiredness(sources: Sources) -> None:
    module = sources.introspect("classes_mod", {"classes_mod.py": CLASSES})
    coord = named(module["classes"], "Coord")
    assert coord["kind"] == "namedtuple"
    assert coord["fields"] == [
        {"name": "x", "type": FLOAT, "required": True, "doc": None},
        {"name": "y", "type": FLOAT, "required": False, "doc": None},
    ]
    assert coord["methods"] == [], "tuple's count and index are not listed"
    assert [(p["name"], p["type"], p["default"]) for p in only_signature(coord["constructor"])["params"]] == [
        ("x", FLOAT, None),
        ("y", FLOAT, "0.0"),
    ]
    record = named(module["classes"], "Record")
    assert record["kind"] == "dataclass"
    assert [(f["name"], f["type"], f["required"]) for f in record["fields"]] == [
        ("name", STR, True),
        ("tags", cls("builtins.list", STR), False),
    ]
    assert record["properties"] == [], "fields are not repeated as properties"


def test_an_exception_class_is_its_own_kind_and_lists_none_of_baseexceptions_members(sources: Sources) -> None:
    oops = named(sources.introspect("classes_mod", {"classes_mod.py": CLASSES})["classes"], "Oops")
    assert (oops["kind"], oops["bases"], oops["methods"], oops["properties"]) == (
        "exception",
        ["builtins.ValueError"],
        [],
        [],
    )


def test_the_standard_library_has_no_distribution_and_an_installed_package_has_one() -> None:
    assert introspect_module("json")["distribution"] is None
    assert introspect_module("snakebridge.testing.contract")["distribution"]["name"] == "snakebridge"


def test_a_distribution_without_top_level_txt_owns_the_packages_its_files_install(
    sources: Sources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wheels built without setuptools (numpy's, scikit-learn's) have no top_level.txt, and Python 3.10's
    # importlib.metadata.packages_distributions() reads nothing else.
    sources.write(
        {
            "wheelpkg/__init__.py": "VALUE = 1\n",
            "wheelpkg/_core.py": "",
            "wheeldist-1.2.dist-info/METADATA": "Metadata-Version: 2.1\nName: wheeldist\nVersion: 1.2\n",
            "wheeldist-1.2.dist-info/RECORD": """
                wheelpkg/__init__.py,,
                wheelpkg/_core.py,,
                wheeldist-1.2.dist-info/METADATA,,
                wheeldist-1.2.dist-info/RECORD,,
                wheeldist.libs/libcore.so,,
                ../../bin/wheeltool,,
            """,
        }
    )
    monkeypatch.setattr(distribution, "_owners", functools.lru_cache(maxsize=1)(distribution._owners.__wrapped__))
    assert introspect_module("wheelpkg")["distribution"] == {"name": "wheeldist", "version": "1.2"}
    assert distribution._owners()["wheelpkg"] == ["wheeldist"]
    assert not {"wheeldist-1.2.dist-info", "wheeldist.libs", "..", "wheeltool"} & set(distribution._owners())


def test_untyped_variadic_parameters_are_any(sources: Sources) -> None:
    module = sources.introspect("variadic", {"variadic.py": "def f(a, *args, **kwargs):\n    pass\n"})
    signature = only_signature(named(module["functions"], "f"))
    assert [(p["name"], p["kind"], p["type"]) for p in signature["params"]] == [
        ("a", "positional_or_keyword", None),
        ("args", "var_positional", ANY),
        ("kwargs", "var_keyword", ANY),
    ]


def test_function_kinds_follow_inspect(sources: Sources) -> None:
    module = sources.introspect(
        "kinds_mod",
        {
            "kinds_mod.py": """
                def plain():
                    return 1

                def gen():
                    yield 1

                async def coro():
                    return 1

                async def agen():
                    yield 1
            """
        },
    )
    assert {f["name"]: f["kind"] for f in module["functions"]} == {
        "agen": "async_generator",
        "coro": "async",
        "gen": "generator",
        "plain": "function",
    }


def test_output_is_the_same_run_after_run(sources: Sources) -> None:
    first = sources.introspect("classes_mod", {"classes_mod.py": CLASSES})
    second = introspect_module("classes_mod")
    first["budget"]["elapsed_ms"] = second["budget"]["elapsed_ms"] = 0
    assert first == second
