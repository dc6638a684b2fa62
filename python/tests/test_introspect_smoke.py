"""The introspector over real modules: the standard library (typed by typeshed's stubs when typeshed_client
is installed), numpy (its own stubs), pandas (its annotations) and scikit-learn (its docstrings)."""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from introspect_helpers import BOOL, FLOAT, INT, STR, cls, named, only_signature, param_types

from snakebridge.introspect import introspect_module

HAS_TYPESHED = importlib.util.find_spec("typeshed_client") is not None
needs_typeshed = pytest.mark.skipif(not HAS_TYPESHED, reason="typeshed_client is not installed")

MODULE_KEYS = [
    "module",
    "doc",
    "distribution",
    "stub",
    "functions",
    "classes",
    "constants",
    "submodules",
    "aliases",
    "types",
    "budget",
    "warnings",
]


def _check_structure(module: dict[str, Any]) -> None:
    """Every key present, every list sorted, nothing skipped, and the whole thing valid JSON."""
    assert list(module) == MODULE_KEYS
    for key in ("functions", "classes", "constants", "submodules", "aliases", "types"):
        names = [item["name"] for item in module[key]]
        assert names == sorted(names), key
    for cls_ in module["classes"] + module["types"]:
        assert set(cls_) == {
            "name",
            "qualname",
            "kind",
            "doc",
            "bases",
            "type_params",
            "constructor",
            "methods",
            "properties",
            "fields",
            "members",
            "call",
            "iterates",
        }
    assert module["budget"]["skipped"] == []
    json.dumps(module, allow_nan=False)


@pytest.mark.parametrize("name", ["math", "json", "statistics", "dataclasses", "fractions"])
def test_standard_library_modules_are_introspected_whole(name: str) -> None:
    module = introspect_module(name)
    _check_structure(module)
    assert module["distribution"] is None
    assert module["stub"] == ("typeshed" if HAS_TYPESHED else None)


@needs_typeshed
def test_math_is_typed_by_typeshed() -> None:
    module = introspect_module("math")
    hypot = named(module["functions"], "hypot")
    assert hypot["source"] == "stub"
    signature = only_signature(hypot)
    assert signature["returns"] == FLOAT
    coordinates = signature["params"][0]
    assert (coordinates["name"], coordinates["kind"]) == ("coordinates", "var_positional")
    alias = named(module["aliases"], coordinates["type"]["name"])
    assert cls("typing.SupportsFloat") in alias["type"]["options"]
    assert named(module["constants"], "pi") == {
        "name": "pi",
        "type": FLOAT,
        "value": 3.141592653589793,
        "doc": None,
    }
    assert named(module["constants"], "inf")["value"] is None, "JSON has no infinity"


@needs_typeshed
def test_json_functions_and_the_protocols_they_take_come_from_typeshed() -> None:
    module = introspect_module("json")
    dumps = only_signature(named(module["functions"], "dumps"))
    assert param_types(dumps)["sort_keys"] == BOOL
    assert dumps["returns"] == STR
    dump = only_signature(named(module["functions"], "dump"))
    assert param_types(dump)["fp"] == cls("_typeshed.SupportsWrite", STR)
    supports_write = named(module["types"], "SupportsWrite")
    assert supports_write["kind"] == "protocol"
    assert [method["name"] for method in supports_write["methods"]] == ["write"]


@needs_typeshed
def test_fractions_fraction_has_typed_overloaded_constructor() -> None:
    fraction = named(introspect_module("fractions")["classes"], "Fraction")
    assert fraction["qualname"] == "fractions.Fraction"
    assert fraction["constructor"]["source"] == "stub"
    assert len(fraction["constructor"]["overloads"]) >= 2
    assert named(fraction["properties"], "numerator") == {
        "name": "numerator",
        "type": INT,
        "readonly": True,
        "doc": None,
    }


@needs_typeshed
def test_dataclasses_and_statistics_are_typed() -> None:
    dataclasses_module = introspect_module("dataclasses")
    assert len(named(dataclasses_module["functions"], "field")["overloads"]) >= 2
    statistics = introspect_module("statistics")
    mean = only_signature(named(statistics["functions"], "mean"))
    assert [tp["name"] for tp in mean["type_params"]] == ["_NumberT"]
    regression = named(statistics["types"], "LinearRegression")
    assert [(f["name"], f["type"]) for f in regression["fields"]] == [("slope", FLOAT), ("intercept", FLOAT)]


@pytest.fixture(scope="module")
def numpy_module() -> dict[str, Any]:
    pytest.importorskip("numpy")
    return introspect_module("numpy")


