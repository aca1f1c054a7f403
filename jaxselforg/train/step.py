"""Pure training steps over a ``TrainState``: one network, or several in alternation.

A step is a pure function ``(state, batch) -> (state, metrics)`` that ``jax.jit``
compiles, ``lax.scan`` iterates over an epoch and ``jax.vmap`` maps over runs. It is
a sequence of **phases**; a phase updates one role on its own loss, ``repeats``
times, with a fresh key each time:

* :func:`make_step`: one phase -- a single network, or one trainable role beside
  fixed ones (a student beside its teacher);
* :func:`make_alternating_step`: several phases -- a GAN's discriminator (or
  critic) ``n_critic`` times, then its generator.

In a phase only the role being updated is differentiated and changed: every other
role's parameters *and* statistics (BatchNorm running averages) come out of the
step bit-identical, whatever mode the loss runs it in. Train or eval mode is the
loss's explicit choice at each call (``model(x, train=False)``), never hidden state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from jaxselforg.train.state import SINGLE_ROLE, TrainState, _roles, merge_model

__all__ = ["LossFn", "Phase", "Step", "StepFn", "make_alternating_step", "make_step",
           "tree_all_finite"]

LossFn = Callable[[Any, Any, jax.Array, dict[str, jax.Array]],
                  tuple[jax.Array, dict[str, jax.Array]]]
"""``loss_fn(model, batch, key, hyperparams) -> (scalar loss, {name: scalar metric})``.

``model`` is the network (one role) or ``{role: network}`` (several); ``hyperparams``
is ``state.hyperparams``, the loss's traced hyperparameters."""

StepFn = Callable[[Any, Any], tuple[Any, dict[str, jax.Array]]]
"""``step(state, batch) -> (state, {name: scalar metric})``; ``state`` has ``.key``."""


@dataclasses.dataclass(frozen=True)
class _MethodLoss:
    """``getattr(owner, name)`` as a loss equal (and hashing equal) by ``owner``'s value.

    Python compares a bound method by the identity of its object, so the same method of
    two equal objectives (``GANObjective(...).generator``, built anew by every call of a
    training function) would make unequal steps and recompile the epoch."""

    owner: Any
    name: str

    def __call__(self, *args):
        return getattr(self.owner, self.name)(*args)


def _by_value(loss_fn):
    """A bound method of a frozen dataclass as a :class:`_MethodLoss`; else unchanged."""
    owner = getattr(loss_fn, "__self__", None)
    params = getattr(type(owner), "__dataclass_params__", None)
    if params is not None and params.frozen and not isinstance(owner, type):
        return _MethodLoss(owner, loss_fn.__func__.__name__)
    return loss_fn


@dataclasses.dataclass(frozen=True)
class Phase:
    """One role's update inside a step.

    Attributes:
      role: the role updated (it must have an optimizer).
      loss_fn: its loss (:data:`LossFn`); the other roles enter it held fixed.
      repeats: how many updates in a row, each with a fresh key and the same batch
        (a WGAN critic's ``n_critic``).
    """

    role: str
    loss_fn: LossFn
    repeats: int = 1

    def __post_init__(self):
        # Equal phases for equal objectives: a rebuilt step reuses the compiled epoch.
        object.__setattr__(self, "loss_fn", _by_value(self.loss_fn))


@dataclasses.dataclass(frozen=True)
class Step:
    """A step function: its phases run in order on one batch. Equal (and hashing
    equal) for equal graphdefs, optimizers and phases, so that a rebuilt step reuses
    the compiled epoch of ``fit``. Build it with :func:`make_step` or
    :func:`make_alternating_step`."""

    graphdefs: tuple[tuple[str, nnx.GraphDef], ...]
    optimizers: tuple[tuple[str, optax.GradientTransformation], ...]
    phases: tuple[Phase, ...]
    single: bool

    def __call__(self, state: TrainState, batch) -> tuple[TrainState, dict[str, jax.Array]]:
        _check_state(self, state)
        graphdefs, optimizers = dict(self.graphdefs), dict(self.optimizers)
        n_updates = sum(phase.repeats for phase in self.phases)
        key, *update_keys = jax.random.split(jax.random.wrap_key_data(state.key), 1 + n_updates)
        params, model_state = dict(state.params), dict(state.model_state)
        opt_state = dict(state.opt_state)
        metrics: dict[str, jax.Array] = {}
        update_keys = iter(update_keys)
        for phase in self.phases:
            runs = []
            for _ in range(phase.repeats):
                values = _update(graphdefs, optimizers[phase.role], phase, params, model_state,
                                 opt_state, batch, next(update_keys), state.hyperparams,
                                 self.single)
                params, model_state, opt_state, phase_metrics = values
                runs.append(phase_metrics)
            mean = jax.tree.map(lambda *v: jnp.mean(jnp.stack(v)), *runs)
            prefix = "" if len(self.phases) == 1 else f"{phase.role}/"
            metrics.update({prefix + name: value for name, value in mean.items()})
        new_state = state._replace(params=params, model_state=model_state, opt_state=opt_state,
                                   step=state.step + 1, key=jax.random.key_data(key))
        return new_state, metrics


