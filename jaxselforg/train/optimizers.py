"""Optimizers whose every setting can be traced (swept with ``jax.vmap``).

``optax.inject_hyperparams(cosine_decay_adam)(learning_rate=1e-3, decay_steps=0)`` is
Adam whose step size may follow a half cosine down to 0, with both the peak rate and
the length of the decay held as traced hyperparameters in the optimizer state: one
compiled step serves every run length and learning rate of a sweep, and a resumed run
continues its schedule from the restored step count.
"""

from __future__ import annotations

import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

__all__ = ["cosine_decay_adam"]


def cosine_decay_adam(learning_rate: ArrayLike, decay_steps: ArrayLike, b1: float = 0.9,
                      b2: float = 0.999, eps: float = 1e-8) -> optax.GradientTransformation:
    """Adam with step size ``learning_rate * (1 + cos(pi * min(t / decay_steps, 1))) / 2``.

    Args:
      learning_rate: the peak (initial) step size.
      decay_steps: updates over which the step size falls to 0; ``<= 0`` keeps it
        constant (plain Adam).
      b1, b2, eps: Adam's moment decays and denominator offset.
    """

    def step_size(count):
        progress = jnp.clip(count / jnp.maximum(decay_steps, 1), 0.0, 1.0)
        cosine = 0.5 * (1.0 + jnp.cos(jnp.pi * progress))
        return learning_rate * jnp.where(decay_steps > 0, cosine, 1.0)

    return optax.adam(step_size, b1=b1, b2=b2, eps=eps)
