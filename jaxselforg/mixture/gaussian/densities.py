"""Gaussian log densities for every covariance type, through Cholesky factors of the precision.

Sigma_j^{-1} = U_j U_j^T (scikit-learn's ``precisions_cholesky_``), and

    ln N(x; mu_j, Sigma_j) = -d/2 ln(2 pi) + sum_a ln (U_j)_aa - |(x - mu_j)^T U_j|^2 / 2.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax import lax

from jaxselforg import _linalg
from jaxselforg.mixture.gaussian.params import GaussianMixtureParams

_HIGHEST = lax.Precision.HIGHEST
_dot = functools.partial(jnp.matmul, precision=_HIGHEST)


def log_gaussian_prob(x: jax.Array, means: jax.Array, precisions_cholesky: jax.Array,
                      covariance_type: str) -> jax.Array:
    """ln N(x_i; mu_j, Sigma_j) = -d/2 ln(2 pi) + sum_a ln (U_j)_aa - |(x_i - mu_j)^T U_j|^2 / 2.

    As scikit-learn's ``_estimate_log_gaussian_prob``. Every type forms
    y = (x - mu_j) U_j from the difference, one component at a time (memory ``[n, d]``,
    not ``[n, k, d]``): the expanded |x|^2 - 2 x.mu + |mu|^2 loses the small squared
    distances of narrow components (precisions up to 1 / reg_covar) to cancellation in
    float32.

    Args:
      x: ``[n, d]`` data.
      means: ``[k, d]`` component means.
      precisions_cholesky: U, shaped as the covariances of ``covariance_type``.
      covariance_type: one of ``COVARIANCE_TYPES`` (static).

    Returns:
      ``[n, k]`` log densities.
    """
    d = x.shape[1]
    if covariance_type == "full":
        factors = precisions_cholesky
        transform = lambda diff, factor: _dot(diff, factor)
    elif covariance_type == "tied":
        factors = jnp.broadcast_to(precisions_cholesky, (means.shape[0], d, d))
        transform = lambda diff, factor: _dot(diff, factor)
    else:
        factors = precisions_cholesky
        transform = lambda diff, factor: diff * factor

    def quadratic(args):
        mean, factor = args
        y = transform(x - mean, factor)
        return jnp.sum(y * y, axis=1)

    quad = lax.map(quadratic, (means, factors)).T
    if covariance_type in ("full", "tied"):
        log_det = jnp.sum(jnp.log(jnp.diagonal(precisions_cholesky, axis1=-2, axis2=-1)), axis=-1)
    elif covariance_type == "diag":
        log_det = jnp.sum(jnp.log(precisions_cholesky), axis=1)
    else:
        log_det = d * jnp.log(precisions_cholesky)
    return -0.5 * (d * math.log(2 * math.pi) + quad) + log_det


def log_density(params: GaussianMixtureParams, x: jax.Array) -> jax.Array:
    """ln N(x_i; mu_j, Sigma_j) for the mixture's components, ``[n, k]`` (weights not included).

    Args:
      params: the mixture's parameters.
      x: ``[n, d]`` data.

    Returns:
      ``[n, k]`` log densities (:func:`log_gaussian_prob`).
    """
    return log_gaussian_prob(x, params.means, params.precisions_cholesky, params.covariance_type)


def precisions_cholesky(covariances: jax.Array, covariance_type: str) -> jax.Array:
    """U with U U^T = Sigma^{-1} (scikit-learn's ``_compute_precision_cholesky``).

    "full"/"tied": U = L^{-T} for the Cholesky factor L L^T = Sigma (upper triangular);
    "diag"/"spherical": U = 1 / sqrt(sigma^2). A covariance that is not positive definite
    gives NaN (Cholesky) or Inf/NaN (1 / sqrt(variance <= 0)) instead of an exception;
    the host checks afterwards.

    Args:
      covariances: shaped as ``GaussianMixtureParams.covariances`` for the type.
      covariance_type: one of ``COVARIANCE_TYPES`` (static).

    Returns:
      U, shaped as ``covariances``.
    """
    if covariance_type in ("full", "tied"):
        def factor(cov):
            return _linalg.inv_lower(_linalg.cholesky(cov)).T

        return jax.vmap(factor)(covariances) if covariance_type == "full" else factor(covariances)
    return 1.0 / jnp.sqrt(covariances)


def _flip(a):
    return a[..., ::-1, ::-1]


def from_precisions(precisions: jax.Array, covariance_type: str) -> tuple[jax.Array, jax.Array]:
    """``(covariances, precisions_cholesky)`` from precisions P = Sigma^{-1}.

    scikit-learn's ``precisions_init`` convention: U is the reversed Cholesky factor of
    the reversed precision, so that U U^T = P with U upper triangular; Sigma = P^{-1}
    (symmetrised). "diag"/"spherical": sigma^2 = 1 / p and U = sqrt(p).

    Args:
      precisions: shaped as ``GaussianMixtureParams.covariances`` for the type.
      covariance_type: one of ``COVARIANCE_TYPES`` (static).

    Returns:
      ``(covariances, precisions_cholesky)``, both shaped as ``precisions``.
    """
    if covariance_type in ("full", "tied"):
        one_or_many = jax.vmap if covariance_type == "full" else lambda f: f
        factor = _flip(one_or_many(_linalg.cholesky)(_flip(precisions)))
        covariances = one_or_many(_linalg.spd_inverse)(precisions)
        return 0.5 * (covariances + jnp.swapaxes(covariances, -1, -2)), factor
    return 1.0 / precisions, jnp.sqrt(precisions)


def sample(params: GaussianMixtureParams, labels: jax.Array, *, key: jax.Array) -> jax.Array:
    """The family's sampler: x_i = mu_{l_i} + L_{l_i} z_i with z_i ~ N(0, I).

    L_j is the lower Cholesky factor of the covariance (L_j L_j^T = Sigma_j; the standard
    deviations for "diag" and "spherical"), so x_i ~ N(mu_{l_i}, Sigma_{l_i}).

    Args:
      params: means and covariances (the weights are not used).
      labels: ``[n]`` int component index of each point to draw.
      key: PRNG key for the standard normal z ``[n, d]``.

    Returns:
      ``[n, d]`` points of the means' dtype.
    """
    means, cov = params.means, params.covariances
    z = jax.random.normal(key, (labels.shape[0], means.shape[1]), means.dtype)
    if params.covariance_type == "full":
        lower = jax.vmap(_linalg.cholesky)(cov)[labels]
        noise = jnp.einsum("nab,nb->na", lower, z, precision=_HIGHEST)
    elif params.covariance_type == "tied":
        noise = _dot(z, _linalg.cholesky(cov).T)
    elif params.covariance_type == "diag":
        noise = z * jnp.sqrt(cov[labels])
    else:
        noise = z * jnp.sqrt(cov[labels])[:, None]
    return means[labels] + noise
