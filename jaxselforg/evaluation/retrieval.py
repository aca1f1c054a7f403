"""Retrieval metrics of an embedding: precision@1, R-precision and MAP@R.

With the definitions of pytorch-metric-learning's ``AccuracyCalculator`` (Musgrave,
Belongie & Lim, A Metric Learning Reality Check, ECCV 2020): for a query q with
label y_q, R is the number of references with label y_q (the query itself left
out when queries and references are the same set), and the references are ranked
by distance to q. Then

    precision@1 = [label of the nearest reference = y_q],
    R-precision = r / R, r = same-label references among the R nearest,
    MAP@R       = (1 / R) sum_{i=1}^{R} P(i) rel(i),

with rel(i) = 1 when the i-th nearest has label y_q and P(i) the precision among
the i nearest; each is averaged over the queries (queries with R = 0, whose class
has no other reference, are left out of all three).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxselforg import _validation, distances

__all__ = ["RetrievalMetrics", "retrieval_metrics"]


class RetrievalMetrics(NamedTuple):
    """Attributes: ``precision_at_1``, ``r_precision``, ``map_at_r`` (each in [0, 1])
    and ``n_queries`` (the queries scored: those with R >= 1)."""

    precision_at_1: float
    r_precision: float
    map_at_r: float
    n_queries: int


@jax.jit
def _scores(relevant, r):
    """``relevant [n, k]`` bool (nearest first), ``r [n]`` >= 1 -> the three means."""
    position = jnp.arange(1, relevant.shape[1] + 1)
    within = position[None, :] <= r[:, None]
    hits = relevant & within
    precision_at_i = jnp.cumsum(hits, axis=1) / position[None, :]
    r_precision = jnp.sum(hits, axis=1) / r
    map_at_r = jnp.sum(jnp.where(hits, precision_at_i, 0.0), axis=1) / r
    return jnp.mean(relevant[:, 0]), jnp.mean(r_precision), jnp.mean(map_at_r)


def retrieval_metrics(query_features: ArrayLike, query_labels: ArrayLike,
                      reference_features: ArrayLike | None = None,
                      reference_labels: ArrayLike | None = None, *,
                      metric: str = "euclidean") -> RetrievalMetrics:
    """Precision@1, R-precision and MAP@R of queries against references (module docstring).

    Args:
      query_features, query_labels: ``[n, d]`` and ``[n]`` integers.
      reference_features, reference_labels: ``[m, d]`` and ``[m]``; default: the
        queries themselves (each query then excluded from its own ranking).
      metric: any of ``distances.METRICS`` (``"euclidean"``, ``"cosine"``, ...).

    Returns:
      A :class:`RetrievalMetrics`.

    Raises:
      ValueError: bad shapes or labels, only one of the reference arguments, or no
        query with a same-label reference.
    """
    queries = _validation.matrix(query_features, "query_features")
    q_labels = np.asarray(_validation.labels(query_labels, "query_labels",
                                             size=queries.shape[0]))
    same = reference_features is None
    if same != (reference_labels is None):
        raise ValueError("Give both reference_features and reference_labels, or neither "
                         "(the queries are then their own references).")
    if same:
        references, r_labels = queries, q_labels
    else:
        references = _validation.matrix(reference_features, "reference_features",
                                        features=queries.shape[1])
        r_labels = np.asarray(_validation.labels(reference_labels, "reference_labels",
                                                 size=references.shape[0]))
    counts = np.bincount(r_labels, minlength=max(q_labels.max(), r_labels.max()) + 1)
    r = counts[q_labels] - (1 if same else 0)
    scored = r >= 1
    if not scored.any():
        raise ValueError("No query has a reference of its own label (R = 0 for all).")
    k = int(r.max()) + (1 if same else 0)
    index, _ = distances.k_nearest(queries, references, k, metric)
    index = np.asarray(index)
    if same:  # drop each query from its own ranking (it need not come first on ties)
        keep = index != np.arange(len(index))[:, None]
        order = np.argsort(~keep, axis=1, kind="stable")[:, : k - 1]
        index = np.take_along_axis(index, order, axis=1)
    relevant = r_labels[index] == q_labels[:, None]
    p1, r_precision, map_at_r = _scores(jnp.asarray(relevant[scored]), jnp.asarray(r[scored]))
    return RetrievalMetrics(float(p1), float(r_precision), float(map_at_r), int(scored.sum()))
