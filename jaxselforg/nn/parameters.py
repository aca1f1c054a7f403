"""Counting a network's trainable parameters."""

from __future__ import annotations

import jax
from flax import nnx

__all__ = ["n_parameters"]


def n_parameters(model: nnx.Module) -> int:
    """The number of trainable values of ``model``: every ``nnx.Param`` leaf's size
    (BatchNorm's running statistics are state, not parameters)."""
    return int(sum(leaf.size for leaf in jax.tree.leaves(nnx.state(model, nnx.Param))))
