"""Loops over blocks of rows that keep a ``[rows, k, d]`` intermediate in cache.

Computations such as sum_i r_ij (x_id - mu_jd)^2 need every (point, component,
feature) triple; materialising ``[n, k, d]`` costs memory, and a loop over the k
components reads ``x`` k times. Both helpers below visit ``x`` once, a block of rows
at a time (6.6x faster than the per-component loop for a diagonal M-step on
Fashion-MNIST on a 2-core CPU).

Block b holds rows ``b, b + n_blocks, b + 2 n_blocks, ...`` (a strided view of the
``[rows_per_block, n_blocks, ...]`` reshape): on a row-sharded array every device
then reads only its own rows, and no block is gathered across devices.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

BLOCK_ROWS = 100


def _split(arrays, block_rows):
    """``(blocks, tail)``: ``[n_blocks, rows, ...]`` strided blocks and the leftover rows."""
    n = arrays[0].shape[0]
    n_blocks = max(1, n // block_rows)
    rows = n // n_blocks
    m = rows * n_blocks
    blocks = [jnp.swapaxes(a[:m].reshape((rows, n_blocks) + a.shape[1:]), 0, 1) for a in arrays]
    return blocks, [a[m:] for a in arrays] if m < n else None


def sum_over_rows(fn: Callable[..., jax.Array], *arrays: jax.Array,
                  block_rows: int = BLOCK_ROWS) -> jax.Array:
    """The sum over blocks of rows of ``fn(*row_blocks)`` (``fn`` returns a fixed shape)."""
    blocks, tail = _split(arrays, block_rows)
    first = jax.eval_shape(fn, *[b[0] for b in blocks])
    total, _ = lax.scan(lambda acc, block: (acc + fn(*block), None),
                        jnp.zeros(first.shape, first.dtype), blocks)
    return total if tail is None else total + fn(*tail)


def map_rows(fn: Callable[..., Any], *arrays: jax.Array, block_rows: int = BLOCK_ROWS) -> Any:
    """``fn`` applied to blocks of rows: every output leaf ``[n, ...]`` (one row per input row)."""
    blocks, tail = _split(arrays, block_rows)
    out = lax.map(lambda block: fn(*block), blocks)  # leaves [n_blocks, rows, ...]
    out = jax.tree.map(lambda leaf: jnp.swapaxes(leaf, 0, 1).reshape((-1,) + leaf.shape[2:]), out)
    if tail is None:
        return out
    return jax.tree.map(lambda a, b: jnp.concatenate([a, b]), out, fn(*tail))
