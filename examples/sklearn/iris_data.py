"""The iris data set, split for the sklearn example (examples/sklearn/main.ts)."""

from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split


def load(test_size=0.25, seed=0):
    """The iris measurements split into a training and a test set, with the names of the species."""
    iris = load_iris()
    x_train, x_test, y_train, y_test = train_test_split(
        iris.data,
        iris.target,
        test_size=test_size,
        random_state=seed,
        stratify=iris.target,
    )
    return {
        "x_train": x_train,
        "y_train": y_train,
        "x_test": x_test,
        "y_test": y_test,
        "features": list(iris.feature_names),
        "species": list(iris.target_names),
    }
