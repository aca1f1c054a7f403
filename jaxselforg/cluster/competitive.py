"""Winner-take-all competitive learning (lecture section 6).

Only the winner, the prototype nearest to the input, learns:

    w_win(t + 1) = w_win(t) + eta(t) (x - w_win(t)).

``winner_take_all`` is an optax-style factory: it closes over the static settings
(metric, conscience) and returns pure ``init``/``update`` functions, so a user can
drive it from any loop; ``competitive_learning`` is the ready-made trainer (epochs of
``lax.scan`` over on-device batches, one jit-compiled program, traced learning rates
so a sweep over them is a ``vmap``). The rate eta(t) is a :mod:`jaxselforg.schedules`
schedule of the update index t = 0 .. total - 1, as every other learner's.

Dead units (prototypes that never win) are WTA's known failure. The ``conscience``
option is DeSieno's (1988): every unit keeps a running win frequency p_j, and the
competition subtracts a bias b_j = C (1/k - p_j) from the distance, so units that
win too often are handicapped and idle ones get a chance.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from jaxselforg import _segments, _validation, distances, schedules
from jaxselforg.cluster import _seeding
from jaxselforg.data import batching

__all__ = [
    "CompetitiveLearner",
    "CompetitiveResult",
    "CompetitiveState",
    "competitive_learning",
    "winner_take_all",
]


class CompetitiveState(NamedTuple):
    """Prototypes ``[k, d]`` and DeSieno's running win frequencies ``[k]``."""

    prototypes: jax.Array
    win_frequency: jax.Array


class CompetitiveLearner(NamedTuple):
    """Pure ``init(prototypes) -> state`` and ``update(state, batch, eta) -> (state, winners)``."""

    init: Callable[[jax.Array], CompetitiveState]
    update: Callable[[CompetitiveState, jax.Array, ArrayLike],
                     tuple[CompetitiveState, jax.Array]]


class CompetitiveResult(NamedTuple):
    """A trained competitive layer.

    Attributes:
      prototypes: ``[k, d]`` learned prototypes.
      labels: ``[n]`` winner of each training point (no conscience bias).
      quantization_error: the lecture's E_q = (1/N) sum_i rho(x_i, w_winner(i)).
      history: dict of ``[epochs]`` arrays: ``quantization_error`` after each epoch,
        ``dead_units`` (units that won no sample in the epoch) and ``learning_rate``,
        the eta of the epoch's last update.
    """

    prototypes: jax.Array
    labels: jax.Array
    quantization_error: jax.Array
    history: dict


def winner_take_all(
    metric: str = "euclidean",
    *,
    p: float = 2.0,
    w: ArrayLike | None = None,
    conscience: float = 0.0,
    conscience_rate: float = 1e-4,
) -> CompetitiveLearner:
    """The WTA learning rule as pure functions.

    ``update`` takes a batch ``[b, d]`` (``b = 1`` is the lecture's online rule).
    Each winning unit moves towards the mean of the samples it won in the batch:
    w_j += eta (mean_{i won by j} x_i - w_j); for b = 1 this is exactly the online
    rule. Units that won nothing stay put.

    Args:
      metric, p, w: the competition's distance (``jaxselforg.distances``).
      conscience: DeSieno's bias factor C (0 turns the conscience off). The bias is
        in the units of the distance, so scale C to the data.
      conscience_rate: DeSieno's B, the rate of the running win frequencies.

    Returns:
      A ``CompetitiveLearner``.
    """
    metric = distances.canonical_metric(metric, p)
    conscience = _validation.hyperparameter(conscience, "conscience")
    conscience_rate = _validation.hyperparameter(conscience_rate, "conscience_rate", maximum=1.0)

    def init(prototypes: jax.Array) -> CompetitiveState:
        k = prototypes.shape[0]
        return CompetitiveState(prototypes, jnp.full((k,), 1.0 / k, prototypes.dtype))

    def update(state: CompetitiveState, batch: jax.Array, eta: ArrayLike):
        prototypes, frequency = state
        k = prototypes.shape[0]
        bias = conscience * (1.0 / k - frequency)  # DeSieno's conscience
        winners, _ = distances.nearest(batch, prototypes, metric, p=p, w=w, bias=bias,
                                       block_size=None, exact_distance=False)
        sums, counts = _segments.weighted_sums(batch, winners, jnp.ones(batch.shape[0],
                                                                        batch.dtype), k)
        won = counts > 0
        target = sums / jnp.maximum(counts, 1.0)[:, None]
        prototypes = jnp.where(won[:, None], prototypes + eta * (target - prototypes), prototypes)
        # A bad traced rate (NaN, see ``competitive_learning``) poisons every unit, not only
        # this batch's winners: once a winner is NaN, the search returns -1 for everyone.
        prototypes = _validation.nan_unless(jnp.isfinite(eta), prototypes)
        frequency = frequency + conscience_rate * (counts / batch.shape[0] - frequency)
        return CompetitiveState(prototypes, frequency), winners

    return CompetitiveLearner(init, update)


@functools.partial(jax.jit, static_argnames=("k", "epochs", "batch_size", "schedule", "init",
                                             "metric", "p"))
