"""Weighted sums of the rows of ``x`` by label: the shared step of every prototype update.

k-means, mini-batch k-means, winner-take-all, the batch SOM and the lecture's random
partition all need, for labels l_i in {0, ..., k - 1} and weights s_i,

    S_j = sum_{i : l_i = j} s_i x_i   ([k, d])   and   N_j = sum_{i : l_i = j} s_i   ([k]).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp


def _sums_by_product(weighted, labels, weights, k):
    onehot = jax.nn.one_hot(labels, k, dtype=weighted.dtype)
    return (jnp.matmul(onehot.T, weighted, precision=jax.lax.Precision.HIGHEST),
            onehot.T @ weights)


def _sums_by_scatter(weighted, labels, weights, k):
    sums = jax.custom_batching.custom_vmap(lambda weighted, labels, weights: (
        jax.ops.segment_sum(weighted, labels, num_segments=k),
        jax.ops.segment_sum(weights, labels, num_segments=k)))

    @sums.def_vmap
    def _batched(axis_size, in_batched, *args):
        # A batched scatter is slow on CPU; batched products read an unbatched x once
        # for all restarts (BENCHMARKS.md: n_init=8 vmapped vs sequential).
        del axis_size
        in_axes = tuple(0 if batched else None for batched in in_batched)
        return (jax.vmap(functools.partial(_sums_by_product, k=k), in_axes=in_axes)(*args),
                (True, True))

    return sums(weighted, labels, weights)


def weighted_sums(x: jax.Array, labels: jax.Array, weights: jax.Array,
                  k: int) -> tuple[jax.Array, jax.Array]:
    """Per-label weighted sums S_j = sum_{l_i = j} s_i x_i and weights N_j = sum_{l_i = j} s_i.

    On CPU a segment sum (one pass over ``x``, faster there than the matrix product)
    unless vmapped; elsewhere, and for a batch of fits, one ``[k, n] x [n, d]`` product,
    which accelerators run at full speed where a scatter into k rows would serialise.
    Either way, on a row-sharded ``x`` the compiler reduces the sums across devices.

    Args:
      x: ``[n, d]`` rows.
      labels: ``[n]`` integer labels in ``[0, k)``.
      weights: ``[n]`` row weights s_i (0 drops a row).
      k: number of labels (static).

    Returns:
      ``(sums [k, d], totals [k])``; a label no row has gets zeros.
    """
    weighted = x * weights[:, None]
    return jax.lax.platform_dependent(
        weighted, labels, weights,
        cpu=functools.partial(_sums_by_scatter, k=k),
        default=functools.partial(_sums_by_product, k=k))
