"""Expectation-maximisation for mixtures (lecture section 4), for any component family.

A mixture p(x) = sum_j w_j F(x, q_j) is described to the driver by two pure functions:

* ``log_component_prob(params, x) -> [n, k]``: the log joint ln w_j + ln F(x_i, q_j) of
  point i and component j;
* ``m_step(x, resp, sample_weight) -> params``: the parameters maximising
  sum_i s_i sum_j g_ij ln(w_j F(x_i, q_j)) for fixed responsibilities g (``resp``) and
  sample weights s.

A component family (Gaussian, Bernoulli) is a :class:`Family`: its log density
ln F(x, q_j), its M-step, its parameter count and its sampler. Everything else is
written once here, for every family: the log joint and :func:`log_component_prob`,
the restarts (:func:`fit_restarts`), and the fitted-model API (:func:`log_likelihood`,
:func:`predict_proba`, :func:`predict`, :func:`n_parameters`, :func:`bic`, :func:`aic`,
:func:`sample`), which takes a fitted result or its ``params``.

EM alternates the E-step, g_ij = P(j | x_i) = w_j F(x_i, q_j) / sum_l w_l F(x_i, q_l)
(computed in log space with logsumexp), and the M-step, and stops when the mean
log-likelihood (1 / sum_i s_i) sum_i s_i ln sum_j w_j F(x_i, q_j) gains less than
``tol`` in one iteration, or after ``max_iter`` iterations.

The lower bound behind EM: for any distributions g_i over the components,
L(g) = sum_i sum_j g_ij ln(w_j F(x_i, q_j) / g_ij) and
ln P(X) - L(g) = sum_i KL(g_i || P(. | x_i)) >= 0, with equality after the E-step. The
M-step raises L, so ln P(X) never decreases (Dempster, Laird & Rubin, 1977).

Every sum over points is a plain reduction or matrix product: on a row-sharded ``x``
(``jaxselforg.parallel.shard_rows``, padding rows given ``sample_weight`` 0) the
compiler reduces them across devices and the same program runs data-parallel.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from jaxselforg import _restarts, _validation

__all__ = [
    "EMResult",
    "EMState",
    "Family",
    "aic",
    "best_of_restarts",
    "bic",
    "e_step",
    "family_of",
    "fit_restarts",
    "init_state",
    "log_component_prob",
    "log_likelihood",
    "lower_bound",
    "mean_log_likelihood",
    "n_parameters",
    "predict",
    "predict_proba",
    "register_family",
    "run",
    "sample",
    "step",
]

LogComponentProb = Callable[[Any, jax.Array], jax.Array]
MStep = Callable[[jax.Array, jax.Array, jax.Array], Any]


def _accept_any_data(x: jax.Array) -> jax.Array:
    return x


class Family(NamedTuple):
    """A component family F(x; q) of mixtures p(x) = sum_j w_j F(x; q_j): what EM needs.

    A family's parameters are a pytree with ``weights`` ``[k]`` (the w_j) and ``means``
    ``[k, d]`` (the component means, which fix k and d) besides its own fields.

    Attributes:
      name: the family's name in messages, e.g. ``"Gaussian"``.
      params_type: the class of the family's parameters (what :func:`family_of` finds).
      log_density: ``(params, x [n, d]) -> [n, k]``, ln F(x_i; q_j) (the weights are
        added by :func:`log_component_prob`).
      m_step: ``(x [n, d], resp [n, k], sample_weight [n], **settings) -> params``, the
        parameters maximising sum_i s_i sum_j g_ij ln(w_j F(x_i; q_j)); ``settings`` are
        the family's hyperparameters (e.g. ``reg_covar``), bound by the fit.
      n_component_parameters: ``params -> int``, the free parameters of the components
        (the k - 1 free weights are added by :func:`n_parameters`).
      sample: ``(params, labels [n], *, key) -> [n, d]``, one draw x_i ~ F(.; q_{l_i})
        for every label l_i.
      check_data: ``x -> x``, raises ValueError for concrete data the family cannot
        score (e.g. values outside [0, 1] for Bernoulli pixels) and returns traced data
        with NaN in their place (``jaxselforg._validation``'s traced policy; a check that
        returns None leaves the data as they are); the shape and finiteness are checked
        by the caller.
    """

    name: str
    params_type: type
    log_density: Callable[[Any, jax.Array], jax.Array]
    m_step: Callable[..., Any]
    n_component_parameters: Callable[[Any], int]
    sample: Callable[..., jax.Array]
    check_data: Callable[[jax.Array], jax.Array | None] = _accept_any_data


# Parameter class -> family, filled once by each family module at import (as JAX's own
# pytree registry), so that a fitted model finds its family from its type alone.
_FAMILIES: dict[type, Family] = {}


def register_family(family: Family) -> Family:
    """Makes ``family`` known to the fitted-model API; returns it.

    Registering a family again under the same name replaces it (a re-imported module).

    Args:
      family: the family; its ``params_type`` is how a fitted model is recognised.

    Returns:
      ``family``, so a module can write ``FAMILY = register_family(Family(...))``.

    Raises:
      ValueError: a family of another name already registered the same ``params_type``.
    """
    known = _FAMILIES.get(family.params_type)
    if known is not None and known.name != family.name:
        raise ValueError(f"{family.params_type.__name__} already belongs to the {known.name} "
                         f"family; register {family.name} with its own parameter class.")
    _FAMILIES[family.params_type] = family
    return family


def family_of(model: Any) -> tuple[Family, Any]:
    """The family and the parameters of a fitted ``model`` (a fit's result or its params).

    Args:
      model: a fit's result (a NamedTuple with ``.params``) or the params themselves.

    Returns:
      ``(family, params)``.

    Raises:
      ValueError: ``model`` is neither a fit's result (with ``.params``) nor parameters
        of a registered family.
    """
    params = getattr(model, "params", model)
    family = _FAMILIES.get(type(params))
    if family is None:
        names = " or ".join(f.name for f in _FAMILIES.values()) or "registered"
        raise ValueError(f"Expected a fitted {names} mixture (a fit's result or its params); "
                         f"got {type(model).__name__}.")
    return family, params


def log_component_prob(params: Any, x: jax.Array) -> jax.Array:
    """The log joint ln w_j + ln F(x_i; q_j) of point i and component j, ``[n, k]``.

    Args:
      params: parameters of a registered family.
      x: ``[n, d]`` data.

    Returns:
      ``[n, k]`` log joint probabilities, the E-step's input.
    """
    family, params = family_of(params)
    return jnp.log(params.weights) + family.log_density(params, x)


class EMState(NamedTuple):
    """The loop state.

    Attributes:
      params: the family's parameters (a pytree) after ``iteration`` M-steps.
      iteration: number of EM iterations (E-step + M-step) made, int32 scalar.
      log_likelihood: mean log-likelihood at the last E-step, i.e. of the parameters
        before the last M-step (-inf before the first iteration).
      converged: whether the last iteration gained less than ``tol``.
      history: ``[max_iter]`` mean log-likelihood at the E-step of every iteration;
        NaN for iterations not reached.
    """

    params: Any
    iteration: jax.Array
    log_likelihood: jax.Array
    converged: jax.Array
    history: jax.Array


class EMResult(NamedTuple):
    """A finished EM fit, of any family: the parameters and how the fit went.

    The parameters' fields read through: ``result.weights`` is ``result.params.weights``
    (likewise ``means``, and a Gaussian's ``covariances``, ``precisions_cholesky``,
    ``covariance_type`` and ``collapsed``).

    Attributes:
      params: the fitted parameters (after the last M-step).
      n_iter: number of EM iterations made (by the best restart).
      converged: whether the last iteration gained less than ``tol``.
      log_likelihood: mean log-likelihood of ``params`` (a final E-step; scikit-learn's
        ``score(X)``). NaN or infinite if the fit broke down.
      lower_bound: mean log-likelihood at the last E-step, of the parameters before the
        last M-step (scikit-learn's ``lower_bound_``).
      history: ``[max_iter]`` mean log-likelihood at each E-step, NaN after the end.
      restart_log_likelihood: ``[n_init]`` final mean log-likelihood of every restart
        (``[1]`` from :func:`run`, one start).
    """

    params: Any
    n_iter: jax.Array
    converged: jax.Array
    log_likelihood: jax.Array
    lower_bound: jax.Array
    history: jax.Array
    restart_log_likelihood: jax.Array

    def __getattr__(self, name: str) -> Any:
        # Called only for names that are neither fields nor methods of the result.
        if name.startswith("_"):  # copy/pickle protocol lookups: not the parameters'
            raise AttributeError(name)
        try:
            return getattr(self.params, name)
        except AttributeError:
            raise AttributeError(f"EMResult has no attribute {name!r}, and neither have its "
                                 f"params ({type(self.params).__name__})") from None


def e_step(log_joint: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Responsibilities and per-point log marginals from the log joint.

    g_ij = exp(l_ij - ln sum_l exp(l_il)) with l_ij = ln w_j + ln F(x_i, q_j).

    Args:
      log_joint: ``[n, k]`` log joint probabilities l_ij.

    Returns:
      ``(resp, log_marginal)``: responsibilities ``[n, k]`` (rows sum to 1) and
      ln p(x_i) = ln sum_j w_j F(x_i, q_j), ``[n]``.

    Raises:
      ValueError: (concrete) a NaN or +inf log joint, or a row in which every
        component gives the point probability 0 (no responsibilities exist).
    """
    if _validation.is_concrete(log_joint) and not _validation.eager(lambda: bool(
            jnp.all(~jnp.isnan(log_joint) & (log_joint < jnp.inf))
            & jnp.all(jnp.any(log_joint > -jnp.inf, axis=1)))):
        raise ValueError("log_joint must hold log probabilities (NaN and +inf are not), "
                         "with a finite entry in every row (a row of -inf has no "
                         "responsibilities: every component gives the point probability 0).")
    log_marginal = jax.nn.logsumexp(log_joint, axis=1)
    return jnp.exp(log_joint - log_marginal[:, None]), log_marginal


def lower_bound(
    log_joint: jax.Array, resp: jax.Array, sample_weight: ArrayLike | None = None
) -> jax.Array:
    """The lecture's lower bound of ln P(X) for responsibilities ``resp``.

    L = sum_i s_i sum_j g_ij ln(w_j F(x_i, q_j) / g_ij), with 0 ln 0 = 0. For any g,
    ln P(X) - L = sum_i s_i KL(g_i || P(. | x_i)) >= 0; after the E-step L = ln P(X).

    Args:
      log_joint: ``[n, k]`` log joint ln w_j + ln F(x_i, q_j).
      resp: ``[n, k]`` responsibilities, each row a distribution over components.
      sample_weight: optional ``[n]`` weights s_i (default 1).

    Returns:
      L, a scalar (a sum over points, not a mean).
    """
    positive = resp > 0
    log_resp = jnp.log(jnp.where(positive, resp, 1.0))
    terms = jnp.where(positive, resp * (log_joint - log_resp), 0.0)
    per_point = jnp.sum(terms, axis=1)
    if sample_weight is None:
        return jnp.sum(per_point)
    sample_weight = _validation.sample_weight(sample_weight, per_point.shape[0],
                                              per_point.dtype)
    return jnp.sum(jnp.where(sample_weight != 0, sample_weight * per_point, 0.0))  # NaN stays


def mean_log_likelihood(log_marginal: jax.Array, sample_weight: jax.Array) -> jax.Array:
    """(1 / sum_i s_i) sum_i s_i ln p(x_i); rows of weight 0 are ignored entirely."""
    kept = jnp.where(sample_weight > 0, sample_weight * log_marginal, 0.0)
    return jnp.sum(kept) / jnp.sum(sample_weight)


def init_state(params: Any, max_iter: int, dtype=jnp.float32) -> EMState:
    """The state before the first iteration."""
    return EMState(
        params=params,
        iteration=jnp.zeros((), jnp.int32),
        log_likelihood=jnp.asarray(-jnp.inf, dtype),
        converged=jnp.zeros((), bool),
        history=jnp.full((max_iter,), jnp.nan, dtype),
    )


def step(
    state: EMState,
    x: jax.Array,
    sample_weight: jax.Array,
    *,
    log_component_prob: LogComponentProb,
    m_step: MStep,
    tol: ArrayLike,
) -> EMState:
    """One EM iteration: E-step on ``state.params``, then M-step.

    If the E-step's log-likelihood is not finite (a component broke down, e.g. a
    covariance lost positive definiteness), the parameters are kept as they are so the
    caller can see which component failed; the driver then stops.

    Args:
      state: the current state.
      x: ``[n, d]`` data.
      sample_weight: ``[n]`` non-negative weights (0 ignores a row).
      log_component_prob: ``(params, x) -> [n, k]`` log joint.
      m_step: ``(x, resp, sample_weight) -> params``.
      tol: absolute tolerance on the change of the mean log-likelihood.

    Returns:
      The next state.
    """
    resp, log_marginal = e_step(log_component_prob(state.params, x))
    log_likelihood = mean_log_likelihood(log_marginal, sample_weight)
    # Padding rows must not reach the M-step, even as NaN times 0.
    resp = jnp.where(sample_weight[:, None] > 0, resp, 0.0)
    updated = m_step(x, resp, sample_weight)
    broken = ~jnp.isfinite(log_likelihood)
    params = jax.tree.map(lambda old, new: jnp.where(broken, old, new), state.params, updated)
    i = state.iteration
    return EMState(
        params=params,
        iteration=i + 1,
        log_likelihood=log_likelihood,
        # As scikit-learn: |change| < tol. EM never lowers the likelihood in exact
        # arithmetic, so this is "gain < tol" up to rounding.
        converged=jnp.abs(log_likelihood - state.log_likelihood) < tol,
        history=state.history.at[i].set(log_likelihood),
    )


def run(
    params: Any,
    x: jax.Array,
    *,
    log_component_prob: LogComponentProb,
    m_step: MStep,
    tol: ArrayLike,
    max_iter: int,
    sample_weight: jax.Array | None = None,
) -> EMResult:
    """Runs EM from ``params`` with a ``lax.while_loop``; call it inside ``jax.jit``.

    Stops when the mean log-likelihood changes by less than ``tol`` in an iteration
    (converged), after ``max_iter`` iterations, or when the log-likelihood becomes
    NaN or infinite (the fit broke down: check ``log_likelihood``).

    Args:
      params: initial parameters (a pytree).
      x: ``[n, d]`` data (may be row-sharded).
      log_component_prob: ``(params, x) -> [n, k]`` log joint ln w_j + ln F(x_i, q_j).
      m_step: ``(x, resp [n, k], sample_weight [n]) -> params``.
      tol: absolute tolerance on the change of the mean log-likelihood (traced).
      max_iter: cap on the number of iterations (static; sizes the history).
      sample_weight: optional ``[n]`` non-negative weights (default 1).

    Returns:
      An ``EMResult``.
    """
    if sample_weight is None:
        sample_weight = jnp.ones(x.shape[0], x.dtype)

    def keep_going(state):
        healthy = (state.iteration == 0) | jnp.isfinite(state.log_likelihood)
        return (state.iteration < max_iter) & ~state.converged & healthy

    def body(state):
        return step(state, x, sample_weight, log_component_prob=log_component_prob,
                    m_step=m_step, tol=tol)

    state = lax.while_loop(keep_going, body, init_state(params, max_iter, x.dtype))
    _, log_marginal = e_step(log_component_prob(state.params, x))
    log_likelihood = mean_log_likelihood(log_marginal, sample_weight)
    result = EMResult(params=state.params, n_iter=state.iteration, converged=state.converged,
                      log_likelihood=log_likelihood, lower_bound=state.log_likelihood,
                      history=state.history, restart_log_likelihood=log_likelihood[None])
    # tol only enters a comparison: a traced bad one (NaN, see _check_fit_arguments) is
    # reported on every float result.
    return _validation.nan_unless(jnp.isfinite(tol), result)


def best_of_restarts(
    fit_one: Callable[[jax.Array], EMResult], key: jax.Array, n_init: int
) -> EMResult:
    """Runs ``fit_one`` from ``n_init`` keys as one vmapped program; keeps the best.

    Restart i uses ``jax.random.split(key, n_init)[i]`` (with ``n_init == 1``, ``key``
    itself), so it equals a single fit with that key. The best restart has the highest
    final mean log-likelihood; restarts that broke down (NaN) lose to any other.

    Returns:
      The best restart's ``EMResult``, its ``restart_log_likelihood`` the final mean
      log-likelihood ``[n_init]`` of every restart.
    """
    runs = _restarts.run_restarts(fit_one, key, n_init)
    score = jnp.where(jnp.isnan(runs.log_likelihood), -jnp.inf, runs.log_likelihood)
    best = jax.tree.map(lambda leaf: leaf[jnp.argmax(score)], runs)
    return best._replace(restart_log_likelihood=runs.log_likelihood)


def _check_fit_arguments(x, k, tol, max_iter, n_init, sample_weight):
    """Validates what every mixture fit takes; returns
    ``(x, k, max_iter, n_init, weights, tol)``.

    Value checks run only on concrete arrays (a fit may be traced inside jit/vmap).
    """
    x = _validation.at_least_float32(_validation.matrix(x, "x"))
    n = x.shape[0]
    k = _validation.positive_int(k, "k", at_most=n)
    max_iter = _validation.positive_int(max_iter, "max_iter")
    n_init = _validation.positive_int(n_init, "n_init")
    tol = _validation.hyperparameter(tol, "tol", reason="a change of the mean log-likelihood")
    if sample_weight is None:
        return x, k, max_iter, n_init, jnp.ones(n, x.dtype), tol
    weights = _validation.sample_weight(sample_weight, n, x.dtype)
    if _validation.is_concrete(weights):
        n_kept = _validation.eager(lambda: int(jnp.sum(weights > 0)))
        if n_kept < k:
            raise ValueError(f"k must be <= the number of points with positive sample_weight "
                             f"{n_kept}; got k={k}.")
    return x, k, max_iter, n_init, weights, tol


def fit_restarts(
    family: Family,
    initial_params: Callable[[jax.Array, Callable[..., Any]], Any],
    x: jax.Array,
    *,
    key: jax.Array,
    sample_weight: jax.Array,
    tol: ArrayLike,
    max_iter: int,
    n_init: int,
    settings: Mapping[str, Any] | None = None,
) -> EMResult:
    """EM from ``n_init`` starting points as one vmapped program; the best is kept.

    Restart i starts from ``initial_params(key_i, m_step)``, with
    ``key_i = jax.random.split(key, n_init)[i]`` (``key`` itself when ``n_init == 1``)
    and ``m_step`` the family's M-step with ``settings`` bound (an initialisation is
    often one M-step on initial responsibilities), and runs :func:`run`. Call it inside
    ``jax.jit``.

    Args:
      family: the component family.
      initial_params: ``(key, m_step) -> params``, the starting parameters of a restart.
      x: ``[n, d]`` data (may be row-sharded).
      key: PRNG key of the initialisations.
      sample_weight: ``[n]`` non-negative weights (0 ignores a row).
      tol: absolute tolerance on the change of the mean log-likelihood (traced).
      max_iter: cap on EM iterations (static).
      n_init: number of restarts (static).
      settings: the family's M-step keyword arguments, e.g.
        ``{"reg_covar": reg_covar, "covariance_type": "full"}`` (default none).

    Returns:
      The best restart's ``EMResult``, as :func:`best_of_restarts`.
    """
    m_step = functools.partial(family.m_step, **(settings or {}))

    def fit_one(key):
        return run(initial_params(key, m_step), x, log_component_prob=log_component_prob,
                   m_step=m_step, tol=tol, max_iter=max_iter, sample_weight=sample_weight)

    return best_of_restarts(fit_one, key, n_init)


# ---------------------------------------------------------------------------
# The fitted-model API, for every family.


def _params_and_data(model, x):
    family, params = family_of(model)
    x = _validation.matrix(x, "x", features=params.means.shape[1])
    checked = family.check_data(x)
    return params, x if checked is None else checked


@jax.jit
def _log_marginal(params, x):
    return e_step(log_component_prob(params, x))[1]


@jax.jit
def _responsibilities(params, x):
    return e_step(log_component_prob(params, x))[0]


def log_likelihood(model: Any, x: ArrayLike) -> jax.Array:
    """Per-sample log-likelihood ln p(x_i) = ln sum_j w_j F(x_i; q_j).

    Computed as a logsumexp over the log joint (scikit-learn's ``score_samples``).

    Args:
      model: a fitted mixture (a fit's result or its ``params``), of any family.
      x: ``[n, d]`` data with the model's d features.

    Returns:
      ``[n]`` log-likelihoods.

    Raises:
      ValueError: ``model`` is not a fitted mixture, or ``x`` has the wrong shape, is
        not finite, or is data the family cannot score.
    """
    return _log_marginal(*_params_and_data(model, x))


def predict_proba(model: Any, x: ArrayLike) -> jax.Array:
    """Responsibilities g_ij = P(j | x_i) = w_j F(x_i; q_j) / sum_l w_l F(x_i; q_l).

    Computed in log space: g_ij = exp(l_ij - logsumexp_l l_il), l_ij = ln w_j + ln F.

    Args:
      model: a fitted mixture (a fit's result or its ``params``), of any family.
      x: ``[n, d]`` data with the model's d features.

    Returns:
      ``[n, k]`` responsibilities; every row sums to 1.

    Raises:
      ValueError: as :func:`log_likelihood`.
    """
    return _responsibilities(*_params_and_data(model, x))


def predict(model: Any, x: ArrayLike) -> jax.Array:
    """The most probable component of every point, argmax_j P(j | x_i).

    Args:
      model: a fitted mixture (a fit's result or its ``params``), of any family.
      x: ``[n, d]`` data with the model's d features.

    Returns:
      ``[n]`` int32 component indices in ``[0, k)``.

    Raises:
      ValueError: as :func:`log_likelihood`.
    """
    return jnp.argmax(predict_proba(model, x), axis=1).astype(jnp.int32)


def n_parameters(model: Any) -> int:
    """The number of free parameters p = p_F + (k - 1), for BIC and AIC.

    p_F counts the components' own parameters (the family's count, e.g. k d means and
    the covariances for a Gaussian mixture); k - 1 is the free weights (they sum to 1).
    As scikit-learn's ``_n_parameters``.

    Args:
      model: a fitted mixture (a fit's result or its ``params``), of any family.

    Returns:
      p, a Python int.

    Raises:
      ValueError: ``model`` is not a fitted mixture.
    """
    family, params = family_of(model)
    return int(family.n_component_parameters(params)) + params.weights.shape[0] - 1


def _total_log_likelihood(model, x):
    params, x = _params_and_data(model, x)
    return jnp.sum(_log_marginal(params, x)), n_parameters(params), x.shape[0]


def bic(model: Any, x: ArrayLike) -> jax.Array:
    """Bayesian information criterion BIC = -2 ln P(X) + p ln n (lower is better).

    ln P(X) = sum_i ln p(x_i) over the n rows of ``x`` and p = :func:`n_parameters`
    (Schwarz, 1978; scikit-learn's ``GaussianMixture.bic``). Each free parameter costs
    ln n, more than AIC's 2 once n > e^2, so BIC prefers fewer components.

    Args:
      model: a fitted mixture of any family (a fit's result or its ``params``).
      x: ``[n, d]`` the points scored, usually the training data.

    Returns:
      BIC, a scalar.

    Raises:
      ValueError: as :func:`log_likelihood`.
    """
    total, p, n = _total_log_likelihood(model, x)
    return -2.0 * total + p * math.log(n)


def aic(model: Any, x: ArrayLike) -> jax.Array:
    """Akaike information criterion AIC = -2 ln P(X) + 2 p (lower is better).

    ln P(X) = sum_i ln p(x_i) summed over ``x`` and p = :func:`n_parameters` (Akaike,
    1974; scikit-learn's ``GaussianMixture.aic``); the penalty does not grow with n.

    Args:
      model: a fitted Gaussian, Bernoulli or other registered mixture, or its params.
      x: data ``[n, d]`` with as many features as the model's means.

    Returns:
      AIC as a 0-d array.

    Raises:
      ValueError: as :func:`log_likelihood`.
    """
    total, p, _ = _total_log_likelihood(model, x)
    return -2.0 * total + 2.0 * p


@functools.partial(jax.jit, static_argnames=("n",))
def _sample(params, key, n):
    family, params = family_of(params)
    component_key, draw_key = jax.random.split(key)
    labels = jax.random.categorical(component_key, jnp.log(params.weights), shape=(n,))
    return family.sample(params, labels, key=draw_key), labels.astype(jnp.int32)


def sample(model: Any, n: int, *, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Draws ``n`` points from the mixture: l_i ~ Categorical(w), then x_i ~ F(.; q_{l_i}).

    Args:
      model: a fitted mixture (a fit's result or its ``params``), of any family.
      n: number of draws (static).
      key: PRNG key (``jax.random.key(seed)``).

    Returns:
      ``(x [n, d], labels [n])``: the draws, in random order (scikit-learn sorts them by
      component), and the int32 component each came from.

    Raises:
      ValueError: ``model`` is not a fitted mixture, ``n`` is not a positive integer or
        ``key`` is not a single PRNG key.
    """
    _, params = family_of(model)
    return _sample(params, _validation.prng_key(key), _validation.positive_int(n, "n"))
