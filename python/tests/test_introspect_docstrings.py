"""Docstrings in Google, NumPy and reST style give parameters their docs (and, when nothing else does,
their types); the description keeps what was not parsed; type phrases follow the format's grammar."""

from __future__ import annotations

import pytest
from introspect_helpers import ANY, BOOL, FLOAT, INT, NONE, STR, Sources, cls, named, only_signature, param_types

from snakebridge.introspect.docstrings import parse_docstring
from snakebridge.introspect.doctypes import parse_phrase, says_self

CALLABLE = {"kind": "callable", "params": None, "returns": ANY}

GOOGLE = """
    Adds two numbers.

    Some more words.

    Args:
        a (int): the first,
            over two lines.
        b (float, optional): the second.
        *rest: the others.

    Returns:
        float: the sum.

    Raises:
        ValueError: never.

    Examples:
        >>> add(1, 2)
        3
"""

NUMPY = """
    Adds two numbers.

    Parameters
    ----------
    a : int
        The first.
    b, c : str or None, default=None
        Two more.

    Returns
    -------
    total : float
        The sum.

    See Also
    --------
    sum : Adds many.
"""

REST = """
    Adds two numbers.

    :param a: the first.
    :type a: int
    :param str b: the second.
    :returns: the sum.
    :rtype: float
    :raises ValueError: never.
"""


def test_a_google_docstring_is_split_into_description_parameters_and_returns() -> None:
    parsed = parse_docstring(GOOGLE)
    assert parsed.text == "Adds two numbers.\n\nSome more words.\n\nExamples:\n    >>> add(1, 2)\n    3"
    assert {name: (item.type, item.doc) for name, item in parsed.params.items()} == {
        "a": ("int", "the first,\nover two lines."),
        "b": ("float, optional", "the second."),
        "rest": (None, "the others."),
    }
    assert [(item.type, item.doc) for item in parsed.returns] == [("float", "the sum.")]


def test_a_numpy_docstring_is_split_into_description_parameters_and_returns() -> None:
    parsed = parse_docstring(NUMPY)
    assert parsed.text == "Adds two numbers.\n\nSee Also\n--------\nsum : Adds many."
    assert {name: (item.type, item.doc) for name, item in parsed.params.items()} == {
        "a": ("int", "The first."),
        "b": ("str or None, default=None", "Two more."),
        "c": ("str or None, default=None", "Two more."),
    }
    assert [(item.type, item.doc) for item in parsed.returns] == [("float", "The sum.")]


def test_a_rest_docstring_is_split_into_description_parameters_and_returns() -> None:
    parsed = parse_docstring(REST)
    assert parsed.text == "Adds two numbers."
    assert {name: (item.type, item.doc) for name, item in parsed.params.items()} == {
        "a": ("int", "the first."),
        "b": ("str", "the second."),
    }
    assert [(item.type, item.doc) for item in parsed.returns] == [("float", "the sum.")]


def test_attributes_sections_are_parsed_in_every_style() -> None:
    google = parse_docstring("A thing.\n\nAttributes:\n    size (int): how big.\n")
    numpy = parse_docstring("A thing.\n\nAttributes\n----------\nsize : int\n    How big.\n")
    rest = parse_docstring("A thing.\n\n:ivar size: how big.\n:vartype size: int\n")
    for parsed in (google, numpy, rest):
        assert parsed.text == "A thing."
        assert parsed.attributes["size"].type == "int"


