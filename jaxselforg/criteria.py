"""Unsupervised criteria (lecture section 3) and external clustering scores.

Internal criteria take data, prototypes (cluster centres, map units) and a metric
from :mod:`jaxselforg.distances`:

* compactness (minimise): E = sum_k (1/|X_k|) sum_{X in X_k} rho(X, W_k);
* separation (maximise): E = sum_{h<k} rho(W_h, W_k);
* inertia: sum_i |X_i - W_{k(i)}|^2 (scikit-learn's ``inertia_``);
* quantization error: E_q = (1/N) sum_i rho(X_i, W_{winner(i)}) (also
  ``jaxselforg.som.quantization_error``: one function, data first).

External scores compare a clustering with reference labels: clustering accuracy
(best one-to-one matching of clusters to classes, Hungarian algorithm), normalized
mutual information and the adjusted Rand index, equal to ``sklearn.metrics``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize
from jax.typing import ArrayLike

from jaxselforg import _validation, distances

__all__ = [
    "compactness",
    "separation",
    "inertia",
    "quantization_error",
    "contingency_matrix",
    "match_clusters",
    "clustering_accuracy",
    "normalized_mutual_info",
    "adjusted_rand_index",
]


def _assigned_distances(x, prototypes, labels, metric, p, w):
    """rho(X_i, W_{labels_i}), or to the nearest prototype when labels is None."""
    x = _validation.matrix(x, "x")
    prototypes = _validation.matrix(prototypes, "prototypes", features=x.shape[1])
    if labels is None:
        labels, dist = distances.nearest(x, prototypes, metric, p=p, w=w)
        return dist, labels, prototypes
    labels = _validation.labels(labels, "labels", size=x.shape[0])
    top = _validation.concrete_max(labels)
    if top is not None and top >= prototypes.shape[0]:
        raise ValueError(f"labels reach {top} but there are only "
                         f"{prototypes.shape[0]} prototypes.")
    row = lambda a, b: distances.distance(a, b, metric, p=p, w=w)  # noqa: E731
    dist = jax.vmap(row)(x, prototypes[labels])
    return _validation.nan_unless(_validation.in_range(labels, prototypes.shape[0]), dist), \
        labels, prototypes


def compactness(x: ArrayLike, prototypes: ArrayLike, labels: ArrayLike | None = None,
                metric: str = "euclidean", *, p: ArrayLike = 2.0,
                w: ArrayLike | None = None) -> jax.Array:
    """The lecture's compactness E = sum_k (1/|X_k|) sum_{X in X_k} rho(X, W_k).

    The sum of the clusters' mean distances to their prototype; empty clusters add 0.

    Args:
      x: ``[n, d]`` data.
      prototypes: ``[k, d]`` cluster centres W_k.
      labels: ``[n]`` cluster of each point; default: its nearest prototype.
      metric, p, w: the distance, as in :func:`jaxselforg.distances.pairwise`.

    Returns:
      Scalar E (smaller is more compact).
    """
    dist, labels, prototypes = _assigned_distances(x, prototypes, labels, metric, p, w)
    k = prototypes.shape[0]
    totals = jax.ops.segment_sum(dist, labels, num_segments=k)
    counts = jax.ops.segment_sum(jnp.ones_like(dist), labels, num_segments=k)
    return jnp.sum(jnp.where(counts > 0, totals / jnp.maximum(counts, 1.0), 0.0))


def separation(prototypes: ArrayLike, metric: str = "euclidean", *, p: ArrayLike = 2.0,
               w: ArrayLike | None = None) -> jax.Array:
    """The lecture's separation E = sum_{h<k} rho(W_h, W_k): each pair counted once.

    Args:
      prototypes: ``[k, d]`` cluster centres.
      metric, p, w: the distance.

    Returns:
      Scalar E (larger is better separated).
    """
    prototypes = _validation.matrix(prototypes, "prototypes")
    d = distances.pairwise(prototypes, prototypes, metric, p=p, w=w)
    return jnp.sum(jnp.triu(d, k=1))


def inertia(x: ArrayLike, centers: ArrayLike, labels: ArrayLike | None = None, *,
            sample_weight: ArrayLike | None = None) -> jax.Array:
    """``sum_i s_i ||x_i - c_(i)||^2``: the (weighted) squared Euclidean distances to the
    assigned (default: nearest) centre; ``sample_weight`` ``s`` defaults to ones."""
    dist, _, _ = _assigned_distances(x, centers, labels, "sqeuclidean", 2.0, None)
    if sample_weight is None:
        return jnp.sum(dist)
    return jnp.sum(_validation.sample_weight(sample_weight, dist.shape[0], dist.dtype) * dist)


def quantization_error(x: ArrayLike, prototypes: ArrayLike, metric: str = "euclidean", *,
                       p: ArrayLike = 2.0, w: ArrayLike | None = None,
                       sample_weight: ArrayLike | None = None) -> jax.Array:
    """The lecture's quantization error: the mean distance to the winner.

        E_q = sum_i s_i rho(X_i, W_l(i)) / sum_i s_i,   l(i) = argmin_j rho(X_i, W_j),

    with sample weights s_i (all 1: E_q = (1/N) sum_i rho(X_i, W_l(i))). The one
    quantization error of the library: ``jaxselforg.som.quantization_error`` is this
    function, and for a map's weights with the Euclidean metric it equals MiniSom's
    ``quantization_error``. The winners come from
    :func:`jaxselforg.distances.nearest` (streamed over blocks; exact distances).

    Args:
      x: ``[n, d]`` data.
      prototypes: ``[k, d]`` prototypes (cluster centres, WTA units) or a map's
        weights ``[rows, cols, d]`` (its units, row-major).
      metric, p, w: the distance, as in :func:`jaxselforg.distances.pairwise`.
      sample_weight: optional non-negative ``[n]`` weights with a positive sum (0
        drops a row, e.g. the padding of a sharded dataset).

    Returns:
      Scalar E_q.

    Raises:
      ValueError: bad shapes (prototypes neither ``[k, d]`` nor ``[rows, cols, d]``,
        mismatched features), NaN/Inf, an unknown metric, bad sample weights.

    Examples:
      >>> criteria.quantization_error(x_test, result.centers)
      >>> som.quantization_error(x_test, result.weights)  # the same function
    """
    x = _validation.matrix(x, "x")
    prototypes = _validation.as_float_array(prototypes, "prototypes")
    if prototypes.ndim not in (2, 3) or prototypes.size == 0:
        raise ValueError("prototypes must be a non-empty [k, d] array or a map's weights "
                         f"[rows, cols, d]; got shape {tuple(prototypes.shape)}.")
    prototypes = _validation.matrix(prototypes.reshape(-1, prototypes.shape[-1]), "prototypes",
                                    features=x.shape[1])
    weights = _validation.sample_weight(sample_weight, x.shape[0], x.dtype)
    _, dist = distances.nearest(x, prototypes, metric, p=p, w=w)
    return jnp.sum(weights * dist) / jnp.sum(weights)


# ---------------------------------------------------------------------------
# External scores.


def contingency_matrix(
    labels_true: ArrayLike, labels_pred: ArrayLike, n_true: int | None = None,
    n_pred: int | None = None,
) -> jax.Array:
    """Counts C[i, j] of points with true class i and predicted cluster j.

    Args:
      labels_true: non-negative int ``[n]``.
      labels_pred: non-negative int ``[n]``.
      n_true, n_pred: numbers of classes/clusters (static); default ``max + 1``,
        which needs concrete labels. Pass them to use the scores under ``jit``.

    Returns:
      float32 ``[n_true, n_pred]`` counts.
    """
    labels_true = _validation.labels(labels_true, "labels_true")
    labels_pred = _validation.labels(labels_pred, "labels_pred", size=labels_true.shape[0])
    counts = {}
    for name, labels, n in (("labels_true", labels_true, n_true),
                            ("labels_pred", labels_pred, n_pred)):
        top = _validation.concrete_max(labels)
        if n is None:
            if top is None:
                raise ValueError(f"{name} are traced: give their number of values "
                                 f"(n_{name[7:]}) to score under jit or vmap.")
            n = top + 1
        n = _validation.positive_int(n, f"n_{name[7:]}")
        if top is not None and top >= n:
            raise ValueError(f"{name} reach {top} but only {n} values were declared.")
        counts[name] = n
    n_true, n_pred = counts["labels_true"], counts["labels_pred"]
    valid = _validation.in_range(labels_true, n_true) & _validation.in_range(labels_pred, n_pred)
    return _validation.nan_unless(valid, _contingency(labels_true, labels_pred, n_true, n_pred))


@functools.partial(jax.jit, static_argnums=(2, 3))
def _contingency(labels_true, labels_pred, n_true, n_pred):
    flat = labels_true * n_pred + labels_pred
    counts = jnp.bincount(flat, length=n_true * n_pred)
    return counts.reshape(n_true, n_pred).astype(jnp.float32)


def match_clusters(labels_true: ArrayLike, labels_pred: ArrayLike) -> np.ndarray:
    """The one-to-one map from clusters to classes that agrees with the most points.

    Hungarian algorithm (``scipy.optimize.linear_sum_assignment``) on the contingency
    matrix; runs on the host (not jit-able).

    Returns:
      int ``[n_clusters]``: the class of every cluster, -1 for clusters left without
      one (more clusters than classes).
    """
    counts = np.asarray(contingency_matrix(labels_true, labels_pred), dtype=np.float64)
    rows, cols = scipy.optimize.linear_sum_assignment(counts, maximize=True)
    mapping = np.full(counts.shape[1], -1)
    mapping[cols] = rows
    return mapping


def clustering_accuracy(labels_true: ArrayLike, labels_pred: ArrayLike) -> float:
    """Share of points whose cluster maps to their class under the best one-to-one map.

    The map is :func:`match_clusters`'; clusters left without a class count as wrong.
    Runs on the host (not jit-able).

    Returns:
      Accuracy in [0, 1].
    """
    labels_true, labels_pred = np.asarray(labels_true), np.asarray(labels_pred)
    return float(np.mean(match_clusters(labels_true, labels_pred)[labels_pred] == labels_true))


def _entropy(counts: jax.Array, total: jax.Array) -> jax.Array:
    prob = counts / total
    return -jnp.sum(jnp.where(prob > 0, prob * jnp.log(jnp.where(prob > 0, prob, 1.0)), 0.0))


def normalized_mutual_info(
    labels_true: ArrayLike, labels_pred: ArrayLike, n_true: int | None = None,
    n_pred: int | None = None,
) -> jax.Array:
    """NMI = I(T; P) / ((H(T) + H(P)) / 2), scikit-learn's default (arithmetic mean).

    Two single-cluster labelings score 1, as in scikit-learn.
    """
    return _nmi_from_counts(contingency_matrix(labels_true, labels_pred, n_true, n_pred))


@jax.jit
def _nmi_from_counts(counts):
    total = jnp.sum(counts)
    row, col = jnp.sum(counts, 1), jnp.sum(counts, 0)
    outer = row[:, None] * col[None, :]
    positive = counts > 0
    ratio = jnp.where(positive, counts * total, 1.0) / jnp.where(positive, outer, 1.0)
    mutual_info = jnp.sum(jnp.where(positive, counts / total * jnp.log(ratio), 0.0))
    mutual_info = jnp.maximum(mutual_info, 0.0)
    h_true, h_pred = _entropy(row, total), _entropy(col, total)
    normalizer = jnp.maximum((h_true + h_pred) / 2, jnp.finfo(jnp.float32).eps)
    both_trivial = (h_true == 0) & (h_pred == 0)
    return jnp.where(both_trivial, 1.0, jnp.where(mutual_info > 0, mutual_info / normalizer, 0.0))


def adjusted_rand_index(
    labels_true: ArrayLike, labels_pred: ArrayLike, n_true: int | None = None,
    n_pred: int | None = None,
) -> jax.Array:
    """Adjusted Rand index (Hubert & Arabie 1985), equal to scikit-learn's.

    ARI = (I - E[I]) / (max I - E[I]) with I = sum_ij C(n_ij, 2); identical
    partitions (including two single-cluster ones) score 1.
    """
    return _ari_from_counts(contingency_matrix(labels_true, labels_pred, n_true, n_pred))


@jax.jit
def _ari_from_counts(counts):
    def pairs(c):
        return jnp.sum(c * (c - 1) / 2)

    total = jnp.sum(counts)
    index = pairs(counts)
    sum_rows, sum_cols = pairs(jnp.sum(counts, 1)), pairs(jnp.sum(counts, 0))
    expected = sum_rows * sum_cols / jnp.maximum(total * (total - 1) / 2, 1.0)
    denominator = (sum_rows + sum_cols) / 2 - expected
    safe = jnp.where(denominator == 0, 1.0, denominator)
    return jnp.where(denominator == 0, 1.0, (index - expected) / safe)
