"""Input checks for the generative models' eager entry points.

Value checks read concrete arrays on the host with numpy: one transfer, and no
compilation per input shape (an eager ``jnp.min`` compiles for every new shape).
"""

from __future__ import annotations

import jax
import numpy as np
from jax.typing import ArrayLike

from jaxselforg import _validation


def images(x: ArrayLike, image_shape: tuple[int, int], name: str = "images") -> jax.Array:
    """Validates ``[n, h, w]`` float images with values in [0, 1] (range only if concrete)."""
    arr = _validation.as_float_array(x, name)
    h, w = image_shape
    if arr.ndim != 3 or tuple(arr.shape[1:]) != tuple(image_shape) or arr.shape[0] == 0:
        raise ValueError(f"{name} must have shape [n, {h}, {w}] with n >= 1; got "
                         f"{tuple(arr.shape)}.")
    if _validation.is_concrete(arr):
        values = np.asarray(arr)
        low, high = float(np.min(values)), float(np.max(values))
        if not (0.0 <= low and high <= 1.0):  # also False for NaN
            raise ValueError(
                f"{name} must hold values in [0, 1] (pixel intensities or probabilities; "
                f"scale uint8 pixels with jaxselforg.data.to_unit_range); got values in "
                f"[{low}, {high}].")
    return arr


def latents(z: ArrayLike, latent_dim: int, name: str = "z") -> jax.Array:
    """Validates latent codes ``[n, latent_dim]``, finite when concrete."""
    arr = _validation.as_float_array(z, name)
    if arr.ndim != 2 or arr.shape[1] != latent_dim or arr.shape[0] == 0:
        raise ValueError(f"{name} must have shape [n, {latent_dim}] with n >= 1; got "
                         f"{tuple(arr.shape)}.")
    if _validation.is_concrete(arr) and not np.all(np.isfinite(np.asarray(arr))):
        raise ValueError(f"{name} holds NaN or Inf; only finite latent codes are accepted.")
    return arr
