"""The training state: a Flax NNX model split into plain pytrees, plus its optimizer.

A model is split once into a static ``graphdef`` (the module's structure, hashable)
and two nested dicts of arrays: ``params`` (every ``nnx.Param``) and
``model_state`` (every other variable, e.g. batch-norm statistics; ``{}`` for most
models). Together with the Optax state, the step count and a PRNG key they form a
``TrainState`` NamedTuple, which is what the pure step function maps, ``lax.scan``
carries, ``jax.vmap`` batches and the ``Checkpointer`` saves::

    optimizer = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)
    graphdef, state = train.init_state(model, optimizer, key=jax.random.key(1))
    # or: build and initialize in one compiled program (much faster than eager init)
    graphdef, state = train.create_state(models.MLPVAE, optimizer, key=jax.random.key(1))

Numeric hyperparameters live in the optimizer state when the optimizer is built with
``optax.inject_hyperparams``: they are then traced values, so one compiled program
serves every learning rate, and ``init_states`` builds a batch of runs (seeds x
hyperparameters) that ``jax.vmap`` trains at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jax.typing import ArrayLike

__all__ = [
    "TrainState",
    "create_state",
    "get_hyperparams",
    "init_state",
    "init_states",
    "merge_model",
    "select_run",
    "set_hyperparams",
    "split_model",
]


class TrainState(NamedTuple):
    """Everything that changes during training, as a pytree of arrays.

    Attributes:
      params: nested dict of the model's ``nnx.Param`` values.
      model_state: nested dict of the model's other variables (``{}`` if none).
      opt_state: the Optax optimizer state.
      step: number of optimizer steps taken, int32 scalar.
      key: PRNG key data (uint32, ``jax.random.key_data`` form, so it checkpoints);
        split on every step and every epoch, never reused.
    """

    params: Any
    model_state: Any
    opt_state: optax.OptState
    step: jax.Array
    key: jax.Array


def split_model(model: nnx.Module) -> tuple[nnx.GraphDef, dict, dict]:
    """``(graphdef, params, model_state)`` of an NNX module, the last two plain dicts."""
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    return graphdef, nnx.to_pure_dict(params), nnx.to_pure_dict(rest)


def merge_model(graphdef: nnx.GraphDef, params, model_state=None) -> nnx.Module:
    """The NNX module with these parameters (inverse of :func:`split_model`)."""
    return nnx.merge(graphdef, nnx.State(params), nnx.State(model_state or {}))


def _key_data(key: ArrayLike) -> jax.Array:
    key = jnp.asarray(key)
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(key)
    if key.dtype != jnp.uint32:
        raise ValueError(f"key must be a PRNG key (jax.random.key) or its uint32 key data; "
                         f"got dtype {key.dtype}.")
    return key


def init_state(
    model: nnx.Module, optimizer: optax.GradientTransformation, *, key: ArrayLike
) -> tuple[nnx.GraphDef, TrainState]:
    """Splits ``model`` and initializes the optimizer: ``(graphdef, state)`` at step 0.

    Args:
      model: an initialized NNX module.
      optimizer: an Optax transformation; build it with ``optax.inject_hyperparams``
        to make its hyperparameters traced state (needed by :func:`set_hyperparams`).
      key: PRNG key for the randomness of training (batch order, sampling).

    Returns:
      ``(graphdef, state)``.
    """
    graphdef, params, model_state = split_model(model)
    state = TrainState(params, model_state, optimizer.init(params),
                       jnp.zeros((), jnp.int32), _key_data(key))
    return graphdef, state


def _checked_hyperparams(hyperparams, n_runs: int | None) -> dict[str, jax.Array]:
    values = {}
    for name, value in hyperparams.items():
        value = jnp.asarray(value)
        if n_runs is None:
            if value.ndim:
                raise ValueError(f"hyperparameter {name!r} must be a scalar for one run; got "
                                 f"shape {value.shape} (use init_states for several runs).")
        else:
            if value.ndim == 0:
                value = jnp.broadcast_to(value, (n_runs,))
            if value.shape != (n_runs,):
                raise ValueError(f"hyperparameter {name!r} needs one value per run ({n_runs}); "
                                 f"got shape {value.shape}.")
        values[name] = value
    return values


def _typed_keys(keys: ArrayLike) -> jax.Array:
    keys = jnp.asarray(keys)
    if not jnp.issubdtype(keys.dtype, jax.dtypes.prng_key):
        keys = jax.random.wrap_key_data(keys)
    return keys


def _graphdef(model_fn) -> nnx.GraphDef:
    return nnx.graphdef(nnx.eval_shape(lambda: model_fn(nnx.Rngs(0))))


def _create(model_fn, optimizer, key, values) -> TrainState:
    model_key, train_key = jax.random.split(key)
    _, state = init_state(model_fn(nnx.Rngs(model_key)), optimizer, key=train_key)
    return set_hyperparams(state, **values)


# Static (hashed) model_fn and optimizer: later calls with the same ones (every run of
# init_states, a single run checked against a sweep) reuse the compiled program.
_create_one = jax.jit(_create, static_argnums=(0, 1))


def create_state(
    model_fn: Callable[[nnx.Rngs], nnx.Module],
    optimizer: optax.GradientTransformation,
    *,
    key: ArrayLike,
    **hyperparams: ArrayLike,
) -> tuple[nnx.GraphDef, TrainState]:
    """Builds the model and its state in one compiled program: ``(graphdef, state)``.

    Equivalent to :func:`init_state` on ``model_fn(nnx.Rngs(model_key))`` with
    ``model_key, train_key = jax.random.split(key)``, then :func:`set_hyperparams`;
    compiled at once, which is much faster than initializing layer by layer eagerly.
    Run i of ``init_states(model_fn, optimizer, keys, ...)`` equals
    ``create_state(model_fn, optimizer, key=keys[i], ...)`` with run i's values.

    Args:
      model_fn: builds the model from ``nnx.Rngs``; hashable (a class, a function, a
        frozen dataclass), so that the same one reuses the compiled program.
      optimizer: an Optax transformation (hashable, as Optax's are).
      key: PRNG key (split into the model's and training's keys).
      **hyperparams: scalar values of the optimizer's injected hyperparameters.

    Returns:
      ``(graphdef, state)``.
    """
    key = _typed_keys(key)
    if key.ndim:
        raise ValueError(f"key must be a single PRNG key; got shape {key.shape} "
                         "(use init_states for several runs).")
    values = _checked_hyperparams(hyperparams, None)
    return _graphdef(model_fn), _create_one(model_fn, optimizer, key, values)


def init_states(
    model_fn: Callable[[nnx.Rngs], nnx.Module],
    optimizer: optax.GradientTransformation,
    keys: ArrayLike,
    **hyperparams: ArrayLike,
) -> tuple[nnx.GraphDef, TrainState]:
    """A batch of independent runs: every leaf of the state gets a leading run axis.

    Run i is :func:`create_state` with ``keys[i]`` and ``hyperparams[name][i]``.
    ``jax.vmap`` over the result (e.g. :func:`jaxselforg.train.fit`, which does it)
    trains all runs in one program.

    Args:
      model_fn: builds the model from ``nnx.Rngs``, e.g.
        ``lambda rngs: models.MLPVAE(latent_dim=2, rngs=rngs)``.
      optimizer: built with ``optax.inject_hyperparams`` if ``hyperparams`` are given.
      keys: ``[n_runs]`` PRNG keys (``jax.random.split(key, n_runs)``).
      **hyperparams: per-run values ``[n_runs]`` (or scalars, shared) of the
        optimizer's injected hyperparameters, e.g. ``learning_rate=jnp.array([...])``.

    Returns:
      ``(graphdef, state)`` with leaves ``[n_runs, ...]``.

    Raises:
      ValueError: a hyperparameter is not injected in ``optimizer`` or has the wrong
        number of values.
    """
    keys = _typed_keys(keys)
    if keys.ndim != 1:
        raise ValueError(f"keys must be a [n_runs] array of PRNG keys; got shape {keys.shape}.")
    values = _checked_hyperparams(hyperparams, keys.shape[0])
    # Run by run with the one compiled creation (compiling it vmapped costs more than
    # the loop), so run i is exactly create_state(..., key=keys[i], ...).
    runs = [_create_one(model_fn, optimizer, keys[i], {name: value[i] for name, value
                                                        in values.items()})
            for i in range(keys.shape[0])]
    return _graphdef(model_fn), _stack(runs)


@jax.jit
def _stack(runs):
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *runs)


@jax.jit
def _take(tree, i):
    return jax.tree.map(lambda leaf: leaf[i], tree)


def select_run(tree, i: int):
    """Run ``i`` of a batch of runs: every leaf's ``[i]`` (one compiled gather)."""
    return _take(tree, i)


def _is_injected(node) -> bool:
    return hasattr(node, "hyperparams") and isinstance(node.hyperparams, dict)


def _injected_states(opt_state) -> list:
    return [node for node in jax.tree.leaves(opt_state, is_leaf=_is_injected)
            if _is_injected(node)]


def get_hyperparams(state: TrainState) -> dict[str, jax.Array]:
    """The injected hyperparameters of ``state``'s optimizer (``{}`` if none)."""
    found = {}
    for node in _injected_states(state.opt_state):
        found.update(node.hyperparams)
    return found


def set_hyperparams(state: TrainState, **values: ArrayLike) -> TrainState:
    """``state`` with new values of injected hyperparameters (same dtype as before).

    Raises:
      ValueError: a name is not a hyperparameter injected with
        ``optax.inject_hyperparams`` in the optimizer.
    """
    if not values:
        return state
    known = get_hyperparams(state)
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(
            f"Unknown hyperparameter(s) {unknown}; the optimizer injects "
            f"{sorted(known) or 'none'}. Build it with optax.inject_hyperparams(...) to "
            "make hyperparameters traced state."
        )

    def replace(node):
        if not _is_injected(node):
            return node
        hyper = dict(node.hyperparams)
        for name, value in values.items():
            if name in hyper:
                hyper[name] = jnp.asarray(value, hyper[name].dtype).reshape(hyper[name].shape)
        return node._replace(hyperparams=hyper)

    opt_state = jax.tree.map(replace, state.opt_state, is_leaf=_is_injected)
    return state._replace(opt_state=opt_state)
