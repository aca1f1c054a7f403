"""Monitoring RBM training without the partition function.

* Reconstruction error: |v - E[v | P(h | v)]|^2 after one mean-field up-down pass.
  Cheap and popular, but not the objective (Hinton's guide warns it can fall while
  the likelihood gets worse).
* Pseudo-log-likelihood (Besag 1975): PLL(v) = sum_i ln P(v_i | v_{-i}). For an RBM each
  term needs only free energies, P(v_i | v_{-i}) = sigmoid(F(v^(i)) - F(v)) with v^(i)
  equal to v with bit i flipped, so the exact sum costs D free energies per example.
  scikit-learn's ``score_samples`` estimates it from one random bit per example,
  D ln sigmoid(F(v^(i)) - F(v)) with i uniform: unbiased, but noisy.
* Free-energy gap (Hinton's guide, section 6): mean F on held-out data minus mean F on
  training data. Z cancels, so the gap is the log-likelihood ratio of a typical
  training to a typical held-out example; a gap that keeps growing means overfitting.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxselforg import _validation
from jaxselforg.rbm import _checks
from jaxselforg.rbm.model import (
    HIGHEST,
    RBMParams,
    free_energy_unchecked,
    hidden_input,
    visible_mean,
)

__all__ = [
    "reconstruction_error",
    "pseudo_log_likelihood",
    "pseudo_log_likelihood_one_bit",
    "free_energy_gap",
]


def reconstruction_error_unchecked(params: RBMParams, v: jax.Array) -> jax.Array:
    """Per-row squared error of the mean-field reconstruction, ``[n]`` (no checks)."""
    hidden_p = jax.nn.sigmoid(hidden_input(params, v, HIGHEST))
    return jnp.sum((v - visible_mean(params, hidden_p, HIGHEST)) ** 2, axis=-1)


def pseudo_log_likelihood_unchecked(params: RBMParams, v: jax.Array) -> jax.Array:
    """Exact PLL per row, ``[n]``: a scan over the visible units (memory n x H)."""
    x = hidden_input(params, v, HIGHEST)  # [n, H]
    softplus_x = jnp.sum(jax.nn.softplus(x), axis=-1)

    def add_unit(total, unit):
        w_i, a_i, v_i = unit
        flip = 1.0 - 2.0 * v_i  # +1 where v_i = 0, -1 where v_i = 1
        # F(v^(i)) - F(v) = -flip a_i - sum_j [softplus(x_j + flip w_ij) - softplus(x_j)]
        delta = -flip * a_i - jnp.sum(jax.nn.softplus(x + flip[:, None] * w_i), axis=-1) \
            + softplus_x
        return total + jax.nn.log_sigmoid(delta), None

    total, _ = jax.lax.scan(add_unit, jnp.zeros(v.shape[0], v.dtype), (params.w, params.a, v.T))
    return total


@jax.jit
def _reconstruction_error(params, v):
    return reconstruction_error_unchecked(params, v)


def reconstruction_error(params: RBMParams, v: ArrayLike) -> jax.Array:
    """Squared reconstruction error per row, ``[n]``.

    sum_i (v_i - r_i)^2 with r = E[v | h = P(h | v)] (one deterministic up-down pass).

    Raises:
      ValueError: wrong shapes, NaN, Bernoulli values outside [0, 1].
    """
    params = _checks.params(params)
    return _reconstruction_error(params, _checks.visible_data(params, v))


def _bernoulli_binary(params, v, name):
    params = _checks.params(params)
    if _checks.is_gaussian(params):
        raise ValueError(f"{name} is defined for binary visible units; a Gaussian RBM's "
                         "visibles are continuous (compare free energies or use AIS).")
    return params, _checks.visible_data(params, v, binary_only=True)


_pseudo_log_likelihood = jax.jit(pseudo_log_likelihood_unchecked)


def pseudo_log_likelihood(params: RBMParams, v: ArrayLike) -> jax.Array:
    """Exact pseudo-log-likelihood sum_i ln P(v_i | v_{-i}) per row, in nats, ``[n]``.

    Costs D free energies per row (a scan over the visible units updates the hidden
    input by +-W_i).

    Args:
      params: a Bernoulli RBM.
      v: ``[n, n_visible]`` binary data.

    Returns:
      ``[n]`` PLL values (<= 0).

    Raises:
      ValueError: a Gaussian RBM, non-binary data, wrong shapes, NaN.
    """
    return _pseudo_log_likelihood(*_bernoulli_binary(params, v, "pseudo_log_likelihood"))


@jax.jit
def _one_bit(params, v, index):
    rows = jnp.arange(v.shape[0])
    flipped = v.at[rows, index].set(1.0 - v[rows, index])
    delta = free_energy_unchecked(params, flipped) - free_energy_unchecked(params, v)
    return v.shape[1] * jax.nn.log_sigmoid(delta)


def pseudo_log_likelihood_one_bit(
    params: RBMParams,
    v: ArrayLike,
    *,
    key: jax.Array | None = None,
    index: ArrayLike | None = None,
) -> jax.Array:
    """scikit-learn's stochastic PLL: D ln sigmoid(F(v^(i)) - F(v)) for one bit i per row.

    Its mean over i is the exact PLL. ``score_samples`` of ``BernoulliRBM(random_state=s)``
    uses ``index = np.random.RandomState(s).randint(0, D, n)``.

    Args:
      params: a Bernoulli RBM.
      v: ``[n, n_visible]`` binary data.
      key: PRNG key drawing i uniformly per row (give this or ``index``).
      index: ``[n]`` integer bit to flip in each row.

    Returns:
      ``[n]`` one-bit PLL estimates.

    Raises:
      ValueError: neither or both of key and index, an index out of range, a Gaussian
        RBM, non-binary data, wrong shapes, NaN.
    """
    params, v = _bernoulli_binary(params, v, "pseudo_log_likelihood_one_bit")
    n, d = v.shape
    if (key is None) == (index is None):
        raise ValueError("Give exactly one of key (random bits) and index (chosen bits).")
    if index is None:
        index = jax.random.randint(_validation.prng_key(key), (n,), 0, d)
    else:
        index = _validation.asarray(index)
        if not jnp.issubdtype(index.dtype, jnp.integer) or index.shape != (n,):
            raise ValueError(f"index must be {n} integers (one bit per row); got dtype "
                             f"{index.dtype} and shape {tuple(index.shape)}.")
        if _validation.is_concrete(index) and _validation.eager(
                lambda: bool(jnp.any((index < 0) | (index >= d)))):
            raise ValueError(f"index entries must be in [0, {d}).")
    return _validation.nan_unless(_validation.in_range(index, d), _one_bit(params, v, index))


@jax.jit
def _gap(params, train, held_out):
    return (jnp.mean(free_energy_unchecked(params, held_out))
            - jnp.mean(free_energy_unchecked(params, train)))


def free_energy_gap(params: RBMParams, train: ArrayLike, held_out: ArrayLike) -> jax.Array:
    """mean F(held_out) - mean F(train), a scalar in nats (overfitting when it grows).

    Args:
      params: the RBM.
      train: ``[n, n_visible]`` a representative subset of the training data.
      held_out: ``[m, n_visible]`` validation data.

    Raises:
      ValueError: wrong shapes, NaN, Bernoulli values outside [0, 1].
    """
    params = _checks.params(params)
    return _gap(params, _checks.visible_data(params, train, "train"),
                _checks.visible_data(params, held_out, "held_out"))
