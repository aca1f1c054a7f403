"""Argument checks shared by the RBM modules (not public)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxselforg import _validation
from jaxselforg.rbm._params import GaussianRBMParams, RBMParams


def params(value) -> RBMParams:
    """Raises unless ``value`` is an ``RBMParams`` with consistent shapes."""
    if not isinstance(value, RBMParams):
        raise ValueError("Expected RBMParams or GaussianRBMParams (e.g. the params returned by "
                         f"rbm.fit); got {type(value).__name__}.")
    w, a, b = (jnp.asarray(leaf) for leaf in value)
    if w.ndim != 2 or a.shape != (w.shape[0],) or b.shape != (w.shape[1],):
        raise ValueError("RBM params need w [n_visible, n_hidden], a [n_visible] and "
                         f"b [n_hidden]; got shapes {tuple(w.shape)}, {tuple(a.shape)}, "
                         f"{tuple(b.shape)}.")
    return value


def is_gaussian(value: RBMParams) -> bool:
    return isinstance(value, GaussianRBMParams)


def in_unit_interval(x: jax.Array, name: str) -> jax.Array:
    """``x`` after a concrete one is checked to lie in [0, 1] (Bernoulli visible units);
    traced, NaN in place of any value outside (``_validation.unit_interval``)."""
    if not _validation.is_concrete(x):
        return _validation.unit_interval(x, name, "a Bernoulli RBM")
    if _validation.eager(lambda: bool(jnp.any((x < 0) | (x > 1)))):
        raise ValueError(f"{name} must lie in [0, 1] for a Bernoulli RBM (binary pixels, e.g. "
                         "data.binarize(data.to_unit_range(images))); got values outside. For "
                         "real-valued data standardize it and use visible='gaussian'.")
    return x


def binary(x: jax.Array, name: str) -> jax.Array:
    """``x`` after a concrete one is checked to hold only 0 and 1; traced, NaN in place of
    any other value (``_validation.binary``)."""
    if not _validation.is_concrete(x):
        return _validation.binary(x, name, "a Bernoulli RBM likelihood")
    if _validation.eager(lambda: bool(jnp.any((x != 0) & (x != 1)))):
        raise ValueError(f"{name} must be binary (0/1) for a Bernoulli RBM likelihood; got other "
                         "values. Binarize first, e.g. data.binarize(x, 0.5).")
    return x


def visible_data(model: RBMParams, x: ArrayLike, name: str = "v", *,
                 binary_only: bool = False) -> jax.Array:
    """Validates ``[n, n_visible]`` data for ``model`` (finite; [0, 1] or {0, 1} if Bernoulli)."""
    x = _validation.matrix(x, name, features=jnp.shape(model.w)[0])
    if not is_gaussian(model):
        x = (binary if binary_only else in_unit_interval)(x, name)
    return x.astype(jnp.result_type(model.w))


def hidden_data(model: RBMParams, h: ArrayLike, name: str = "h") -> jax.Array:
    """Validates ``[n, n_hidden]`` hidden states in [0, 1]."""
    h = _validation.matrix(h, name, features=jnp.shape(model.w)[1])
    if not _validation.is_concrete(h):
        h = _validation.unit_interval(h, name, "hidden states")
    elif _validation.eager(lambda: bool(jnp.any((h < 0) | (h > 1)))):
        raise ValueError(f"{name} must hold hidden states or probabilities in [0, 1].")
    return h.astype(jnp.result_type(model.w))


def mask(m: ArrayLike, shape: tuple[int, ...], name: str) -> jax.Array:
    """A boolean mask of ``shape`` (or ``[n_visible]``, broadcast over rows)."""
    m = _validation.asarray(m)
    if m.dtype != jnp.bool_:
        if not (jnp.issubdtype(m.dtype, jnp.number)):
            raise ValueError(f"{name} must be a boolean mask; got dtype {m.dtype}.")
        if _validation.is_concrete(m) and _validation.eager(
                lambda: bool(jnp.any((m != 0) & (m != 1)))):
            raise ValueError(f"{name} must be a boolean (or 0/1) mask.")
        m = m != 0
    if m.shape not in (shape, shape[1:]):
        raise ValueError(f"{name} must have shape {shape} or {shape[1:]}; got {tuple(m.shape)}.")
    return jnp.broadcast_to(m, shape)


def nonnegative(value, name: str, *, positive: bool = False):
    """``value`` checked finite and >= 0 (> 0 when ``positive``): a concrete bad one
    raises, a traced one comes back NaN (``_validation.hyperparameter``)."""
    return _validation.hyperparameter(value, name, strict=positive)