class _Roles(dict):
    """The networks handed to a loss: a dict whose missing role is a clear error."""

    def __missing__(self, role):
        raise KeyError(f"No role {role!r} in this step; the roles are {list(self)}.")


def _update(graphdefs, optimizer, phase, params, model_state, opt_state, batch, key,
            hyperparams, single):
    """One update of ``phase.role``; every other role enters as a constant."""
    role = phase.role

    def objective(role_params):
        models = _Roles({r: merge_model(g, role_params if r == role else params[r],
                                        model_state[r]) for r, g in graphdefs.items()})
        loss, metrics = phase.loss_fn(models[SINGLE_ROLE] if single else models, batch, key,
                                      hyperparams)
        # Only the updated role keeps what its forward passes changed (BatchNorm
        # statistics); the others' are dropped, so they stay bit-identical.
        _, _, new_role_state = nnx.split(models[role], nnx.Param, ...)
        return loss, (metrics, nnx.to_pure_dict(new_role_state))

    (loss, (metrics, role_state)), grads = jax.value_and_grad(objective, has_aux=True)(
        params[role])
    updates, role_opt = optimizer.update(grads, opt_state[role], params[role])
    params = {**params, role: optax.apply_updates(params[role], updates)}
    model_state = {**model_state, role: role_state}
    opt_state = {**opt_state, role: role_opt}
    return params, model_state, opt_state, {"loss": loss, "grad_norm": optax.tree.norm(grads),
                                            **metrics}


def _check_state(step: Step, state) -> None:
    """Trace-time check that the state has this step's roles (raises, never silent)."""
    roles = [role for role, _ in step.graphdefs]
    if not hasattr(state, "params") or not isinstance(state.params, Mapping):
        raise ValueError("The step takes a train.TrainState (from create_state/init_state); "
                         f"got {type(state).__name__}.")
    if sorted(state.params) != sorted(roles):
        raise ValueError(f"The step was built for roles {roles}; the state has "
                         f"{list(state.params)}.")
    for role, _ in step.optimizers:
        if role not in state.opt_state:
            raise ValueError(f"Role {role!r} is frozen in the state (created without an "
                             "optimizer) but the step was given an optimizer for it; build "
                             "the state with that optimizer, or pass None for the role.")


def _as_roles(graphdef, optimizer):
    """``({role: graphdef}, {trainable role: optimizer}, single)``, checked as the
    state's roles are (:func:`~jaxselforg.train.create_state`)."""
    graphdefs, optimizers, single = _roles(graphdef, optimizer)
    return graphdefs, {r: o for r, o in optimizers.items() if o is not None}, single


def _build(graphdefs, optimizers, phases, single) -> Step:
    if not phases:
        raise ValueError("A step needs at least one phase.")
    for phase in phases:
        if not isinstance(phase, Phase):
            raise ValueError(f"Phases must be train.Phase(role, loss_fn, repeats); got "
                             f"{phase!r}.")
        if phase.role not in graphdefs:
            raise ValueError(f"Phase role {phase.role!r} is not a role of the models; the "
                             f"roles are {sorted(graphdefs)}.")
        if phase.role not in optimizers:
            raise ValueError(f"Role {phase.role!r} is frozen (its optimizer is None), so no "
                             "phase can update it; give it an optimizer or drop the phase.")
        if not callable(phase.loss_fn):
            raise ValueError(f"The loss of phase {phase.role!r} must be callable; got "
                             f"{type(phase.loss_fn).__name__}.")
        if isinstance(phase.repeats, bool) or not isinstance(phase.repeats, int) \
                or phase.repeats < 1:
            raise ValueError(f"Phase {phase.role!r} needs repeats (n_critic) >= 1; got "
                             f"{phase.repeats!r}.")
    return Step(tuple(graphdefs.items()), tuple(optimizers.items()), tuple(phases), single)


