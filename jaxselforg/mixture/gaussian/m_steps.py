"""The Gaussian M-step for every covariance type, numerically as scikit-learn.

For responsibilities g_ij and sample weights s_i, with n_j = sum_i s_i g_ij + 10 eps:

    w_j = n_j / sum_l n_l,        mu_j = sum_i s_i g_ij x_i / n_j,
    Sigma_j = sum_i s_i g_ij (x_i - mu_j)(x_i - mu_j)^T / n_j + reg_covar I   ("full"),
    Sigma   = sum_j n_j Sigma_j' / sum_j n_j + reg_covar I                      ("tied"),
    sigma_j^2 = diag of the full one (+ reg_covar)                              ("diag"),
    sigma_j^2 = mean over features of the diagonal one                          ("spherical"),

as scikit-learn's ``_estimate_gaussian_parameters`` (Sigma_j' is the unregularised
full covariance). The sums over points are written as differences from the component
mean (not E[x x^T] - mu mu^T) so float32 does not lose the small variances to
cancellation.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from jaxselforg import _rows
from jaxselforg.mixture.gaussian import densities
from jaxselforg.mixture.gaussian.params import GaussianMixtureParams

_HIGHEST = lax.Precision.HIGHEST
_dot = functools.partial(jnp.matmul, precision=_HIGHEST)


def _covariances(x, resp, nk, means, reg_covar, covariance_type):
    d = x.shape[1]
    if covariance_type in ("full", "tied"):
        def scatter(args):
            r, mean = args
            diff = x - mean
            return _dot((r[:, None] * diff).T, diff)

        scatters = lax.map(scatter, (resp.T, means))  # [k, d, d]
        eye = reg_covar * jnp.eye(d, dtype=x.dtype)
        if covariance_type == "full":
            return scatters / nk[:, None, None] + eye
        return jnp.sum(scatters, axis=0) / jnp.sum(nk) + eye

    def spread(x_rows, resp_rows):  # sum_i r_ij (x_id - mu_jd)^2 over a block of rows
        return jnp.einsum("bk,bkd->kd", resp_rows, jnp.square(x_rows[:, None, :] - means),
                          precision=_HIGHEST)

    variances = _rows.sum_over_rows(spread, x, resp) / nk[:, None] + reg_covar  # [k, d]
    return variances if covariance_type == "diag" else jnp.mean(variances, axis=1)


def m_step(
    x: jax.Array,
    resp: jax.Array,
    sample_weight: jax.Array,
    *,
    reg_covar: ArrayLike,
    covariance_type: str,
) -> GaussianMixtureParams:
    """The Gaussian M-step: weights, means and covariances from responsibilities.

    With n_j = sum_i s_i g_ij + 10 eps: w_j = n_j / sum_l n_l,
    mu_j = sum_i s_i g_ij x_i / n_j, and
    Sigma_j = sum_i s_i g_ij (x_i - mu_j)(x_i - mu_j)^T / n_j + reg_covar I ("full";
    "tied" pools them weighted by n_j, "diag" keeps the diagonal, "spherical" its mean
    over features), as scikit-learn's ``_estimate_gaussian_parameters``.

    Args:
      x: ``[n, d]`` data.
      resp: ``[n, k]`` responsibilities g_ij.
      sample_weight: ``[n]`` weights s_i.
      reg_covar: added to every covariance diagonal (traced).
      covariance_type: one of ``COVARIANCE_TYPES`` (static).

    Returns:
      The maximising ``GaussianMixtureParams`` (with their precision Cholesky factors).
    """
    resp = resp * sample_weight[:, None]
    nk = jnp.sum(resp, axis=0) + 10 * jnp.finfo(x.dtype).eps
    means = _dot(resp.T, x) / nk[:, None]
    covariances = _covariances(x, resp, nk, means, reg_covar, covariance_type)
    return GaussianMixtureParams(nk / jnp.sum(nk), means, covariances,
                                 densities.precisions_cholesky(covariances, covariance_type),
                                 covariance_type)