def _phrase(text: str) -> dict:
    return parse_phrase(text, lambda name: None).type


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("int", INT),
        ("float, optional", FLOAT),
        ("str or None", {"kind": "union", "options": [STR, NONE]}),
        ("list of str", cls("builtins.list", STR)),
        ("dict", cls("builtins.dict")),
        ("callable", {"kind": "callable", "params": None, "returns": ANY}),
        ("bool, default=True", BOOL),
        ("{'gini', 'entropy'}", {"kind": "literal", "values": ["gini", "entropy"]}),
        ('{"gini", "entropy"}, default="gini"', {"kind": "literal", "values": ["gini", "entropy"]}),
        ("array-like of shape (n, m)", {"kind": "alias", "name": "numpy.typing.ArrayLike", "args": []}),
        (
            "array-like of shape (n_samples,) or (n_samples, n_outputs)",
            {"kind": "alias", "name": "numpy.typing.ArrayLike", "args": []},
        ),
        ("ndarray", cls("numpy.ndarray")),
        ("ndarray of shape (n_features,)", cls("numpy.ndarray")),
        ("int, default=None", {"kind": "union", "options": [INT, NONE]}),
        ("list of dicts", cls("builtins.list", cls("builtins.dict"))),
        (
            "{array-like, int}",
            {"kind": "union", "options": [{"kind": "alias", "name": "numpy.typing.ArrayLike", "args": []}, INT]},
        ),
        ("`int`", INT),
        ("frobnicator object", {"kind": "unknown", "text": "frobnicator object"}),
        ("int or something odd", {"kind": "unknown", "text": "int or something odd"}),
    ],
)
def test_docstring_type_phrases_follow_the_grammar(phrase: str, expected: dict) -> None:
    assert _phrase(phrase) == expected


def test_a_class_a_phrase_names_is_looked_up_and_named_where_it_lives() -> None:
    random_state = parse_phrase(
        "int, RandomState instance or None, default=None",
        lambda name: cls(f"found.{name}") if name == "RandomState" else None,
    )
    assert random_state.type == {"kind": "union", "options": [INT, cls("found.RandomState"), NONE]}
    assert random_state.default == "None"


def _found(name: str) -> dict | None:
    """A resolver that knows the classes a scikit-learn docstring names, as ``found.<name>``."""
    known = {"spmatrix", "RandomState", "BaseEstimator", "DecisionTreeClassifier"}
    return cls(f"found.{name}") if name in known else None


ARRAY_LIKE = {"kind": "alias", "name": "numpy.typing.ArrayLike", "args": []}
NDARRAY = cls("numpy.ndarray")


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        (
            "{array-like, sparse matrix} of shape (n_samples, n_features)",
            {"kind": "union", "options": [ARRAY_LIKE, cls("found.spmatrix")]},
        ),
        ("array-like of shape (n_samples,) or (n_samples, n_outputs)", ARRAY_LIKE),
        (
            "int, RandomState instance or None, default=None",
            {"kind": "union", "options": [INT, cls("found.RandomState"), NONE]},
        ),
        ("estimator object", cls("found.BaseEstimator")),
        ("estimator instance", cls("found.BaseEstimator")),
        (
            '"auto", "sqrt", "log2", int or float, default="sqrt"',
            {"kind": "union", "options": [{"kind": "literal", "values": ["auto", "sqrt", "log2"]}, INT, FLOAT]},
        ),
        ("bool or callable, default=False", {"kind": "union", "options": [BOOL, CALLABLE]}),
        (
            'dict, list of dict or "balanced", default=None',
            {
                "kind": "union",
                "options": [
                    cls("builtins.dict"),
                    cls("builtins.list", cls("builtins.dict")),
                    {"kind": "literal", "values": ["balanced"]},
                    NONE,
                ],
            },
        ),
        ("float in range (0.0, 1.0]", FLOAT),
        ("float in range [0, 1], default=0.99", FLOAT),
        ("int (>= 1) or float ([0, 1]), default=None", {"kind": "union", "options": [INT, FLOAT, NONE]}),
        (
            '{"gini", "entropy", "log_loss"}, default="gini"',
            {"kind": "literal", "values": ["gini", "entropy", "log_loss"]},
        ),
        (
            "ndarray of shape (n_classes,) or list of ndarray",
            {"kind": "union", "options": [NDARRAY, cls("builtins.list", NDARRAY)]},
        ),
        (
            "ndarray of shape (n_samples, n_classes), or a list of such arrays",
            {"kind": "union", "options": [NDARRAY, cls("builtins.list", NDARRAY)]},
        ),
        ("array, shape (n_classes,)", NDARRAY),
        ("object", ANY),
        ("BaseEstimator", cls("found.BaseEstimator")),
        ("list of DecisionTreeClassifier", cls("builtins.list", cls("found.DecisionTreeClassifier"))),
        (
            "list of (str, estimator) tuples",
            cls("builtins.list", {"kind": "tuple", "items": [STR, cls("found.BaseEstimator")]}),
        ),
        (
            "estimator or 'zero', default=None",
            {
                "kind": "union",
                "options": [cls("found.BaseEstimator"), {"kind": "literal", "values": ["zero"]}, NONE],
            },
        ),
        (
            "{array-like or sparse matrix} of shape (n_samples, n_features)",
            {"kind": "union", "options": [ARRAY_LIKE, cls("found.spmatrix")]},
        ),
        (
            'dict, {class_label: weight} or "balanced", default=None',
            {"kind": "union", "options": [cls("builtins.dict"), {"kind": "literal", "values": ["balanced"]}, NONE]},
        ),
        (
            "int, cross-validation generator or an iterable, default=None",
            {"kind": "union", "options": [INT, ANY, cls("collections.abc.Iterable"), NONE]},
        ),
        ("self", {"kind": "unknown", "text": "self"}),  # a Returns section's "self" is read by the method
    ],
)
def test_scikit_learn_phrases_follow_the_grammar(phrase: str, expected: dict) -> None:
    assert parse_phrase(phrase, _found).type == expected


