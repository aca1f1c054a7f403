"""The restricted Boltzmann machine: parameters, energy, free energy, conditionals.

Lecture section 8. A Bernoulli-Bernoulli RBM has binary visible units v in {0, 1}^D,
binary hidden units h in {0, 1}^H and the energy

    E(v, h) = -a.v - b.h - v^T W h,        p(v, h) = exp(-E(v, h)) / Z.

Summing out h gives the free energy, p(v) = exp(-F(v)) / Z,

    F(v) = -a.v - sum_j softplus(b_j + (v W)_j),

and the conditionals factorise:

    P(h_j = 1 | v) = sigmoid(b_j + (v W)_j),   P(v_i = 1 | h) = sigmoid(a_i + (W h)_i).

A Gaussian-Bernoulli RBM (``GaussianRBMParams``) has real-valued visible units with
unit variance (standardize the data first, as Hinton's practical guide recommends):

    E(v, h) = |v - a|^2 / 2 - b.h - v^T W h,
    F(v) = |v - a|^2 / 2 - sum_j softplus(b_j + (v W)_j),
    v | h ~ Normal(a + W h, I),   P(h_j = 1 | v) = sigmoid(b_j + (v W)_j).

The kind of visible unit is the type of the parameters: ``GaussianRBMParams`` is an
``RBMParams`` subclass with the same three fields, so both are pytrees that survive
``jit``/``vmap``/``scan`` unchanged, and every function here dispatches on the type at
trace time.

Reference: G. Hinton, "A practical guide to training restricted Boltzmann machines",
UTML TR 2010-003.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from jaxselforg import _validation
from jaxselforg.rbm import _checks
from jaxselforg.rbm._params import GaussianRBMParams, RBMParams

__all__ = [
    "VISIBLE_UNITS",
    "RBMParams",
    "GaussianRBMParams",
    "init_params",
    "energy",
    "free_energy",
    "hidden_given_visible",
    "visible_given_hidden",
    "sample_hidden",
    "sample_visible",
]

VISIBLE_UNITS = ("bernoulli", "gaussian")
HIGHEST = lax.Precision.HIGHEST


def params_class(visible: str) -> type[RBMParams]:
    """``RBMParams`` for ``"bernoulli"``, ``GaussianRBMParams`` for ``"gaussian"``."""
    _validation.choice(visible, VISIBLE_UNITS, "visible")
    return GaussianRBMParams if visible == "gaussian" else RBMParams


def _dot(x, y, precision=None):
    return jnp.matmul(x, y, precision=precision)


# ---------------------------------------------------------------------------
# Pure building blocks (no checks; used inside compiled loops).


def hidden_input(params: RBMParams, v: jax.Array, precision=None) -> jax.Array:
    """b + v W, ``[n, n_hidden]``."""
    return params.b + _dot(v, params.w, precision)


def visible_input(params: RBMParams, h: jax.Array, precision=None) -> jax.Array:
    """a + W h (as rows: a + h W^T), ``[n, n_visible]``."""
    return params.a + _dot(h, params.w.T, precision)


def visible_energy(params: RBMParams, v: jax.Array) -> jax.Array:
    """The visible-only energy term: -a.v (Bernoulli) or |v - a|^2 / 2 (Gaussian), ``[n]``."""
    if isinstance(params, GaussianRBMParams):
        return 0.5 * jnp.sum((v - params.a) ** 2, axis=-1)
    return -jnp.sum(v * params.a, axis=-1)


def free_energy_unchecked(params: RBMParams, v: jax.Array, precision=HIGHEST) -> jax.Array:
    """F(v) of the module docstring, ``[n]``, without argument checks."""
    return visible_energy(params, v) - jnp.sum(
        jax.nn.softplus(hidden_input(params, v, precision)), axis=-1)


def visible_mean(params: RBMParams, h: jax.Array, precision=None) -> jax.Array:
    """E[v | h]: sigmoid(a + W h) (Bernoulli) or a + W h (Gaussian)."""
    x = visible_input(params, h, precision)
    return x if isinstance(params, GaussianRBMParams) else jax.nn.sigmoid(x)


def draw_visible(params: RBMParams, key: jax.Array, mean: jax.Array) -> jax.Array:
    """A visible sample given its conditional mean (Bernoulli or unit-variance Normal)."""
    if isinstance(params, GaussianRBMParams):
        return mean + jax.random.normal(key, mean.shape, mean.dtype)
    return jax.random.bernoulli(key, mean).astype(mean.dtype)


def draw_binary(key: jax.Array, p: jax.Array) -> jax.Array:
    """Binary states with P(1) = p, in p's dtype."""
    return jax.random.bernoulli(key, p).astype(p.dtype)


