"""Optimizers whose every setting can be traced (swept with ``jax.vmap``).

``optax.inject_hyperparams(cosine_decay_adam)(learning_rate=1e-3, decay_steps=0)`` is
Adam whose step size may follow a half cosine down to 0, with both the peak rate and
the length of the decay held as traced hyperparameters in the optimizer state: one
compiled step serves every run length and learning rate of a sweep, and a resumed run
continues its schedule from the restored step count. The step size is the optax
schedule :func:`jaxselforg.schedules.cosine_decay` (optax's own
``cosine_decay_schedule`` refuses a traced ``decay_steps``).
"""

from __future__ import annotations

import optax
from jax.typing import ArrayLike

from jaxselforg import _validation, schedules

__all__ = ["LEARNING_RATE_DECAYS", "cosine_decay_adam", "cosine_decay_adamw", "decay_steps"]

LEARNING_RATE_DECAYS = ("constant", "cosine")
"""The step-size decays of a training call's ``learning_rate_decay``."""


def decay_steps(learning_rate_decay: str, epochs: int, steps_per_epoch: int) -> int:
    """The ``decay_steps`` of a cosine-decay optimizer for a whole run.

    ``epochs * steps_per_epoch`` for ``"cosine"`` (the step size falls to 0 over the
    run), 0 for ``"constant"``.

    Raises:
      ValueError: a decay not in ``LEARNING_RATE_DECAYS``, or epochs or steps_per_epoch
        not a positive integer.
    """
    decay = _validation.choice(learning_rate_decay, LEARNING_RATE_DECAYS, "learning_rate_decay")
    epochs = _validation.positive_int(epochs, "epochs")
    steps_per_epoch = _validation.positive_int(steps_per_epoch, "steps_per_epoch")
    return epochs * steps_per_epoch if decay == "cosine" else 0


def cosine_decay_adam(learning_rate: ArrayLike, decay_steps: ArrayLike, b1: float = 0.9,
                      b2: float = 0.999, eps: float = 1e-8) -> optax.GradientTransformation:
    """Adam with step size ``learning_rate * (1 + cos(pi * min(t / decay_steps, 1))) / 2``.

    t counts updates from 0; the step size is ``schedules.cosine_decay(learning_rate,
    decay_steps)``.

    Args:
      learning_rate: the peak (initial) step size (traced).
      decay_steps: updates over which the step size falls to 0 (traced); ``<= 0`` keeps
        it constant (plain Adam).
      b1, b2, eps: Adam's moment decays and denominator offset.

    Returns:
      An ``optax.GradientTransformation``.
    """
    return optax.adam(schedules.cosine_decay(_rate(learning_rate), decay_steps),
                      b1=_moment(b1, "b1"), b2=_moment(b2, "b2"), eps=eps)


def _rate(learning_rate: ArrayLike) -> ArrayLike:
    """A step size > 0 (traced: NaN otherwise, so the parameters become NaN)."""
    return _validation.hyperparameter(learning_rate, "learning_rate", strict=True)


def _moment(value: ArrayLike, name: str) -> ArrayLike:
    """An Adam moment decay in [0, 1)."""
    return _validation.hyperparameter(value, name, maximum=1.0, strict_maximum=True)


def cosine_decay_adamw(learning_rate: ArrayLike, decay_steps: ArrayLike,
                       weight_decay: ArrayLike = 0.0, b1: float = 0.9, b2: float = 0.999,
                       eps: float = 1e-8) -> optax.GradientTransformation:
    """AdamW (decoupled weight decay) with :func:`cosine_decay_adam`'s step size.

    Each update is -eta_t (adam_t + lambda w): the decay is scaled by the same
    cosine-decayed step size eta_t (Loshchilov & Hutter's schedule multiplier).

    Args:
      learning_rate: the peak (initial) step size.
      decay_steps: updates over which the step size falls to 0; ``<= 0``: constant.
      weight_decay: lambda.
      b1, b2, eps: Adam's moment decays and denominator offset.
    """
    return optax.adamw(schedules.cosine_decay(_rate(learning_rate), decay_steps),
                       b1=_moment(b1, "b1"), b2=_moment(b2, "b2"), eps=eps,
                       weight_decay=_validation.hyperparameter(weight_decay, "weight_decay"))
