"""Decay schedules for the learning rate alpha(t) and the neighbourhood width sigma(t).

Time t counts updates: samples for online training, epochs for batch training,
t = 0 .. total - 1. With a0 the initial and a1 the final value:

* ``"exponential"``: a0 exp(-t / tau), the lecture's alpha(n) = alpha0 exp(-n / tau),
  with tau = (total - 1) / ln(a0 / a1) so that the last update uses a1;
* ``"linear"``: a0 + (a1 - a0) t / (total - 1);
* ``"inverse_time"``: a0 / (1 + (a0 / a1 - 1) t / (total - 1)), hyperbolic, ends at a1;
* ``"asymptotic"``: a0 / (1 + t / (total / 2)), MiniSom's ``asymptotic_decay``
  (ignores a1; ends near a0 / 3);
* ``"constant"``: a0;
* a callable ``fn(a0, t, total)`` (MiniSom's decay-function signature).

a0 and a1 may be traced, so one compiled program serves a sweep over them.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxselforg import _validation

__all__ = ["SCHEDULES", "schedule", "check_schedule"]

SCHEDULES = ("exponential", "linear", "inverse_time", "asymptotic", "constant")

Schedule = Callable[[jax.Array, int], jax.Array]


def check_schedule(kind, name: str = "schedule"):
    """Raises unless ``kind`` is one of ``SCHEDULES`` or a callable."""
    if callable(kind):
        return kind
    if not isinstance(kind, str):
        raise ValueError(f"{name} must be one of {SCHEDULES} or a callable "
                         f"fn(initial, t, total); got {kind!r}.")
    return _validation.choice(kind, SCHEDULES, name)


def schedule(kind: str | Callable, initial: ArrayLike, final: ArrayLike | None = None) -> Schedule:
    """The value of a decaying hyperparameter as a function ``(t, total) -> value``.

    Args:
      kind: one of ``SCHEDULES`` (see the module docstring) or a callable
        ``fn(initial, t, total)``.
      initial: the value at t = 0 (traced).
      final: the value at t = total - 1 for ``"exponential"``, ``"linear"`` and
        ``"inverse_time"`` (traced); unused otherwise (default: ``initial``).

    Returns:
      A function of the update index ``t`` (int or traced) and the static number of
      updates ``total``.

    Raises:
      ValueError: an unknown schedule name.
    """
    check_schedule(kind)
    if callable(kind):
        return lambda t, total: jnp.asarray(kind(initial, t, total))
    final = initial if final is None else final

    def value(t, total):
        a0 = jnp.asarray(initial)
        if not jnp.issubdtype(a0.dtype, jnp.floating):
            a0 = a0.astype(jnp.result_type(float))
        a1 = jnp.asarray(final, a0.dtype)
        t = jnp.asarray(t).astype(a0.dtype)
        progress = t / max(total - 1, 1)
        if kind == "exponential":
            return a0 * (a1 / a0) ** progress
        if kind == "linear":
            return a0 + (a1 - a0) * progress
        if kind == "inverse_time":
            return a0 / (1.0 + (a0 / a1 - 1.0) * progress)
        if kind == "asymptotic":
            return a0 / (1.0 + t / (total / 2.0))
        return a0 + 0.0 * t

    return value
