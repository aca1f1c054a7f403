"""Row batches of a compiled VAE computation: memory grows with the batch, not with n."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from jaxselforg.data.batching import sequential_batches


def map_batches(fn, x: jax.Array, batch_size: int, key: jax.Array | None = None):
    """``fn(batch)`` (or ``fn(batch, key_i)`` with ``key_i = fold_in(key, i)``) over
    consecutive row batches of ``x``, outputs (a pytree of ``[b, ...]``) joined to ``[n, ...]``."""
    n = x.shape[0]
    batches, _ = sequential_batches(x, min(batch_size, n))
    if key is None:
        out = lax.map(fn, batches)
    else:
        keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(batches.shape[0]))
        out = lax.map(lambda args: fn(*args), (batches, keys))
    return jax.tree.map(lambda leaf: leaf.reshape(-1, *leaf.shape[2:])[:n], out)
