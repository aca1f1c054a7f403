"""Composition of transforms, each applied to every example with its own probability."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from jaxselforg import _validation
from jaxselforg.augment import _batch

__all__ = ["Compose", "simclr_views"]

Transform = Callable[[jax.Array, jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True, init=False)
class Compose:
    """Transforms in order, transform t applied to each example with probability p_t.

    For every transform the batch is transformed and each example keeps the result
    with probability ``p_t`` (a per-example Bernoulli draw), else its input:
    ``x <- where(b_i, t(x)_i, x_i)``, ``b_i ~ Bernoulli(p_t)``. Shapes stay fixed, so
    the pipeline runs inside a jitted step.

    Args:
      steps: transforms ``t(key, images)``, or ``(t, p)`` pairs (``p`` defaults to 1).

    Examples:
      >>> pipeline = augment.Compose([augment.RandomResizedCrop(scale=(0.3, 1.0)),
      ...                             (augment.HorizontalFlip(), 0.5),
      ...                             (augment.GaussianNoise(0.05), 0.5)])
      >>> views = pipeline(jax.random.key(0), images)      # [n, 28, 28]
    """

    steps: tuple[tuple[Transform, float], ...]

    def __init__(self, steps: Sequence[Transform | tuple[Transform, float]]):
        checked = []
        for step in steps:
            transform, p = step if isinstance(step, tuple) else (step, 1.0)
            if not callable(transform):
                raise ValueError(f"Compose takes transforms t(key, images) or (t, p) pairs; "
                                 f"got {step!r}.")
            checked.append((transform, _batch.probability(p, f"probability of {transform!r}")))
        object.__setattr__(self, "steps", tuple(checked))

    def __call__(self, key: jax.Array, images) -> jax.Array:
        _batch.images(images)  # the layout check; the transforms keep the input's layout
        x = _validation.as_float_array(images, "images")
        keys = jax.random.split(_validation.prng_key(key), 2 * max(len(self.steps), 1))
        for i, (transform, p) in enumerate(self.steps):
            if p == 0.0:
                continue
            out = transform(keys[2 * i], x)
            if p < 1.0:
                keep = jax.random.bernoulli(keys[2 * i + 1], p, (x.shape[0],))
                out = jnp.where(keep.reshape((-1,) + (1,) * (x.ndim - 1)), out, x)
            x = out
        return x


def simclr_views(pipeline: Transform, key: jax.Array, images) -> tuple[jax.Array, jax.Array]:
    """Two independently augmented views of every image: ``(views_a, views_b)``, each
    shaped like ``images`` (SimCLR's positive pairs)."""
    key_a, key_b = jax.random.split(_validation.prng_key(key))
    return pipeline(key_a, images), pipeline(key_b, images)