def draw_hidden_then_visible(params: RBMParams, key: jax.Array, hidden_p: jax.Array,
                             drive=None) -> tuple[jax.Array, jax.Array]:
    """h ~ Bernoulli(hidden_p), then v ~ P(v | h): returns (v, E[v | h]).

    ``drive(h)`` replaces the visible input a + W h (AIS mixes it with a base model).
    Binary units share one uniform draw (a single threefry call compiles twice as fast
    as two, which dominates small test programs).
    """
    n_hidden = hidden_p.shape[-1]
    drive = drive or (lambda h: visible_input(params, h))
    if isinstance(params, GaussianRBMParams):
        hidden_key, visible_key = jax.random.split(key)
        mean = drive(draw_binary(hidden_key, hidden_p))
        return mean + jax.random.normal(visible_key, mean.shape, mean.dtype), mean
    shape = (*hidden_p.shape[:-1], n_hidden + params.w.shape[0])
    u = jax.random.uniform(key, shape, hidden_p.dtype)
    mean = jax.nn.sigmoid(drive((u[..., :n_hidden] < hidden_p).astype(hidden_p.dtype)))
    return (u[..., n_hidden:] < mean).astype(mean.dtype), mean


# ---------------------------------------------------------------------------
# Initialisation.


@functools.partial(jax.jit, static_argnames=("n_visible", "n_hidden", "visible"))
def _init(key, mean, scale, *, n_visible, n_hidden, visible):
    w = scale * jax.random.normal(key, (n_visible, n_hidden), mean.dtype)
    if visible == "gaussian":
        a = mean
    else:
        p = jnp.clip(mean, 1e-3, 1.0 - 1e-3)
        a = jnp.log(p) - jnp.log1p(-p)
    return params_class(visible)(w, a, jnp.zeros((n_hidden,), mean.dtype))


def init_params(
    key: jax.Array,
    n_visible: int,
    n_hidden: int,
    *,
    visible: str = "bernoulli",
    data: ArrayLike | None = None,
    scale: ArrayLike = 0.01,
) -> RBMParams:
    """Hinton's initialisation: small random weights, zero hidden biases.

    W_ij ~ Normal(0, scale^2); b = 0; the visible biases make the visible units match
    the data's means when the hidden units are off: a_i = ln(p_i / (1 - p_i)) with p_i
    the mean of pixel i clipped to [0.001, 0.999] (Bernoulli), a = mean (Gaussian).
    Without ``data``, a = 0.

    Args:
      key: PRNG key for the weights.
      n_visible: visible units D (static).
      n_hidden: hidden units H (static).
      visible: ``"bernoulli"`` or ``"gaussian"``.
      data: optional ``[n, n_visible]`` training data for the visible biases.
      scale: standard deviation of the initial weights.

    Returns:
      ``RBMParams`` (or ``GaussianRBMParams``) with w ``[D, H]``, a ``[D]``, b ``[H]``.

    Raises:
      ValueError: non-positive sizes, unknown ``visible``, bad ``data`` (NaN, the wrong
        width, Bernoulli data outside [0, 1]), a negative ``scale``.
    """
    key = _validation.prng_key(key)
    n_visible = _validation.positive_int(n_visible, "n_visible")
    n_hidden = _validation.positive_int(n_hidden, "n_hidden")
    _validation.choice(visible, VISIBLE_UNITS, "visible")
    if data is None:
        dtype = jnp.result_type(float)
        mean = jnp.zeros((n_visible,), dtype) + (0.5 if visible == "bernoulli" else 0.0)
    else:
        data = _validation.matrix(data, "data", features=n_visible)
        if visible == "bernoulli":
            data = _checks.in_unit_interval(data, "data")
        mean = jnp.mean(data, axis=0)
    scale = _validation.hyperparameter(scale, "scale")
    return _init(key, mean, jnp.asarray(scale, mean.dtype), n_visible=n_visible,
                 n_hidden=n_hidden, visible=visible)


