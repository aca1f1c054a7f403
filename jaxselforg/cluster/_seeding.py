"""Initial prototypes for k-means, winner-take-all and mixtures.

Every function takes ``(key, x [n, d], k, weights [n])`` and returns ``[k, d]``;
rows with zero weight (padding of a sharded dataset) are never chosen.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxselforg import _segments

INITS = ("k-means++", "random", "random-partition")


def random_indices(key: jax.Array, k: int, weights: jax.Array) -> jax.Array:
    """k distinct row indices, drawn with probability proportional to their weight."""
    return jax.random.choice(key, weights.shape[0], (k,), replace=False,
                             p=weights / jnp.sum(weights))


def random_samples(key: jax.Array, x: jax.Array, k: int, weights: jax.Array) -> jax.Array:
    """k distinct data points, drawn with probability proportional to their weight."""
    return x[random_indices(key, k, weights)]


def random_partition(key: jax.Array, x: jax.Array, k: int, weights: jax.Array) -> jax.Array:
    """The lecture's initialisation: every object joins a random cluster; centres are means.

    A cluster left empty (possible when n is close to k) takes a random data point.
    """
    label_key, fallback_key = jax.random.split(key)
    labels = jax.random.randint(label_key, (x.shape[0],), 0, k)
    sums, counts = _segments.weighted_sums(x, labels, weights, k)
    fallback = random_samples(fallback_key, x, k, weights)
    return jnp.where(counts[:, None] > 0, sums / jnp.maximum(counts, 1e-30)[:, None], fallback)


def kmeans_plusplus(
    key: jax.Array,
    x: jax.Array,
    k: int,
    weights: jax.Array,
    sq_distances: Callable[[jax.Array, jax.Array], jax.Array],
    n_local_trials: int | None = None,
) -> jax.Array:
    """Greedy k-means++ (Arthur & Vassilvitskii 2007; scikit-learn's variant): ``[k, d]``.

    The first centre is a random point; each next one is the best, by the resulting
    potential sum_i w_i min_j D(x_i, c_j)^2, of ``2 + log k`` candidates drawn with
    probability proportional to w_i D(x_i)^2.

    Args:
      sq_distances: ``(a [t, d], x [n, d]) -> [t, n]`` squared distances under the
        metric in use.
    """
    return x[kmeans_plusplus_indices(key, x, k, weights, sq_distances, n_local_trials)]


def kmeans_plusplus_indices(key, x, k, weights, sq_distances, n_local_trials=None) -> jax.Array:
    """The rows ``[k]`` that :func:`kmeans_plusplus` picks."""
    n = x.shape[0]
    trials = n_local_trials or 2 + int(math.log(k))
    first_key, key = jax.random.split(key)
    first = jax.random.choice(first_key, n, p=weights / jnp.sum(weights))
    indices = jnp.zeros(k, jnp.int32).at[0].set(first)
    closest = sq_distances(x[first][None], x)[0]

    def add_center(c, carry):
        indices, closest, key = carry
        key, draw_key = jax.random.split(key)
        cumulative = jnp.cumsum(weights * closest)
        draws = jax.random.uniform(draw_key, (trials,)) * cumulative[-1]
        candidates = jnp.minimum(jnp.searchsorted(cumulative, draws), n - 1)
        # Each candidate's new closest distances and the potential they leave.
        candidate_closest = jnp.minimum(closest[None], sq_distances(x[candidates], x))
        best = jnp.argmin(candidate_closest @ weights)
        return indices.at[c].set(candidates[best]), candidate_closest[best], key

    indices, _, _ = jax.lax.fori_loop(1, k, add_center, (indices, closest, key))
    return indices
