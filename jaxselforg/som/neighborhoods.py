"""Neighbourhood functions h(d, sigma) of the lateral distance d between two units.

* ``"gaussian"``: h = exp(-d^2 / (2 sigma^2)), the lecture's cooperation term
  (MiniSom's gaussian, which multiplies the two axes' factors, is the same function).
* ``"mexican_hat"``: h = exp(-d^2 / (2 sigma^2)) (1 - d^2 / sigma^2) (MiniSom's):
  excites units closer than sigma, inhibits those farther away.
* ``"bubble"``: h = 1 for d <= sigma, else 0 (SOM Toolbox and SOM_PAK). MiniSom's
  bubble differs: a square of grid indices with |di|, |dj| < sigma, blind to the
  hexagonal layout.
* ``"triangle"``: h = max(0, 1 - d / sigma), peak 1. MiniSom's differs: a product
  of per-axis triangles in grid indices with peak sigma^2.

sigma may be traced (a schedule evaluates it inside the compiled program).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxselforg import _validation

__all__ = ["NEIGHBORHOODS", "neighborhood"]

NEIGHBORHOODS = ("gaussian", "bubble", "mexican_hat", "triangle")


def neighborhood(distance: ArrayLike, sigma: ArrayLike, kind: str = "gaussian") -> jax.Array:
    """The neighbourhood weight of units at lateral ``distance`` from the winner.

    Args:
      distance: lateral distances d >= 0 (any shape), e.g. a row of
        :func:`jaxselforg.som.lateral_distances`.
      sigma: the neighbourhood width g > 0 (traced).
      kind: one of ``NEIGHBORHOODS``.

    Returns:
      h(d, sigma), the shape of ``distance``.

    Raises:
      ValueError: an unknown kind, or a concrete sigma <= 0.
    """
    _validation.choice(kind, NEIGHBORHOODS, "neighborhood")
    sigma = _validation.hyperparameter(sigma, "sigma", strict=True)
    d = jnp.asarray(distance)
    if not jnp.issubdtype(d.dtype, jnp.floating):
        d = d.astype(jnp.result_type(float))
    sigma = jnp.asarray(sigma, d.dtype)
    if kind == "gaussian":
        return jnp.exp(-(d * d) / (2.0 * sigma * sigma))
    if kind == "mexican_hat":
        ratio = (d * d) / (sigma * sigma)
        return jnp.exp(-0.5 * ratio) * (1.0 - ratio)
    if kind == "bubble":
        return (d <= sigma).astype(d.dtype)
    return jnp.maximum(0.0, 1.0 - d / sigma)
