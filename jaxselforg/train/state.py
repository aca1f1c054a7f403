"""The training state: one or several Flax NNX networks ("roles") as plain pytrees.

Every network is split once into a static ``graphdef`` (its structure, hashable) and
two nested dicts of arrays: ``params`` (every ``nnx.Param``) and ``model_state``
(every other variable, e.g. BatchNorm statistics; ``{}`` for most models). A
``TrainState`` holds them per role -- ``{"model": ...}`` for one network,
``{"generator": ..., "discriminator": ...}`` for a GAN, ``{"student": ...,
"teacher": ...}`` for distillation -- with each trainable role's Optax state, the
step count, a PRNG key and the loss's traced hyperparameters. It is what the pure
step maps, ``lax.scan`` carries, ``jax.vmap`` batches and the ``Checkpointer`` saves::

    optimizer = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)
    graphdef, state = train.create_state(MyNet, optimizer, key=jax.random.key(1))
    graphdefs, state = train.create_state(
        {"generator": G, "discriminator": D}, {"generator": adam, "discriminator": adam},
        key=jax.random.key(1))
    graphdefs, state = train.init_state(                  # from built modules
        {"student": student, "teacher": trained_teacher}, {"student": adam, "teacher": None},
        key=jax.random.key(1))                             # None: a frozen role

A role whose optimizer is ``None`` is frozen: it has no optimizer state and no step
ever changes its parameters or statistics.

Numeric hyperparameters are traced state, so one compiled program serves a sweep:
those of an optimizer built with ``optax.inject_hyperparams`` live in its state; those
of the loss (a KL weight, a temperature) in ``state.hyperparams``. Their names (see
:func:`get_hyperparams`) are plain (``"learning_rate"``, ``"beta"``) for the role
``"model"`` and the loss, and qualified by role (``"generator.learning_rate"``) and by
``optax.partition`` label (``"student.head.learning_rate"``) elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jax.typing import ArrayLike

from jaxselforg import _validation

__all__ = [
    "SINGLE_ROLE",
    "TrainState",
    "create_state",
    "get_hyperparams",
    "get_model",
    "init_state",
    "init_states",
    "merge_model",
    "select_run",
    "set_hyperparams",
    "split_model",
]

SINGLE_ROLE = "model"
"""The role name of a single network."""


class TrainState(NamedTuple):
    """Everything that changes during training, as a pytree of arrays.

    Attributes:
      params: ``{role: nested dict of the role's nnx.Param values}``.
      model_state: ``{role: nested dict of its other variables}`` (``{}`` if none).
      opt_state: ``{role: Optax state}`` for every trainable role (frozen roles have
        no entry).
      step: number of steps taken (calls of the step function), int32 scalar.
      key: PRNG key data (uint32, ``jax.random.key_data`` form, so it checkpoints);
        split on every step and every epoch, never reused.
      hyperparams: ``{name: float32 scalar}``: the loss's traced hyperparameters,
        handed to the loss at every step (``{}`` if none).
    """

    params: dict[str, Any]
    model_state: dict[str, Any]
    opt_state: dict[str, optax.OptState]
    step: jax.Array
    key: jax.Array
    hyperparams: dict[str, jax.Array]

    @property
    def roles(self) -> tuple[str, ...]:
        """The role names, in order."""
        return tuple(self.params)


def split_model(model: nnx.Module) -> tuple[nnx.GraphDef, dict, dict]:
    """``(graphdef, params, model_state)`` of an NNX module, the last two plain dicts."""
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    return graphdef, nnx.to_pure_dict(params), nnx.to_pure_dict(rest)


def merge_model(graphdef: nnx.GraphDef, params, model_state=None) -> nnx.Module:
    """The NNX module with these parameters (inverse of :func:`split_model`)."""
    return nnx.merge(graphdef, nnx.State(params), nnx.State(model_state or {}))


def get_model(graphdef, state: TrainState, role: str | None = None) -> nnx.Module:
    """The NNX module of one role of ``state`` (of one run: see :func:`select_run`).

    Args:
      graphdef: the ``graphdef`` (one network) or ``{role: graphdef}`` that
        :func:`create_state` returned with ``state``.
      state: a :class:`TrainState`.
      role: which network; default the only one.

    Raises:
      ValueError: ``role`` is not in the state, or is needed and not given.
    """
    graphdefs = _graphdefs(graphdef)
    if role is None:
        if len(graphdefs) != 1:
            raise ValueError(f"This state has roles {sorted(graphdefs)}; name the role.")
        (role,) = graphdefs
    if role not in graphdefs or role not in state.params:
        raise ValueError(f"Unknown role {role!r}; the state has roles {list(state.params)}.")
    return merge_model(graphdefs[role], state.params[role], state.model_state[role])


def _graphdefs(graphdef) -> dict[str, nnx.GraphDef]:
    return dict(graphdef) if isinstance(graphdef, Mapping) else {SINGLE_ROLE: graphdef}


def _key_data(key: ArrayLike) -> jax.Array:
    return jax.random.key_data(_validation.prng_key(key))


def _roles(models, optimizers) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """``({role: model or model_fn}, {role: optimizer or None}, single)``, checked."""
    if not isinstance(models, Mapping):
        if isinstance(optimizers, Mapping) or optimizers is None:
            raise ValueError("One network takes one Optax optimizer; got "
                             f"{type(optimizers).__name__}. For several networks pass dicts "
                             "{role: model} and {role: optimizer or None}.")
        return {SINGLE_ROLE: models}, {SINGLE_ROLE: optimizers}, True
    if not models:
        raise ValueError("At least one role is needed; got an empty dict of models.")
    if not isinstance(optimizers, Mapping):
        raise ValueError(f"Several roles {sorted(models)} need a dict {{role: optimizer or "
                         f"None}}; got {type(optimizers).__name__}.")
    for role in models:
        if not isinstance(role, str) or not role or "." in role or "/" in role:
            raise ValueError(f"Role names must be non-empty strings without '.' or '/'; "
                             f"got {role!r}.")
    unknown = sorted(set(optimizers) - set(models))
    if unknown:
        raise ValueError(f"Optimizers given for role(s) {unknown} that have no model; the "
                         f"roles are {sorted(models)}.")
    optimizers = {role: optimizers.get(role) for role in models}
    if all(opt is None for opt in optimizers.values()):
        raise ValueError(f"Every role {sorted(models)} is frozen (no optimizer): there is "
                         "nothing to train.")
    return dict(models), optimizers, False


def _loss_hyperparams(hyperparams: Mapping[str, ArrayLike] | None) -> dict[str, jax.Array]:
    values = {}
    for name, value in (hyperparams or {}).items():
        if not isinstance(name, str) or not name or "." in name:
            raise ValueError(f"Loss hyperparameter names must be non-empty strings without "
                             f"'.'; got {name!r}.")
        value = jnp.asarray(value)
        if not jnp.issubdtype(value.dtype, jnp.floating):
            value = value.astype(jnp.float32)
        values[name] = value
    return values


def _assemble(modules, optimizers, key, hyperparams) -> TrainState:
    params, model_state, opt_state = {}, {}, {}
    for role, module in modules.items():
        _, params[role], model_state[role] = split_model(module)
        if optimizers[role] is not None:
            opt_state[role] = optimizers[role].init(params[role])
    return TrainState(params, model_state, opt_state, jnp.zeros((), jnp.int32), _key_data(key),
                      hyperparams)


def init_state(models, optimizers, *, key: ArrayLike,
               hyperparams: Mapping[str, ArrayLike] | None = None):
    """A state at step 0 from built modules: ``(graphdef, state)``.

    Args:
      models: an initialized NNX module, or ``{role: module}`` (a trained teacher, a
        pretrained encoder).
      optimizers: its Optax transformation, or ``{role: transformation or None}``
        (``None``: the role is frozen). Build them with ``optax.inject_hyperparams``
        to make their hyperparameters traced state.
      key: PRNG key for the randomness of training (batch order, sampling).
      hyperparams: the loss's traced hyperparameters ``{name: scalar}``.

    Returns:
      ``(graphdef, state)``; ``graphdef`` is ``{role: graphdef}`` for a dict of models.
    """
    modules, optimizers, single = _roles(models, optimizers)
    graphdefs = {role: nnx.graphdef(module) for role, module in modules.items()}
    state = _assemble(modules, optimizers, key, _loss_hyperparams(hyperparams))
    return (graphdefs[SINGLE_ROLE] if single else graphdefs), state


def _checked_values(values, n_runs: int | None) -> dict[str, jax.Array]:
    checked = {}
    for name, value in values.items():
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
        checked[name] = value
    return checked


def _typed_keys(keys: ArrayLike) -> jax.Array:
    """A ``[n_runs]`` batch of typed keys (or their uint32 data), checked."""
    keys = _validation.prng_key(keys, "keys", allow_batch=True)
    if keys.ndim != 1:
        raise ValueError(f"keys must be a [n_runs] batch of PRNG keys, e.g. "
                         f"jax.random.split(key, n_runs); got shape {tuple(keys.shape)}.")
    return keys


def _graphdef_of(model_fns) -> dict[str, nnx.GraphDef]:
    return {role: nnx.graphdef(nnx.eval_shape(lambda fn=fn: fn(nnx.Rngs(0))))
            for role, fn in model_fns}


def _create(model_fns, optimizers, key, hyperparams, values) -> TrainState:
    # One key per role in role order, then the training key: adding a role does not
    # change how the first role is initialized.
    keys = jax.random.split(key, len(model_fns) + 1)
    modules = {role: fn(nnx.Rngs(keys[i])) for i, (role, fn) in enumerate(model_fns)}
    state = _assemble(modules, dict(optimizers), keys[-1], hyperparams)
    return set_hyperparams(state, values)


# Static (hashed) model functions and optimizers: later calls with the same ones (every
# run of init_states, a single run checked against a sweep) reuse the compiled program.
_create_one = jax.jit(_create, static_argnums=(0, 1))


def _static_roles(model_fns, optimizers):
    fns, optimizers, single = _roles(model_fns, optimizers)
    for role, fn in fns.items():
        if not callable(fn) or isinstance(fn, nnx.Module):
            raise ValueError(f"create_state builds models from functions model_fn(rngs); role "
                             f"{role!r} got {type(fn).__name__} (use init_state for built "
                             "modules).")
    return tuple(fns.items()), tuple(optimizers.items()), single


def create_state(
    model_fns,
    optimizers,
    *,
    key: ArrayLike,
    hyperparams: Mapping[str, ArrayLike] | None = None,
    **values: ArrayLike,
):
    """Builds the networks and their state in one compiled program: ``(graphdef, state)``.

    ``key`` is split into one key per role (in the dict's order) and the training
    key; role r is ``model_fns[r](nnx.Rngs(keys[r]))``. Compiled at once, which is
    much faster than initializing layer by layer eagerly. Run i of
    ``init_states(model_fns, optimizers, keys, ...)`` equals
    ``create_state(model_fns, optimizers, key=keys[i], ...)`` with run i's values.

    Args:
      model_fns: a function ``model_fn(rngs) -> nnx.Module`` (one network, role
        ``"model"``) or ``{role: model_fn}``; hashable (a class, a function, a frozen
        dataclass), so that the same ones reuse the compiled program.
      optimizers: an Optax transformation, or ``{role: transformation or None}``
        (``None``: frozen); hashable, as Optax's are.
      key: PRNG key.
      hyperparams: the loss's traced hyperparameters ``{name: scalar}`` (e.g.
        ``{"beta": 1.0}``), handed to the loss at every step.
      **values: values of the optimizers' injected hyperparameters, by the names of
        :func:`get_hyperparams` (``learning_rate=3e-4`` sets every role's;
        ``**{"generator.learning_rate": 1e-4}`` one role's).

    Returns:
      ``(graphdef, state)``; ``graphdef`` is ``{role: graphdef}`` for a dict of models.

    Examples:
      >>> opt = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)
      >>> graphdef, state = train.create_state(MyNet, opt, key=jax.random.key(0),
      ...                                      learning_rate=3e-4)
    """
    fns, opts, single = _static_roles(model_fns, optimizers)
    key = _validation.prng_key(key)  # one key; init_states takes several
    loss_hp = _loss_hyperparams(hyperparams)
    _checked_values(loss_hp, None)
    values = _checked_values(values, None)
    graphdefs = _graphdef_of(fns)
    state = _create_one(fns, opts, key, loss_hp, values)
    return (graphdefs[SINGLE_ROLE] if single else graphdefs), state


def init_states(
    model_fns,
    optimizers,
    keys: ArrayLike,
    *,
    hyperparams: Mapping[str, ArrayLike] | None = None,
    **values: ArrayLike,
):
    """A batch of independent runs: every leaf of the state gets a leading run axis.

    Run i is :func:`create_state` with ``keys[i]``, ``hyperparams[name][i]`` and
    ``values[name][i]``. ``jax.vmap`` over the result (e.g.
    :func:`jaxselforg.train.fit`, which does it) trains all runs in one program.

    Args:
      model_fns: as :func:`create_state`.
      optimizers: as :func:`create_state`.
      keys: ``[n_runs]`` PRNG keys (``jax.random.split(key, n_runs)``).
      hyperparams: per-run values ``[n_runs]`` (or scalars, shared) of the loss's
        hyperparameters.
      **values: per-run values ``[n_runs]`` (or scalars) of injected optimizer
        hyperparameters, e.g. ``learning_rate=jnp.array([...])``.

    Returns:
      ``(graphdef, state)`` with leaves ``[n_runs, ...]``.

    Raises:
      ValueError: a hyperparameter is not injected in any optimizer or has the
        wrong number of values.
    """
    fns, opts, single = _static_roles(model_fns, optimizers)
    keys = _typed_keys(keys)
    if keys.ndim != 1:
        raise ValueError(f"keys must be a [n_runs] array of PRNG keys; got shape {keys.shape}.")
    n_runs = keys.shape[0]
    loss_hp = _checked_values(_loss_hyperparams(hyperparams), n_runs)
    values = _checked_values(values, n_runs)
    # Run by run with the one compiled creation (compiling it vmapped costs more than
    # the loop), so run i is exactly create_state(..., key=keys[i], ...).
    runs = [_create_one(fns, opts, keys[i], {k: v[i] for k, v in loss_hp.items()},
                        {k: v[i] for k, v in values.items()}) for i in range(n_runs)]
    graphdefs = _graphdef_of(fns)
    return (graphdefs[SINGLE_ROLE] if single else graphdefs), _stack(runs)


@jax.jit
def _stack(runs):
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *runs)


@jax.jit
def _take(tree, i):
    return jax.tree.map(lambda leaf: leaf[i], tree)


def select_run(tree, i: int):
    """Run ``i`` of a batch of runs: every leaf's ``[i]`` (one compiled gather).

    Raises:
      ValueError: ``i`` not an integer in ``[0, n_runs)`` (an index past the end would
        be clamped to the last run, silently).
    """
    i = _validation.positive_int(i, "run index i", minimum=0)
    runs = {leaf.shape[0] for leaf in jax.tree.leaves(tree) if getattr(leaf, "ndim", 0)}
    if not runs or i >= min(runs):
        raise ValueError(f"run index i must be in [0, n_runs) = [0, {min(runs, default=0)}); "
                         f"got {i}.")
    return _take(tree, i)


# ---------------------------------------------------------------------------
# Hyperparameters.


def _is_injected(node) -> bool:
    return hasattr(node, "hyperparams") and isinstance(node.hyperparams, dict)


def _qualifier(role: str, path) -> str:
    """``role.label...`` from the dict keys on the path to an injected optimizer state
    (``optax.partition`` labels); empty for the single role outside a partition."""
    parts = [] if role == SINGLE_ROLE else [role]
    parts += [str(entry.key) for entry in path if isinstance(entry, jax.tree_util.DictKey)]
    return ".".join(parts)


def _injected(state: TrainState):
    """``[(qualifier, path within the role's opt state, node)]`` of every injected state."""
    found = []
    for role, opt_state in state.opt_state.items():
        for path, node in jax.tree_util.tree_flatten_with_path(
                opt_state, is_leaf=_is_injected)[0]:
            if _is_injected(node):
                found.append((role, _qualifier(role, path), node))
    return found


def _join(qualifier: str, name: str) -> str:
    return f"{qualifier}.{name}" if qualifier else name


def get_hyperparams(state: TrainState) -> dict[str, jax.Array]:
    """Every traced hyperparameter of ``state``: the loss's and the injected optimizers'.

    Names: the loss's as given (``"beta"``); an optimizer's by its role and
    ``optax.partition`` labels: ``"learning_rate"`` for the single network,
    ``"generator.learning_rate"``, ``"student.head.learning_rate"`` otherwise.
    """
    found = dict(state.hyperparams)
    for _, qualifier, node in _injected(state):
        for name, value in node.hyperparams.items():
            found[_join(qualifier, name)] = value
    return found


def _targets(state: TrainState, name: str) -> list[str]:
    """Full names that ``name`` sets: itself, or every optimizer hyperparameter whose
    last part it is (``learning_rate`` -> each role's)."""
    known = get_hyperparams(state)
    if name in known:
        return [name]
    return [full for full in known if full not in state.hyperparams
            and full.rsplit(".", 1)[-1] == name]


def set_hyperparams(state: TrainState, values: Mapping[str, ArrayLike] | None = None,
                    /, **kwargs: ArrayLike) -> TrainState:
    """``state`` with new values of traced hyperparameters (same dtype as before).

    A full name of :func:`get_hyperparams` sets that one; a bare optimizer name
    (``learning_rate``) sets it in every role and partition that injects it.

    Args:
      state: a :class:`TrainState`.
      values: ``{name: value}`` (for names with dots), merged with ``kwargs``.

    Raises:
      ValueError: a name matches no hyperparameter of the loss or of an optimizer
        built with ``optax.inject_hyperparams``.
    """
    values = {**(values or {}), **kwargs}
    if not values:
        return state
    known = get_hyperparams(state)
    assigned: dict[str, jax.Array] = {}
    for name, value in values.items():
        targets = _targets(state, name)
        if not targets:
            raise ValueError(
                f"Unknown hyperparameter {name!r}; this state has {sorted(known) or 'none'}. "
                "Loss hyperparameters are declared with hyperparams={...} at creation; "
                "optimizer ones need optax.inject_hyperparams(...).")
        for full in targets:
            assigned[full] = jnp.asarray(value, known[full].dtype).reshape(known[full].shape)

    loss = {name: assigned.get(name, value) for name, value in state.hyperparams.items()}

    def replace_in(role):
        def replace(path, node):
            if not _is_injected(node):
                return node
            qualifier = _qualifier(role, path)
            hyper = {name: assigned.get(_join(qualifier, name), value)
                     for name, value in node.hyperparams.items()}
            return node._replace(hyperparams=hyper)
        return replace

    opt_state = {role: jax.tree_util.tree_map_with_path(replace_in(role), opt,
                                                        is_leaf=_is_injected)
                 for role, opt in state.opt_state.items()}
    return state._replace(opt_state=opt_state, hyperparams=loss)

