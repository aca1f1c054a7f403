"""On-device batching for jit/scan training loops.

An epoch is a permutation drawn inside the compiled program and reshaped into
``[n_batches, batch_size]``; a ``lax.scan`` over it runs the whole epoch with no Python
loop per batch::

    def epoch(state, key):
        batches = data.epoch_batches(key, x, batch_size=128)
        return jax.lax.scan(train_step, state, batches)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxselforg import _validation

__all__ = ["epoch_batches", "epoch_indices", "sequential_batches"]


def _leading_size(data) -> int:
    sizes = {leaf.shape[0] for leaf in jax.tree.leaves(data)}
    if len(sizes) != 1:
        raise ValueError(f"All arrays must share their first (example) dimension; got {sorted(sizes)}.")
    return sizes.pop()


def epoch_indices(key: jax.Array, n: int, batch_size: int) -> jax.Array:
    """A random permutation of ``range(n)`` as int32 ``[n // batch_size, batch_size]``.

    The last ``n % batch_size`` indices of the permutation are dropped; they differ
    every epoch, so no example is left out systematically.
    """
    batch_size = _validation.positive_int(batch_size, "batch_size")
    if batch_size > n:
        raise ValueError(f"batch_size {batch_size} exceeds the number of examples {n}.")
    n_batches = n // batch_size
    permutation = jax.random.permutation(key, n).astype(jnp.int32)
    return permutation[: n_batches * batch_size].reshape(n_batches, batch_size)


def epoch_batches(key: jax.Array, data, batch_size: int):
    """Shuffles a pytree of arrays (shared first dimension) into batches.

    Returns:
      The same pytree with leaves of shape ``[n // batch_size, batch_size, ...]``.
    """
    index = epoch_indices(key, _leading_size(data), batch_size)
    return jax.tree.map(lambda leaf: jnp.asarray(leaf)[index], data)


def sequential_batches(data, batch_size: int):
    """All examples in order, zero-padded to whole batches, for evaluation.

    Returns:
      ``(batches, mask)``: the pytree with leaves ``[n_batches, batch_size, ...]`` and a
      boolean ``[n_batches, batch_size]`` mask that is False on the padding.
    """
    batch_size = _validation.positive_int(batch_size, "batch_size")
    n = _leading_size(data)
    n_batches = -(-n // batch_size)
    pad = n_batches * batch_size - n

    def batch(leaf):
        leaf = jnp.asarray(leaf)
        leaf = jnp.pad(leaf, [(0, pad)] + [(0, 0)] * (leaf.ndim - 1))
        return leaf.reshape(n_batches, batch_size, *leaf.shape[1:])

    mask = (jnp.arange(n_batches * batch_size) < n).reshape(n_batches, batch_size)
    return jax.tree.map(batch, data), mask