def _train(x, key, init_prototypes, eta0, eta_final, w, conscience, conscience_rate, *, k, epochs,
           batch_size, schedule, init, metric, p):
    learner = winner_take_all(metric, p=p, w=w, conscience=conscience,
                              conscience_rate=conscience_rate)
    init_key, key = jax.random.split(key)
    weights = jnp.ones(x.shape[0], x.dtype)
    if init == "array":
        prototypes = init_prototypes
    elif init == "random-partition":
        prototypes = _seeding.random_partition(init_key, x, k, weights)
    else:
        prototypes = _seeding.random_samples(init_key, x, k, weights)
    n_batches = x.shape[0] // batch_size
    rate = schedules.schedule(schedule, eta0, eta_final, total=epochs * n_batches)

    def evaluate(prototypes):
        labels, dist = distances.nearest(x, prototypes, metric, p=p, w=w)
        return labels, jnp.mean(dist)

    def epoch(state, inputs):
        epoch_index, epoch_key = inputs

        def train_step(carry, batch, index):
            state, wins = carry
            state, winners = learner.update(state, batch, rate(epoch_index * n_batches + index))
            return (state, wins + jnp.bincount(winners, length=k)), None

        (state, wins), _ = batching.scan_batches(train_step, (state, jnp.zeros(k, jnp.int32)), x,
                                                 key=epoch_key, batch_size=batch_size)
        _, quantization_error = evaluate(state.prototypes)
        eta_end = rate((epoch_index + 1) * n_batches - 1)
        return state, (quantization_error, jnp.sum(wins == 0), eta_end)

    state, (qe, dead, etas) = lax.scan(
        epoch, learner.init(prototypes), (jnp.arange(epochs), jax.random.split(key, epochs)))
    labels, quantization_error = evaluate(state.prototypes)
    history = {"quantization_error": qe, "dead_units": dead, "learning_rate": etas}
    result = CompetitiveResult(state.prototypes, labels.astype(jnp.int32), quantization_error,
                               history)
    # NaN data reach only the units they touch, and the conscience only biases the
    # (integer) competition: under tracing either is reported here, on every float result.
    valid = jnp.all(jnp.isfinite(x)) & jnp.isfinite(conscience) & jnp.isfinite(conscience_rate)
    return _validation.nan_unless(valid, result)


def competitive_learning(
    x: ArrayLike,
    k: int,
    *,
    key: jax.Array,
    epochs: int = 10,
    learning_rate: ArrayLike = 0.1,
    final_learning_rate: ArrayLike = 0.001,
    schedule: str | Callable = "exponential",
    batch_size: int = 1,
    metric: str = "euclidean",
    p: float = 2.0,
    w: ArrayLike | None = None,
    conscience: float = 0.0,
    conscience_rate: float = 1e-4,
    init: str | ArrayLike = "random",
) -> CompetitiveResult:
    """Trains k winner-take-all units on ``x``.

    Every epoch visits the data in a new random order (drawn inside the compiled
    program), in batches of ``batch_size`` (1: the lecture's online rule).

    Args:
      x: ``[n, d]`` data.
      k: number of units (static).
      key: PRNG key (initialisation and the epoch orders).
      epochs: passes over the data (static).
      learning_rate: eta at the start (traced).
      final_learning_rate: eta of the last update for the exponential, linear and
        inverse-time schedules (traced).
      schedule: a :func:`jaxselforg.schedules.schedule` kind (``"exponential"``, the
        lecture's eta0 exp(-t / tau); ``"linear"``, ``"inverse_time"``,
        ``"asymptotic"``, ``"constant"``) or a callable ``fn(eta0, t, total)``, with t
        the update index 0 .. total - 1 and total = epochs * (n // batch_size)
        (static: a new callable object compiles a new program).
      batch_size: samples per update (static); the remainder of each epoch's
        permutation is left out (a different remainder every epoch).
      metric, p, w: the competition's distance.
      conscience, conscience_rate: DeSieno's C and B (see ``winner_take_all``).
      init: ``"random"`` (k distinct samples), ``"random-partition"`` or a ``[k, d]``
        array.

    Returns:
      A ``CompetitiveResult``.

    Raises:
      ValueError: k < 1 or k > n; epochs or batch_size < 1, batch_size > n; a learning
        rate <= 0; an unknown schedule, metric or init; an init of the wrong shape;
        conscience < 0 or conscience_rate outside [0, 1].
    """
    key = _validation.prng_key(key)
    x = _validation.at_least_float32(_validation.matrix(x, "x"))  # float16 runs in float32
    n, d = x.shape
    k = _validation.positive_int(k, "k", at_most=n)
    epochs = _validation.positive_int(epochs, "epochs")
    batch_size = _validation.positive_int(batch_size, "batch_size", at_most=n)
    learning_rate = _validation.hyperparameter(learning_rate, "learning_rate", strict=True)
    final_learning_rate = _validation.hyperparameter(final_learning_rate, "final_learning_rate",
                                                     strict=True)
    conscience = _validation.hyperparameter(conscience, "conscience")
    conscience_rate = _validation.hyperparameter(conscience_rate, "conscience_rate", maximum=1.0)
    metric = distances.canonical_metric(metric, p)
    schedules.check(schedule, "schedule")
    init_prototypes = None
    if isinstance(init, str):
        _validation.choice(init, ("random", "random-partition"), "init")
    else:
        init_prototypes = _validation.matrix(init, "init", features=d).astype(x.dtype)
        if init_prototypes.shape[0] != k:
            raise ValueError(f"init must have shape (k, d) = {(k, d)}; "
                             f"got {tuple(init_prototypes.shape)}.")
        init = "array"
    return _train(x, key, init_prototypes, jnp.asarray(learning_rate, x.dtype),
                  jnp.asarray(final_learning_rate, x.dtype), w, jnp.asarray(conscience, x.dtype),
                  jnp.asarray(conscience_rate, x.dtype), k=k, epochs=epochs,
                  batch_size=batch_size, schedule=schedule, init=init, metric=metric,
                  p=float(p))
