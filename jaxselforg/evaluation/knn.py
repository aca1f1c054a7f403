"""The k-nearest-neighbour classifier as a yardstick of features.

Each test point takes the majority label of its k nearest training points
(``distances.k_nearest``; uniform votes, a tie going to the smaller class as
scikit-learn's ``KNeighborsClassifier``); the accuracy of those predictions measures
how well a representation keeps classes together without fitting anything.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxselforg import _validation, distances

__all__ = ["knn_accuracy", "knn_predict"]


@functools.partial(jax.jit, static_argnames=("n_classes",))
def _vote(neighbour_labels, *, n_classes):
    votes = jnp.sum(jax.nn.one_hot(neighbour_labels, n_classes, dtype=jnp.int32), axis=1)
    return jnp.argmax(votes, axis=1).astype(jnp.int32)  # argmax: the smaller class on ties


def knn_predict(train_features: ArrayLike, train_labels: ArrayLike, test_features: ArrayLike,
                *, k: int = 5, metric: str = "euclidean",
                n_classes: int | None = None) -> jax.Array:
    """Majority label of each test row's ``k`` nearest training rows: int32 ``[m]``.

    Args:
      train_features, train_labels: ``[n, d]`` and ``[n]`` integers in
        ``[0, n_classes)``.
      test_features: ``[m, d]``.
      k: neighbours (1 <= k <= n).
      metric: any of ``distances.METRICS`` (``"euclidean"``, ``"cosine"``, ...).
      n_classes: default ``max(train_labels) + 1``.

    Raises:
      ValueError: as ``distances.k_nearest``; labels not ``[n]`` non-negative integers.
    """
    train_features = _validation.matrix(train_features, "train_features")
    train_labels, n_classes = _validation.class_labels(
        train_labels, "train_labels", size=train_features.shape[0], n_classes=n_classes)
    index, _ = distances.k_nearest(test_features, train_features, k, metric)
    # Traced bad input (NaN features: index -1; labels out of range): prediction -1.
    valid = jnp.all(index >= 0, axis=1) & _validation.in_range(train_labels, n_classes)
    return _validation.minus_one_unless(valid, _vote(train_labels[index], n_classes=n_classes))


def knn_accuracy(train_features: ArrayLike, train_labels: ArrayLike, test_features: ArrayLike,
                 test_labels: ArrayLike, *, k: int = 5, metric: str = "euclidean") -> float:
    """Accuracy of :func:`knn_predict` on the test set, in [0, 1].

    Examples:
      >>> evaluation.knn_accuracy(train_codes, train_y, test_codes, test_y, k=5,
      ...                         metric="cosine")
    """
    test_features = _validation.matrix(test_features, "test_features")
    test_labels = _validation.labels(test_labels, "test_labels", size=test_features.shape[0])
    predicted = knn_predict(train_features, train_labels, test_features, k=k, metric=metric)
    return float(jnp.mean(predicted == test_labels))
