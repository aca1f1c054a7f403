"""Training RBMs: contrastive divergence (CD-k) and persistent CD (PCD).

The log-likelihood gradient (lecture section 8) is data minus model statistics:

    d ln p(v) / d W_ij = <v_i h_j>_data - <v_i h_j>_model,
    d ln p(v) / d a_i = <v_i>_data - <v_i>_model,
    d ln p(v) / d b_j = <h_j>_data - <h_j>_model.

CD-k replaces the model statistics by those of a k-step Gibbs chain started at the
data, following the lecture's six steps: (1) v_0 = the input; (2) P(h | v_0); (3) sample
binary h; (4) P(v | h), sampled to the next visible state; (5) repeat 2-4 k times; (6)
the final hidden probabilities P(h | v_k). The update is eta times
(v_0 P(h | v_0)) - (v_k P(h | v_k)), averaged over the batch. Hidden units are always
sampled while the chain runs, and probabilities (not samples) enter the statistics.
The visible units are sampled too, so the chain is a true Gibbs sampler and CD-k's
direction tends to the exact gradient as k grows.

PCD (Tieleman 2008, "stochastic maximum likelihood") keeps ``n_chains`` persistent
"fantasy" chains: each update advances them k Gibbs steps from where the previous update
left them, instead of restarting at the data. As in Tieleman's and scikit-learn's code,
an update's first hidden sample is drawn from the P(h | v_k) that the previous update
computed (under the parameters of that time) for its statistics, which saves one matrix
product per update.

The estimate, with an optional sparsity target on the hidden units' mean activity q
(a running average, decay 0.9), is an ascent direction g of the log-likelihood:

    g_W = <v h>_data - <v h>_model - c <v>_data (q - rho)^T,
    g_b = <h>_data - <h>_model - c (q - rho),   g_a = <v>_data - <v>_model.

An Optax chain applies it (as the descent direction -g of the negative
log-likelihood). :func:`optimizer` is Hinton's (practical guide, 2010): L2 weight decay
on W only, then classical momentum with the learning rate inside the velocity,

    Delta <- mu(t) Delta + eta(t) (g - lambda W),   theta <- theta + Delta,

with eta(t) and mu(t) :mod:`jaxselforg.schedules` schedules of the update index t
(``fit``: eta decays, mu switches from 0.5 to 0.9 after ``momentum_epochs``). Any other
Optax transformation may take its place.

``contrastive_divergence`` is the rule as an optax-style factory (pure ``init`` and
``update``); ``fit`` is the ready-made trainer: every epoch is one ``lax.scan`` over
on-device shuffled batches, all epochs one compiled program. k, the chain count and all
shapes are static; learning rates, momenta, weight decay and the sparsity settings are
traced, so ``jax.vmap`` over them (and over keys) compiles one program for a sweep.

References:
  G. Hinton, "Training products of experts by minimizing contrastive divergence",
  Neural Computation 14 (2002). T. Tieleman, "Training restricted Boltzmann machines
  using approximations to the likelihood gradient", ICML 2008. G. Hinton, "A practical
  guide to training restricted Boltzmann machines", UTML TR 2010-003.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax
from jax.typing import ArrayLike

from jaxselforg import _validation, schedules
from jaxselforg.data import batching
from jaxselforg.rbm import _checks, model, monitoring
from jaxselforg.rbm.model import GaussianRBMParams, RBMParams

__all__ = [
    "RBMFit",
    "RBMLearner",
    "RBMTrainState",
    "cd_gradient",
    "contrastive_divergence",
    "fit",
    "optimizer",
]


class RBMTrainState(NamedTuple):
    """The learner's state.

    Attributes:
      params: the current RBM.
      opt_state: the Optax optimizer's state (for :func:`optimizer`, the momentum
        buffer Delta and the schedules' update counts).
      chains: ``[n_chains, n_visible]`` persistent fantasy particles (PCD);
        ``[0, n_visible]`` for CD.
      chain_hidden: ``[n_chains, n_hidden]`` P(h | chains) under the parameters that
        moved the chains last (``[0, n_hidden]`` for CD).
      hidden_activity: ``[n_hidden]`` running mean q of P(h | v) on the data.
    """

    params: RBMParams
    opt_state: optax.OptState
    chains: jax.Array
    chain_hidden: jax.Array
    hidden_activity: jax.Array


class RBMLearner(NamedTuple):
    """Pure ``init(params, key) -> state`` and ``update(state, batch, key) -> state``."""

    init: Callable[[RBMParams, jax.Array], RBMTrainState]
    update: Callable[[RBMTrainState, jax.Array, jax.Array], RBMTrainState]


class RBMFit(NamedTuple):
    """A trained RBM; unpacks as ``params, history = rbm.fit(...)``.

    Attributes:
      params: the trained ``RBMParams`` (``GaussianRBMParams`` for Gaussian visibles).
      history: dict of ``[epochs]`` arrays measured after every epoch on a fixed random
        subset of ``monitor_size`` training rows: ``reconstruction_error`` (mean squared
        error summed over pixels, one mean-field pass), ``pseudo_log_likelihood`` (mean
        exact PLL in nats; NaN for Gaussian visibles), ``free_energy_gap`` (mean F on
        ``validation`` minus mean F on the training subset; NaN without validation
        data), and the ``learning_rate`` and ``momentum`` of the epoch's last update.
    """

    params: RBMParams
    history: dict


# ---------------------------------------------------------------------------
# The gradient estimate.


def _gibbs_steps(params, v, hidden_p, key, k):
    """k steps of (sample h ~ P(h|v), sample v ~ P(v|h)); returns (v_k, P(h | v_k))."""

    def body(i, carry):
        v, _ = model.draw_hidden_then_visible(params, jax.random.fold_in(key, i), carry[1])
        return v, jax.nn.sigmoid(model.hidden_input(params, v))

    return lax.fori_loop(0, k, body, (v, hidden_p))


def _gradient(params, v0, key, k, chains, chain_hidden=None):
    """(gradient estimate, v_k, P(h | v_k), P(h | v_0)); chains=None is CD (start at data)."""
    hidden_p0 = jax.nn.sigmoid(model.hidden_input(params, v0))
    if chains is None:
        vk, hidden_pk = _gibbs_steps(params, v0, hidden_p0, key, k)
    else:
        if chain_hidden is None:
            chain_hidden = jax.nn.sigmoid(model.hidden_input(params, chains))
        vk, hidden_pk = _gibbs_steps(params, chains, chain_hidden, key, k)
    n0, nk = v0.shape[0], vk.shape[0]
    grad = type(params)(
        v0.T @ hidden_p0 / n0 - vk.T @ hidden_pk / nk,
        jnp.mean(v0, axis=0) - jnp.mean(vk, axis=0),
        jnp.mean(hidden_p0, axis=0) - jnp.mean(hidden_pk, axis=0),
    )
    return grad, vk, hidden_pk, hidden_p0


@functools.partial(jax.jit, static_argnames=("k",))
def _cd_gradient(params, v, key, chains, *, k):
    grad, new_chains, _, _ = _gradient(params, v, key, k, chains)
    # The chains are Bernoulli draws, which turn NaN into 0 or 1: bad (traced) data or
    # chains are reported on them as on the gradient.
    valid = jnp.all(jnp.isfinite(v)) & (True if chains is None else jnp.all(jnp.isfinite(chains)))
    return grad, _validation.nan_unless(valid, new_chains)


def cd_gradient(
    params: RBMParams,
    v: ArrayLike,
    *,
    key: jax.Array,
    k: int = 1,
    chains: ArrayLike | None = None,
) -> tuple[RBMParams, jax.Array]:
    """The CD-k (or PCD-k) estimate of the gradient of the mean log-likelihood of ``v``.

    Positive statistics from the data and P(h | v); negative ones from the k-th state of
    a Gibbs chain started at ``v`` (CD) or at ``chains`` (PCD) and P(h | v_k):
    g_W = <v P(h|v)^T>_data - <v_k P(h|v_k)^T>, g_b = <P(h|v)> - <P(h|v_k)>,
    g_a = <v> - <v_k>. No weight decay, sparsity or momentum.

    Args:
      params: the RBM.
      v: ``[n, n_visible]`` data batch.
      key: PRNG key for the chain.
      k: Gibbs steps (static, >= 1).
      chains: optional ``[m, n_visible]`` persistent chain states (PCD).

    Returns:
      ``(gradient, v_k)``: the estimate as an ``RBMParams`` (ascent direction of
      (1/n) sum ln p(v)) and the chains' final visible states ``[n or m, n_visible]``.

    Raises:
      ValueError: k < 1, wrong shapes, NaN, Bernoulli data outside [0, 1].
    """
    key = _validation.prng_key(key)
    params = _checks.params(params)
    v = _checks.visible_data(params, v, "v")
    k = _validation.positive_int(k, "k")
    if chains is not None:
        chains = _checks.visible_data(params, chains, "chains")
    return _cd_gradient(params, v, key, chains, k=k)


# ---------------------------------------------------------------------------
# The learning rule.


def _initial_chains(params, key, n_chains):
    """n_chains samples of the visible-bias-only model: Bernoulli(sigmoid(a)) or N(a, I)."""
    mean = params.a if isinstance(params, GaussianRBMParams) else jax.nn.sigmoid(params.a)
    return model.draw_visible(params, key, jnp.broadcast_to(mean, (n_chains, mean.shape[0])))


def _weights_only(params: RBMParams) -> RBMParams:
    """The weight-decay mask: W decays, the biases a and b do not."""
    return type(params)(True, False, False)


def optimizer(learning_rate: ArrayLike | optax.Schedule, momentum: ArrayLike | optax.Schedule = 0.0,
              weight_decay: ArrayLike = 0.0) -> optax.GradientTransformation:
    """Hinton's RBM optimizer as an Optax chain: L2 decay on W, then classical momentum.

    For the descent direction u = -g of an ascent estimate g (CD-k's):

        u_W <- u_W + lambda W  (``optax.add_decayed_weights``, masked to W),
        Delta <- mu(t) Delta - eta(t) u,   theta <- theta + Delta,

    the velocity accumulating eta(t) u (``optax.scale_by_learning_rate`` then
    ``optax.trace``), as in Hinton's practical guide (2010); not
    ``optax.sgd(momentum=...)``, which scales the accumulated trace by the current
    eta instead, a different rule once eta decays. t counts updates from 0.

    Args:
      learning_rate: eta, a number or an optax schedule of the update count (traced).
      momentum: mu in [0, 1), a number or an optax schedule (traced; e.g.
        ``schedules.piecewise_constant((0.5, 0.9), (m,))``).
      weight_decay: lambda >= 0 on W (not on the biases; traced).

    Returns:
      An ``optax.GradientTransformation`` over ``RBMParams`` / ``GaussianRBMParams``.
    """
    if not callable(learning_rate):
        learning_rate = _checks.nonnegative(learning_rate, "learning_rate", positive=True)
    if not callable(momentum):
        momentum = _validation.hyperparameter(momentum, "momentum", maximum=1.0,
                                              strict_maximum=True)
    weight_decay = _checks.nonnegative(weight_decay, "weight_decay")
    return optax.chain(
        optax.add_decayed_weights(weight_decay, mask=_weights_only),
        optax.scale_by_learning_rate(learning_rate),
        # inject_hyperparams evaluates a momentum schedule at the update count.
        optax.inject_hyperparams(optax.trace)(decay=momentum),
    )


def contrastive_divergence(k: int = 1, *, optimizer: optax.GradientTransformation,
                           persistent: bool = False, n_chains: int = 100,
                           sparsity_target: ArrayLike = 0.1,
                           sparsity_cost: ArrayLike = 0.0) -> RBMLearner:
    """CD-k or PCD-k, with an optional sparsity penalty, applied by an Optax optimizer.

    ``update(state, batch, key)`` makes one update from a ``[b, n_visible]`` batch: the
    CD-k (PCD-k) ascent estimate, with q the batch's mean hidden activity,

        g_W = <v h>_data - <v h>_k - c <v>_data (q - rho)^T,
        g_b = <h>_data - <h>_k - c (q - rho),   g_a = <v>_data - <v>_k,

    (<.>_k: after k Gibbs steps from the data, or from the persistent chains for PCD)
    handed to ``optimizer`` as the descent direction -g, then ``optax.apply_updates``.

    Args:
      k: Gibbs steps per update (static, >= 1).
      optimizer: the Optax transformation that applies the estimate, e.g.
        :func:`optimizer` (Hinton's momentum and weight decay) or ``optax.sgd(eta)``.
      persistent: PCD (persistent chains) instead of CD.
      n_chains: number of persistent chains for PCD (static; ignored for CD).
      sparsity_target: rho, the desired mean activity of each hidden unit (traced).
      sparsity_cost: c, the weight of the sparsity penalty; 0 turns it off (traced).

    Returns:
      An ``RBMLearner``.

    Raises:
      ValueError: k or n_chains < 1.
    """
    k = _validation.positive_int(k, "k")
    n_chains = _validation.positive_int(n_chains, "n_chains")
    tx = optimizer

    def init(params: RBMParams, key: jax.Array) -> RBMTrainState:
        if persistent:
            chains = _initial_chains(params, key, n_chains)
            chain_hidden = jax.nn.sigmoid(model.hidden_input(params, chains))
        else:
            chains = jnp.zeros((0, params.w.shape[0]), params.w.dtype)
            chain_hidden = jnp.zeros((0, params.w.shape[1]), params.w.dtype)
        activity = jnp.full((params.w.shape[1],), 0.5, params.w.dtype)
        return RBMTrainState(params, tx.init(params), chains, chain_hidden, activity)

    def update(state: RBMTrainState, batch: jax.Array, key: jax.Array) -> RBMTrainState:
        params = state.params
        if persistent:
            grad, chains, chain_hidden, hidden_p0 = _gradient(params, batch, key, k, state.chains,
                                                              state.chain_hidden)
        else:
            grad, _, _, hidden_p0 = _gradient(params, batch, key, k, None)
            chains, chain_hidden = state.chains, state.chain_hidden
        activity = 0.9 * state.hidden_activity + 0.1 * jnp.mean(hidden_p0, axis=0)
        excess = sparsity_cost * (activity - sparsity_target)
        descent = type(params)(
            jnp.mean(batch, axis=0)[:, None] * excess - grad.w,
            -grad.a,
            excess - grad.b,
        )
        updates, opt_state = tx.update(descent, state.opt_state, params)
        params = optax.apply_updates(params, updates)
        return RBMTrainState(params, opt_state, chains, chain_hidden, activity)

    return RBMLearner(init, update)


# ---------------------------------------------------------------------------
# The trainer.


def _monitor(params, train_rows, validation_rows):
    reconstruction = jnp.mean(monitoring.reconstruction_error_unchecked(params, train_rows))
    if isinstance(params, GaussianRBMParams):
        pll = jnp.asarray(jnp.nan, params.w.dtype)
    else:
        pll = jnp.mean(monitoring.pseudo_log_likelihood_unchecked(params, train_rows))
    if validation_rows is None:
        gap = jnp.asarray(jnp.nan, params.w.dtype)
    else:
        gap = (jnp.mean(model.free_energy_unchecked(params, validation_rows))
               - jnp.mean(model.free_energy_unchecked(params, train_rows)))
    return reconstruction, pll, gap


@functools.partial(jax.jit, static_argnames=(
    "n_hidden", "k", "persistent", "n_chains", "epochs", "batch_size", "schedule", "visible",
    "momentum_epochs", "monitor_size"))
def _fit(x, key, init, validation, eta0, eta_final, momentum, final_momentum, weight_decay,
         sparsity_target, sparsity_cost, *, n_hidden, k, persistent, n_chains, epochs, batch_size,
         schedule, visible, momentum_epochs, monitor_size):
    init_key, chain_key, monitor_key, key = jax.random.split(key, 4)
    if init is None:
        init = model._init(init_key, jnp.mean(x, axis=0), jnp.asarray(0.01, x.dtype),
                           n_visible=x.shape[1], n_hidden=n_hidden, visible=visible)
    n_batches = x.shape[0] // batch_size
    rate = schedules.schedule(schedule, eta0, eta_final, total=epochs * n_batches)
    mu = schedules.piecewise_constant((momentum, final_momentum), (momentum_epochs * n_batches,))
    learner = contrastive_divergence(
        k, optimizer=optimizer(rate, mu, weight_decay), persistent=persistent, n_chains=n_chains,
        sparsity_target=sparsity_target, sparsity_cost=sparsity_cost)
    train_rows = x[jax.random.permutation(monitor_key, x.shape[0])[:monitor_size]]
    validation_rows = None if validation is None else validation[:monitor_size]

    def epoch(state, inputs):
        epoch_index, epoch_key = inputs
        shuffle_key, step_key = jax.random.split(epoch_key)

        def step(state, batch, index):
            return learner.update(state, batch, jax.random.fold_in(step_key, index)), None

        state, _ = batching.scan_batches(step, state, x, key=shuffle_key, batch_size=batch_size)
        last = (epoch_index + 1) * n_batches - 1
        return state, (*_monitor(state.params, train_rows, validation_rows), rate(last), mu(last))

    state, (reconstruction, pll, gap, etas, mus) = lax.scan(
        epoch, learner.init(init, chain_key), (jnp.arange(epochs), jax.random.split(key, epochs)))
    history = {"reconstruction_error": reconstruction, "pseudo_log_likelihood": pll,
               "free_energy_gap": gap, "learning_rate": etas, "momentum": mus}
    return RBMFit(state.params, history)


def fit(
    x: ArrayLike,
    n_hidden: int,
    *,
    key: jax.Array,
    k: int = 1,
    persistent: bool = False,
    visible: str = "bernoulli",
    epochs: int = 20,
    batch_size: int = 100,
    learning_rate: ArrayLike = 0.01,
    final_learning_rate: ArrayLike = 0.0,
    schedule: str | Callable = "linear",
    momentum: ArrayLike = 0.5,
    final_momentum: ArrayLike = 0.9,
    momentum_epochs: int = 5,
    weight_decay: ArrayLike = 2e-4,
    sparsity_target: ArrayLike = 0.1,
    sparsity_cost: ArrayLike = 0.0,
    n_chains: int | None = None,
    init: RBMParams | None = None,
    validation: ArrayLike | None = None,
    monitor_size: int = 500,
) -> RBMFit:
    """Trains an RBM on ``x`` with CD-k (default CD-1) or PCD-k.

    The defaults follow Hinton's practical guide: batches of 100, momentum 0.5 for 5
    epochs then 0.9, L2 weight decay 2e-4, W ~ Normal(0, 0.01^2), b = 0 and the visible
    biases at the data's log-odds; eta = 0.01 on the batch-mean gradient, decayed
    linearly to 0 over the run (Tieleman 2008). Each update moves the parameters
    along the CD-k estimate of the log-likelihood gradient,
    dW ~ <v h^T>_data - <v h^T>_k, through :func:`optimizer` (decay on W, momentum).

    Args:
      x: ``[n, n_visible]`` training data: values in [0, 1] for Bernoulli visibles
        (fractional values are used as probabilities in the statistics, as in
        scikit-learn; the likelihood functions need binary data), real values
        (standardized to unit variance) for ``visible="gaussian"``.
      n_hidden: hidden units H (static).
      key: PRNG key (initialisation, shuffles, Gibbs chains, monitoring subset).
      k: Gibbs steps per update (static, >= 1).
      persistent: PCD instead of CD.
      visible: ``"bernoulli"`` or ``"gaussian"`` (unit-variance Normal visible units).
      epochs: passes over the data (static).
      batch_size: examples per update (static); each epoch drops a different
        ``n % batch_size`` remainder.
      learning_rate: eta at the start (traced; > 0).
      final_learning_rate: eta of the last update for the linear, exponential and
        inverse-time schedules (traced).
      schedule: a :func:`jaxselforg.schedules.schedule` kind (``"linear"``,
        ``"exponential"``, ``"inverse_time"``, ``"asymptotic"``, ``"constant"``) or a
        callable ``fn(learning_rate, t, total)``, with t the update index
        0 .. total - 1 and total = epochs * (n // batch_size) (static).
      momentum: mu for the first ``momentum_epochs`` epochs (traced, in [0, 1)).
      final_momentum: mu afterwards (traced, in [0, 1)); the switch is
        ``schedules.piecewise_constant`` at update ``momentum_epochs * (n // batch_size)``.
      momentum_epochs: epochs at ``momentum`` (static).
      weight_decay: L2 coefficient lambda on W (traced, >= 0); eta, mu and lambda are
        applied by :func:`optimizer`.
      sparsity_target: desired mean hidden activity rho (traced, in (0, 1)).
      sparsity_cost: weight c of the sparsity penalty, 0 = off (traced, >= 0).
      n_chains: persistent chains for PCD (static; default ``batch_size``).
      init: optional ``RBMParams`` to start from (its type overrides ``visible``).
      validation: optional held-out ``[m, n_visible]`` data for the free-energy gap.
      monitor_size: rows of the training (and validation) data monitored per epoch.

    Returns:
      ``RBMFit(params, history)``.

    Raises:
      ValueError: n_hidden, k, epochs, batch_size or n_chains < 1; batch_size > n;
        NaN/Inf or wrong shapes; Bernoulli data outside [0, 1]; a bad hyperparameter;
        unknown ``visible`` or ``schedule``; or (eagerly) a run that diverged to
        non-finite parameters.
    """
    key = _validation.prng_key(key)
    _validation.choice(visible, model.VISIBLE_UNITS, "visible")
    if init is not None:
        init = _checks.params(init)
        visible = "gaussian" if isinstance(init, GaussianRBMParams) else "bernoulli"
    x = _validation.matrix(x, "x")
    if visible == "bernoulli":
        x = _checks.in_unit_interval(x, "x")
    n, n_visible = x.shape
    n_hidden = _validation.positive_int(n_hidden, "n_hidden")
    k = _validation.positive_int(k, "k")
    epochs = _validation.positive_int(epochs, "epochs")
    batch_size = _validation.positive_int(batch_size, "batch_size", at_most=n,
                                          bound="the number of examples")
    n_chains = batch_size if n_chains is None else _validation.positive_int(n_chains, "n_chains")
    if isinstance(momentum_epochs, bool) or not isinstance(momentum_epochs, int) \
            or momentum_epochs < 0:
        raise ValueError("momentum_epochs must be a non-negative integer; "
                         f"got {momentum_epochs!r}.")
    monitor_size = min(_validation.positive_int(monitor_size, "monitor_size"), n)
    schedules.check(schedule, "schedule")
    learning_rate = _checks.nonnegative(learning_rate, "learning_rate", positive=True)
    final_learning_rate = _checks.nonnegative(final_learning_rate, "final_learning_rate")
    if schedule in ("exponential", "inverse_time") and _validation.is_concrete(
            final_learning_rate) and not np.min(np.asarray(final_learning_rate)) > 0:
        raise ValueError(f"The {schedule} schedule needs final_learning_rate > 0 (it decays "
                         f"towards it multiplicatively); got {final_learning_rate}. Use "
                         "schedule='linear' to decay to 0.")
    weight_decay = _checks.nonnegative(weight_decay, "weight_decay")
    sparsity_cost = _checks.nonnegative(sparsity_cost, "sparsity_cost")
    momentum, final_momentum = (
        _validation.hyperparameter(value, name, maximum=1.0, strict_maximum=True)
        for name, value in (("momentum", momentum), ("final_momentum", final_momentum)))
    sparsity_target = _validation.hyperparameter(sparsity_target, "sparsity_target",
                                                 strict=True, maximum=1.0, strict_maximum=True)
    dtype = x.dtype
    if init is not None:
        if init.w.shape != (n_visible, n_hidden):
            raise ValueError(f"init.w must have shape (n_visible, n_hidden) = "
                             f"{(n_visible, n_hidden)}; got {tuple(init.w.shape)}.")
        init = jax.tree.map(lambda leaf: jnp.asarray(leaf, dtype), init)
    if validation is not None:
        validation = _validation.matrix(validation, "validation", features=n_visible)
        if visible == "bernoulli":
            validation = _checks.in_unit_interval(validation, "validation")
        validation = validation.astype(dtype)
    scalars = [jnp.asarray(value, dtype) for value in (
        learning_rate, final_learning_rate, momentum, final_momentum, weight_decay,
        sparsity_target, sparsity_cost)]
    result = _fit(x, key, init, validation, *scalars, n_hidden=n_hidden, k=k,
                  persistent=bool(persistent), n_chains=n_chains, epochs=epochs,
                  batch_size=batch_size, schedule=schedule, visible=visible,
                  momentum_epochs=momentum_epochs, monitor_size=monitor_size)
    if _validation.is_concrete(result.params.w) and not _validation.eager(
            lambda: bool(all(jnp.all(jnp.isfinite(leaf)) for leaf in result.params))):
        raise ValueError("RBM training diverged (non-finite parameters); lower learning_rate "
                         "or momentum, or standardize the data (Gaussian visibles).")
    return result
