"""Shared mechanics of the transforms: image layout checks and the per-example vmap."""

from __future__ import annotations

from collections.abc import Callable

import jax

from jaxselforg import _validation


def images(x, name: str = "images") -> tuple[jax.Array, bool]:
    """``[n, h, w]`` or ``[n, h, w, c]`` floats in [0, 1] -> ``([n, h, w, c], had_channels)``
    (every transform clips back to [0, 1]; traced values outside it become NaN)."""
    x = _validation.as_float_array(x, name)
    if x.ndim not in (3, 4) or x.shape[0] == 0 or 0 in x.shape[1:3]:
        raise ValueError(f"{name} must be a batch [n, h, w] or [n, h, w, c] with n, h, w >= 1; "
                         f"got shape {tuple(x.shape)}.")
    x = _validation.unit_interval(x, name, "augmentation")
    return (x if x.ndim == 4 else x[..., None]), x.ndim == 4


def per_example(one: Callable[[jax.Array, jax.Array], jax.Array], key: jax.Array,
                x) -> jax.Array:
    """``one(key, image [h, w, c])`` applied to every image with its own key."""
    batch, had_channels = images(x)
    keys = jax.random.split(_validation.prng_key(key), batch.shape[0])
    out = jax.vmap(one)(keys, batch).astype(batch.dtype)
    return out if had_channels else out[..., 0]


def interval(value, name: str, low: float, high: float) -> tuple[float, float]:
    """A ``(min, max)`` pair inside ``[low, high]`` with ``min <= max``."""
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (min, max); got {value!r}.") from None
    if not (low <= a <= b <= high):
        raise ValueError(f"{name} must satisfy {low} <= min <= max <= {high}; got ({a}, {b}).")
    return a, b


def probability(value, name: str = "p") -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1]; got {value}.")
    return value
