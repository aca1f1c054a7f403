"""Synthetic 2-D (and n-D) point sets for tests and the lecture's SOM pictures."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxselforg import _validation

__all__ = ["blobs", "ring", "uniform_disc", "uniform_square"]


def blobs(
    key: jax.Array,
    n: int,
    centers: int | ArrayLike = 3,
    *,
    dim: int = 2,
    std: ArrayLike = 1.0,
    box: tuple[float, float] = (-10.0, 10.0),
) -> tuple[jax.Array, jax.Array]:
    """Isotropic Gaussian blobs (scikit-learn's ``make_blobs``).

    Args:
      key: PRNG key.
      n: number of points (static).
      centers: number of blobs, drawn uniformly in ``box``, or their ``[k, dim]`` centres.
      dim: dimension when ``centers`` is a number.
      std: standard deviation of every blob.
      box: range of the random centres.

    Returns:
      ``(x, labels)``: ``[n, dim]`` points and int32 ``[n]`` blob indices, balanced
      (point i belongs to blob ``i % k``).

    Raises:
      ValueError: ``n`` or ``centers`` not a positive integer, bad centres, a box that
        is not ``(low, high)`` with low < high, or a (concrete) ``std`` that is
        negative, NaN or Inf.
    """
    key = _validation.prng_key(key)
    n = _validation.positive_int(n, "n")
    std = _validation.hyperparameter(std, "std", minimum=0.0)
    if not (isinstance(box, tuple | list) and len(box) == 2 and box[0] < box[1]):
        raise ValueError(f"box must be (low, high) with low < high; got {box!r}.")
    center_key, noise_key = jax.random.split(key)
    if isinstance(centers, (int, np.integer)):
        k = _validation.positive_int(centers, "centers")
        centers = jax.random.uniform(center_key, (k, _validation.positive_int(dim, "dim")),
                                     minval=box[0], maxval=box[1])
    else:
        centers = _validation.matrix(centers, "centers")
    labels = jnp.arange(n, dtype=jnp.int32) % centers.shape[0]
    x = centers[labels] + std * jax.random.normal(noise_key, (n, centers.shape[1]))
    return x, labels


def uniform_square(key: jax.Array, n: int, *, low: float = 0.0, high: float = 1.0) -> jax.Array:
    """``[n, 2]`` points uniform on the square ``[low, high]^2``."""
    key = _validation.prng_key(key)
    n = _validation.positive_int(n, "n")
    if not low < high:
        raise ValueError(f"need low < high; got low={low}, high={high}.")
    return jax.random.uniform(key, (n, 2), minval=low, maxval=high)


def _annulus(key, n, inner, outer):
    radius_key, angle_key = jax.random.split(key)
    # Uniform in area: r^2 is uniform between inner^2 and outer^2.
    u = jax.random.uniform(radius_key, (n,))
    radius = jnp.sqrt(inner**2 + u * (outer**2 - inner**2))
    angle = jax.random.uniform(angle_key, (n,), maxval=2 * jnp.pi)
    return jnp.stack([radius * jnp.cos(angle), radius * jnp.sin(angle)], axis=1)


def uniform_disc(key: jax.Array, n: int, *, radius: float = 1.0) -> jax.Array:
    """``[n, 2]`` points uniform on the disc of ``radius`` centred at the origin."""
    key = _validation.prng_key(key)
    n = _validation.positive_int(n, "n")
    if not radius > 0:
        raise ValueError(f"radius must be > 0; got {radius}.")
    return _annulus(key, n, 0.0, radius)


def ring(key: jax.Array, n: int, *, inner: float = 0.5, outer: float = 1.0) -> jax.Array:
    """``[n, 2]`` points uniform on the annulus ``inner <= |x| <= outer``."""
    key = _validation.prng_key(key)
    n = _validation.positive_int(n, "n")
    if not 0 <= inner < outer:
        raise ValueError(f"need 0 <= inner < outer; got inner={inner}, outer={outer}.")
    return _annulus(key, n, inner, outer)