@pytest.mark.parametrize(
    ("name", "phrase", "expected"),
    [
        ("self", "object", True),
        ("self", "Returns the instance itself.", True),
        ("self", "estimator instance", True),
        (None, "self", True),
        (None, "returns an instance of self.", True),
        (None, "Returns the instance itself.", True),
        ("model", "object", False),
        (None, "object", False),
        (None, None, False),
    ],
)
def test_a_returns_item_says_self_by_its_name_or_its_phrase(
    name: str | None, phrase: str | None, expected: bool
) -> None:
    assert says_self(name, phrase) is expected


def test_optional_and_default_name_the_default_a_phrase_gives() -> None:
    assert parse_phrase("bool, default=True", lambda name: None).default == "True"
    assert parse_phrase('{"a", "b"}, default="a"', lambda name: None).default == "'a'"
    assert parse_phrase("int, optional", lambda name: None).default == "..."
    assert parse_phrase("int", lambda name: None).default is None


def test_docstring_types_type_unannotated_parameters_in_each_style(sources: Sources) -> None:
    module = sources.introspect(
        "documented",
        {
            "documented.py": '''
                def google(a, b=1.0):
                    """Google.

                    Args:
                        a (int): first.
                        b (float): second.

                    Returns:
                        str: text.
                    """

                def numpy(a, b=None):
                    """NumPy.

                    Parameters
                    ----------
                    a : int
                        First.
                    b : {'x', 'y'}, optional
                        Second.

                    Yields
                    ------
                    int
                        Numbers.
                    """
                    yield a

                def rest(a):
                    """reST.

                    :param a: first.
                    :type a: list of str
                    :rtype: bool
                    """

                def annotated(a: int, b, c):
                    """Annotations win; the docstring types the rest.

                    Args:
                        a (str): first.
                        b (float): second.
                    """
            '''
        },
    )
    google = named(module["functions"], "google")
    assert google["source"] == "docstring"
    assert google["doc"] == "Google."
    assert only_signature(google) == {
        "params": [
            {"name": "a", "kind": "positional_or_keyword", "type": INT, "default": None, "doc": "first."},
            {"name": "b", "kind": "positional_or_keyword", "type": FLOAT, "default": "1.0", "doc": "second."},
        ],
        "returns": STR,
        "returns_doc": "text.",
        "type_params": [],
    }
    numpy = only_signature(named(module["functions"], "numpy"))
    assert [p["type"] for p in numpy["params"]] == [INT, {"kind": "literal", "values": ["x", "y"]}]
    assert numpy["params"][1]["default"] == "None", "the signature's default wins over the docstring's 'optional'"
    assert numpy["returns"] == cls("collections.abc.Iterator", INT)
    rest = only_signature(named(module["functions"], "rest"))
    assert (rest["params"][0]["type"], rest["returns"]) == (cls("builtins.list", STR), BOOL)
    annotated = named(module["functions"], "annotated")
    assert annotated["source"] == "annotations"
    assert [p["type"] for p in only_signature(annotated)["params"]] == [INT, FLOAT, None]


