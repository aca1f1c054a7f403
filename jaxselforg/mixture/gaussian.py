"""Gaussian mixtures fitted by EM (lecture section 4), numerically as scikit-learn.

p(x) = sum_j w_j N(x; mu_j, Sigma_j). The M-step, for responsibilities g_ij and sample
weights s_i, with n_j = sum_i s_i g_ij + 10 eps:

    w_j = n_j / sum_l n_l,        mu_j = sum_i s_i g_ij x_i / n_j,
    Sigma_j = sum_i s_i g_ij (x_i - mu_j)(x_i - mu_j)^T / n_j + reg_covar I   ("full"),
    Sigma   = sum_j n_j Sigma_j' / sum_j n_j + reg_covar I                      ("tied"),
    sigma_j^2 = diag of the full one (+ reg_covar)                              ("diag"),
    sigma_j^2 = mean over features of the diagonal one                          ("spherical"),

as scikit-learn's ``_estimate_gaussian_parameters`` (Sigma_j' is the unregularised
full covariance). The sums over points are written as differences from the component
mean (not E[x x^T] - mu mu^T) so float32 does not lose the small variances to
cancellation. Log densities go through the Cholesky factor U_j of the precision,
Sigma_j^{-1} = U_j U_j^T (scikit-learn's ``precisions_cholesky_``):

    ln N(x; mu_j, Sigma_j) = -d/2 ln(2 pi) + sum_a ln (U_j)_aa - |(x - mu_j)^T U_j|^2 / 2.

If a covariance is not positive definite even with ``reg_covar`` (its Cholesky factor
is NaN), the fit stops and :func:`gaussian_mixture` raises a ``ValueError`` naming the
component, on the host, after the compiled fit.

Reference: Bishop, *Pattern Recognition and Machine Learning* (2006), section 9.2.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from jaxselforg import _linalg, _rows, _validation, cluster, distances
from jaxselforg.cluster import _seeding
from jaxselforg.mixture import em

__all__ = [
    "COVARIANCE_TYPES",
    "INITS",
    "GaussianMixtureParams",
    "GaussianMixtureResult",
    "aic",
    "bic",
    "gaussian_mixture",
    "log_component_prob",
    "log_likelihood",
    "m_step",
    "n_parameters",
    "predict",
    "predict_proba",
    "sample",
]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
INITS = ("kmeans", "k-means++", "random", "random_from_data")
_HIGHEST = lax.Precision.HIGHEST
_dot = functools.partial(jnp.matmul, precision=_HIGHEST)


@functools.partial(jax.tree_util.register_dataclass,
                   data_fields=["weights", "means", "covariances", "precisions_cholesky"],
                   meta_fields=["covariance_type"])
@dataclasses.dataclass(frozen=True)
class GaussianMixtureParams:
    """The parameters of a Gaussian mixture (a pytree; ``covariance_type`` is static).

    Shapes follow scikit-learn's ``GaussianMixture`` attributes.

    Attributes:
      weights: ``[k]`` mixing weights w_j (sum to 1).
      means: ``[k, d]`` component means mu_j.
      covariances: ``[k, d, d]`` ("full"), ``[d, d]`` ("tied"), ``[k, d]`` ("diag") or
        ``[k]`` ("spherical").
      precisions_cholesky: U with Sigma^{-1} = U U^T (upper triangular for "full" and
        "tied", 1 / sqrt(variance) for "diag" and "spherical"); shaped as
        ``covariances``.
      covariance_type: one of ``COVARIANCE_TYPES``.
    """

    weights: jax.Array
    means: jax.Array
    covariances: jax.Array
    precisions_cholesky: jax.Array
    covariance_type: str


class GaussianMixtureResult(NamedTuple):
    """A fitted Gaussian mixture.

    ``result.weights``, ``.means``, ``.covariances``, ``.precisions_cholesky`` and
    ``.covariance_type`` read through to ``result.params``.

    Attributes:
      params: the fitted ``GaussianMixtureParams``.
      n_iter: EM iterations made by the best restart.
      converged: whether its last iteration gained less than ``tol``.
      log_likelihood: mean per-sample log-likelihood of the fitted parameters
        (scikit-learn's ``score(X)``).
      lower_bound: mean log-likelihood at the last E-step (scikit-learn's
        ``lower_bound_``).
      history: ``[max_iter]`` mean log-likelihood at each E-step, NaN after the end.
      restart_log_likelihood: ``[n_init]`` final mean log-likelihood of every restart.
      collapsed: ``[k]`` whether a component's covariance broke down (non-finite
        Cholesky factor). Always all False in a result returned eagerly (a collapse
        raises); check it yourself when tracing the fit inside jit or vmap.
    """

    params: GaussianMixtureParams
    n_iter: jax.Array
    converged: jax.Array
    log_likelihood: jax.Array
    lower_bound: jax.Array
    history: jax.Array
    restart_log_likelihood: jax.Array
    collapsed: jax.Array

    @property
    def weights(self) -> jax.Array:
        return self.params.weights

    @property
    def means(self) -> jax.Array:
        return self.params.means

    @property
    def covariances(self) -> jax.Array:
        return self.params.covariances

    @property
    def precisions_cholesky(self) -> jax.Array:
        return self.params.precisions_cholesky

    @property
    def covariance_type(self) -> str:
        return self.params.covariance_type


# ---------------------------------------------------------------------------
# Densities.


def _log_gaussian_prob(x, means, precisions_cholesky, covariance_type):
    """ln N(x_i; mu_j, Sigma_j), ``[n, k]`` (scikit-learn's ``_estimate_log_gaussian_prob``).

    Every type forms y = (x - mu_j) U_j from the difference, one component at a time
    (memory ``[n, d]``, not ``[n, k, d]``): the expanded |x|^2 - 2 x.mu + |mu|^2 loses
    the small squared distances of narrow components (precisions up to 1 / reg_covar)
    to cancellation in float32.
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


def log_component_prob(params: GaussianMixtureParams, x: jax.Array) -> jax.Array:
    """The log joint ln w_j + ln N(x_i; mu_j, Sigma_j), ``[n, k]`` (EM's family function)."""
    return jnp.log(params.weights) + _log_gaussian_prob(
        x, params.means, params.precisions_cholesky, params.covariance_type)


# ---------------------------------------------------------------------------
# M-step.


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


def _precisions_cholesky(covariances, covariance_type):
    """U with U U^T = Sigma^{-1} (scikit-learn's ``_compute_precision_cholesky``).

    A covariance that is not positive definite gives NaN (Cholesky) or Inf/NaN
    (1 / sqrt(variance <= 0)) instead of an exception; the host checks afterwards.
    """
    if covariance_type in ("full", "tied"):
        def factor(cov):
            return _linalg.inv_lower(_linalg.cholesky(cov)).T

        return jax.vmap(factor)(covariances) if covariance_type == "full" else factor(covariances)
    return 1.0 / jnp.sqrt(covariances)


def m_step(
    x: jax.Array,
    resp: jax.Array,
    sample_weight: jax.Array,
    *,
    reg_covar: ArrayLike,
    covariance_type: str,
) -> GaussianMixtureParams:
    """The M-step (module docstring); EM's family function once the keywords are bound.

    Args:
      x: ``[n, d]`` data.
      resp: ``[n, k]`` responsibilities g_ij.
      sample_weight: ``[n]`` weights s_i.
      reg_covar: added to every covariance diagonal (traced).
      covariance_type: one of ``COVARIANCE_TYPES`` (static).

    Returns:
      The maximising ``GaussianMixtureParams``.
    """
    resp = resp * sample_weight[:, None]
    nk = jnp.sum(resp, axis=0) + 10 * jnp.finfo(x.dtype).eps
    means = _dot(resp.T, x) / nk[:, None]
    covariances = _covariances(x, resp, nk, means, reg_covar, covariance_type)
    return GaussianMixtureParams(nk / jnp.sum(nk), means, covariances,
                                 _precisions_cholesky(covariances, covariance_type),
                                 covariance_type)


# ---------------------------------------------------------------------------
# Initialisation.


def _one_hot_rows(index, n, k, dtype):
    """Responsibilities that give component j all of point ``index[j]`` and nothing else."""
    return jnp.zeros((n, k), dtype).at[index, jnp.arange(k)].set(1.0)


def _initial_responsibilities(key, x, sample_weight, k, init):
    """scikit-learn's ``init_params`` choices, each as responsibilities ``[n, k]``."""
    n = x.shape[0]
    if init == "kmeans":
        labels = cluster.kmeans(x, k, key=key, n_init=1, sample_weight=sample_weight).labels
        return jax.nn.one_hot(labels, k, dtype=x.dtype)
    if init == "random":
        resp = jax.random.uniform(key, (n, k), x.dtype)
        return resp / jnp.sum(resp, axis=1, keepdims=True)
    if init == "random_from_data":
        index = _seeding.random_indices(key, k, sample_weight)
    else:
        index = _seeding.kmeans_plusplus_indices(
            key, x, k, sample_weight, lambda a, b: distances.pairwise(a, b, "sqeuclidean"))
    return _one_hot_rows(index, n, k, x.dtype)


def _flip(a):
    return a[..., ::-1, ::-1]


def _from_precisions(precisions, covariance_type):
    """``(covariances, precisions_cholesky)`` from precision matrices (scikit-learn's
    ``precisions_init`` convention; U is the reversed Cholesky factor of the reversed
    precision, so that U U^T = precision with U upper triangular)."""
    if covariance_type in ("full", "tied"):
        one_or_many = jax.vmap if covariance_type == "full" else lambda f: f
        factor = _flip(one_or_many(_linalg.cholesky)(_flip(precisions)))
        covariances = one_or_many(_linalg.spd_inverse)(precisions)
        return 0.5 * (covariances + jnp.swapaxes(covariances, -1, -2)), factor
    return 1.0 / precisions, jnp.sqrt(precisions)


def _initial_params(key, x, sample_weight, step_fn, *, k, init, covariance_type,
                    weights_init, means_init, precisions_init):
    """As scikit-learn's ``_initialize_parameters``: responsibilities from ``init`` and one
    M-step, then every ``*_init`` given replaces its part (all three given: no M-step)."""
    if weights_init is not None and means_init is not None and precisions_init is not None:
        covariances, factor = _from_precisions(precisions_init, covariance_type)
        return GaussianMixtureParams(weights_init, means_init, covariances, factor,
                                     covariance_type)
    params = step_fn(x, _initial_responsibilities(key, x, sample_weight, k, init), sample_weight)
    if weights_init is not None:
        params = dataclasses.replace(params, weights=weights_init)
    if means_init is not None:
        params = dataclasses.replace(params, means=means_init)
    if precisions_init is not None:
        covariances, factor = _from_precisions(precisions_init, covariance_type)
        params = dataclasses.replace(params, covariances=covariances, precisions_cholesky=factor)
    return params


# ---------------------------------------------------------------------------
# The fit.


def _collapsed(params: GaussianMixtureParams) -> jax.Array:
    factor = params.precisions_cholesky
    k = params.weights.shape[0]
    if params.covariance_type == "tied":
        return jnp.full((k,), ~jnp.all(jnp.isfinite(factor)))
    return ~jnp.all(jnp.isfinite(factor.reshape(k, -1)), axis=1)


@functools.partial(jax.jit, static_argnames=("k", "covariance_type", "init", "n_init",
                                             "max_iter"))
def _fit(x, key, sample_weight, tol, reg_covar, weights_init, means_init, precisions_init, *,
         k, covariance_type, init, n_init, max_iter):
    step_fn = functools.partial(m_step, reg_covar=reg_covar, covariance_type=covariance_type)

    def fit_one(key):
        params = _initial_params(key, x, sample_weight, step_fn, k=k, init=init,
                                 covariance_type=covariance_type, weights_init=weights_init,
                                 means_init=means_init, precisions_init=precisions_init)
        return em.run(params, x, log_component_prob=log_component_prob, m_step=step_fn, tol=tol,
                      max_iter=max_iter, sample_weight=sample_weight)

    best, restart_log_likelihood = em.best_of_restarts(fit_one, key, n_init)
    return GaussianMixtureResult(best.params, best.n_iter, best.converged, best.log_likelihood,
                                 best.lower_bound, best.history, restart_log_likelihood,
                                 _collapsed(best.params))


def _precisions_shape(covariance_type, k, d):
    return {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[covariance_type]


def _check_inits(weights_init, means_init, precisions_init, k, d, covariance_type, dtype):
    """scikit-learn's ``_check_weights``/``_check_means``/``_check_precisions``."""
    if weights_init is not None:
        weights_init = _validation.vector(weights_init, "weights_init")
        if weights_init.shape != (k,):
            raise ValueError(f"weights_init must have shape (k,) = {(k,)}; "
                             f"got {tuple(weights_init.shape)}.")
        if _validation.is_concrete(weights_init):
            w = np.asarray(weights_init, np.float64)
            if np.any(w < 0) or np.any(w > 1) or abs(w.sum() - 1.0) > 1e-5:
                raise ValueError(f"weights_init must lie in [0, 1] and sum to 1; got sum "
                                 f"{w.sum():.6g}, range [{w.min():.3g}, {w.max():.3g}].")
        weights_init = weights_init.astype(dtype)
    if means_init is not None:
        means_init = _validation.matrix(means_init, "means_init").astype(dtype)
        if means_init.shape != (k, d):
            raise ValueError(f"means_init must have shape (k, d) = {(k, d)}; "
                             f"got {tuple(means_init.shape)}.")
    if precisions_init is not None:
        expected = _precisions_shape(covariance_type, k, d)
        precisions_init = _validation.as_float_array(precisions_init, "precisions_init")
        if precisions_init.shape != expected:
            raise ValueError(f"precisions_init for covariance_type={covariance_type!r} must "
                             f"have shape {expected}; got {tuple(precisions_init.shape)}.")
        _validation.check_finite(precisions_init, "precisions_init")
        if _validation.is_concrete(precisions_init):
            p = np.asarray(precisions_init, np.float64)
            if covariance_type in ("full", "tied"):
                p = p.reshape(-1, d, d)
                if not np.allclose(p, np.swapaxes(p, 1, 2)):
                    raise ValueError("precisions_init must hold symmetric matrices.")
                if np.any(np.linalg.eigvalsh(p) <= 0):
                    raise ValueError("precisions_init must hold positive-definite matrices.")
            elif np.any(p <= 0):
                raise ValueError("precisions_init must be positive.")
        precisions_init = precisions_init.astype(dtype)
    return weights_init, means_init, precisions_init


def _raise_if_broken(result: GaussianMixtureResult, reg_covar) -> None:
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
) -> GaussianMixtureResult:
    """Fits a Gaussian mixture by EM, as ``sklearn.mixture.GaussianMixture``.

    E-step: g_ij = w_j N(x_i; mu_j, Sigma_j) / sum_l w_l N(x_i; mu_l, Sigma_l) (in log
    space). M-step: the module docstring's formulas. Stops when the mean log-likelihood
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
      A ``GaussianMixtureResult``.

    Raises:
      ValueError: bad arguments (k out of range, NaN/Inf, empty data, an ``*_init`` of
        the wrong shape or value, unknown covariance type or init, tol < 0,
        reg_covar < 0), or a covariance that collapsed during the fit (the message
        names the component and suggests a larger ``reg_covar``).
    """
    x, k, max_iter, n_init, weights = em._check_fit_arguments(x, k, tol, max_iter, n_init,
                                                             sample_weight)
    _validation.choice(covariance_type, COVARIANCE_TYPES, "covariance_type")
    _validation.choice(init, INITS, "init")
    if _validation.is_concrete(reg_covar) and not float(np.asarray(reg_covar)) >= 0:
        raise ValueError(f"reg_covar must be >= 0; got {reg_covar}.")
    weights_init, means_init, precisions_init = _check_inits(
        weights_init, means_init, precisions_init, k, x.shape[1], covariance_type, x.dtype)
    result = _fit(x, key, weights, jnp.asarray(tol, x.dtype), jnp.asarray(reg_covar, x.dtype),
                  weights_init, means_init, precisions_init, k=k,
                  covariance_type=covariance_type, init=init, n_init=n_init, max_iter=max_iter)
    _raise_if_broken(result, reg_covar)
    return result


# ---------------------------------------------------------------------------
# Using a fitted mixture.


def _params(model) -> GaussianMixtureParams:
    params = model.params if isinstance(model, GaussianMixtureResult) else model
    if not isinstance(params, GaussianMixtureParams):
        raise ValueError("Expected a GaussianMixtureResult or GaussianMixtureParams; "
                         f"got {type(model).__name__}.")
    return params


def _data(model, x):
    params = _params(model)
    return params, _validation.matrix(x, "x", features=params.means.shape[1])


@jax.jit
def _score_samples(params, x):
    return em.e_step(log_component_prob(params, x))[1]


@jax.jit
def _responsibilities(params, x):
    return em.e_step(log_component_prob(params, x))[0]


def log_likelihood(model: GaussianMixtureResult | GaussianMixtureParams,
                   x: ArrayLike) -> jax.Array:
    """Per-sample ln p(x_i) = ln sum_j w_j N(x_i; mu_j, Sigma_j), ``[n]``
    (scikit-learn's ``score_samples``)."""
    return _score_samples(*_data(model, x))


def predict_proba(model: GaussianMixtureResult | GaussianMixtureParams,
                  x: ArrayLike) -> jax.Array:
    """Responsibilities g_ij = P(j | x_i), ``[n, k]``."""
    return _responsibilities(*_data(model, x))


def predict(model: GaussianMixtureResult | GaussianMixtureParams, x: ArrayLike) -> jax.Array:
    """Most probable component argmax_j P(j | x_i), ``[n]``."""
    return jnp.argmax(_responsibilities(*_data(model, x)), axis=1).astype(jnp.int32)


@functools.partial(jax.jit, static_argnames=("n",))
def _sample(params, key, n):
    component_key, noise_key = jax.random.split(key)
    labels = jax.random.categorical(component_key, jnp.log(params.weights), shape=(n,))
    means = params.means
    z = jax.random.normal(noise_key, (n, means.shape[1]), means.dtype)
    cov = params.covariances
    if params.covariance_type == "full":
        lower = jax.vmap(_linalg.cholesky)(cov)[labels]
        noise = jnp.einsum("nab,nb->na", lower, z, precision=_HIGHEST)
    elif params.covariance_type == "tied":
        noise = _dot(z, _linalg.cholesky(cov).T)
    elif params.covariance_type == "diag":
        noise = z * jnp.sqrt(cov[labels])
    else:
        noise = z * jnp.sqrt(cov[labels])[:, None]
    return means[labels] + noise, labels.astype(jnp.int32)


def sample(model: GaussianMixtureResult | GaussianMixtureParams, n: int, *,
           key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Draws ``n`` points: j ~ Categorical(w), then x ~ N(mu_j, Sigma_j).

    Returns:
      ``(x [n, d], labels [n])`` in random order (scikit-learn sorts by component).
    """
    return _sample(_params(model), key, _validation.positive_int(n, "n"))


def n_parameters(model: GaussianMixtureResult | GaussianMixtureParams) -> int:
    """Free parameters: means k d, covariances (k d (d + 1) / 2, d (d + 1) / 2, k d or k),
    weights k - 1 (scikit-learn's ``_n_parameters``)."""
    params = _params(model)
    k, d = params.means.shape
    covariance = {"full": k * d * (d + 1) / 2, "tied": d * (d + 1) / 2, "diag": k * d,
                  "spherical": k}[params.covariance_type]
    return int(covariance + k * d + k - 1)


def bic(model: GaussianMixtureResult | GaussianMixtureParams, x: ArrayLike) -> jax.Array:
    """Bayesian information criterion -2 ln P(X) + p ln n (lower is better)."""
    params, x = _data(model, x)
    return -2.0 * jnp.sum(_score_samples(params, x)) + n_parameters(params) * math.log(x.shape[0])


def aic(model: GaussianMixtureResult | GaussianMixtureParams, x: ArrayLike) -> jax.Array:
    """Akaike information criterion -2 ln P(X) + 2 p (lower is better)."""
    params, x = _data(model, x)
    return -2.0 * jnp.sum(_score_samples(params, x)) + 2.0 * n_parameters(params)
