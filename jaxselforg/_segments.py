"""Weighted sums of the rows of ``x`` by label: the shared step of every prototype update.

k-means, mini-batch k-means, winner-take-all, the batch SOM and the lecture's random
partition all need, for labels l_i in {0, ..., k - 1} and weights s_i,

    S_j = sum_{i : l_i = j} s_i x_i   ([k, d])   and   N_j = sum_{i : l_i = j} s_i   ([k]).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp


def _sums_by_product(x, labels, weights, k):
    # The weights ride in the [n, k] one-hot, not in a weighted [n, d] copy of x.
    onehot = jax.nn.one_hot(labels, k, dtype=x.dtype) * weights[:, None]
    return (jnp.matmul(onehot.T, x, precision=jax.lax.Precision.HIGHEST),
            jnp.sum(onehot, axis=0))


def _segment_sums(x, labels, weights, k):
    # A weighted copy of x costs the CPU 8x the scatter itself (a fresh [n, d] buffer,
    # 58 ms against 7 ms on Fashion-MNIST). Weights of 0 and 1, the usual case (and the
    # padding of a sharded dataset), need none: a zero-weight row gets the label k,
    # which the scatter drops.
    unit = jnp.all((weights == 0) | (weights == 1))
    return (jax.lax.cond(
                unit,
                lambda: jax.ops.segment_sum(x, jnp.where(weights > 0, labels, k), num_segments=k),
                lambda: jax.ops.segment_sum(x * weights[:, None], labels, num_segments=k)),
            jax.ops.segment_sum(weights, labels, num_segments=k))


def _sums_by_scatter(x, labels, weights, k):
    sums = jax.custom_batching.custom_vmap(functools.partial(_segment_sums, k=k))

    @sums.def_vmap
    def _batched(axis_size, in_batched, *args):
        # A batched scatter is slow on CPU; batched products read an unbatched x once
        # for all restarts (BENCHMARKS.md: n_init=8 vmapped vs sequential).
        del axis_size
        in_axes = tuple(0 if batched else None for batched in in_batched)
        return (jax.vmap(functools.partial(_sums_by_product, k=k), in_axes=in_axes)(*args),
                (True, True))

    return sums(x, labels, weights)


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
    return jax.lax.platform_dependent(
        x, labels, weights,
        cpu=functools.partial(_sums_by_scatter, k=k),
        default=functools.partial(_sums_by_product, k=k))