def _numpy_stub_generic_params(class_name: str) -> list[str]:
    """The type variables numpy's own stub makes a class generic over (``Generic[...]``): numpy 2.3 renamed
    ndarray's ``_DType_co`` to ``_DTypeT_co``, and Python 3.10 has numpy 2.2 at the newest."""
    import numpy

    tree = ast.parse(Path(numpy.__file__).with_name("__init__.pyi").read_text(encoding="utf-8"))
    definition = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == class_name)
    generic = next(
        base
        for base in definition.bases
        if isinstance(base, ast.Subscript) and isinstance(base.value, ast.Name) and base.value.id == "Generic"
    )
    items = generic.slice.elts if isinstance(generic.slice, ast.Tuple) else [generic.slice]
    return [item.id for item in items if isinstance(item, ast.Name)]


def test_numpy_is_typed_by_its_own_stubs(numpy_module: dict[str, Any]) -> None:
    _check_structure(numpy_module)
    assert numpy_module["stub"] == "inline"
    assert numpy_module["distribution"]["name"] == "numpy"
    assert named(numpy_module["functions"], "sum")["source"] == "stub"
    assert len(named(numpy_module["functions"], "sum")["overloads"]) > 1
    assert {"name": "linalg", "module": "numpy.linalg"} in numpy_module["submodules"]
    ndarray = named(numpy_module["classes"], "ndarray")
    assert [tp["name"] for tp in ndarray["type_params"]] == _numpy_stub_generic_params("ndarray")
    assert ndarray["type_params"][0]["name"] == "_ShapeT_co"
    assert named(ndarray["methods"], "reshape")["source"] == "stub"


def test_a_numpy_scalar_type_its_stub_calls_an_alias_is_a_class_typed_by_the_class_the_alias_names(
    numpy_module: dict[str, Any],
) -> None:
    int32 = named(numpy_module["classes"], "int32")
    assert int32["qualname"] == "numpy.int32"
    assert int32["constructor"]["source"] == "stub"
    assert named(int32["methods"], "astype")["source"] == "stub"


def test_numpy_ufuncs_are_functions_typed_by_their_stub_class(numpy_module: dict[str, Any]) -> None:
    add = named(numpy_module["functions"], "add")
    assert add["source"] == "stub"
    assert add["overloads"]


def test_numpy_aliases_are_named_where_they_are_defined_and_terminate(numpy_module: dict[str, Any]) -> None:
    names = {alias["name"] for alias in numpy_module["aliases"]}
    assert "numpy._typing._array_like.ArrayLike" in names
    referenced = {
        node["name"]
        for node in _walk(numpy_module)
        if isinstance(node, dict) and node.get("kind") == "alias" and "args" in node
    }
    docstring_only = {"numpy.typing.ArrayLike"}  # known to the generator by name
    assert referenced - docstring_only <= names, "every alias a Type references is defined"
    nested = named(numpy_module["types"], "_NestedSequence")
    assert nested["kind"] == "protocol"


def test_numpy_linalg_norm_has_a_signature() -> None:
    pytest.importorskip("numpy")
    module = introspect_module("numpy.linalg")
    _check_structure(module)
    norm = named(module["functions"], "norm")
    assert norm["source"] == "stub"
    assert [param["name"] for param in norm["overloads"][0]["params"]][:2] == ["x", "ord"]


def test_pandas_is_typed_by_its_annotations() -> None:
    pytest.importorskip("pandas")
    module = introspect_module("pandas")
    _check_structure(module)
    data_frame = named(module["classes"], "DataFrame")
    assert data_frame["constructor"]["source"] == "annotations"
    assert {"head", "to_dict", "merge"} <= {method["name"] for method in data_frame["methods"]}
    assert only_signature(named(data_frame["methods"], "head"))["returns"] == cls(data_frame["qualname"])
    assert named(module["functions"], "concat")["source"] == "annotations"


def test_sklearn_ensemble_is_typed_by_its_docstrings() -> None:
    pytest.importorskip("sklearn")
    module = introspect_module("sklearn.ensemble")
    _check_structure(module)
    assert module["distribution"]["name"] == "scikit-learn"
    forest = named(module["classes"], "RandomForestClassifier")
    assert forest["qualname"] == "sklearn.ensemble._forest.RandomForestClassifier"
    constructor = forest["constructor"]
    assert constructor["source"] == "docstring"
    params = {param["name"]: param for param in only_signature(constructor)["params"]}
    assert params["n_estimators"]["type"] == INT
    assert params["n_estimators"]["default"] == "100"
    assert params["criterion"]["type"] == {"kind": "literal", "values": ["gini", "entropy", "log_loss"]}
    assert params["criterion"]["kind"] == "keyword_only"
    importances = named(forest["properties"], "feature_importances_")
    assert importances["type"] == cls("numpy.ndarray")
    assert importances["readonly"] is True
    fit = named(forest["methods"], "fit")
    assert fit["source"] == "docstring" and fit["binding"] == "instance"


def _walk(node: Any) -> Any:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)
