"""Diagnostics of an embedding: spread (collapse detection), alignment and uniformity.

All take embeddings and L2-normalize their rows first (a zero row stays zero), so
they describe the directions the contrastive losses compare.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxselforg import _validation
from jaxselforg.contrastive.losses import _embeddings, _unit

__all__ = ["alignment", "embedding_std", "uniformity"]


def embedding_std(z: ArrayLike) -> jax.Array:
    """Mean over dimensions of the batch standard deviation of the unit embeddings.

    std = 1/d sum_j std_i(z_ij / ||z_i||): 0 when every embedding points the same way
    (collapse), about 1/sqrt(d) when they spread over the sphere.

    Args:
      z: ``[n, d]`` embeddings.

    Returns:
      The scalar std.
    """
    return jnp.mean(jnp.std(_unit(_embeddings(z, "z")), axis=0))


def alignment(z_a: ArrayLike, z_b: ArrayLike) -> jax.Array:
    """Mean squared distance of positive pairs' unit embeddings (Wang & Isola 2020).

    align = 1/N sum_i ||u_a_i - u_b_i||^2 with u = z / ||z||; in [0, 4], lower is
    better aligned.
    """
    z_a, z_b = _embeddings(z_a, "z_a"), _embeddings(z_b, "z_b")
    if z_a.shape != z_b.shape:
        raise ValueError(f"z_a and z_b must have the same shape [N, d] (N positive pairs); got "
                         f"{tuple(z_a.shape)} and {tuple(z_b.shape)}.")
    return jnp.mean(jnp.sum((_unit(z_a) - _unit(z_b)) ** 2, axis=1))


def uniformity(z: ArrayLike, t: float = 2.0) -> jax.Array:
    """Log of the mean Gaussian potential between distinct unit embeddings.

    unif = ln 1/(n(n-1)) sum_{i != j} exp(-t ||u_i - u_j||^2) (Wang & Isola 2020, t = 2);
    0 when all coincide (collapse), more negative when spread uniformly.

    Args:
      z: ``[n, d]`` embeddings, n >= 2.
      t: the potential's scale, > 0.

    Raises:
      ValueError: fewer than 2 embeddings, NaN/Inf, or a concrete t <= 0.
    """
    u = _unit(_embeddings(z, "z"))
    n = u.shape[0]
    if n < 2:
        raise ValueError(f"uniformity needs n >= 2 embeddings (pairs of distinct ones); got {n}.")
    t = _validation.hyperparameter(t, "t", strict=True)
    sq = jnp.maximum(2.0 - 2.0 * (u @ u.T), 0.0)
    logits = jnp.where(jnp.eye(n, dtype=bool), -jnp.inf, -t * sq)
    return jax.nn.logsumexp(logits) - jnp.log(n * (n - 1.0))
