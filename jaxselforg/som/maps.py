"""What a trained map shows: U-matrix, component planes, hit map, label map, classifier.

All of them read the map through its winners (streamed over the data, see
:func:`jaxselforg.som.winners`) or through distances between neighbouring
prototypes; none builds an ``[n, units]`` matrix.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxselforg import _validation, distances
from jaxselforg.som import measures as _measures

__all__ = [
    "u_matrix",
    "component_planes",
    "hit_map",
    "class_counts",
    "label_map",
    "winner_labels_classifier",
    "predict_labels",
]

REDUCTIONS = ("mean", "sum")


@functools.partial(jax.jit, static_argnames=("reduce",))
def _u_matrix(prototypes, neighbours, valid, *, reduce):
    # One neighbour slot at a time: [units, d] differences instead of [units, 8, d].
    total = jnp.zeros(prototypes.shape[0], prototypes.dtype)
    for slot in range(neighbours.shape[1]):
        gap = jnp.linalg.norm(prototypes - prototypes[neighbours[:, slot]], axis=1)
        total = total + jnp.where(valid[:, slot], gap, 0.0)
    if reduce == "sum":
        return total
    return total / jnp.maximum(jnp.sum(valid, axis=1), 1)


def u_matrix(weights: ArrayLike, *, topology: str = "rectangular", toroidal: bool = False,
             reduce: str = "mean") -> jax.Array:
    """The unified distance matrix: how far each prototype is from its grid neighbours.

    U_j = mean (or sum) over the units i adjacent to j (:func:`jaxselforg.som.adjacency`)
    of the Euclidean distance |W_j - W_i|. High values mark cluster borders.
    Unnormalised; MiniSom's ``distance_map(scaling)`` is ``U / U.max()`` for
    rectangular maps (its hexagonal neighbour lists disagree with its own hexagonal
    coordinates when the number of columns is even; ours follow the coordinates).

    Args:
      weights: ``[rows, cols, d]`` map.
      topology, toroidal: the map's grid.
      reduce: ``"mean"`` or ``"sum"``.

    Returns:
      ``[rows, cols]`` array.

    Raises:
      ValueError: bad weights, unknown topology or reduction.
    """
    weights = _measures.check_weights(weights)
    _validation.choice(reduce, REDUCTIONS, "reduce")
    adjacent = _measures.map_geometry(weights.shape, topology, toroidal).adjacency
    degree = adjacent.sum(axis=1)
    slots = max(1, int(degree.max()))
    # Neighbour lists padded to the largest degree (padding points at the unit itself).
    neighbours = np.tile(np.arange(adjacent.shape[0])[:, None], (1, slots))
    valid = np.zeros_like(neighbours, dtype=bool)
    for unit, row in enumerate(adjacent):
        index = np.flatnonzero(row)
        neighbours[unit, :index.size] = index
        valid[unit, :index.size] = True
    result = _u_matrix(_measures.flat(weights), jnp.asarray(neighbours), jnp.asarray(valid),
                       reduce=reduce)
    return result.reshape(weights.shape[:2])


def component_planes(weights: ArrayLike) -> jax.Array:
    """One ``[rows, cols]`` plane per input feature: ``[d, rows, cols]``."""
    weights = _measures.check_weights(weights)
    return jnp.moveaxis(weights, -1, 0)


def hit_map(weights: ArrayLike, x: ArrayLike, *, metric: str = "euclidean",
            p: float = 2.0) -> jax.Array:
    """How many samples each unit wins (MiniSom's ``activation_response``).

    Returns:
      int32 ``[rows, cols]`` counts summing to n (all -1 for traced bad data).
    """
    weights = _measures.check_weights(weights)
    won = _measures.winners(weights, x, metric=metric, p=p)
    units = weights.shape[0] * weights.shape[1]
    counts = jnp.bincount(won, length=units).astype(jnp.int32).reshape(weights.shape[:2])
    return _validation.minus_one_unless(jnp.all(won >= 0), counts)  # -1: traced bad data


def _labels(x, labels, n_classes):
    labels = _validation.labels(labels, "labels", size=x.shape[0])
    if n_classes is None:
        top = _validation.concrete_max(labels)
        if top is None:
            raise ValueError("Pass n_classes when labels are traced.")
        n_classes = top + 1
    n_classes = _validation.positive_int(n_classes, "n_classes")
    top = _validation.concrete_max(labels)
    if top is not None and top >= n_classes:
        raise ValueError(f"labels reach {top} but n_classes is {n_classes}.")
    return labels, n_classes


def class_counts(weights: ArrayLike, x: ArrayLike, labels: ArrayLike, *,
                 n_classes: int | None = None, metric: str = "euclidean",
                 p: float = 2.0) -> jax.Array:
    """How many samples of each class every unit wins: int32 ``[rows, cols, n_classes]``.

    Args:
      weights: ``[rows, cols, d]`` map.
      x: ``[n, d]`` samples.
      labels: int ``[n]`` classes 0 .. n_classes - 1.
      n_classes: number of classes (default: ``max(labels) + 1``).
      metric, p: the competition's distance.
    """
    weights = _measures.check_weights(weights)
    x = _measures.check_data(x, weights)
    labels, n_classes = _labels(x, labels, n_classes)
    won = _measures.winners(weights, x, metric=metric, p=p)
    units = weights.shape[0] * weights.shape[1]
    counts = jnp.zeros((units, n_classes), jnp.int32).at[won, labels].add(1)
    valid = jnp.all(won >= 0) & _validation.in_range(labels, n_classes)  # traced bad input
    return _validation.minus_one_unless(valid, counts.reshape(*weights.shape[:2], n_classes))


def label_map(weights: ArrayLike, x: ArrayLike, labels: ArrayLike, *,
              n_classes: int | None = None, metric: str = "euclidean",
              p: float = 2.0) -> jax.Array:
    """The majority class of the samples each unit wins; -1 for units that win none.

    Ties go to the smaller class. Args as :func:`class_counts`.

    Returns:
      int32 ``[rows, cols]``.
    """
    counts = class_counts(weights, x, labels, n_classes=n_classes, metric=metric, p=p)
    return jnp.where(counts.sum(-1) > 0, jnp.argmax(counts, axis=-1), -1).astype(jnp.int32)


def winner_labels_classifier(weights: ArrayLike, x: ArrayLike, labels: ArrayLike, *,
                             n_classes: int | None = None, metric: str = "euclidean",
                             p: float = 2.0) -> jax.Array:
    """Labels every unit for classification by its winner (a quantitative check of a map).

    A unit takes the majority class of the training samples it wins
    (:func:`label_map`); a unit that wins none takes the label of the nearest labelled
    prototype (under ``metric``), so every sample gets a class.

    Returns:
      int32 ``[rows, cols]`` unit labels for :func:`predict_labels`.
    """
    weights = _measures.check_weights(weights)
    majority = label_map(weights, x, labels, n_classes=n_classes, metric=metric, p=p).ravel()
    prototypes = _measures.flat(weights)
    gaps = distances.pairwise(prototypes, prototypes, metric, p=p)
    nearest = jnp.argmin(jnp.where(majority[None, :] >= 0, gaps, jnp.inf), axis=1)
    filled = jnp.where(majority >= 0, majority, majority[nearest])
    return filled.reshape(weights.shape[:2])


def predict_labels(weights: ArrayLike, unit_labels: ArrayLike, x: ArrayLike, *,
                   metric: str = "euclidean", p: float = 2.0) -> jax.Array:
    """The label of every sample's winning unit: int32 ``[n]``.

    Args:
      weights: ``[rows, cols, d]`` map.
      unit_labels: int ``[rows, cols]`` from :func:`winner_labels_classifier` (or
        :func:`label_map`, whose -1 then passes through).
      x: ``[n, d]`` samples.
      metric, p: the competition's distance.

    Raises:
      ValueError: bad shapes or values; ``unit_labels`` not of shape ``[rows, cols]``.
    """
    weights = _measures.check_weights(weights)
    unit_labels = jnp.asarray(unit_labels)
    if unit_labels.shape != weights.shape[:2] or not jnp.issubdtype(unit_labels.dtype,
                                                                     jnp.integer):
        raise ValueError(f"unit_labels must be integers of shape {tuple(weights.shape[:2])}; "
                         f"got {unit_labels.dtype} {tuple(unit_labels.shape)}.")
    won = _measures.winners(weights, x, metric=metric, p=p)
    return unit_labels.ravel()[won].astype(jnp.int32)