def test_a_class_docstring_documents_the_constructor_and_its_attributes_become_properties(sources: Sources) -> None:
    module = sources.introspect(
        "estimators",
        {
            "estimators.py": '''
                class Forest:
                    """A forest.

                    Parameters
                    ----------
                    n_trees : int, default=100
                        How many trees.
                    criterion : {"gini", "entropy"}, default="gini"
                        How to split.

                    Attributes
                    ----------
                    coef_ : ndarray of shape (n_features,)
                        Fitted weights.
                    """

                    def __init__(self, n_trees=100, *, criterion="gini"):
                        self.n_trees = n_trees
                        self.criterion = criterion

                    @property
                    def importances_(self):
                        """How much each feature matters.

                        Returns
                        -------
                        importances_ : ndarray of shape (n_features,)
                            They sum to 1.
                        """
                        return []
            '''
        },
    )
    forest = named(module["classes"], "Forest")
    assert forest["doc"] == "A forest."
    constructor = only_signature(forest["constructor"])
    assert [(p["name"], p["kind"], p["type"], p["default"], p["doc"]) for p in constructor["params"]] == [
        ("n_trees", "positional_or_keyword", INT, "100", "How many trees."),
        ("criterion", "keyword_only", {"kind": "literal", "values": ["gini", "entropy"]}, "'gini'", "How to split."),
    ]
    assert forest["constructor"]["source"] == "docstring"
    assert named(forest["properties"], "coef_") == {
        "name": "coef_",
        "type": cls("numpy.ndarray"),
        "readonly": False,
        "doc": "Fitted weights.",
    }
    assert named(forest["properties"], "importances_") == {
        "name": "importances_",
        "type": cls("numpy.ndarray"),
        "readonly": True,
        "doc": "How much each feature matters.",
    }


def test_a_callable_without_a_signature_takes_its_parameters_from_its_docstring(sources: Sources) -> None:
    module = sources.introspect(
        "nosig",
        {
            "nosig.py": '''
                class _Opaque:
                    """How it is called is known only from its doc.

                    Parameters
                    ----------
                    x : int
                        A number.
                    scale : float, optional
                        A factor.
                    *more : int
                        Others.
                    """

                    @property
                    def __signature__(self):
                        raise ValueError("no signature")

                    def __call__(self, *args, **kwargs):
                        return None

                opaque = _Opaque()
                opaque.__doc__ = _Opaque.__doc__ + " "
                __all__ = ["opaque"]
            '''
        },
    )
    opaque = named(module["functions"], "opaque")
    assert opaque["source"] == "docstring"
    assert [(p["name"], p["kind"], p["type"], p["default"]) for p in only_signature(opaque)["params"]] == [
        ("x", "positional_or_keyword", INT, None),
        ("scale", "positional_or_keyword", FLOAT, "..."),
        ("more", "var_positional", INT, None),
    ]


