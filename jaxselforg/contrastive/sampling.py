"""Class-balanced batches for metric learning: P classes x K images, drawn on device.

The images are laid out once as a table of **class rows**: row r holds the r-th image
of every class, each class's images in a random order (from a key), so the table is
``[n_rows, C, ...]`` with n_rows the size of the smallest class. A batch is then K
rows without replacement and P of the C columns: K distinct images of each of P
distinct classes. ``train.fit`` shuffles the rows every epoch on device (the rows are
its examples, ``batch_size = K``) and the loss picks the P columns with the step's
key (:func:`select_classes`), so class-balanced training is the ordinary training
loop; :func:`class_balanced_batch` draws one batch directly::

    table = contrastive.class_rows(images, labels, key=key)
    batch_images, batch_labels = contrastive.class_balanced_batch(
        key, table, n_classes=8, n_per_class=4)                 # [32, h, w], [32]
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxselforg import _validation

__all__ = ["ClassRows", "class_balanced_batch", "class_rows", "select_classes"]


class ClassRows(NamedTuple):
    """Examples laid out by class.

    Attributes:
      images: ``[n_rows, C, ...]``; ``images[r, c]`` is an example of class ``classes[c]``.
      classes: int32 ``[C]``, the classes present, increasing.
    """

    images: jax.Array
    classes: jax.Array

    @property
    def n_rows(self) -> int:
        """Images per class in the table (the smallest class's count)."""
        return int(self.images.shape[0])


def class_rows(images: ArrayLike, labels: ArrayLike, *, key: jax.Array) -> ClassRows:
    """The class-row table of ``images``: row r holds one image of every class.

    Every class's images are put in a random order (a permutation drawn from
    ``key``); the table keeps the first n_min of each, n_min = the smallest class's
    count (so no batch ever holds an image twice; the images dropped from larger
    classes are a random choice).

    Args:
      images: ``[n, ...]`` examples.
      labels: ``[n]`` non-negative integer classes (concrete).
      key: PRNG key of the order within each class.

    Returns:
      A :class:`ClassRows` with ``images [n_min, C, ...]``.

    Raises:
      ValueError: labels not ``[n]`` non-negative integers, traced labels, or fewer
        than two classes.
    """
    images = jnp.asarray(images)
    if images.ndim < 1 or images.shape[0] == 0:
        raise ValueError(f"images must be [n, ...] with n >= 1; got shape {tuple(images.shape)}.")
    labels = _validation.labels(labels, "labels", size=images.shape[0])
    if not _validation.is_concrete(labels):
        raise ValueError("class_rows needs concrete labels (the table's shape depends on the "
                         "class counts); build it outside jit.")
    key = _validation.prng_key(key)
    host = np.asarray(labels)
    classes, counts = np.unique(host, return_counts=True)
    if classes.size < 2:
        raise ValueError(f"Class-balanced batches need at least 2 classes; the labels hold "
                         f"{classes.size} ({classes.tolist()}).")
    n_rows = int(counts.min())
    # Random order, then a stable sort by label: classes contiguous, shuffled within.
    permutation = jax.random.permutation(key, host.size)
    order = permutation[jnp.argsort(labels[permutation], stable=True)]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    index = order[jnp.asarray(starts)[None, :] + jnp.arange(n_rows)[:, None]]  # [n_rows, C]
    return ClassRows(images[index], jnp.asarray(classes, jnp.int32))


def _per_class(n_per_class: int, n_rows: int) -> int:
    n_per_class = _validation.positive_int(n_per_class, "n_per_class")
    if n_per_class > n_rows:
        raise ValueError(f"n_per_class K = {n_per_class} exceeds the images of the smallest "
                         f"class ({n_rows}); a batch holds K distinct images of each class.")
    return n_per_class


def _n_classes(n_classes: int | None, available: int) -> int:
    if n_classes is None:
        return available
    n_classes = _validation.positive_int(n_classes, "n_classes")
    if not 2 <= n_classes <= available:
        raise ValueError(f"n_classes P must be in [2, {available}] (the classes present; a "
                         f"batch of one class has no negatives); got {n_classes}.")
    return n_classes


def select_classes(key: jax.Array, rows: jax.Array, classes: jax.Array,
                   n_classes: int | None = None) -> tuple[jax.Array, jax.Array]:
    """P random columns of a batch of class rows, flattened to a labelled batch.

    Args:
      key: PRNG key of the classes chosen (P of the C, without replacement).
      rows: ``[K, C, ...]``: K rows of a :class:`ClassRows` table.
      classes: ``[C]``, the table's classes.
      n_classes: P (static); default all C (no draw).

    Returns:
      ``(images [P * K, ...], labels int32 [P * K])``, grouped by class.

    Raises:
      ValueError: rows and classes that do not match, or P outside [2, C].
    """
    key = _validation.prng_key(key)
    rows, classes = jnp.asarray(rows), jnp.asarray(classes)
    if rows.ndim < 2 or classes.shape != (rows.shape[1],):
        raise ValueError(f"rows must be [K, C, ...] with classes [C]; got shapes "
                         f"{tuple(rows.shape)} and {tuple(classes.shape)}.")
    c = rows.shape[1]
    p = _n_classes(n_classes, c)
    if p < c:
        columns = jax.random.permutation(key, c)[:p]
        rows, classes = rows[:, columns], classes[columns]
    k = rows.shape[0]
    images = jnp.swapaxes(rows, 0, 1).reshape((p * k,) + rows.shape[2:])
    return images, jnp.repeat(classes, k).astype(jnp.int32)


def class_balanced_batch(key: jax.Array, table: ClassRows, *, n_classes: int | None = None,
                         n_per_class: int) -> tuple[jax.Array, jax.Array]:
    """One batch of P classes x K images: K distinct images of each of P distinct classes.

    Args:
      key: PRNG key (the rows and the classes).
      table: from :func:`class_rows`.
      n_classes: P (static); default every class of the table.
      n_per_class: K (static), at most ``table.n_rows``.

    Returns:
      ``(images [P * K, ...], labels int32 [P * K])``, grouped by class.

    Raises:
      ValueError: K larger than the smallest class, P outside [2, C].
    """
    k = _per_class(n_per_class, table.n_rows)
    _n_classes(n_classes, table.classes.shape[0])
    row_key, class_key = jax.random.split(_validation.prng_key(key))
    rows = jax.random.choice(row_key, table.n_rows, (k,), replace=False)
    return select_classes(class_key, table.images[rows], table.classes, n_classes)