def make_step(graphdef, loss_fn: LossFn, optimizer, *, role: str | None = None) -> Step:
    """The pure step ``(state, batch) -> (state, metrics)`` of one loss.

    The step splits a fresh key off ``state.key`` for ``loss_fn`` (sampling,
    dropout, dynamic binarization, augmentation), differentiates the loss with
    respect to the role's parameters, applies its optimizer and keeps the
    non-parameter variables the role's forward pass updated (``model_state``).
    Other roles (a teacher) are held fixed, parameters and statistics bit-identical.

    Args:
      graphdef: one network's graphdef, or ``{role: graphdef}`` from
        :func:`~jaxselforg.train.create_state`.
      loss_fn: ``loss_fn(model, batch, key, hyperparams) -> (loss, metrics)``: a
        scalar loss to minimize and a dict of scalar metrics to log (may be empty);
        ``model`` is the network, or ``{role: network}`` for several roles.
        Hashable by value (a module-level function or a frozen dataclass) for a
        rebuilt step to reuse compiled programs.
      optimizer: the Optax transformation the state was created with, or
        ``{role: transformation or None}``.
      role: the role trained, for several roles (default: the only one with an
        optimizer).

    Returns:
      A :class:`Step`; ``metrics`` holds ``"loss"``, ``"grad_norm"`` (global L2 norm
      of the gradient) and ``loss_fn``'s metrics. Not jitted: jit it, or hand it to
      :func:`~jaxselforg.train.make_epoch` / ``fit``.

    Examples:
      >>> def loss_fn(model, batch, key, hyperparams):
      ...     x, y = batch
      ...     return jnp.mean((model(x) - y) ** 2), {}
      >>> step = train.make_step(graphdef, loss_fn, optimizer)
      >>> state, metrics = jax.jit(step)(state, (x, y))
    """
    graphdefs, optimizers, single = _as_roles(graphdef, optimizer)
    if role is None:
        if len(optimizers) != 1:
            raise ValueError(f"Roles {sorted(optimizers)} have optimizers; name the role this "
                             "step trains (role=...), or use make_alternating_step.")
        (role,) = optimizers
    return _build(graphdefs, optimizers, [Phase(role, loss_fn)], single)


def make_alternating_step(graphdefs: Mapping[str, nnx.GraphDef], optimizers,
                          phases: Sequence[Phase]) -> Step:
    """A step of several phases in order, each updating one role on its own loss.

    The adversarial game of a GAN: ``[Phase("discriminator", d_loss, repeats=n_critic),
    Phase("generator", g_loss)]`` updates the discriminator ``n_critic`` times (the
    generator held fixed), then the generator once (the discriminator held fixed,
    its BatchNorm statistics untouched). Each update draws a fresh key; the repeats
    share the step's batch, as the Keras WGAN-GP example does.

    Args:
      graphdefs: ``{role: graphdef}``.
      optimizers: ``{role: Optax transformation or None}`` (the state's).
      phases: :class:`Phase` objects, run in order.

    Returns:
      A :class:`Step`; its metrics are each phase's, named ``"<role>/<name>"``
      (``"discriminator/loss"``, ``"generator/grad_norm"``, ...), averaged over the
      phase's repeats.

    Raises:
      ValueError: a phase names an unknown or frozen role, or has ``repeats < 1``.
    """
    if not isinstance(graphdefs, Mapping):
        raise ValueError("make_alternating_step takes {role: graphdef}; for one network use "
                         "make_step.")
    graphdefs, optimizers, single = _as_roles(graphdefs, optimizers)
    return _build(graphdefs, optimizers, list(phases), single)


def tree_all_finite(tree) -> jax.Array:
    """True when every floating leaf of ``tree`` is finite (a scalar bool array)."""
    checks = [jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(tree)
              if jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.inexact)]
    return jnp.all(jnp.stack(checks)) if checks else jnp.asarray(True)
