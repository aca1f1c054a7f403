"""The partition function Z of an RBM, exactly or by annealed importance sampling.

ln p(v) = -F(v) - ln Z needs ln Z = ln sum_{v,h} exp(-E(v, h)). Summing out one layer
analytically leaves a sum over the other's 2^m states:

    ln Z = ln sum_h exp(b.h + sum_i softplus(a_i + (W h)_i))     (enumerate h)
         = ln sum_v exp(-F(v))                                   (enumerate v),

and for unit-variance Gaussian visibles (enumerate h; the integral over v is Gaussian)

    ln Z = (D / 2) ln(2 pi) + ln sum_h exp(b.h + a.(W h) + |W h|^2 / 2).

``log_partition_exact`` enumerates the smaller layer (the hidden one for Gaussian
visibles) in blocks of 2^14 configurations under ``lax.map``, so memory stays bounded
up to ``MAX_EXACT_UNITS`` = 24 units; it is differentiable (``jax.grad`` gives the exact
model statistics).

For real models (784 x 500) ``log_partition_ais`` uses annealed importance sampling
(Neal 2001) as Salakhutdinov & Murray (2008) do for RBMs: a path of distributions
p_k(v) proportional to p*_k(v), from a base-rate RBM A (no hidden units; visible biases
at the data's log-odds, so Z_A is known) at beta = 0 to the target RBM B at beta = 1,
with the energies mixed as (1 - beta) E_A + beta E_B:

    ln p*_beta(v) = -(1 - beta) E_A(v) - beta E_vis,B(v) + sum_j softplus(beta (b + v W)_j),

(E_vis is -a.v, or |v - a|^2 / 2 for Gaussian visibles). Each chain starts with an exact
sample of A and, at every beta_k, adds ln p*_k(v) - ln p*_{k-1}(v) to its log weight,
then makes one Gibbs step that leaves p_k invariant (h ~ sigmoid(beta (b + v W)), then
v from the mixed visible input (1 - beta) a_A + beta (a_B + W h)). Then

    Z_B / Z_0 ~ mean(w),   ln Z_B ~ ln Z_0 + ln mean(w),

where Z_0 = 2^H Z_A (at beta = 0 the target's H hidden units are independent fair
coins).

The estimate of Z is unbiased, so that of ln Z is biased low on average (Jensen):
AIS log-likelihoods tend to be optimistic. The reported ``log_z_std`` is the delta-method
standard error of ln mean(w): std(w) / (sqrt(n_chains) mean(w)) (sample std, ddof = 1);
it understates the error when the weights are heavy-tailed (one chain dominating).

The schedule (``ais_betas``) follows Salakhutdinov & Murray's 14,500 betas, spaced 1e-3
on [0, 0.5), 1e-4 on [0.5, 0.9) and 1e-5 on [0.9, 1], scaled to ``n_betas`` points in
the same proportions: linear, then denser where the target's structure appears.

References:
  R. Neal, "Annealed importance sampling", Statistics and Computing 11 (2001).
  R. Salakhutdinov and I. Murray, "On the quantitative analysis of deep belief
  networks", ICML 2008.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from jaxselforg import _validation
from jaxselforg.rbm import _checks
from jaxselforg.rbm.model import (
    HIGHEST,
    GaussianRBMParams,
    RBMParams,
    draw_hidden_then_visible,
    draw_visible,
    free_energy_unchecked,
    hidden_input,
    log_two_pi_half,
)

__all__ = [
    "MAX_EXACT_UNITS",
    "log_partition_exact",
    "ais_betas",
    "ais_log_weights",
    "log_partition_ais",
    "log_likelihood",
]

MAX_EXACT_UNITS = 24
_BLOCK_BITS = 14


# ---------------------------------------------------------------------------
# Exact enumeration.


def _block(index, m, low_bits, dtype):
    """The configurations of block ``index``: ``[2^low_bits, m]`` rows of bits."""
    low = (jnp.arange(2**low_bits, dtype=jnp.int32)[:, None]
           >> jnp.arange(low_bits, dtype=jnp.int32)) & 1
    high = (index >> jnp.arange(m - low_bits, dtype=jnp.int32)) & 1
    high = jnp.broadcast_to(high, (2**low_bits, m - low_bits))
    return jnp.concatenate([low, high], axis=1).astype(dtype)


def _log_terms(params, states, layer):
    """ln of the unnormalised marginal of each enumerated state, ``[B]``."""
    if layer == "visible":
        return -free_energy_unchecked(params, states)
    wh = jnp.matmul(states, params.w.T, precision=HIGHEST)  # [B, D]
    bh = jnp.matmul(states, params.b, precision=HIGHEST)
    if isinstance(params, GaussianRBMParams):
        return bh + jnp.matmul(wh, params.a, precision=HIGHEST) + 0.5 * jnp.sum(wh**2, axis=1)
    return bh + jnp.sum(jax.nn.softplus(params.a + wh), axis=1)


@functools.partial(jax.jit, static_argnames=("layer",))
def _log_partition_exact(params, *, layer):
    n_visible, n_hidden = params.w.shape
    m = n_visible if layer == "visible" else n_hidden
    low_bits = min(m, _BLOCK_BITS)
    dtype = params.w.dtype

    def block(index):
        return jax.nn.logsumexp(_log_terms(params, _block(index, m, low_bits, dtype), layer))

    per_block = lax.map(block, jnp.arange(2 ** (m - low_bits), dtype=jnp.int32))
    log_z = jax.nn.logsumexp(per_block)
    if isinstance(params, GaussianRBMParams):
        log_z = log_z + log_two_pi_half(n_visible)
    return log_z


def log_partition_exact(params: RBMParams) -> jax.Array:
    """ln Z by enumerating the smaller layer, a scalar.

    With the hidden layer enumerated, Z = sum_h exp(c^T h) prod_i (1 + exp(b_i + W_i h))
    (the visible units summed out in closed form); symmetrically for the visible
    layer. The 2^m terms are summed in chunks with a running logsumexp.

    Args:
      params: the RBM; its smaller layer (the hidden one for ``GaussianRBMParams``) may
        have at most ``MAX_EXACT_UNITS`` = 24 units.

    Returns:
      ln Z in nats (differentiable in ``params``).

    Raises:
      ValueError: a model too large to enumerate (use ``log_partition_ais``).
    """
    params = _checks.params(params)
    n_visible, n_hidden = jnp.shape(params.w)
    gaussian = _checks.is_gaussian(params)
    layer = "hidden" if gaussian or n_hidden <= n_visible else "visible"
    m = n_hidden if layer == "hidden" else n_visible
    if m > MAX_EXACT_UNITS:
        which = ("hidden layer of a Gaussian RBM" if gaussian else "smaller layer")
        raise ValueError(
            f"log_partition_exact enumerates the {which}: {m} units means 2^{m} terms, more "
            f"than the 2^{MAX_EXACT_UNITS} it allows for an RBM of {n_visible} visible x "
            f"{n_hidden} hidden units. Estimate ln Z with rbm.log_partition_ais(params, "
            "key=key, data=x_train) instead.")
    return _log_partition_exact(params, layer=layer)


# ---------------------------------------------------------------------------
# Annealed importance sampling.


def ais_betas(n_betas: int = 10_000) -> np.ndarray:
    """Salakhutdinov & Murray's inverse temperatures, scaled to ``n_betas`` points.

    Their 14,500 betas are 500 on [0, 0.5), 4,000 on [0.5, 0.9) and 10,000 on
    [0.9, 1]; ``n_betas`` keeps those proportions (at least one point per segment).

    Returns:
      float64 ``[n_betas]``, increasing from 0 to 1.

    Raises:
      ValueError: n_betas < 3.
    """
    n_betas = _validation.positive_int(n_betas, "n_betas")
    if n_betas < 3:
        raise ValueError(f"n_betas must be >= 3 (one per schedule segment); got {n_betas}.")
    n1 = max(1, round(n_betas * 500 / 14_500))
    n2 = max(1, round(n_betas * 4_000 / 14_500))
    n3 = n_betas - n1 - n2
    return np.concatenate([np.linspace(0.0, 0.5, n1, endpoint=False),
                           np.linspace(0.5, 0.9, n2, endpoint=False),
                           np.linspace(0.9, 1.0, n3)])


def _base_energy(params, base_a, v):
    """E_A(v) - E_vis,B(v): the beta-slope of the visible energy terms, ``[n]``."""
    if isinstance(params, GaussianRBMParams):
        return 0.5 * (jnp.sum((v - base_a) ** 2, axis=1) - jnp.sum((v - params.a) ** 2, axis=1))
    return jnp.matmul(v, params.a - base_a, precision=HIGHEST)


@functools.partial(jax.jit, static_argnames=("n_chains",))
def _ais(params, base_a, betas, key, *, n_chains):
    n_visible = params.w.shape[0]
    gaussian = isinstance(params, GaussianRBMParams)
    start_key, key = jax.random.split(key)
    base_mean = base_a if gaussian else jax.nn.sigmoid(base_a)
    v = draw_visible(params, start_key, jnp.broadcast_to(base_mean, (n_chains, n_visible)))
    # At beta = 0 the target's hidden units are free fair coins: Z_0 = 2^H Z_A.
    log_z_base = params.w.shape[1] * math.log(2.0) + (
        log_two_pi_half(n_visible) if gaussian else jnp.sum(jax.nn.softplus(base_a)))

    def step(carry, inputs):
        v, log_w = carry
        beta_prev, beta, step_key = inputs
        x = hidden_input(params, v, HIGHEST)
        log_w = log_w + (beta - beta_prev) * _base_energy(params, base_a, v) + jnp.sum(
            jax.nn.softplus(beta * x) - jax.nn.softplus(beta_prev * x), axis=1)
        v, _ = draw_hidden_then_visible(
            params, step_key, jax.nn.sigmoid(beta * x),
            lambda h: (1.0 - beta) * base_a + beta * (params.a + jnp.matmul(h, params.w.T)))
        return (v, log_w), None

    keys = jax.random.split(key, betas.shape[0] - 1)
    (_, log_w), _ = lax.scan(step, (v, jnp.zeros((n_chains,), v.dtype)),
                             (betas[:-1], betas[1:], keys))
    return log_w, jnp.asarray(log_z_base, v.dtype)


def _base_visible_bias(params, data):
    if data is None:
        return params.a
    data = _checks.visible_data(params, data, "data")
    mean = jnp.mean(data, axis=0)
    if _checks.is_gaussian(params):
        return mean
    p = jnp.clip(mean, 1e-3, 1.0 - 1e-3)
    return jnp.log(p) - jnp.log1p(-p)


def ais_log_weights(params: RBMParams, *, key: jax.Array, data: ArrayLike | None = None,
                    n_chains: int = 100, n_betas: int = 10_000) -> tuple[jax.Array, jax.Array]:
    """The AIS importance log-weights and the start's ln Z_0 = H ln 2 + ln Z_A.

    ln Z ~ ln Z_0 + logsumexp(log_weights) - ln(n_chains). Useful for diagnostics such
    as the effective sample size exp(2 lse(w) - lse(2 w)).

    Args:
      params: the target RBM B.
      key: PRNG key.
      data: optional ``[n, n_visible]`` training data; its pixel means set the base-rate
        RBM's visible biases (log-odds clipped to p in [0.001, 0.999]; the means for
        Gaussian visibles). Without it the base uses the target's own visible biases ``a``.
      n_chains: independent AIS runs (static).
      n_betas: number of inverse temperatures, including 0 and 1 (static, >= 3).

    Returns:
      ``(log_weights [n_chains], log_z_base)``.

    Raises:
      ValueError: bad sizes, or ``data`` of the wrong shape / range.
    """
    key = _validation.prng_key(key)
    params = _checks.params(params)
    n_chains = _validation.positive_int(n_chains, "n_chains")
    betas = jnp.asarray(ais_betas(n_betas), jnp.result_type(params.w))
    base_a = _base_visible_bias(params, data)
    return _ais(params, base_a, betas, key, n_chains=n_chains)


def log_partition_ais(params: RBMParams, *, key: jax.Array, data: ArrayLike | None = None,
                      n_chains: int = 100, n_betas: int = 10_000) -> tuple[jax.Array, jax.Array]:
    """ln Z by annealed importance sampling from the base-rate RBM.

    Salakhutdinov & Murray (2008) with their schedule (``ais_betas``) and 100 chains by
    default. On binarized MNIST pass the training set as ``data``.

    Args:
      params: the RBM.
      key: PRNG key.
      data: optional training data for the base-rate RBM (see ``ais_log_weights``).
      n_chains: independent AIS runs (static, >= 2).
      n_betas: inverse temperatures (static, >= 3; 10,000 as in the issue, fewer for a
        quick estimate).

    Returns:
      ``(log_z, log_z_std)``: the estimate of ln Z in nats and the delta-method standard
      error of ln mean(w), std(w) / (sqrt(n_chains) mean(w)), computed in log space.

    Raises:
      ValueError: n_chains < 2, n_betas < 3, bad ``data``.
    """
    key = _validation.prng_key(key)
    if _validation.positive_int(n_chains, "n_chains") < 2:
        raise ValueError("n_chains must be >= 2 to estimate the error of ln Z; got 1.")
    log_w, log_z_base = ais_log_weights(params, key=key, data=data, n_chains=n_chains,
                                        n_betas=n_betas)
    return _combine(log_w, log_z_base)


@jax.jit
def _combine(log_w, log_z_base):
    n = log_w.shape[0]
    log_mean = jax.nn.logsumexp(log_w) - math.log(n)
    r = jnp.exp(log_w - jnp.max(log_w))
    std = jnp.std(r, ddof=1) / (jnp.sqrt(n) * jnp.mean(r))
    return log_z_base + log_mean, std


# ---------------------------------------------------------------------------
# Likelihood.


@jax.jit
def _log_likelihood(params, v, log_z):
    return -free_energy_unchecked(params, v) - log_z


def log_likelihood(params: RBMParams, v: ArrayLike, *, log_z: ArrayLike) -> jax.Array:
    """ln p(v) = -F(v) - ln Z per row, in nats, ``[n]``.

    Args:
      params: the RBM.
      v: ``[n, n_visible]`` data (binary for a Bernoulli RBM; for Gaussian visibles the
        result is a log density).
      log_z: ln Z from ``log_partition_exact`` or ``log_partition_ais``.

    Returns:
      ``[n]`` log-likelihoods.

    Raises:
      ValueError: non-binary data for a Bernoulli RBM, wrong shapes, NaN, non-finite log_z.
    """
    params = _checks.params(params)
    v = _checks.visible_data(params, v, binary_only=True)
    log_z = jnp.asarray(log_z, v.dtype)
    if log_z.shape != ():
        raise ValueError(f"log_z must be a scalar; got shape {tuple(log_z.shape)}.")
    _validation.check_finite(log_z, "log_z")
    return _log_likelihood(params, v, log_z)
