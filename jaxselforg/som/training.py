"""Training a Kohonen map: the online rule and Kohonen's batch map (lecture section 7).

Online (the lecture's formation, one sample at a time): competition, the winner
l(x) = argmin_j rho(X, W_j); cooperation, h_jl = h(|r_j - r_l|, sigma(t));
adaptation, W_j <- W_j + alpha(t) h_jl (X - W_j). ``online_som`` is the rule as an
optax-style pair of pure ``init``/``update`` functions; ``train(mode="online")``
drives it with ``lax.scan`` over the samples of each epoch (reshuffled every epoch
inside the compiled program). The update order is MiniSom's ``train``: the winner
is found with the current weights, then sigma(t) and alpha(t) of update t are
applied, t counting updates from 0.

Batch (Kohonen 2013, "Essentials of the self-organizing map"): every epoch, all
samples compete with the same weights, then every unit moves to the
neighbourhood-weighted mean of the data,

    W_j <- sum_k h_jk S_k / sum_k h_jk N_k,

where S_k and N_k are the sum and the count of the samples won by unit k. The
per-unit sums are one pass over the data (a segment sum), so an epoch costs one
competition plus a ``[units, units] x [units, d]`` product; on a row-sharded
dataset the sums are reduced across devices and the result equals one device. A
learning rate alpha < 1 blends, W <- (1 - alpha) W + alpha W_batch (MiniSom's
``train_batch_offline``); the default alpha = 1 is Kohonen's batch map. Units whose
denominator is not positive (no data within reach of a bubble, or a Mexican hat's
negative lobe) keep their weights.

Numeric hyperparameters (sigma, alpha and their final values) are traced:
``jax.vmap`` over ``train`` (or :func:`sweep`) trains many maps in one program.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from jaxselforg import _segments, _validation, distances, schedules
from jaxselforg.som import grid as _grid
from jaxselforg.som import initialization as _init
from jaxselforg.som import measures as _measures
from jaxselforg.som import neighborhoods as _neighborhood

__all__ = [
    "MODES",
    "SOMState",
    "OnlineSOM",
    "SOMResult",
    "SweepResult",
    "online_som",
    "batch_step",
    "train",
    "sweep",
]

MODES = ("batch", "online")
_HIGHEST = lax.Precision.HIGHEST
# Default end of the sigma schedule: the map keeps every unit coupled to its
# neighbours (h = exp(-1/2) at lateral distance 1), as the SOM Toolbox's fine-tuning.
_FINAL_SIGMA = 1.0
# Default online learning rate and the factor by which it decays over training.
_ONLINE_RATE = 0.5
_ONLINE_DECAY = 50.0


class SOMState(NamedTuple):
    """Weights ``[units, d]`` (row-major units) and the number of updates made."""

    weights: jax.Array
    step: jax.Array


class OnlineSOM(NamedTuple):
    """Pure ``init(weights) -> state`` and ``update(state, x, alpha, sigma, weight=1)``.

    ``update`` returns ``(state, winner)`` for one sample ``x [d]``.
    """

    init: Callable[[jax.Array], SOMState]
    update: Callable[..., tuple[SOMState, jax.Array]]


class SOMResult(NamedTuple):
    """A trained map.

    Attributes:
      weights: ``[rows, cols, d]`` prototypes W_j.
      quantization_error: E_q of the final map on the training data (under the
        training metric; Euclidean by default, then equal to
        :func:`quantization_error`).
      topographic_error: the final map's topographic error on the training data.
      history: dict of ``[epochs]`` arrays, one entry per epoch: the
        ``quantization_error`` and ``topographic_error`` of the map after the epoch,
        and the ``learning_rate`` and ``sigma`` of the epoch's last update; with
        ``record_weights=True`` also ``weights`` ``[epochs, rows, cols, d]``, the map
        after every epoch (the lecture's "development of the map").
    """

    weights: jax.Array
    quantization_error: jax.Array
    topographic_error: jax.Array
    history: dict


class SweepResult(NamedTuple):
    """Many maps trained in one program: one row per configuration.

    Configuration i trained with ``key=jax.random.split(key, n_seeds)[seed[i]]``,
    ``sigma=sigma[i]`` and ``learning_rate=learning_rate[i]``.

    Attributes:
      sigma: ``[m]`` initial neighbourhood widths.
      learning_rate: ``[m]`` initial learning rates.
      seed: int32 ``[m]`` index of the key.
      quantization_error: ``[m]`` final E_q of each map.
      topographic_error: ``[m]`` final topographic error of each map.
      maps: a ``SOMResult`` whose leaves have a leading ``[m]`` axis.
    """

    sigma: jax.Array
    learning_rate: jax.Array
    seed: jax.Array
    quantization_error: jax.Array
    topographic_error: jax.Array
    maps: SOMResult


# ---------------------------------------------------------------------------
# The two learning rules.


def online_som(lateral: ArrayLike, *, neighborhood: str = "gaussian",
               metric: str = "euclidean", p: float = 2.0) -> OnlineSOM:
    """The lecture's online Kohonen rule as pure functions.

    Args:
      lateral: ``[units, units]`` lateral distances between the units
        (:func:`jaxselforg.som.lateral_distances`).
      neighborhood: one of ``NEIGHBORHOODS``.
      metric, p: the competition's distance. Euclidean competition compares
        |X - W_j|^2 computed from the same difference the update uses (exact, as
        MiniSom); other metrics go through ``distances.pairwise``, so Chebyshev is
        max_i |X_i - W_ji| with the absolute value (MiniSom's lacks it).

    Returns:
      An ``OnlineSOM``; ``update(state, x [d], learning_rate, sigma, weight=1.0)``
      moves every unit by alpha * weight * h(d_jl, sigma) (X - W_j).

    Raises:
      ValueError: an unknown neighbourhood or metric.
    """
    _validation.choice(neighborhood, _neighborhood.NEIGHBORHOODS, "neighborhood")
    metric = distances.canonical_metric(metric, p)

    def init(weights: jax.Array) -> SOMState:
        weights = jnp.asarray(weights)
        return SOMState(weights.reshape(-1, weights.shape[-1]), jnp.zeros((), jnp.int32))

    def update(state: SOMState, x: jax.Array, learning_rate: ArrayLike, sigma: ArrayLike,
               weight: ArrayLike = 1.0) -> tuple[SOMState, jax.Array]:
        weights = state.weights
        diff = x[None, :] - weights
        # The library's one search; per-pair formulas (no matrix product), as MiniSom
        # ranks a single sample.
        winner = distances.nearest(x[None, :], weights, metric, p=p, matmul=False,
                                   block_size=None, exact_distance=False)[0][0]
        h = _neighborhood.neighborhood(jnp.asarray(lateral, weights.dtype)[winner], sigma,
                                       neighborhood)
        weights = weights + (learning_rate * weight * h)[:, None] * diff
        return SOMState(weights, state.step + 1), winner

    return OnlineSOM(init, update)


def batch_step(
    weights: jax.Array,
    x: jax.Array,
    sample_weight: jax.Array,
    lateral: jax.Array,
    sigma: ArrayLike,
    learning_rate: ArrayLike = 1.0,
    *,
    neighborhood: str = "gaussian",
    metric: str = "euclidean",
    p: float = 2.0,
):
    """One epoch of Kohonen's batch map.

    Every sample x_i is assigned to its winner c(i) = argmin_j d(x_i, w_j); then every
    unit moves to the neighbourhood-weighted mean of all samples,
    w_j = sum_i s_i h_{j c(i)}(sigma) x_i / sum_i s_i h_{j c(i)}(sigma), with s_i the
    sample weights and h the neighbourhood function of the lateral distances (a unit
    no sample reaches keeps its weights).

    Args:
      weights: ``[units, d]`` current prototypes.
      x: ``[n, d]`` data (may be row-sharded).
      sample_weight: ``[n]`` non-negative sample weights (0 for padding rows).
      lateral: ``[units, units]`` lateral distances.
      sigma: neighbourhood width (traced).
      learning_rate: blend factor alpha (1: the batch map itself).
      neighborhood, metric, p: the neighbourhood and the competition's distance.

    Returns:
      ``(weights [units, d], (first [n], second [n], distance [n]))``: the updated
      prototypes and the competition of the weights that came in (whose quality
      measures are therefore free).
    """
    units = weights.shape[0]
    first, second, dist = _measures.best_two(x, weights, metric, p)
    sums, counts = _segments.weighted_sums(x, first, sample_weight, units)
    h = _neighborhood.neighborhood(lateral, sigma, neighborhood)
    numerator = jnp.matmul(h, sums, precision=_HIGHEST)
    denominator = jnp.matmul(h, counts, precision=_HIGHEST)
    reached = ~(denominator <= 0)  # True for NaN: a traced bad sigma reaches the weights
    target = numerator / jnp.where(reached, denominator, 1.0)[:, None]
    updated = jnp.where(reached[:, None], weights + learning_rate * (target - weights), weights)
    return updated, (first, second, dist)


# ---------------------------------------------------------------------------
# The driver.


@functools.partial(jax.jit, static_argnames=(
    "rows", "cols", "mode", "epochs", "neighborhood", "sigma_schedule", "learning_rate_schedule",
    "init", "metric", "p", "shuffle", "record_weights"))
def _train(x, key, sample_weight, lateral, adjacent, init_weights, order, sigma, sigma_final,
           learning_rate, learning_rate_final, *, rows, cols, mode, epochs, neighborhood,
           sigma_schedule, learning_rate_schedule, init, metric, p, shuffle, record_weights):
    n, d = x.shape
    # Squares of data beyond ~1e19 (or below ~1e-19) leave float32: train on data scaled
    # into [-1, 1] by a power of two (exact) and scale the map back; NaN or Inf data
    # under tracing make the scale, and so the map, NaN. The dot form is not homogeneous.
    scale = _validation.power_of_two_scale(*([x] if init_weights is None else [x, init_weights]))
    if metric == "dot":
        scale = scale / scale
    x = x / scale
    if init_weights is not None:
        init_weights = init_weights / scale
    init_key, order_key = jax.random.split(key)
    if init_weights is None:
        prototypes = _init.initial_prototypes(init_key, x, sample_weight, rows, cols, init)
    else:
        prototypes = init_weights.reshape(rows * cols, d)
    if sigma_final is None:
        sigma_final = jnp.minimum(sigma, _FINAL_SIGMA)
    if learning_rate_final is None:
        learning_rate_final = learning_rate / _ONLINE_DECAY if mode == "online" else learning_rate
    # Schedules count updates: epochs in batch mode, samples online.
    updates = epochs if mode == "batch" else epochs * (n if order is None else order.shape[-1])
    sigma_at = schedules.schedule(sigma_schedule, sigma, sigma_final, total=updates)
    rate_at = schedules.schedule(learning_rate_schedule, learning_rate, learning_rate_final,
                                 total=updates)

    def evaluate(prototypes):
        first, second, dist = _measures.best_two(x, prototypes, metric, p)
        return _measures.quality(first, second, dist, sample_weight, adjacent)

    if mode == "batch":
        def epoch(prototypes, e):
            sigma_e, rate_e = sigma_at(e), rate_at(e)
            prototypes_next, competition = batch_step(
                prototypes, x, sample_weight, lateral, sigma_e, rate_e,
                neighborhood=neighborhood, metric=metric, p=p)
            quality = _measures.quality(*competition, sample_weight, adjacent)
            kept = prototypes_next if record_weights else None
            return prototypes_next, (quality, rate_e, sigma_e, kept)

        prototypes, (before, rates, sigmas, kept) = lax.scan(epoch, prototypes,
                                                             jnp.arange(epochs))
        # Epoch e measured the map it started from; shift to "after epoch e".
        last = evaluate(prototypes)
        qe, te = (jnp.append(b[1:], a) for b, a in zip(before, last))
    else:
        learner = online_som(lateral, neighborhood=neighborhood, metric=metric, p=p)

        # Own loop, not data.scan_batches: MiniSom's exact sample orders (order=, shuffle=False).
        def epoch(state, inputs):
            e, epoch_key = inputs
            if order is None:
                index = jax.random.permutation(epoch_key, n) if shuffle else jnp.arange(n)
            else:
                index = order[e] if order.ndim == 2 else order

            def step(state, i):
                t = state.step
                state, _ = learner.update(state, x[i], rate_at(t), sigma_at(t),
                                          sample_weight[i])
                return state, None

            # Unrolled by 4: on CPU each loop iteration costs more than one sample's
            # small update (60,000 x 784, 10x10: 2.4-3.0 s per epoch, 3.4 s rolled).
            state, _ = lax.scan(step, state, index, unroll=4)
            last = state.step - 1
            kept = state.weights if record_weights else None
            return state, (evaluate(state.weights), rate_at(last), sigma_at(last),
                           kept)

        state, ((qe, te), rates, sigmas, kept) = lax.scan(
            epoch, learner.init(prototypes),
            (jnp.arange(epochs), jax.random.split(order_key, epochs)))
        prototypes = state.weights
    qe = distances.unscale(qe, scale, metric)
    history = {"quantization_error": qe, "topographic_error": te, "learning_rate": rates,
               "sigma": sigmas}
    if record_weights:
        history["weights"] = kept.reshape(epochs, rows, cols, d) * scale
    result = SOMResult(prototypes.reshape(rows, cols, d) * scale, qe[-1], te[-1], history)
    if order is None:
        return result
    return _validation.nan_unless(_validation.in_range(order, n), result)  # a traced bad order


def _check_positive(value, name: str, *, optional: bool = False):
    """``value`` checked as a finite number > 0 (every entry), poisoned when traced
    (``_validation.hyperparameter``); None where ``optional``."""
    if value is None:
        if optional:
            return None
        raise ValueError(f"{name} must be a number > 0; got None.")
    try:
        return _validation.hyperparameter(value, name, strict=True)
    except TypeError as err:
        raise ValueError(f"{name} must be a number > 0; got {value!r}.") from err


def _check_order(order, n: int, epochs: int, mode: str) -> jax.Array:
    if mode != "online":
        raise ValueError("order sets the sample sequence of online training; batch training "
                         "uses every sample at once (pass mode='online').")
    order = _validation.asarray(order)
    if not jnp.issubdtype(order.dtype, jnp.integer):
        raise ValueError(f"order must hold integer sample indices; got dtype {order.dtype}.")
    if order.ndim not in (1, 2) or order.size == 0:
        raise ValueError("order must be a non-empty [steps] or [epochs, steps] array of "
                         f"sample indices; got shape {tuple(order.shape)}.")
    if order.ndim == 2 and order.shape[0] != epochs:
        raise ValueError(f"A 2-D order needs one row per epoch: {epochs} rows; got "
                         f"{order.shape[0]}.")
    if _validation.is_concrete(order):
        low, high = _validation.eager(lambda: (int(order.min()), int(order.max())))
        if low < 0 or high >= n:
            raise ValueError(f"order's sample indices must lie in [0, {n}); got the range "
                             f"[{low}, {high}].")
    return order.astype(jnp.int32)


def _prepare(x, grid, *, key, mode, epochs, topology, toroidal, neighborhood, sigma,
             sigma_final, learning_rate, learning_rate_final, sigma_schedule,
             learning_rate_schedule, init, metric, p, shuffle, order, sample_weight,
             record_weights):
    """Validates train's arguments; returns (array arguments, static arguments)."""
    x = _validation.at_least_float32(_validation.matrix(x, "x"))
    n, d = x.shape
    rows, cols, topology, geometry = _grid.resolve(grid, topology, toroidal)
    if rows * cols < 2:
        raise ValueError(f"A map needs at least 2 units; got grid {grid!r}.")
    if not isinstance(mode, str):
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}.")
    _validation.choice(mode, MODES, "mode")
    epochs = _validation.positive_int(epochs, "epochs")
    if not isinstance(neighborhood, str):
        raise ValueError(f"neighborhood must be one of {_neighborhood.NEIGHBORHOODS}; "
                         f"got {neighborhood!r}.")
    _validation.choice(neighborhood, _neighborhood.NEIGHBORHOODS, "neighborhood")
    schedules.check(sigma_schedule, "sigma_schedule")
    schedules.check(learning_rate_schedule, "learning_rate_schedule")
    metric = distances.canonical_metric(metric, p)
    if sigma is None:
        sigma = max(rows, cols) / 2.0
    if learning_rate is None:
        learning_rate = _ONLINE_RATE if mode == "online" else 1.0
    sigma = _check_positive(sigma, "sigma")
    sigma_final = _check_positive(sigma_final, "sigma_final", optional=True)
    learning_rate = _check_positive(learning_rate, "learning_rate")
    learning_rate_final = _check_positive(learning_rate_final, "learning_rate_final",
                                          optional=True)
    for name, flag in (("shuffle", shuffle), ("record_weights", record_weights)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False; got {flag!r}.")
    sample_weight = _validation.sample_weight(sample_weight, n, x.dtype)

    init_weights = None
    if isinstance(init, str) or init is None:
        _init.check_init_name(init)
    else:
        init_weights = _validation.as_float_array(init, "init")
        if init_weights.shape not in ((rows, cols, d), (rows * cols, d)):
            raise ValueError(f"An init array must have shape (rows, cols, d) = {(rows, cols, d)}; "
                             f"got {tuple(init_weights.shape)}.")
        _validation.check_finite(init_weights, "init")
        init_weights = init_weights.astype(x.dtype)
        init = "array"
    if order is not None:
        order = _check_order(order, n, epochs, mode)

    def hyper(value):
        return None if value is None else jnp.asarray(value, x.dtype)

    arrays = dict(x=x, key=key, sample_weight=sample_weight,
                  lateral=jnp.asarray(geometry.distances, x.dtype),
                  adjacent=jnp.asarray(geometry.adjacency), init_weights=init_weights,
                  order=order, sigma=hyper(sigma), sigma_final=hyper(sigma_final),
                  learning_rate=hyper(learning_rate),
                  learning_rate_final=hyper(learning_rate_final))
    statics = dict(rows=rows, cols=cols, mode=mode, epochs=epochs, neighborhood=neighborhood,
                   sigma_schedule=sigma_schedule, learning_rate_schedule=learning_rate_schedule,
                   init=init, metric=metric, p=float(p), shuffle=bool(shuffle),
                   record_weights=bool(record_weights))
    return arrays, statics


def train(
    x: ArrayLike,
    grid: int | Sequence[int],
    *,
    key: jax.Array,
    mode: str = "batch",
    epochs: int = 20,
    topology: str = "rectangular",
    toroidal: bool = False,
    neighborhood: str = "gaussian",
    sigma: ArrayLike | None = None,
    sigma_final: ArrayLike | None = None,
    learning_rate: ArrayLike | None = None,
    learning_rate_final: ArrayLike | None = None,
    sigma_schedule: str | Callable = "exponential",
    learning_rate_schedule: str | Callable = "exponential",
    init: str | ArrayLike = "pca",
    metric: str = "euclidean",
    p: float = 2.0,
    shuffle: bool = True,
    order: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    record_weights: bool = False,
) -> SOMResult:
    """Trains a Kohonen self-organizing map (lecture section 7).

    The defaults give a good map without tuning: PCA initialisation (the map starts
    ordered), Kohonen's batch map for 20 epochs, a Gaussian neighbourhood whose width
    shrinks exponentially from half the longer grid side to 1.

    Args:
      x: ``[n, d]`` data (may be row-sharded; see ``sample_weight``).
      grid: ``(rows, cols)``, or ``(n,)`` for a 1-D chain (weights ``[1, n, d]``).
      key: PRNG key: ``jax.random.split(key)`` gives the initialisation key and the
        key of the epochs' sample orders.
      mode: ``"batch"`` (Kohonen's batch map) or ``"online"`` (the lecture's
        per-sample rule).
      epochs: passes over the data (static).
      topology: ``"rectangular"``, ``"hexagonal"`` (MiniSom's layout) or ``"chain"``.
      toroidal: wrap the grid around (a ring for a chain).
      neighborhood: ``"gaussian"`` (the lecture's), ``"bubble"``, ``"mexican_hat"`` or
        ``"triangle"``; see :mod:`jaxselforg.som.neighborhoods`.
      sigma: initial neighbourhood width sigma0 > 0 in grid units (traced); default
        ``max(rows, cols) / 2``.
      sigma_final: the width of the last update (traced); default ``min(sigma0, 1)``.
      learning_rate: initial alpha0 > 0 (traced); default 0.5 online, 1.0 batch (the
        batch map's blend factor).
      learning_rate_final: alpha of the last update (traced); default alpha0 / 50
        online, alpha0 in batch mode (a constant blend).
      sigma_schedule, learning_rate_schedule: ``"exponential"`` (the lecture's
        alpha0 exp(-n / tau)), ``"linear"``, ``"inverse_time"``, ``"asymptotic"``
        (MiniSom's default), ``"constant"`` or a callable ``fn(initial, t, total)``;
        time t counts samples online and epochs in batch mode (a new callable object
        compiles a new program).
      init: ``"pca"``, ``"random"``, ``"uniform"`` or a ``[rows, cols, d]`` array; see
        :mod:`jaxselforg.som.initialization`.
      metric, p: the competition's distance, any of ``distances.METRICS`` (Minkowski
        exponent p static). The history's quantization error uses it too.
      shuffle: online mode: visit the samples in a new random order every epoch
        (False: in data order).
      order: online mode: the exact sample indices of every update, ``[steps]`` (the
        same for every epoch) or ``[epochs, steps]``; overrides ``shuffle``. With it
        MiniSom's sample sequence can be replayed.
      sample_weight: optional non-negative ``[n]`` weights: in batch mode they weight
        the means, online they scale alpha; 0 removes a sample (the padding rows of
        ``parallel.shard_rows``, whose mask can be passed as is).
      record_weights: keep the map after every epoch in ``history["weights"]`` (the
        starting map is ``initial_weights(x, grid, key=jax.random.split(key)[0],
        init=init)``).

    Returns:
      A ``SOMResult`` with ``weights [rows, cols, d]`` and the per-epoch history.

    Raises:
      ValueError: a grid side < 1 or a map of one unit; an unknown mode, topology,
        neighbourhood, schedule, init or metric; sigma or alpha <= 0; epochs < 1;
        NaN/Inf data; an init array or order of the wrong shape or range; a
        hexagonal torus with an odd number of columns.
    """
    key = _validation.prng_key(key)
    arrays, statics = _prepare(
        x, grid, key=key, mode=mode, epochs=epochs, topology=topology, toroidal=toroidal,
        neighborhood=neighborhood, sigma=sigma, sigma_final=sigma_final,
        learning_rate=learning_rate, learning_rate_final=learning_rate_final,
        sigma_schedule=sigma_schedule, learning_rate_schedule=learning_rate_schedule,
        init=init, metric=metric, p=p, shuffle=shuffle, order=order,
        sample_weight=sample_weight, record_weights=record_weights)
    return _train(**arrays, **statics)


@functools.partial(jax.jit, static_argnames=("statics",))
def _sweep(arrays, keys, sigmas, rates, *, statics):
    def one(key, sigma, rate):
        return _train(**{**arrays, "key": key, "sigma": sigma, "learning_rate": rate},
                      **dict(statics))

    return jax.vmap(one)(keys, sigmas, rates)


def _values(values, name: str, dtype) -> jax.Array:
    array = jnp.atleast_1d(jnp.asarray(values, dtype))
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a number or a non-empty 1-D array of values; got "
                         f"shape {tuple(array.shape)}.")
    return _check_positive(array, name)


def sweep(
    x: ArrayLike,
    grid: int | Sequence[int],
    *,
    key: jax.Array,
    sigma: ArrayLike,
    learning_rate: ArrayLike | None = None,
    n_seeds: int = 1,
    **options,
) -> SweepResult:
    """Trains a map for every (sigma0, alpha0, seed) combination in one compiled program.

    The configurations are the Cartesian product ``sigma x learning_rate x
    range(n_seeds)`` in that order (sigma varies slowest); all maps train in one
    ``vmap`` of :func:`train`, so they share one compilation and run as batched
    array operations. Map i equals ``train(x, grid, key=jax.random.split(key,
    n_seeds)[seed[i]], sigma=sigma[i], learning_rate=learning_rate[i], **options)``
    up to floating-point summation order.

    Args:
      x: ``[n, d]`` data.
      grid: ``(rows, cols)`` or ``(n,)``.
      key: PRNG key, split into ``n_seeds`` keys.
      sigma: initial widths ``[a]`` (or one number).
      learning_rate: initial learning rates ``[b]``; default train's for the mode.
      n_seeds: number of keys per (sigma, learning rate) pair (static).
      **options: any other keyword argument of :func:`train` (mode, epochs,
        topology, init, ...). A ``sigma_final`` / ``learning_rate_final`` given here
        is shared by all maps; left out, each map's default follows its own sigma0 /
        alpha0.

    Returns:
      A ``SweepResult`` with ``m = a * b * n_seeds`` rows.

    Raises:
      ValueError: as :func:`train`, and for empty or non-positive sigma/learning
        rate lists.
    """
    key = _validation.prng_key(key)
    n_seeds = _validation.positive_int(n_seeds, "n_seeds")
    x = _validation.at_least_float32(_validation.matrix(x, "x"))
    sigmas = _values(sigma, "sigma", x.dtype)
    defaults = {name: parameter.default
                for name, parameter in inspect.signature(train).parameters.items()
                if parameter.kind is inspect.Parameter.KEYWORD_ONLY
                and name not in ("key", "sigma", "learning_rate")}
    unknown = set(options) - set(defaults)
    if unknown:
        raise ValueError(f"Unknown train options {sorted(unknown)}; accepted: {sorted(defaults)}.")
    arrays, statics = _prepare(x, grid, key=key, sigma=sigmas[0], learning_rate=(
        None if learning_rate is None else _values(learning_rate, "learning_rate", x.dtype)[0]),
        **{**defaults, **options})
    rates = (arrays["learning_rate"][None] if learning_rate is None
             else _values(learning_rate, "learning_rate", x.dtype))
    a, b = sigmas.shape[0], rates.shape[0]
    sigma_grid = jnp.repeat(sigmas, b * n_seeds)
    rate_grid = jnp.tile(jnp.repeat(rates, n_seeds), a)
    seed = jnp.tile(jnp.arange(n_seeds, dtype=jnp.int32), a * b)
    keys = jax.random.split(key, n_seeds)[seed]
    del arrays["key"], arrays["sigma"], arrays["learning_rate"]
    maps = _sweep(arrays, keys, sigma_grid, rate_grid, statics=tuple(sorted(statics.items())))
    return SweepResult(sigma_grid, rate_grid, seed, maps.quantization_error,
                       maps.topographic_error, maps)
