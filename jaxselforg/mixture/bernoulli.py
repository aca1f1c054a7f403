"""Bernoulli mixtures for binary images, fitted by EM (lecture section 4).

p(x) = sum_j w_j prod_a mu_ja^x_a (1 - mu_ja)^(1 - x_a) for x in {0, 1}^d, so

    ln F(x, mu_j) = sum_a x_a ln mu_ja + (1 - x_a) ln(1 - mu_ja).

M-step, for responsibilities g_ij and sample weights s_i, with n_j = sum_i s_i g_ij:

    w_j = (n_j + 10 eps) / sum_l (n_l + 10 eps),
    mu_ja = (sum_i s_i g_ij x_ia + alpha) / (n_j + 2 alpha).

The ``alpha`` in mu is Laplace (add-alpha) smoothing, the posterior mode under a
Beta(1 + alpha, 1 + alpha) prior on every pixel probability: mu stays strictly inside
(0, 1), so a pixel that is always off in a component (or in the whole data set: a
constant border pixel) never gives ln 0. In float32 the logarithms additionally clip
mu to [eps, 1 - eps]. Because of the prior, EM raises the penalised likelihood
ln P(X) + ln p(mu); for small alpha the log-likelihood itself rises to rounding.

Reference: Bishop, *Pattern Recognition and Machine Learning* (2006), section 9.3.3.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from jaxselforg import _validation
from jaxselforg.mixture import _initial, em

__all__ = [
    "FAMILY",
    "INITS",
    "BernoulliMixtureParams",
    "bernoulli_mixture",
    "log_density",
    "m_step",
    "n_component_parameters",
    "sample",
]

INITS = ("random", "kmeans")
_dot = functools.partial(jnp.matmul, precision=lax.Precision.HIGHEST)


class BernoulliMixtureParams(NamedTuple):
    """The parameters of a Bernoulli mixture.

    Attributes:
      weights: ``[k]`` mixing weights w_j (sum to 1).
      means: ``[k, d]`` pixel probabilities mu_ja = P(x_a = 1 | j), the component means.
    """

    weights: jax.Array
    means: jax.Array


def _log_means(means):
    """(ln mu, ln(1 - mu)), with mu clipped to [eps, 1 - eps] so neither is -inf."""
    eps = jnp.finfo(means.dtype).eps
    clipped = jnp.clip(means, eps, 1.0 - eps)
    return jnp.log(clipped), jnp.log1p(-clipped)


def log_density(params: BernoulliMixtureParams, x: jax.Array) -> jax.Array:
    """ln F(x_i, mu_j) = sum_a [x_ia ln mu_ja + (1 - x_ia) ln(1 - mu_ja)].

    Two matrix products; mu is clipped to [eps, 1 - eps] inside the logarithms.

    Args:
      params: the mixture's parameters.
      x: ``[n, d]`` binary (or fractional, as soft counts) data.

    Returns:
      ``[n, k]`` log densities (the weights are not included).
    """
    log_on, log_off = _log_means(params.means)
    return _dot(x, log_on.T) + _dot(1.0 - x, log_off.T)


def m_step(x: jax.Array, resp: jax.Array, sample_weight: jax.Array, *,
           alpha: ArrayLike) -> BernoulliMixtureParams:
    """The smoothed M-step: weighted pixel means with add-alpha smoothing (``alpha`` traced).

    With n_j = sum_i s_i g_ij: w_j = (n_j + 10 eps) / sum_l (n_l + 10 eps) and
    mu_ja = (sum_i s_i g_ij x_ia + alpha) / (n_j + 2 alpha).

    Args:
      x: ``[n, d]`` binary data.
      resp: ``[n, k]`` responsibilities g_ij.
      sample_weight: ``[n]`` weights s_i.
      alpha: smoothing pseudo-count, > 0.

    Returns:
      The ``BernoulliMixtureParams`` maximising the penalised expected log-likelihood.
    """
    resp = resp * sample_weight[:, None]
    nk = jnp.sum(resp, axis=0)
    means = (_dot(resp.T, x) + alpha) / (nk + 2.0 * alpha)[:, None]
    counts = nk + 10 * jnp.finfo(x.dtype).eps
    return BernoulliMixtureParams(counts / jnp.sum(counts), means)


def n_component_parameters(params: BernoulliMixtureParams) -> int:
    """The components' free parameters: k d pixel probabilities (the weights not counted).

    Args:
      params: the mixture's parameters.

    Returns:
      k d, a Python int.
    """
    k, d = params.means.shape
    return k * d


def sample(params: BernoulliMixtureParams, labels: jax.Array, *, key: jax.Array) -> jax.Array:
    """The family's sampler: one binary image per label, x_ia ~ Bernoulli(mu_{l_i a}).

    Every pixel is drawn independently given the image's component l_i.

    Args:
      params: pixel probabilities ``means`` ``[k, d]`` (the weights are not used).
      labels: ``[n]`` int component index of each image to draw.
      key: PRNG key for the n d pixel draws.

    Returns:
      ``[n, d]`` images with values in {0, 1}, of the means' dtype.
    """
    return jax.random.bernoulli(key, params.means[labels]).astype(params.means.dtype)


def _check_binary_range(x, name="x"):
    if not _validation.is_concrete(x):
        return _validation.unit_interval(x, name, "a Bernoulli mixture")  # NaN outside
    if _validation.eager(lambda: bool(jnp.any((x < 0) | (x > 1)))):
        raise ValueError(f"{name} must lie in [0, 1] (binary pixels, e.g. from "
                         "data.binarize); got values outside.")
    return x


FAMILY = em.register_family(em.Family(
    name="Bernoulli", params_type=BernoulliMixtureParams, log_density=log_density,
    m_step=m_step, n_component_parameters=n_component_parameters, sample=sample,
    check_data=_check_binary_range))


@functools.partial(jax.jit, static_argnames=("k", "init", "n_init", "max_iter"))
def _fit(x, key, sample_weight, tol, alpha, weights_init, means_init, *, k, init, n_init,
         max_iter):
    def initial_params(key, step_fn):
        if weights_init is not None and means_init is not None:
            return BernoulliMixtureParams(weights_init, means_init)
        params = step_fn(x, _initial.responsibilities(key, x, sample_weight, k, init),
                         sample_weight)
        if weights_init is not None:
            params = params._replace(weights=weights_init)
        if means_init is not None:
            params = params._replace(means=means_init)
        return params

    return em.fit_restarts(
        FAMILY, initial_params, x, key=key, sample_weight=sample_weight, tol=tol,
        max_iter=max_iter, n_init=n_init, settings={"alpha": alpha})


def bernoulli_mixture(
    x: ArrayLike,
    k: int,
    *,
    key: jax.Array,
    tol: ArrayLike = 1e-3,
    max_iter: int = 100,
    alpha: ArrayLike = 1e-2,
    init: str = "random",
    n_init: int = 1,
    weights_init: ArrayLike | None = None,
    means_init: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
) -> em.EMResult:
    """Fits a mixture of independent Bernoulli pixels by EM.

    p(x) = sum_j w_j F(x, mu_j) with ln F(x, mu_j) = sum_a x_a ln mu_ja +
    (1 - x_a) ln(1 - mu_ja). E-step: g_ij = w_j F(x_i, mu_j) / sum_l w_l F(x_i, mu_l) in
    log space; M-step, with n_j = sum_i s_i g_ij: w_j proportional to n_j + 10 eps and
    mu_ja = (sum_i s_i g_ij x_ia + alpha) / (n_j + 2 alpha) (:func:`m_step`). Stops when
    the mean log-likelihood changes by less than ``tol`` or after ``max_iter``
    iterations.

    Args:
      x: ``[n, d]`` binary data (values in [0, 1]; fractional values act as soft
        counts). May be row-sharded; give padding rows ``sample_weight`` 0.
      k: number of components, ``1 <= k <= n`` (static).
      key: PRNG key for the initialisation. Restart i uses
        ``jax.random.split(key, n_init)[i]`` (``key`` itself when ``n_init == 1``).
      tol: absolute tolerance on the change of the mean log-likelihood (traced).
      max_iter: cap on EM iterations (static; sizes the history).
      alpha: smoothing pseudo-count > 0: mu = (sum g x + alpha) / (sum g + 2 alpha),
        so no pixel probability is ever 0 or 1 (traced).
      init: ``"random"`` (uniform random responsibilities, normalised, then an
        M-step) or ``"kmeans"`` (one-hot labels of :func:`jaxselforg.cluster.kmeans`,
        then an M-step).
      n_init: restarts, run as one vmapped program; the highest final log-likelihood
        wins.
      weights_init: optional ``[k]`` initial weights (replace those of ``init``).
      means_init: optional ``[k, d]`` initial pixel probabilities in [0, 1].
      sample_weight: optional ``[n]`` non-negative point weights; 0 ignores a row.

    Returns:
      An :class:`~jaxselforg.mixture.em.EMResult` (``params`` a
      ``BernoulliMixtureParams``); use it with :func:`jaxselforg.mixture.log_likelihood`,
      ``predict_proba``, ``predict``, ``bic``, ``aic`` and ``sample``.

    Raises:
      ValueError: bad arguments (k out of range, NaN/Inf, values outside [0, 1],
        empty data, an ``*_init`` of the wrong shape or range, unknown init, tol < 0,
        alpha <= 0), or a fit whose log-likelihood became non-finite.

    Examples:
      >>> x = (jax.random.uniform(jax.random.key(0), (100, 16)) < 0.3).astype(jnp.float32)
      >>> bmm = bernoulli_mixture(x, 3, key=jax.random.key(1))
      >>> bmm.means.shape, bool(jnp.all((bmm.means > 0) & (bmm.means < 1)))
      ((3, 16), True)
    """
    key = _validation.prng_key(key)
    x, k, max_iter, n_init, weights, tol = em._check_fit_arguments(x, k, tol, max_iter, n_init,
                                                                  sample_weight)
    x = _check_binary_range(x)
    _validation.choice(init, INITS, "init")
    alpha = _validation.hyperparameter(alpha, "alpha", strict=True,
                                       reason="it keeps every pixel probability off 0 and 1")
    weights_init = _initial.check_weights_init(weights_init, k, x.dtype)
    means_init = _initial.check_means_init(means_init, k, x.shape[1], x.dtype)
    if means_init is not None:
        means_init = _check_binary_range(means_init, "means_init")
    result = _fit(x, key, weights, jnp.asarray(tol, x.dtype), jnp.asarray(alpha, x.dtype),
                  weights_init, means_init, k=k, init=init, n_init=n_init, max_iter=max_iter)
    if _validation.is_concrete(result.log_likelihood) and not np.isfinite(
            float(result.log_likelihood)):
        raise ValueError(f"The Bernoulli mixture fit broke down: the mean log-likelihood "
                         f"became {float(result.log_likelihood)}; check the data and alpha.")
    return result
