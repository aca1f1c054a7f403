"""The pure training step: one gradient update of a ``TrainState`` on one batch.

The model enters as the static ``graphdef`` and leaves the step as plain arrays, so
the step is a pure function ``(state, batch) -> (state, metrics)`` that ``jax.jit``
compiles, ``lax.scan`` iterates over an epoch and ``jax.vmap`` maps over runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from jaxselforg.train.state import TrainState, merge_model

__all__ = ["LossFn", "StepFn", "make_step"]

LossFn = Callable[[nnx.Module, Any, jax.Array], tuple[jax.Array, dict[str, jax.Array]]]
"""``loss_fn(model, batch, key) -> (scalar loss, {name: scalar metric})``."""

StepFn = Callable[[Any, Any], tuple[Any, dict[str, jax.Array]]]
"""``step(state, batch) -> (state, {name: scalar metric})``; ``state`` has ``.key``."""


def make_step(
    graphdef: nnx.GraphDef, loss_fn: LossFn, optimizer: optax.GradientTransformation
) -> StepFn:
    """Builds the pure step ``(state, batch) -> (state, metrics)`` for a loss.

    The step splits a fresh key off ``state.key`` for ``loss_fn`` (sampling,
    dropout, dynamic binarization, augmentation), differentiates the loss with
    respect to ``state.params``, applies ``optimizer`` and keeps whatever non-parameter
    variables the model updated (``state.model_state``).

    Args:
      graphdef: the model structure from :func:`~jaxselforg.train.init_state`.
      loss_fn: ``loss_fn(model, batch, key) -> (loss, metrics)``: a scalar loss to
        minimize and a dict of scalar metrics to log (may be empty).
      optimizer: the Optax transformation the state was initialized with.

    Returns:
      ``step(state, batch) -> (state, metrics)``; ``metrics`` holds ``"loss"``,
      ``"grad_norm"`` (global L2 norm of the gradient) and ``loss_fn``'s metrics.
      Not jitted: jit it, or hand it to :func:`~jaxselforg.train.make_epoch` / ``fit``.
    """

    def objective(params, model_state, batch, key):
        model = merge_model(graphdef, params, model_state)
        loss, metrics = loss_fn(model, batch, key)
        _, _, new_model_state = nnx.split(model, nnx.Param, ...)
        return loss, (metrics, nnx.to_pure_dict(new_model_state))

    def step(state: TrainState, batch) -> tuple[TrainState, dict[str, jax.Array]]:
        key, loss_key = jax.random.split(jax.random.wrap_key_data(state.key))
        (loss, (metrics, model_state)), grads = jax.value_and_grad(objective, has_aux=True)(
            state.params, state.model_state, batch, loss_key)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        new_state = state._replace(params=params, model_state=model_state, opt_state=opt_state,
                                   step=state.step + 1, key=jax.random.key_data(key))
        return new_state, {"loss": loss, "grad_norm": optax.tree.norm(grads), **metrics}

    return step


def tree_all_finite(tree) -> jax.Array:
    """True when every floating leaf of ``tree`` is finite (a scalar bool array)."""
    checks = [jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(tree)
              if jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.inexact)]
    return jnp.all(jnp.stack(checks)) if checks else jnp.asarray(True)
