"""The Gaussian family for EM, and its fit :func:`gaussian_mixture`."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxselforg import _validation
from jaxselforg.mixture import _initial, em
from jaxselforg.mixture.gaussian import densities, initialization, m_steps
from jaxselforg.mixture.gaussian.params import (
    COVARIANCE_TYPES,
    GaussianMixtureParams,
    n_component_parameters,
)

FAMILY = em.register_family(em.Family(
    name="Gaussian", params_type=GaussianMixtureParams, log_density=densities.log_density,
    m_step=m_steps.m_step, n_component_parameters=n_component_parameters,
    sample=densities.sample))


@functools.partial(jax.jit, static_argnames=("k", "covariance_type", "init", "n_init",
                                             "max_iter"))
def _fit(x, key, sample_weight, tol, reg_covar, weights_init, means_init, precisions_init, *,
         k, covariance_type, init, n_init, max_iter):
    def initial_params(key, step_fn):
        return initialization.initial_params(
            key, x, sample_weight, step_fn, k=k, init=init, covariance_type=covariance_type,
            weights_init=weights_init, means_init=means_init, precisions_init=precisions_init)

    return em.fit_restarts(
        FAMILY, initial_params, x, key=key, sample_weight=sample_weight, tol=tol,
        max_iter=max_iter, n_init=n_init,
        settings={"reg_covar": reg_covar, "covariance_type": covariance_type})


def _raise_if_broken(result: em.EMResult, reg_covar) -> None:
    """The host-side check after the compiled fit (spec: never NaN silently)."""
    if not _validation.is_concrete(result.log_likelihood):
        return
    collapsed = np.asarray(result.collapsed)
    log_lik = float(result.log_likelihood)
    if np.isfinite(log_lik) and not collapsed.any():
        return
    advice = (f"Increase reg_covar (now {float(np.asarray(reg_covar)):g}; it is added to "
              "every covariance diagonal), use fewer components, or rescale the data.")
    if collapsed.any():
        if result.covariance_type == "tied":
            which = "The tied covariance"
        else:
            which = f"Component(s) {np.flatnonzero(collapsed).tolist()}"
        raise ValueError(
            f"{which} of the Gaussian mixture collapsed: the covariance is not positive "
            f"definite (Cholesky failed: the precision factor is NaN or Inf), typically "
            f"from duplicate points, a constant feature or a component holding too few "
            f"points. {advice}")
    raise ValueError(f"The Gaussian mixture fit broke down: the mean log-likelihood became "
                     f"{log_lik}. {advice}")


def gaussian_mixture(
    x: ArrayLike,
    k: int,
    *,
    key: jax.Array,
    covariance_type: str = "full",
    tol: ArrayLike = 1e-3,
    max_iter: int = 100,
    reg_covar: ArrayLike = 1e-6,
    init: str = "kmeans",
    n_init: int = 1,
    weights_init: ArrayLike | None = None,
    means_init: ArrayLike | None = None,
    precisions_init: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
) -> em.EMResult:
    """Fits a Gaussian mixture by EM, as ``sklearn.mixture.GaussianMixture``.

    E-step: g_ij = w_j N(x_i; mu_j, Sigma_j) / sum_l w_l N(x_i; mu_l, Sigma_l) (in log
    space). M-step, with n_j = sum_i s_i g_ij: w_j = n_j / sum_l n_l,
    mu_j = sum_i s_i g_ij x_i / n_j and
    Sigma_j = sum_i s_i g_ij (x_i - mu_j)(x_i - mu_j)^T / n_j + reg_covar I (pooled for
    "tied", its diagonal for "diag", the diagonal's mean for "spherical"); see
    :func:`jaxselforg.mixture.gaussian.m_step`. Stops when the mean log-likelihood
    (1 / sum_i s_i) sum_i s_i ln p(x_i) changes by less than ``tol`` or after
    ``max_iter`` iterations.

    Args:
      x: ``[n, d]`` data (may be row-sharded; give padding rows ``sample_weight`` 0).
      k: number of components, ``1 <= k <= n`` (static).
      key: PRNG key for the initialisation. Restart i uses
        ``jax.random.split(key, n_init)[i]`` (``key`` itself when ``n_init == 1``).
      covariance_type: ``"full"``, ``"tied"``, ``"diag"`` or ``"spherical"`` (static).
      tol: absolute tolerance on the change of the mean log-likelihood (traced).
      max_iter: cap on EM iterations (static; sizes the history).
      reg_covar: non-negative value added to every covariance diagonal (traced).
      init: responsibilities to start from, then one M-step, as scikit-learn's
        ``init_params``: ``"kmeans"`` (one-hot labels of :func:`jaxselforg.cluster.kmeans`
        with ``n_init=1``), ``"k-means++"`` (one-hot on k-means++ seeds),
        ``"random"`` (uniform, normalised) or ``"random_from_data"`` (one-hot on k
        random points). Unlike scikit-learn, the one-point inits get weights 1/k
        rather than 1/n, so the initial weights sum to 1.
      n_init: restarts, run as one vmapped program; the highest final log-likelihood
        wins.
      weights_init: optional ``[k]`` initial weights.
      means_init: optional ``[k, d]`` initial means.
      precisions_init: optional initial precision matrices (inverse covariances) in
        scikit-learn's convention: ``[k, d, d]`` ("full"), ``[d, d]`` ("tied"),
        ``[k, d]`` ("diag"), ``[k]`` ("spherical"). With all three ``*_init`` the fit
        starts exactly where scikit-learn's would and ``init`` is unused.
      sample_weight: optional ``[n]`` non-negative point weights; 0 ignores a row.

    Returns:
      An :class:`~jaxselforg.mixture.em.EMResult` (``params`` a
      ``GaussianMixtureParams``); use it with :func:`jaxselforg.mixture.log_likelihood`,
      ``predict_proba``, ``predict``, ``bic``, ``aic`` and ``sample``.

    Raises:
      ValueError: bad arguments (k out of range, NaN/Inf, empty data, an ``*_init`` of
        the wrong shape or value, unknown covariance type or init, tol < 0,
        reg_covar < 0), or a covariance that collapsed during the fit (the message
        names the component and suggests a larger ``reg_covar``).

    Examples:
      >>> x = jax.random.normal(jax.random.key(0), (200, 2))
      >>> gmm = gaussian_mixture(x, 2, key=jax.random.key(1), covariance_type="diag")
      >>> gmm.means.shape, gmm.covariances.shape
      ((2, 2), (2, 2))
    """
    key = _validation.prng_key(key)
    x, k, max_iter, n_init, weights, tol = em._check_fit_arguments(x, k, tol, max_iter, n_init,
                                                                  sample_weight)
    _validation.choice(covariance_type, COVARIANCE_TYPES, "covariance_type")
    _validation.choice(init, initialization.INITS, "init")
    reg_covar = _validation.hyperparameter(reg_covar, "reg_covar")
    d = x.shape[1]
    weights_init = _initial.check_weights_init(weights_init, k, x.dtype)
    means_init = _initial.check_means_init(means_init, k, d, x.dtype)
    precisions_init = initialization.check_precisions_init(precisions_init, k, d,
                                                           covariance_type, x.dtype)
    result = _fit(x, key, weights, jnp.asarray(tol, x.dtype), jnp.asarray(reg_covar, x.dtype),
                  weights_init, means_init, precisions_init, k=k,
                  covariance_type=covariance_type, init=init, n_init=n_init, max_iter=max_iter)
    _raise_if_broken(result, reg_covar)
    return result
