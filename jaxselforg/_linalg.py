"""Dense linear algebra that never issues a batched LAPACK call.

jaxlib's CPU kernels for batched LAPACK routines (``jnp.linalg.cholesky`` on a stack
of matrices, ``inv``, ``solve_triangular``) fan the batch out over XLA's intra-op
thread pool and block until it is done. When two such kernels run concurrently,
each can hold a pool thread while waiting for tasks queued behind the other: on a
2-core machine both threads wait and the program hangs forever (seen with jaxlib
0.10.2: a Gaussian-mixture fit whose cholesky and inv were independent).

The functions here take one matrix; under ``vmap`` (any depth) their batching rule
loops over the stack with ``lax.map`` instead of calling the batched kernel, so every
LAPACK call works on a single matrix and runs inline. On accelerators the loop costs
little next to the ``[n, d] x [d, d]`` products these factors feed.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax


def _one_at_a_time(fn):
    """Wraps a one-matrix function so that vmap loops over matrices instead of batching."""
    wrapped = jax.custom_batching.custom_vmap(fn)

    @wrapped.def_vmap
    def _loop(axis_size, in_batched, *args):
        args = tuple(a if batched else jnp.broadcast_to(a, (axis_size,) + a.shape)
                     for a, batched in zip(args, in_batched))
        return lax.map(lambda xs: wrapped(*xs), args), True

    return wrapped


@_one_at_a_time
def cholesky(a: jax.Array) -> jax.Array:
    """Lower Cholesky factor of one symmetric positive-definite ``[d, d]`` matrix (NaN if not)."""
    return jnp.linalg.cholesky(a)


@_one_at_a_time
def inv_lower(lower: jax.Array) -> jax.Array:
    """Inverse ``[d, d]`` of one lower-triangular matrix."""
    eye = jnp.eye(lower.shape[-1], dtype=lower.dtype)
    return jax.scipy.linalg.solve_triangular(lower, eye, lower=True)


def spd_inverse(a: jax.Array) -> jax.Array:
    """Inverse of one symmetric positive-definite matrix, through its Cholesky factor."""
    inverse_lower = inv_lower(cholesky(a))
    return inverse_lower.T @ inverse_lower