ESTIMATOR = '''
class Model:
    """A model."""

    def fit(self, X, y=None):
        """Fits it.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data.
        y : Ignored
            Not used.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        return self

    def partial_fit(self, X):
        """Fits a little more.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data.

        Returns
        -------
        self
            Returns the instance itself.
        """
        return self

    def refit(self):
        """Fits again.

        Returns
        -------
        self : returns an instance of self.
            Fitted `Model` estimator.
        """
        return self

    def set_params(self, **params):
        """Sets parameters.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            Estimator instance.
        """
        return self


def make(kind):
    """Makes one.

    Parameters
    ----------
    kind : str
        Which.

    Returns
    -------
    self : object
        Not a method: no class to be.
    """
'''


def test_a_method_whose_returns_section_says_self_returns_its_class(sources: Sources) -> None:
    module = sources.introspect("fitting", {"fitting.py": ESTIMATOR})
    model = named(module["classes"], "Model")
    for method in ("fit", "partial_fit", "refit", "set_params"):
        assert only_signature(named(model["methods"], method))["returns"] == cls("fitting.Model"), method
    assert only_signature(named(model["methods"], "fit"))["returns_doc"] == "Fitted estimator."
    assert only_signature(named(module["functions"], "make"))["returns"] == ANY, "a function has no self"


def test_a_subclass_inherits_a_method_returning_self_as_returning_the_subclass(sources: Sources) -> None:
    module = sources.introspect(
        "fitting_sub",
        {"fitting_sub.py": ESTIMATOR + "\n\nclass Tuned(Model):\n    pass\n"},
    )
    tuned = named(module["classes"], "Tuned")
    assert only_signature(named(tuned["methods"], "fit"))["returns"] == cls("fitting_sub.Tuned")


def test_docstring_names_are_found_in_the_introspected_module_and_in_its_packages_modules(
    sources: Sources,
) -> None:
    module = sources.introspect(
        "docpkg",
        {
            "docpkg/__init__.py": """
                from docpkg._tree import Tree
                from docpkg._forest import Forest
                import docpkg.base

                __all__ = ["Forest", "Tree"]
            """,
            "docpkg/base.py": """
                class BaseThing:
                    pass
            """,
            "docpkg/_tree.py": """
                class Tree:
                    pass
            """,
            "docpkg/_forest.py": '''
                class Forest:
                    """Trees.

                    Attributes
                    ----------
                    estimators_ : list of Tree
                        The trees (Tree is not imported here: the introspected module has it).
                    base_ : BaseThing instance
                        Found in a module of the package (nobody imports it by name).
                    odd_ : Frobnicator
                        Found nowhere.
                    """
            ''',
        },
    )
    forest = named(module["classes"], "Forest")
    types = {prop["name"]: prop["type"] for prop in forest["properties"]}
    assert types == {
        "estimators_": cls("builtins.list", cls("docpkg._tree.Tree")),
        "base_": cls("docpkg.base.BaseThing"),
        "odd_": {"kind": "unknown", "text": "Frobnicator"},
    }


def test_well_known_classes_docstrings_describe_are_named_where_they_are_defined(sources: Sources) -> None:
    numpy = pytest.importorskip("numpy")
    sparse = pytest.importorskip("scipy.sparse")
    module = sources.introspect(
        "known_names",
        {
            "known_names.py": '''
                def fit(X, random_state=None, estimator=None):
                    """Fits.

                    Parameters
                    ----------
                    X : {array-like, sparse matrix} of shape (n_samples, n_features)
                        The data.
                    random_state : int, RandomState instance or None, default=None
                        The seed.
                    estimator : estimator object, default=None
                        The base estimator.
                    """
            '''
        },
    )
    from snakebridge.introspect.annotations import qualified_name

    types = param_types(only_signature(named(module["functions"], "fit")))
    assert types == {
        "X": {"kind": "union", "options": [ARRAY_LIKE, cls(qualified_name(sparse.spmatrix))]},
        "random_state": {"kind": "union", "options": [INT, cls(qualified_name(numpy.random.RandomState)), NONE]},
        "estimator": {"kind": "union", "options": [cls("sklearn.base.BaseEstimator"), NONE]},
    }
