"""Schedules: a hyperparameter as a function of the update count (optax's contract).

A schedule is an ``optax.Schedule``: ``f(count) -> value``, with ``count`` the index of
the update, 0 for the first and ``total - 1`` for the last (a Python int or a traced
integer array). Every decaying hyperparameter of the library is one: the
winner-take-all rate, the SOM's sigma and alpha, the RBM's learning rate and momentum
switch, and the optimizers' step sizes. A schedule made here can therefore drive any
optax transformation, and an optax schedule can drive our learners.

:func:`schedule` builds the lecture's decays from an initial value a0 and a final value
a1 reached at the last update and held after it; with progress
p = min(count / (total - 1), 1) in [0, 1]:

* ``"exponential"``: the lecture's alpha(n) = alpha0 exp(-n / tau), with
  tau = (total - 1) / ln(a0 / a1) so that the last update uses a1: a0 (a1 / a0)^p;
* ``"linear"``: a0 + (a1 - a0) p;
* ``"inverse_time"``: a0 / (1 + (a0 / a1 - 1) p), hyperbolic, ends at a1;
* ``"asymptotic"``: a0 / (1 + count / (total / 2)), MiniSom's ``asymptotic_decay``
  (ignores a1; ends near a0 / 3);
* ``"constant"``: a0;
* a callable ``fn(a0, count, total)`` (MiniSom's decay-function signature).

The initial and final values may be traced (a ``vmap`` over learning rates is one
compiled program); the kind and ``total`` are static. Optax's own schedules are used
where they compute the same formula for traced values; the others are written here,
each with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from jaxselforg import _validation

__all__ = [
    "SCHEDULES",
    "Schedule",
    "asymptotic",
    "check",
    "constant",
    "cosine_decay",
    "exponential",
    "inverse_time",
    "linear",
    "piecewise_constant",
    "schedule",
]

SCHEDULES = ("exponential", "linear", "inverse_time", "asymptotic", "constant")

Schedule = optax.Schedule

_CALLABLE = "a callable fn(initial, count, total)"


def _float(value: ArrayLike) -> jax.Array:
    """``value`` as a floating array (integers become the default float)."""
    array = jnp.asarray(value)
    if not jnp.issubdtype(array.dtype, jnp.floating):
        array = array.astype(jnp.result_type(float))
    return array


def _steps(total, name: str = "total") -> int:
    """The progress denominator total - 1 (1 for a single update)."""
    return max(_validation.positive_int(total, name) - 1, 1)


def _progress(count, steps: int, dtype) -> jax.Array:
    """p = clip(count / steps, 0, 1), exactly 0 up to count 0 and exactly 1 from count =
    steps on.

    XLA may divide by a constant as a product with its rounded reciprocal, so a plain
    count / steps can miss 1 by an ulp at the last update (a decay to 0 then ends a
    hair below 0); the comparison pins the end.
    """
    count = jnp.asarray(count).astype(dtype)
    # A count before 0 holds the first value (as optax's schedules clip), not an
    # extrapolation past a0.
    return jnp.where(count >= steps, jnp.ones((), dtype), jnp.maximum(count, 0) / steps)


def check(kind, name: str = "schedule"):
    """Returns ``kind`` if it names a schedule or is a callable.

    Args:
      kind: one of ``SCHEDULES`` or a callable ``fn(initial, count, total)``.
      name: the argument's name in the error message.

    Returns:
      ``kind`` unchanged.

    Raises:
      ValueError: ``kind`` is neither (the message lists the accepted names).
    """
    if callable(kind):
        return kind
    if not isinstance(kind, str):
        raise ValueError(f"{name} must be one of {', '.join(map(repr, SCHEDULES))} or "
                         f"{_CALLABLE}; got {kind!r}.")
    if kind not in SCHEDULES:
        raise ValueError(f"Unknown {name} {kind!r}; accepted: "
                         f"{', '.join(map(repr, SCHEDULES))} or {_CALLABLE}.")
    return kind


def _ratio(kind: str, initial, final, dtype) -> jax.Array:
    """a1 / a0, which must be finite and > 0 (a0, a1 of one sign, neither 0): concrete
    values are checked, a traced bad ratio is NaN (the schedule's values too)."""
    ratio = jnp.asarray(final, dtype) / jnp.asarray(initial, dtype)
    if not (_validation.is_concrete(initial) and _validation.is_concrete(final)):
        return _validation.nan_unless(jnp.isfinite(ratio) & (ratio > 0), ratio)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.asarray(final, dtype=float) / np.asarray(initial, dtype=float)
    if not np.all(np.isfinite(ratio) & (ratio > 0)):
        raise ValueError(f"The {kind!r} schedule needs initial and final values of the same "
                         f"sign, neither 0; got initial={initial!r}, final={final!r}. Use "
                         "'linear' to decay to 0.")
    return ratio


def constant(initial: ArrayLike) -> Schedule:
    """The schedule f(count) = a0.

    ``optax.constant_schedule``, broadcast to the shape of ``count`` so that a vector of
    counts gives a vector of values, as every other kind does.

    Args:
      initial: the value a0 (traced).

    Returns:
      An optax schedule: ``count [...]`` -> ``value [...]``.
    """
    value = _float(initial)
    fn = optax.constant_schedule(value)
    return lambda count: jnp.broadcast_to(fn(count), jnp.shape(count)).astype(value.dtype)


def linear(initial: ArrayLike, final: ArrayLike, *, total: int) -> Schedule:
    """The schedule f(count) = a0 + (a1 - a0) p, p = min(count / (total - 1), 1).

    ``optax.linear_schedule(a0, a1, total - 1)`` computes the same line, but its
    (a0 - a1) (1 - count / (total - 1)) + a1 goes past a1 by an ulp when XLA rounds the
    division (a linear decay to 0 measured -9e-11 on its last update); written here
    with an exact progress, so the first value is a0 and the last a1.

    Args:
      initial: a0, the value of update 0 (traced).
      final: a1, the value of update ``total - 1`` (traced).
      total: the number of updates (static, >= 1).

    Returns:
      An optax schedule: ``count [...]`` -> ``value [...]``.

    Raises:
      ValueError: total < 1.
    """
    a0 = _float(initial)
    a1 = jnp.asarray(final, a0.dtype)
    steps = _steps(total)
    return lambda count: a0 + (a1 - a0) * _progress(count, steps, a0.dtype)


def exponential(initial: ArrayLike, final: ArrayLike | None = None, *, total: int | None = None,
                tau: ArrayLike | None = None) -> Schedule:
    """The lecture's exponential decay f(n) = a0 exp(-n / tau).

    Given ``tau`` it is the lecture's formula as written. Given ``final`` and ``total``,
    tau = (total - 1) / ln(a0 / a1), so that f(n) = a0 (a1 / a0)^p with
    p = min(n / (total - 1), 1): the last update uses a1, and later ones too. That is
    ``optax.exponential_decay(a0, total - 1, a1 / a0)`` up to the update count, but
    optax tests its decay rate with Python comparisons (``decay_rate == 0``), which a
    traced final value cannot answer; hence written here.

    Args:
      initial: a0 (traced).
      final: a1, the value of update ``total - 1`` (traced; same sign as a0, not 0).
      total: the number of updates (static, >= 1), with ``final``.
      tau: the time constant (traced, > 0), instead of ``final`` and ``total``.

    Returns:
      An optax schedule: ``count [...]`` -> ``value [...]``.

    Raises:
      ValueError: neither or both of ``tau`` and ``final``; ``final`` without
        ``total``; total < 1; a concrete a1 / a0 <= 0 or tau <= 0.
    """
    a0 = _float(initial)
    if (tau is None) == (final is None):
        raise ValueError("exponential needs either tau (a0 exp(-n / tau)) or final and total "
                         "(a0 (a1 / a0)^(n / (total - 1))), not both or neither.")
    if tau is not None:
        tau = jnp.asarray(_validation.hyperparameter(tau, "tau", strict=True), a0.dtype)
        return lambda count: a0 * jnp.exp(-jnp.asarray(count).astype(a0.dtype) / tau)
    if total is None:
        raise ValueError("exponential with a final value needs total, the number of updates.")
    steps = _steps(total)
    ratio = _ratio("exponential", initial, final, a0.dtype)
    return lambda count: a0 * ratio ** _progress(count, steps, a0.dtype)


def inverse_time(initial: ArrayLike, final: ArrayLike, *, total: int) -> Schedule:
    """The hyperbolic decay f(count) = a0 / (1 + (a0 / a1 - 1) p).

    With p = min(count / (total - 1), 1), it ends at a1 on the last update. Optax has no
    inverse-time schedule; written here.

    Args:
      initial: a0 (traced).
      final: a1, the value of update ``total - 1`` (traced; same sign as a0, not 0).
      total: the number of updates (static, >= 1).

    Returns:
      An optax schedule: ``count [...]`` -> ``value [...]``.

    Raises:
      ValueError: total < 1; a concrete a1 / a0 <= 0.
    """
    a0 = _float(initial)
    steps = _steps(total)
    inverse = 1.0 / _ratio("inverse_time", initial, final, a0.dtype)  # a0 / a1
    return lambda count: a0 / (1.0 + (inverse - 1.0) * _progress(count, steps, a0.dtype))


def asymptotic(initial: ArrayLike, *, total: int) -> Schedule:
    """MiniSom's ``asymptotic_decay``: f(count) = a0 / (1 + count / (total / 2)).

    Optax has no such schedule; written here (it reaches about a0 / 3 at the end).

    Args:
      initial: a0 (traced).
      total: the number of updates (static, >= 1), MiniSom's ``max_iter``.

    Returns:
      An optax schedule mapping ``count [...]`` to ``value [...]``; a1 plays no part.

    Raises:
      ValueError: total < 1.
    """
    a0 = _float(initial)
    half = _validation.positive_int(total, "total") / 2.0
    return lambda count: a0 / (1.0 + jnp.asarray(count).astype(a0.dtype) / half)


def cosine_decay(initial: ArrayLike, decay_steps: ArrayLike, final: ArrayLike = 0.0) -> Schedule:
    """A half cosine from a0 to a1 over ``decay_steps`` updates, then a1.

        f(count) = a1 + (a0 - a1) (1 + cos(pi min(count / decay_steps, 1))) / 2,

    and f = a0 for every count when ``decay_steps <= 0``. With a1 = 0 this is
    ``optax.cosine_decay_schedule(a0, decay_steps)``, but optax checks
    ``decay_steps > 0`` with a Python comparison, so a traced run length (a sweep over
    run lengths, or ``optax.inject_hyperparams`` inside a jitted step) cannot use it;
    hence written here.

    Args:
      initial: a0, the peak value (traced).
      decay_steps: updates over which the value falls to a1 (traced; ``<= 0``: constant).
      final: a1 (traced).

    Returns:
      An optax schedule: ``count [...]`` -> ``value [...]``.
    """
    a0 = _float(initial)
    a1 = jnp.asarray(final, a0.dtype)

    def fn(count):
        progress = jnp.clip(count / jnp.maximum(decay_steps, 1), 0.0, 1.0)
        cosine = 0.5 * (1.0 + jnp.cos(jnp.pi * progress))
        return a1 + (a0 - a1) * jnp.where(decay_steps > 0, cosine, 1.0)

    return fn


def piecewise_constant(values: Sequence[ArrayLike], boundaries: Sequence[int]) -> Schedule:
    """A switch: ``values[i]`` from update ``boundaries[i - 1]`` up to ``boundaries[i]``.

    For example Hinton's RBM momentum, 0.5 for the first m epochs then 0.9:
    ``piecewise_constant((0.5, 0.9), (m * batches_per_epoch,))``. Built with
    ``optax.join_schedules`` over ``optax.constant_schedule``; not
    ``optax.piecewise_constant_schedule``, which takes multiplicative scales (the values
    would be rounded products) and checks them with Python comparisons, so a traced
    value (a sweep over momenta) cannot be used there.

    Args:
      values: ``m + 1`` values (traced).
      boundaries: ``m`` non-decreasing update counts >= 0 (static).

    Returns:
      An optax schedule: ``count [...]`` -> ``value [...]``.

    Raises:
      ValueError: ``len(values) != len(boundaries) + 1``; a boundary that is not an
        integer >= 0, or boundaries out of order.
    """
    values, boundaries = list(values), list(boundaries)
    if len(values) != len(boundaries) + 1:
        raise ValueError(f"piecewise_constant needs one value more than boundaries; got "
                         f"{len(values)} values and {len(boundaries)} boundaries.")
    for boundary in boundaries:
        if isinstance(boundary, (bool, np.bool_)) or not isinstance(boundary, (int, np.integer)) \
                or boundary < 0:
            raise ValueError(f"boundaries must be integers >= 0 (update counts); got "
                             f"{boundaries!r}.")
    if any(b > c for b, c in zip(boundaries, boundaries[1:])):
        raise ValueError(f"boundaries must be non-decreasing; got {boundaries!r}.")
    dtype = jnp.result_type(*(_float(v) for v in values))
    fn = optax.join_schedules([constant(jnp.asarray(v, dtype)) for v in values],
                              [int(b) for b in boundaries])
    return lambda count: jnp.asarray(fn(jnp.asarray(count)), dtype)


def schedule(kind: str | Callable, initial: ArrayLike, final: ArrayLike | None = None, *,
             total: int) -> Schedule:
    """The decay of a hyperparameter over ``total`` updates, as an optax schedule.

    With a0 = ``initial``, a1 = ``final`` and p = min(count / (total - 1), 1):
    ``"exponential"`` a0 (a1 / a0)^p (the lecture's a0 exp(-n / tau)), ``"linear"``
    a0 + (a1 - a0) p, ``"inverse_time"`` a0 / (1 + (a0 / a1 - 1) p), ``"asymptotic"``
    a0 / (1 + count / (total / 2)) (MiniSom's), ``"constant"`` a0; a callable is called
    as ``kind(initial, count, total)``.

    Args:
      kind: one of ``SCHEDULES`` or a callable ``fn(initial, count, total)`` (static).
      initial: a0, the value of update 0 (traced).
      final: a1, the value of update ``total - 1`` (traced) for ``"exponential"``,
        ``"linear"`` and ``"inverse_time"``; ignored by the others; default a0.
      total: the number of updates (static, >= 1).

    Returns:
      An optax schedule ``f(count)``: ``count [...]`` (int or traced) -> ``value [...]``
      in the floating dtype of ``initial``.

    Raises:
      ValueError: an unknown kind (the message lists the accepted ones); total < 1;
        for ``"exponential"`` and ``"inverse_time"``, concrete a0 and a1 that are 0 or of
        opposite signs.

    Examples:
      >>> from jaxselforg import schedules
      >>> alpha = schedules.schedule("exponential", 0.5, 0.01, total=1000)
      >>> float(alpha(0)), round(float(alpha(999)), 6)
      (0.5, 0.01)
    """
    check(kind, "schedule")
    _validation.positive_int(total, "total")
    if callable(kind):
        return lambda count: jnp.asarray(kind(initial, count, total))
    final = initial if final is None else final
    if kind == "exponential":
        return exponential(initial, final, total=total)
    if kind == "linear":
        return linear(initial, final, total=total)
    if kind == "inverse_time":
        return inverse_time(initial, final, total=total)
    if kind == "asymptotic":
        return asymptotic(initial, total=total)
    return constant(initial)
