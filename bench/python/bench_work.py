"""The Python side of the benchmarks' workloads, called through SnakeBridge."""

import numpy as np


def add(a, b):
    return a + b


def echo(value):
    return value


def numpy_echo(array):
    """Checks that a typed array really arrives as numpy, and sends it back."""
    assert isinstance(array, np.ndarray) and array.dtype == np.float64
    return array


def burn(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def items(n):
    for i in range(n):
        yield i


def make_table(rows):
    import pyarrow as pa

    ids = np.arange(rows, dtype=np.int64)
    return pa.table({"id": ids, "value": ids * 0.5, "flag": (ids % 2) == 0})


class Chain:
    """A model-like object whose steps return it, as scikit-learn's ``fit`` does: a chain of dependent calls."""

    def __init__(self):
        self.steps = 0

    def step(self):
        self.steps += 1
        return self
