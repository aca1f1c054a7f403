"""Sampling from an RBM and its uses as an associative memory.

Block Gibbs sampling alternates h ~ P(h | v) and v ~ P(v | h); its stationary
distribution is the model's p(v, h). Clamping a set of visible units to observed values
(re-imposing them after every visible update) samples instead from
p(v_missing | v_observed): the lecture's first application, pattern completion.

* ``gibbs_chain``/``sample``: chains from given states or from noise, with snapshots of
  E[v | h] along the way (these conditional means make smoother image grids than the
  binary states).
* ``complete``: fill in missing pixels (the unobserved ones start as noise); the answer
  is the average of P(v_i = 1 | h) over the chain after burn-in, a Monte Carlo estimate
  of P(v_i = 1 | v_observed).
* ``denoise``: start the chain at the corrupted image and average E[v | h] over a few
  steps (optionally clamping pixels known to be clean).
* ``salt_and_pepper``: the corruption used to test it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from jaxselforg import _validation
from jaxselforg.rbm import _checks
from jaxselforg.rbm.model import (
    GaussianRBMParams,
    RBMParams,
    draw_hidden_then_visible,
    hidden_input,
)

__all__ = ["GibbsChain", "complete", "denoise", "gibbs_chain", "salt_and_pepper", "sample",
           "sample_snapshots"]


class GibbsChain(NamedTuple):
    """States of Gibbs chains.

    Attributes:
      states: ``[n, n_visible]`` visible states after the last step.
      means: ``[n_snapshots, n, n_visible]`` E[v | h] at the snapshot steps.
      steps: ``[n_snapshots]`` the step numbers of the snapshots (the last is n_steps).
    """

    states: jax.Array
    means: jax.Array
    steps: jax.Array


def _gibbs_step(params, v, key, clamp, values):
    """One v -> h -> v step; clamped units keep ``values``. Returns (v, E[v | h])."""
    v, mean = draw_hidden_then_visible(params, key, jax.nn.sigmoid(hidden_input(params, v)))
    if clamp is not None:
        v = jnp.where(clamp, values, v)
        mean = jnp.where(clamp, values, mean)
    return v, mean


@functools.partial(jax.jit, static_argnames=("n_snapshots",))
def _chain(params, v, key, steps_per_snapshot, *, n_snapshots):
    # The segment length is traced (a while loop): one program serves every chain length.
    def segment(v, segment_key):
        def body(i, carry):
            return _gibbs_step(params, carry[0], jax.random.fold_in(segment_key, i), None, None)

        return lax.fori_loop(0, steps_per_snapshot, body, (v, v))

    v, means = lax.scan(segment, v, jax.random.split(key, n_snapshots))
    steps = steps_per_snapshot * jnp.arange(1, n_snapshots + 1, dtype=jnp.int32)
    return GibbsChain(v, means, steps)


def _chain_lengths(n_steps, n_snapshots):
    n_steps = _validation.positive_int(n_steps, "n_steps")
    n_snapshots = _validation.positive_int(n_snapshots, "n_snapshots")
    if n_steps % n_snapshots:
        raise ValueError(f"n_steps ({n_steps}) must be a multiple of n_snapshots "
                         f"({n_snapshots}) so the snapshots are evenly spaced.")
    return n_snapshots, n_steps // n_snapshots


def gibbs_chain(params: RBMParams, v0: ArrayLike, *, key: jax.Array, n_steps: int,
                n_snapshots: int = 1) -> GibbsChain:
    """Runs block Gibbs chains from ``v0``.

    Args:
      params: the RBM.
      v0: ``[n, n_visible]`` initial visible states (one chain per row).
      key: PRNG key.
      n_steps: Gibbs steps v -> h -> v.
      n_snapshots: number of evenly spaced snapshots of E[v | h] (static; divides
        n_steps).

    Returns:
      A ``GibbsChain``.

    Raises:
      ValueError: bad sizes, wrong shapes, NaN, Bernoulli values outside [0, 1].
    """
    key = _validation.prng_key(key)
    params = _checks.params(params)
    v0 = _checks.visible_data(params, v0, "v0")
    n_snapshots, per = _chain_lengths(n_steps, n_snapshots)
    return _chain(params, v0, key, per, n_snapshots=n_snapshots)


def _noise(params, key, shape):
    if isinstance(params, GaussianRBMParams):
        return jax.random.normal(key, shape, params.w.dtype)
    return jax.random.bernoulli(key, 0.5, shape).astype(params.w.dtype)


def sample(params: RBMParams, n: int, *, key: jax.Array, n_steps: int = 1000,
           n_snapshots: int = 1) -> GibbsChain:
    """Draws ``n`` (approximate) samples of the model by Gibbs chains from noise.

    The chains start at uniform random bits (standard normal noise for Gaussian
    visibles); ``means[-1]`` is the usual sample grid.

    Args:
      params: the RBM.
      n: number of chains (static).
      key: PRNG key.
      n_steps: Gibbs steps; mixing is slow for sharp models, so use many.
      n_snapshots: evenly spaced snapshots (static; divides n_steps).

    Returns:
      A ``GibbsChain`` with ``states [n, n_visible]``.
    """
    key = _validation.prng_key(key)
    params = _checks.params(params)
    n = _validation.positive_int(n, "n")
    n_snapshots, per = _chain_lengths(n_steps, n_snapshots)
    noise_key, key = jax.random.split(key)
    v0 = _noise(params, noise_key, (n, params.w.shape[0]))
    return _chain(params, v0, key, per, n_snapshots=n_snapshots)


def sample_snapshots(params: RBMParams, n: int, *, key: jax.Array,
                     steps: Sequence[int]) -> GibbsChain:
    """:func:`sample`'s chains from noise, with snapshots at given (uneven) step counts.

    For pictures of mixing: ``steps=(1, 10, 100, 1000)`` shows E[v | h] after 1, 10,
    100 and 1000 Gibbs steps of the same ``n`` chains. Each segment is one run of the
    compiled chain (its length is traced), so any steps share one program.

    Args:
      params: the RBM.
      n: number of chains (static).
      key: PRNG key.
      steps: strictly increasing positive step counts.

    Returns:
      A ``GibbsChain``: ``means [len(steps), n, n_visible]``, ``steps`` as given.

    Raises:
      ValueError: ``steps`` empty, not increasing or not positive.
    """
    params = _checks.params(params)
    n = _validation.positive_int(n, "n")
    steps = [int(step) for step in steps]
    if not steps or steps[0] < 1 or any(b <= a for a, b in zip(steps, steps[1:])):
        raise ValueError(f"steps must be strictly increasing positive step counts; got {steps}.")
    noise_key, key = jax.random.split(_validation.prng_key(key))
    v = _noise(params, noise_key, (n, params.w.shape[0]))
    means, done = [], 0
    for i, step in enumerate(steps):
        chain = _chain(params, v, jax.random.fold_in(key, i), step - done, n_snapshots=1)
        v, done = chain.states, step
        means.append(chain.means[-1])
    return GibbsChain(v, jnp.stack(means), jnp.asarray(steps, jnp.int32))


@jax.jit
def _clamped_average(params, v0, key, clamp, values, n_steps, burn_in):
    # n_steps and burn_in are traced: completion and denoising share one program.
    def body(i, carry):
        v, total = carry
        v, mean = _gibbs_step(params, v, jax.random.fold_in(key, i), clamp, values)
        return v, total + jnp.where(i >= burn_in, mean, 0.0)

    _, total = lax.fori_loop(0, n_steps, body, (v0, jnp.zeros_like(v0)))
    return jnp.where(clamp, values, total / (n_steps - burn_in))


def _burn_in(n_steps, burn_in):
    n_steps = _validation.positive_int(n_steps, "n_steps")
    burn_in = n_steps // 2 if burn_in is None else burn_in
    if isinstance(burn_in, bool) or not isinstance(burn_in, int) or not 0 <= burn_in < n_steps:
        raise ValueError(f"burn_in must be an integer in [0, n_steps) = [0, {n_steps}); "
                         f"got {burn_in!r}.")
    return n_steps, burn_in


def complete(params: RBMParams, v: ArrayLike, observed: ArrayLike, *, key: jax.Array,
             n_steps: int = 200, burn_in: int | None = None) -> jax.Array:
    """Pattern completion: fills in the unobserved visible units of ``v``.

    The observed units are clamped; the others start as noise and are Gibbs-sampled
    given them. Returns the observed values where ``observed`` and elsewhere the mean of
    E[v_i | h] over the steps after ``burn_in`` (for binary units, an estimate of
    P(v_i = 1 | v_observed)).

    Args:
      params: the RBM.
      v: ``[n, n_visible]`` images (values at unobserved units are ignored).
      observed: boolean mask ``[n, n_visible]`` or ``[n_visible]``, True where known.
      key: PRNG key.
      n_steps: Gibbs steps.
      burn_in: steps discarded before averaging (default n_steps // 2).

    Returns:
      ``[n, n_visible]`` completed images.

    Raises:
      ValueError: bad sizes or mask, wrong shapes, NaN, Bernoulli values outside [0, 1].
    """
    key = _validation.prng_key(key)
    params = _checks.params(params)
    v = _checks.visible_data(params, v, "v")
    observed = _checks.mask(observed, v.shape, "observed")
    n_steps, burn_in = _burn_in(n_steps, burn_in)
    noise_key, key = jax.random.split(key)
    v0 = jnp.where(observed, v, _noise(params, noise_key, v.shape))
    return _clamped_average(params, v0, key, observed, v, n_steps, burn_in)


def denoise(params: RBMParams, v: ArrayLike, *, key: jax.Array, n_steps: int = 10,
            burn_in: int = 0, observed: ArrayLike | None = None) -> jax.Array:
    """Denoising: a short Gibbs chain started at the corrupted ``v``, averaged.

    Returns the mean of E[v | h] over the steps after ``burn_in`` (n_steps = 1 is one
    stochastic reconstruction). Units in ``observed`` (known to be clean) are clamped.

    Args:
      params: the RBM.
      v: ``[n, n_visible]`` corrupted images.
      key: PRNG key.
      n_steps: Gibbs steps; long chains wander away from the input.
      burn_in: steps discarded before averaging.
      observed: optional boolean mask of trusted units (``[n, n_visible]`` or
        ``[n_visible]``).

    Returns:
      ``[n, n_visible]`` denoised images (probabilities for binary units).

    Raises:
      ValueError: bad sizes or mask, wrong shapes, NaN, Bernoulli values outside [0, 1].
    """
    key = _validation.prng_key(key)
    params = _checks.params(params)
    v = _checks.visible_data(params, v, "v")
    observed = (jnp.zeros(v.shape, bool) if observed is None
                else _checks.mask(observed, v.shape, "observed"))
    n_steps, burn_in = _burn_in(n_steps, burn_in)
    return _clamped_average(params, v, key, observed, v, n_steps, burn_in)


@jax.jit
def _salt_and_pepper(key, v, rate):
    hit_key, value_key = jax.random.split(key)
    hit = jax.random.bernoulli(hit_key, rate, v.shape)
    values = jax.random.bernoulli(value_key, 0.5, v.shape).astype(v.dtype)
    return jnp.where(hit, values, v)


def salt_and_pepper(key: jax.Array, v: ArrayLike, rate: ArrayLike) -> jax.Array:
    """Salt-and-pepper noise: each pixel, with probability ``rate``, becomes 0 or 1 at random.

    (So about rate / 2 of the pixels actually change.)

    Args:
      key: PRNG key.
      v: ``[n, d]`` images in [0, 1].
      rate: corruption probability in [0, 1] (traced).

    Returns:
      ``[n, d]`` corrupted images.
    """
    key = _validation.prng_key(key)
    v = _validation.matrix(v, "v")
    rate = jnp.asarray(_validation.hyperparameter(rate, "rate", maximum=1.0), v.dtype)
    # The rate only enters a Bernoulli draw: a traced bad one (NaN) is reported here.
    return _validation.nan_unless(jnp.isfinite(rate), _salt_and_pepper(key, v, rate))