# ---------------------------------------------------------------------------
# Public, checked functions.


def _checked(params, v, name="v"):
    params = _checks.params(params)
    return params, _checks.visible_data(params, v, name)


@jax.jit
def _energy(params, v, h):
    return visible_energy(params, v) - _dot(h, params.b, HIGHEST) - jnp.sum(
        _dot(v, params.w, HIGHEST) * h, axis=-1)


def energy(params: RBMParams, v: ArrayLike, h: ArrayLike) -> jax.Array:
    """E(v, h) per row, ``[n]``.

    Args:
      params: the RBM.
      v: ``[n, n_visible]`` visible states.
      h: ``[n, n_hidden]`` hidden states.

    Returns:
      ``[n]`` energies E(v, h) = -b^T v - c^T h - v^T W h (Bernoulli visibles;
        Gaussian visibles add ||v - b||^2 / 2 in place of -b^T v).

    Raises:
      ValueError: wrong shapes, NaN, or Bernoulli visible values outside [0, 1].
    """
    params, v = _checked(params, v)
    h = _checks.hidden_data(params, h)
    if h.shape[0] != v.shape[0]:
        raise ValueError(f"v and h must have the same number of rows; got {v.shape[0]} and "
                         f"{h.shape[0]}.")
    return _energy(params, v, h)


_free_energy = jax.jit(free_energy_unchecked)


def free_energy(params: RBMParams, v: ArrayLike) -> jax.Array:
    """F(v) = -ln sum_h exp(-E(v, h)), ``[n]`` (scikit-learn's ``_free_energy``).

    Args:
      params: the RBM.
      v: ``[n, n_visible]`` visible states (Bernoulli: values in [0, 1]).

    Returns:
      ``[n]`` free energies; ln p(v) = -F(v) - ln Z.

    Raises:
      ValueError: wrong shapes, NaN, or Bernoulli visible values outside [0, 1].
    """
    return _free_energy(*_checked(params, v))


@jax.jit
def _hidden_given_visible(params, v):
    return jax.nn.sigmoid(hidden_input(params, v, HIGHEST))


def hidden_given_visible(params: RBMParams, v: ArrayLike) -> jax.Array:
    """P(h_j = 1 | v) = sigmoid(b_j + (v W)_j), ``[n, n_hidden]``.

    These are the RBM's features (scikit-learn's ``transform``), e.g. for a
    logistic-regression probe.

    Raises:
      ValueError: wrong shapes, NaN, or Bernoulli visible values outside [0, 1].
    """
    return _hidden_given_visible(*_checked(params, v))


@jax.jit
def _visible_given_hidden(params, h):
    return visible_mean(params, h, HIGHEST)


def visible_given_hidden(params: RBMParams, h: ArrayLike) -> jax.Array:
    """E[v | h], ``[n, n_visible]``: P(v_i = 1 | h) = sigmoid(a_i + (W h)_i), or a + W h.

    Raises:
      ValueError: wrong shapes, NaN, or hidden values outside [0, 1].
    """
    params = _checks.params(params)
    return _visible_given_hidden(params, _checks.hidden_data(params, h))


@jax.jit
def _sample_hidden(params, v, key):
    return draw_binary(key, jax.nn.sigmoid(hidden_input(params, v)))


def sample_hidden(params: RBMParams, v: ArrayLike, *, key: jax.Array) -> jax.Array:
    """Binary hidden states h ~ P(h | v), ``[n, n_hidden]``."""
    key = _validation.prng_key(key)
    return _sample_hidden(*_checked(params, v), key)


@jax.jit
def _sample_visible(params, h, key):
    return draw_visible(params, key, visible_mean(params, h))


def sample_visible(params: RBMParams, h: ArrayLike, *, key: jax.Array) -> jax.Array:
    """Visible states v ~ P(v | h), ``[n, n_visible]`` (binary, or real for Gaussian)."""
    key = _validation.prng_key(key)
    params = _checks.params(params)
    return _sample_visible(params, _checks.hidden_data(params, h), key)


def log_two_pi_half(n_visible: int) -> float:
    """(D / 2) ln(2 pi): the Gaussian visible layer's normaliser."""
    return 0.5 * n_visible * math.log(2.0 * math.pi)
