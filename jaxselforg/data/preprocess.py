"""Preprocessing: scaling, flattening, standardization, binarization, PCA."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxselforg import _validation

__all__ = [
    "PCA",
    "binarize",
    "dynamic_binarize",
    "flatten",
    "pca",
    "pca_project",
    "standardize",
    "to_unit_range",
]


def to_unit_range(images: ArrayLike) -> jax.Array:
    """uint8 pixels 0..255 -> float32 in [0, 1].

    Raises:
      ValueError: if ``images`` is not uint8 (floats are assumed to be scaled already;
        pass them on directly).
    """
    images = jnp.asarray(images)
    if images.dtype != jnp.uint8:
        raise ValueError(f"to_unit_range expects uint8 pixels 0..255; got dtype {images.dtype}.")
    return images.astype(jnp.float32) / 255.0


def flatten(images: ArrayLike) -> jax.Array:
    """``[n, h, w, ...]`` -> ``[n, h * w * ...]``."""
    images = jnp.asarray(images)
    if images.ndim < 2:
        raise ValueError(f"flatten expects [n, ...] with at least 2 dims; got {images.shape}.")
    return images.reshape(images.shape[0], -1)


def standardize(
    x: ArrayLike, mean: ArrayLike | None = None, std: ArrayLike | None = None
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per-feature z-scores (x - mean) / std.

    Statistics default to those of ``x``; pass the training set's to transform test
    data the same way. Constant features (std 0) are centred and left at zero.

    Args:
      x: ``[n, d]`` data.
      mean: optional ``[d]`` means.
      std: optional ``[d]`` standard deviations.

    Returns:
      ``(z, mean, std)`` with ``z`` of shape ``[n, d]``.
    """
    x = _validation.matrix(x, "x")
    mean = jnp.mean(x, axis=0) if mean is None else _validation.vector(mean, "mean", size=x.shape[1])
    std = (jnp.std(x, axis=0) if std is None else
           _validation.hyperparameter(_validation.vector(std, "std", size=x.shape[1]), "std"))
    # A constant feature's computed std is rounding noise of order n * eps * |mean|
    # (scikit-learn's _is_constant_feature reasons the same way): treat it as 0.
    constant = std <= x.shape[0] * jnp.finfo(x.dtype).eps * jnp.abs(mean)
    z = (x - mean) / jnp.where(constant, 1.0, std)
    return jnp.where(constant, 0.0, z), mean, std


def binarize(x: ArrayLike, threshold: ArrayLike = 0.5) -> jax.Array:
    """Static binarization: 1.0 where ``x > threshold``, else 0.0 (same dtype as x).

    Args:
      x: intensities in [0, 1] (any shape).
      threshold: a finite number (may be traced).

    Raises:
      ValueError: (concrete) values outside [0, 1] or NaN, e.g. uint8 pixels 0..255,
        or a NaN/Inf threshold.
    """
    x = _validation.unit_interval(x, "x", "binarize")
    threshold = _validation.hyperparameter(threshold, "threshold", minimum=-jnp.inf)
    # A comparison turns NaN into 0: traced bad values (NaN, see unit_interval) stay NaN.
    return _validation.nan_unless(~jnp.isnan(x) & jnp.isfinite(threshold),
                                  (x > threshold).astype(x.dtype))


def dynamic_binarize(key: jax.Array, x: ArrayLike) -> jax.Array:
    """Stochastic binarization: each value ``x`` in [0, 1] becomes 1 with probability x.

    Resample every epoch (a new ``key``) for the likelihood numbers of the literature.
    """
    key = _validation.prng_key(key)
    x = _validation.unit_interval(x, "x", "dynamic_binarize")
    # A Bernoulli draw turns NaN into 0: traced bad values (NaN) stay NaN.
    return _validation.nan_unless(~jnp.isnan(x), jax.random.bernoulli(key, x).astype(x.dtype))


class PCA(NamedTuple):
    """A fitted principal component analysis.

    Attributes:
      mean: ``[d]`` data mean.
      components: ``[k, d]`` orthonormal principal axes, by decreasing variance; the
        sign of each makes its largest-magnitude entry positive (deterministic).
      explained_variance: ``[k]`` variance along each axis (ddof = 1, as scikit-learn).
      explained_variance_ratio: ``[k]`` share of the total variance.
    """

    mean: jax.Array
    components: jax.Array
    explained_variance: jax.Array
    explained_variance_ratio: jax.Array


def pca(x: ArrayLike, n_components: int) -> PCA:
    """Principal component analysis by SVD of the centred data.

    Args:
      x: ``[n, d]`` data, ``n >= 2``.
      n_components: number of axes to keep, ``1 <= k <= min(n, d)`` (static).

    Returns:
      A ``PCA`` (use ``pca_project`` to map data onto it).
    """
    x = _validation.at_least_float32(_validation.matrix(x, "x"))
    n, d = x.shape
    k = _validation.positive_int(n_components, "n_components")
    if k > min(n, d) or n < 2:
        raise ValueError(f"n_components must be <= min(n, d) = {min(n, d)} with n >= 2; "
                         f"got {k} for data of shape {x.shape}.")
    mean = jnp.mean(x, axis=0)
    # The SVD runs on data scaled by a power of two (exact): squared singular values of
    # data beyond ~1e19 or below ~1e-19 would leave float32, and the ratio become 0/0.
    scale = _validation.power_of_two_scale(x)
    centred = (x - mean) / scale
    if n > d:  # tall data: the SVD of R from x = QR has x's s and V, 3x sooner on 60k x 784
        centred = jnp.linalg.qr(centred, mode="r")
    _, s, vt = jnp.linalg.svd(centred, full_matrices=False)
    components = vt[:k]
    largest = jnp.take_along_axis(components, jnp.argmax(jnp.abs(components), 1)[:, None], 1)
    components = components * jnp.sign(largest)
    variance = s**2 / (n - 1)  # in units of scale^2
    total = jnp.sum(variance)
    if _validation.is_concrete(total) and not _validation.eager(lambda: bool(total > 0)):
        raise ValueError(f"pca needs data that vary: all {n} rows of x are equal, so there is "
                         "no variance to explain (the explained-variance ratio would be 0/0).")
    return PCA(mean, components, variance[:k] * scale * scale, variance[:k] / total)


def pca_project(x: ArrayLike, fitted: PCA) -> jax.Array:
    """Coordinates ``[n, k]`` of ``x`` along the principal axes of ``fitted``."""
    x = _validation.matrix(x, "x", features=fitted.mean.shape[0])
    return (x - fitted.mean) @ fitted.components.T
