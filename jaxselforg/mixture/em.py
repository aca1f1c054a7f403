"""Expectation-maximisation for mixtures (lecture section 4), for any component family.

A mixture p(x) = sum_j w_j F(x, q_j) is described to the driver by two pure functions:

* ``log_component_prob(params, x) -> [n, k]``: the log joint ln w_j + ln F(x_i, q_j) of
  point i and component j;
* ``m_step(x, resp, sample_weight) -> params``: the parameters maximising
  sum_i s_i sum_j g_ij ln(w_j F(x_i, q_j)) for fixed responsibilities g (``resp``) and
  sample weights s.

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

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from jaxselforg import _restarts, _validation

__all__ = [
    "EMResult",
    "EMState",
    "best_of_restarts",
    "e_step",
    "init_state",
    "lower_bound",
    "mean_log_likelihood",
    "run",
    "step",
]

LogComponentProb = Callable[[Any, jax.Array], jax.Array]
MStep = Callable[[jax.Array, jax.Array, jax.Array], Any]


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
    """A finished EM run.

    Attributes:
      params: the fitted parameters (after the last M-step).
      n_iter: number of EM iterations made.
      converged: whether the last iteration gained less than ``tol``.
      log_likelihood: mean log-likelihood of ``params`` (a final E-step; scikit-learn's
        ``score(X)``). NaN or infinite if the fit broke down.
      lower_bound: mean log-likelihood at the last E-step, of the parameters before the
        last M-step (scikit-learn's ``lower_bound_``).
      history: ``[max_iter]`` mean log-likelihood at each E-step, NaN after the end.
    """

    params: Any
    n_iter: jax.Array
    converged: jax.Array
    log_likelihood: jax.Array
    lower_bound: jax.Array
    history: jax.Array


def e_step(log_joint: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Responsibilities and per-point log marginals from the log joint.

    g_ij = exp(l_ij - ln sum_l exp(l_il)) with l_ij = ln w_j + ln F(x_i, q_j).

    Args:
      log_joint: ``[n, k]`` log joint probabilities l_ij.

    Returns:
      ``(resp, log_marginal)``: responsibilities ``[n, k]`` (rows sum to 1) and
      ln p(x_i) = ln sum_j w_j F(x_i, q_j), ``[n]``.
    """
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
    sample_weight = jnp.asarray(sample_weight, per_point.dtype)
    return jnp.sum(jnp.where(sample_weight > 0, sample_weight * per_point, 0.0))


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
    return EMResult(
        params=state.params,
        n_iter=state.iteration,
        converged=state.converged,
        log_likelihood=mean_log_likelihood(log_marginal, sample_weight),
        lower_bound=state.log_likelihood,
        history=state.history,
    )


def best_of_restarts(
    fit_one: Callable[[jax.Array], EMResult], key: jax.Array, n_init: int
) -> tuple[EMResult, jax.Array]:
    """Runs ``fit_one`` from ``n_init`` keys as one vmapped program; keeps the best.

    Restart i uses ``jax.random.split(key, n_init)[i]`` (with ``n_init == 1``, ``key``
    itself), so it equals a single fit with that key. The best restart has the highest
    final mean log-likelihood; restarts that broke down (NaN) lose to any other.

    Returns:
      ``(best, restart_log_likelihood)``: the best ``EMResult`` and the final mean
      log-likelihood ``[n_init]`` of every restart.
    """
    runs = _restarts.run_restarts(fit_one, key, n_init)
    score = jnp.where(jnp.isnan(runs.log_likelihood), -jnp.inf, runs.log_likelihood)
    best = jnp.argmax(score)
    return jax.tree.map(lambda leaf: leaf[best], runs), runs.log_likelihood


def _check_fit_arguments(x, k, tol, max_iter, n_init, sample_weight):
    """Validates what every mixture fit takes; returns ``(x, k, max_iter, n_init, weights)``.

    Value checks run only on concrete arrays (a fit may be traced inside jit/vmap).
    """
    x = _validation.matrix(x, "x")
    n = x.shape[0]
    k = _validation.positive_int(k, "k")
    if k > n:
        raise ValueError(f"k must be <= the number of points {n}; got k={k}.")
    max_iter = _validation.positive_int(max_iter, "max_iter")
    n_init = _validation.positive_int(n_init, "n_init")
    if _validation.is_concrete(tol) and not float(np.asarray(tol)) >= 0:
        raise ValueError(f"tol must be >= 0 (a change of the mean log-likelihood); got {tol}.")
    if sample_weight is None:
        return x, k, max_iter, n_init, jnp.ones(n, x.dtype)
    weights = _validation.vector(sample_weight, "sample_weight", size=n)
    if _validation.is_concrete(weights):
        _validation.check_nonnegative(weights, "sample_weight")
        n_kept = _validation.eager(lambda: int(jnp.sum(weights > 0)))
        if n_kept < k:
            raise ValueError(f"k must be <= the number of points with positive sample_weight "
                             f"{n_kept}; got k={k}.")
    return x, k, max_iter, n_init, weights.astype(x.dtype)
