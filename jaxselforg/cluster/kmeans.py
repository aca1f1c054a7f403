"""k-means (lecture section 5), as the lecture numbers it, plus k-means++ and k-medians.

The lecture's algorithm: associate objects with clusters at random (random
partition), then repeat: compute the distances from all objects to all centres,
attach each object to its nearest centre, recompute each centre as the mean of its
members; stop when no centre moves by more than delta (``tol``).

The solver is STYLE.md's skeleton: a pure ``step`` on a ``KMeansState``, driven by a
jit-compiled ``lax.while_loop``; restarts (``n_init``) are one ``vmap`` over split
keys. On a row-sharded ``x`` (``jaxselforg.parallel.shard_rows``, padding rows given
``sample_weight`` 0) the same program runs data-parallel: the assignment is row-local
and the centre sums are a contraction over rows that the compiler reduces across
devices.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from jaxselforg import _restarts, _segments, _validation, distances
from jaxselforg.cluster import _bounds, _seeding

__all__ = [
    "ALGORITHMS",
    "UPDATES",
    "KMeansResult",
    "KMeansState",
    "init_state",
    "kmeans",
    "predict",
    "step",
    "transform",
]

UPDATES = ("mean", "median")
ALGORITHMS = ("auto", "lloyd", "elkan", "hamerly")
# Elkan keeps n x k lower bounds; past this many (128 MiB in float32) Hamerly's n.
_ELKAN_BOUNDS = 2**25
# "auto" bounds fits of at least this many points: below, a plain fit takes less time
# than the bounded program's extra compilation (4-6 s against 1.5 s on a 2-core CPU).
_AUTO_BOUNDS_ROWS = 16_384
_HIGHEST = lax.Precision.HIGHEST


class KMeansState(NamedTuple):
    """The loop state: centres, iteration count, the last shift and the history."""

    centers: jax.Array  # [k, d]
    iteration: jax.Array  # int32 scalar
    shift: jax.Array  # largest centre movement in the last step (Euclidean, data units)
    inertia_history: jax.Array  # [max_iter], -1 where not reached
    shift_history: jax.Array  # [max_iter], -1 where not reached


class KMeansResult(NamedTuple):
    """A fitted clustering.

    Attributes:
      centers: ``[k, d]`` cluster centres.
      labels: ``[n]`` index of each point's nearest centre.
      inertia: sum_i w_i rho(x_i, c_{labels_i})^2, with rho the Euclidean distance for
        ``"euclidean"`` and ``"sqeuclidean"`` (scikit-learn's ``inertia_`` for unit
        weights).
      n_iter: number of centre updates made.
      converged: whether the last update moved no centre by more than ``tol``.
      inertia_history: ``[max_iter]`` inertia before each update (-1 after the end).
      shift_history: ``[max_iter]`` largest centre movement of each update (-1 after).
      restart_inertia: ``[n_init]`` final inertia of every restart (the best is kept).
    """

    centers: jax.Array
    labels: jax.Array
    inertia: jax.Array
    n_iter: jax.Array
    converged: jax.Array
    inertia_history: jax.Array
    shift_history: jax.Array
    restart_inertia: jax.Array


# ---------------------------------------------------------------------------
# Assignment and update.


def _assigner(metric: str, p: float, w: jax.Array | None, x: jax.Array,
              x_sq: jax.Array | None):
    """``assign(centers) -> (labels [n], squared metric distance [n])``.

    The library's one search (``distances.nearest``) on its fastest settings for a
    Lloyd step: all pairs in one product (no row blocks, so a row-sharded ``x`` stays
    local), no centring (``_fit`` centres the data once), and the squared distance
    read off the ranking score, as scikit-learn does. For the Euclidean metrics on
    the data ``_fit`` has scaled, its scaled form (``x_sq``: |x|^2 once per fit).
    """
    if x_sq is not None:
        return lambda centers: distances.scaled_sqeuclidean_nearest(x, centers, x_sq)
    euclidean = metric in ("euclidean", "sqeuclidean")
    search_metric = "sqeuclidean" if euclidean else metric

    def assign(centers):
        labels, dist = distances.nearest(x, centers, search_metric, p=p, w=w, block_size=None,
                                         centre=False, exact_distance=False)
        return labels, dist if euclidean else dist * dist

    return assign


def _reseed_empty(centers, counts, x, weights, sq_dist):
    """Empty clusters take the points farthest from their own centres (as scikit-learn)."""
    k = centers.shape[0]
    empty = counts <= 0
    candidates = jnp.where(weights > 0, sq_dist, -jnp.inf)
    _, farthest = lax.top_k(candidates, min(k, x.shape[0]))
    rank = jnp.clip(jnp.cumsum(empty) - 1, 0, farthest.shape[0] - 1)
    return jnp.where(empty[:, None], x[farthest[rank]], centers)


def _mean_update(x, labels, weights, sq_dist, k):
    sums, counts = _segments.weighted_sums(x, labels, weights, k)
    means = sums / jnp.maximum(counts, 1e-30)[:, None]
    return _reseed_empty(means, counts, x, weights, sq_dist)


def _median_update(x, labels, weights, sq_dist, k, ranks, sorted_x):
    """Per-feature weighted medians of each cluster (k-medians, robust to outliers).

    ``ranks``/``sorted_x`` sort every feature once for the whole fit. A cluster's
    median in feature j is the value at the first rank where its cumulative member
    weight reaches half its total (the mean of the two middle values for an even
    count, as ``numpy.median``). That rank is found by bisection for every cluster
    and feature at once: each of the log2(n) steps counts, with one ``[k, n] x [n, 2d]``
    product, the members at or below the current rank, so a step costs O(n d) for
    all clusters together and shards over rows like the mean.
    """
    n, d = x.shape
    onehot = jax.nn.one_hot(labels, k, dtype=x.dtype) * weights[:, None]
    half = jnp.sum(onehot, axis=0)[:, None, None] / 2  # [k, 1, 1]
    # Two searches side by side: the first rank with count >= half, and with > half.
    lo = jnp.full((k, 2, d), -1, jnp.int32)
    hi = jnp.full((k, 2, d), n - 1, jnp.int32)

    def bisect(_, bounds):
        lo, hi = bounds
        mid = (lo + hi) // 2
        below = (ranks[:, None, :] <= mid[labels]).astype(x.dtype)  # [n, 2, d]
        count = jnp.matmul(onehot.T, below.reshape(n, 2 * d),
                           precision=_HIGHEST).reshape(k, 2, d)
        reached = jnp.stack([count[:, 0] >= half[:, 0], count[:, 1] > half[:, 0]], axis=1)
        return jnp.where(reached, lo, mid), jnp.where(reached, mid, hi)

    _, hi = lax.fori_loop(0, max(1, int(np.ceil(np.log2(n + 1)))), bisect, (lo, hi))
    column = jnp.arange(d)
    medians = 0.5 * (sorted_x[hi[:, 0], column] + sorted_x[hi[:, 1], column])
    return _reseed_empty(medians, jnp.sum(onehot, axis=0), x, weights, sq_dist)


# ---------------------------------------------------------------------------
# The solver: init, step, driver.


def init_state(centers: jax.Array, max_iter: int) -> KMeansState:
    """The state before the first update."""
    history = jnp.full((max_iter,), -1.0, centers.dtype)
    return KMeansState(centers, jnp.zeros((), jnp.int32), jnp.asarray(jnp.inf, centers.dtype),
                       history, history)


def step(state: KMeansState, assign, update, weights: jax.Array) -> KMeansState:
    """One Lloyd iteration: assign every point, move every centre to its cluster's centre.

    Args:
      state: the current state.
      assign: ``centers -> (labels [n], squared distances [n])``.
      update: ``(labels, squared distances) -> centers``.
      weights: ``[n]`` point weights (for the inertia).
    """
    labels, sq_dist = assign(state.centers)
    centers = update(labels, sq_dist)
    shift = jnp.max(jnp.linalg.norm(centers - state.centers, axis=1))
    i = state.iteration
    return KMeansState(centers, i + 1, shift,
                       state.inertia_history.at[i].set(jnp.sum(weights * sq_dist)),
                       state.shift_history.at[i].set(shift))


@functools.partial(jax.jit, static_argnames=("k", "init", "n_init", "max_iter", "metric",
                                             "update", "p", "bounds", "capacity"))
def _fit(x, key, init_centers, tol, weights, w, *, k, init, n_init, max_iter, metric, update, p,
         bounds, capacity):
    # The squared distances of data beyond ~1e19 (or below ~1e-19) leave float32: fit on
    # data scaled into [-1, 1] by a power of two (exact) and scale the answer back. NaN
    # or Inf data under tracing make the scale, and so every float result, NaN.
    scale = _validation.power_of_two_scale(
        *([x] if init_centers is None else [x, init_centers]))
    # A traced bad tol or feature weight (NaN, see kmeans) only steers comparisons: it is
    # carried by the scale, so every float result is NaN.
    valid = jnp.isfinite(tol) & (True if w is None else jnp.all(jnp.isfinite(w) & (w >= 0)))
    scale = _validation.nan_unless(valid, scale)
    if metric == "dot":  # not homogeneous: fit as it is (the scale only carries NaN)
        scale = scale / scale
    x, tol = x / scale, tol / scale
    if init_centers is not None:
        init_centers = init_centers / scale
    # Euclidean distances are translation invariant: centre once, for precision.
    offset = (jnp.sum(weights[:, None] * x, axis=0) / jnp.sum(weights)
              if metric in ("euclidean", "sqeuclidean") else jnp.zeros(x.shape[1], x.dtype))
    x = x - offset
    # Unweighted Euclidean on the centred, scaled data: |x|^2 once for the whole fit.
    x_sq = jnp.sum(x * x, axis=1) if metric in ("euclidean", "sqeuclidean") and w is None \
        else None
    assign = _assigner(metric, p, w, x, x_sq)
    if update == "median":
        order = jnp.argsort(x, axis=0)
        sorted_x = jnp.take_along_axis(x, order, axis=0)
        ranks = jnp.zeros(x.shape, jnp.int32).at[order, jnp.arange(x.shape[1])].set(
            jnp.arange(x.shape[0], dtype=jnp.int32)[:, None])
        update_fn = lambda labels, sq: _median_update(
            x, labels, weights, sq, k, ranks, sorted_x)
    else:
        update_fn = lambda labels, sq: _mean_update(x, labels, weights, sq, k)

    def sq_distances(a, b):  # k-means++: b is x
        if x_sq is not None:
            return distances.scaled_sqeuclidean(a, b, x_sq)
        return distances.pairwise(a, b, metric, p=p, w=w) ** 2

    def first_centers(key):
        if init == "array":
            return init_centers - offset
        if init == "random":
            return _seeding.random_samples(key, x, k, weights)
        if init == "random-partition":
            return _seeding.random_partition(key, x, k, weights)
        return _seeding.kmeans_plusplus(key, x, k, weights, sq_distances)

    def fit_one(key):
        start = init_state(first_centers(key), max_iter)
        if bounds != "lloyd":  # Lloyd's iterations, fewer distances
            state = _bounds.fit(start, x, x_sq, weights, tol, max_iter, assign, update_fn,
                                capacity, elkan=bounds == "elkan")
        else:
            state = lax.while_loop(
                lambda s: (s.iteration < max_iter) & (s.shift > tol),
                lambda s: step(s, assign, update_fn, weights),
                start,
            )
        labels, sq_dist = assign(state.centers)
        return state, labels, jnp.sum(weights * sq_dist)

    # A bounded fit branches on its data every iteration: restarts run one after another.
    states, labels, inertia = _restarts.run_restarts(fit_one, key, n_init,
                                                     sequential=bounds != "lloyd")
    best = jnp.argmin(inertia)
    state = jax.tree.map(lambda leaf: leaf[best], states)
    def squared_units(a):  # squared metric distances back in data units
        return distances.unscale(distances.unscale(a, scale, metric), scale, metric)

    return KMeansResult(
        centers=(state.centers + offset) * scale,
        labels=labels[best].astype(jnp.int32),
        inertia=squared_units(inertia[best]),
        n_iter=state.iteration,
        converged=state.shift <= tol,
        inertia_history=jnp.where(state.inertia_history < 0, state.inertia_history,
                                  squared_units(state.inertia_history)),  # -1: not reached
        shift_history=jnp.where(state.shift_history < 0, state.shift_history,
                                state.shift_history * scale),
        restart_inertia=squared_units(inertia),
    )


def kmeans(
    x: ArrayLike,
    k: int,
    *,
    key: jax.Array,
    init: str | ArrayLike = "k-means++",
    n_init: int = 1,
    tol: ArrayLike = 1e-4,
    max_iter: int = 300,
    metric: str = "euclidean",
    update: str = "mean",
    p: float = 2.0,
    w: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    algorithm: str = "auto",
    capacity: int | None = None,
) -> KMeansResult:
    """k-means clustering (Lloyd's algorithm) under any metric of the lecture.

    Iterates: assign every point to its nearest centre under ``metric``; move every
    centre to the (weighted) mean of its points, or their per-feature median with
    ``update="median"`` (k-medians: the mean is sensitive to outliers, the lecture's
    named weakness of k-means; the median suits ``metric="manhattan"``). Stops when
    no centre moves by more than ``tol`` or after ``max_iter`` updates. A cluster
    that empties is re-seeded with the point farthest from its own centre (then the
    next farthest, and so on), so no centre is ever NaN.

    Args:
      x: ``[n, d]`` data.
      k: number of clusters, ``1 <= k <= n`` (static).
      key: PRNG key; with ``n_init > 1`` restart i uses ``jax.random.split(key, n_init)[i]``.
      init: ``"random-partition"`` (the lecture's: random clusters, centres their
        means), ``"k-means++"`` (greedy, as scikit-learn), ``"random"`` (k distinct
        points), or a ``[k, d]`` array of initial centres (then ``n_init`` must be 1).
      n_init: restarts, run as one vmapped program; the lowest inertia wins.
      tol: delta, absolute and in data units: the largest Euclidean distance any
        centre may move in a step for the fit to count as converged. ``0`` runs
        until the assignments stop changing (or ``max_iter``). Traced.
      max_iter: cap on the number of updates (static; sizes the history).
      metric: the assignment metric, one of ``distances.METRICS``.
      update: ``"mean"`` or ``"median"``.
      p: Minkowski exponent (``metric="minkowski"``), static.
      w: optional non-negative feature weights of the metric.
      sample_weight: optional non-negative ``[n]`` weights of the points (0 removes
        a point, e.g. the padding of a sharded dataset).
      algorithm: ``"lloyd"`` (every distance, every iteration); ``"elkan"`` or
        ``"hamerly"``: Lloyd's iterations with triangle-inequality bounds (Elkan
        2003: a lower bound per point and centre; Hamerly 2010: one per point), so
        only the points whose bounds fail are searched; from the same start, the
        same labels, centres (bit for bit) and iteration count as Lloyd
        (``cluster/_bounds.py``). They need the Euclidean metrics, the mean update,
        no feature weights and k >= 2; their restarts run one after another
        (``lax.map``). ``"auto"``:
        Elkan (Hamerly past 2^25 bounds) for n >= 16,384 where they apply, else
        Lloyd.
      capacity: the largest buffer of points the bounded fits search in one
        iteration (static; default n / 2; smaller buffers of 1/2 ... 1/32 of it
        are used when the failing points fit). When more points fail their bounds,
        the iteration is a full pass: no point is ever skipped.

    Returns:
      A ``KMeansResult``.

    Raises:
      ValueError: bad shapes or values (k out of range, NaN/Inf, init of the wrong
        shape, unknown init/metric/update, tol < 0, ...).
    """
    key = _validation.prng_key(key)
    x = _validation.at_least_float32(_validation.matrix(x, "x"))  # float16 runs in float32
    n, d = x.shape
    k = _validation.positive_int(k, "k", at_most=n)
    n_init = _validation.positive_int(n_init, "n_init")
    max_iter = _validation.positive_int(max_iter, "max_iter")
    _validation.choice(update, UPDATES, "update")
    _validation.choice(algorithm, ALGORITHMS, "algorithm")
    metric = distances.canonical_metric(metric, p)
    tol = _validation.hyperparameter(tol, "tol", minimum=0.0)
    weights = _validation.sample_weight(sample_weight, n, x.dtype)
    w = distances._weights(w, d)  # the metric's one check of its feature weights

    init_centers = None
    if isinstance(init, str):
        _validation.choice(init, _seeding.INITS, "init")
    else:
        init_centers = _validation.matrix(init, "init").astype(x.dtype)
        if init_centers.shape != (k, d):
            raise ValueError(f"init array must have shape (k, d) = {(k, d)}; "
                             f"got {tuple(init_centers.shape)}.")
        if n_init != 1:
            raise ValueError("An explicit init array gives every restart the same start: "
                             "use n_init=1.")
        init = "array"
    bounded = metric in ("euclidean", "sqeuclidean") and update == "mean" and w is None and k > 1
    if algorithm in ("elkan", "hamerly") and not bounded:
        raise ValueError(
            f"algorithm={algorithm!r} needs the triangle inequality of the Euclidean "
            "distance between points and centre means: metric 'euclidean' or "
            f"'sqeuclidean', update='mean', no feature weights w and k >= 2; got "
            f"metric={metric!r}, update={update!r}, w={'given' if w is not None else None}, "
            f"k={k}. Use algorithm='lloyd' or 'auto'.")
    if capacity is not None:
        capacity = _validation.positive_int(capacity, "capacity", at_most=n)
    if algorithm == "auto":
        algorithm = "lloyd"
        if bounded and n >= _AUTO_BOUNDS_ROWS:
            algorithm = "elkan" if n * k <= _ELKAN_BOUNDS else "hamerly"
    return _fit(x, key, init_centers, jnp.asarray(tol, x.dtype), weights, w, k=k, init=init,
                n_init=n_init, max_iter=max_iter, metric=metric, update=update, p=float(p),
                bounds=algorithm, capacity=capacity or _bounds.default_capacity(n))


def transform(x: ArrayLike, centers: ArrayLike, metric: str = "euclidean", *,
              p: float = 2.0, w: ArrayLike | None = None) -> jax.Array:
    """Distances ``[n, k]`` from every point to every centre (scikit-learn's ``transform``)."""
    return distances.pairwise(x, centers, metric, p=p, w=w)


def predict(x: ArrayLike, centers: ArrayLike, metric: str = "euclidean", *,
            p: float = 2.0, w: ArrayLike | None = None) -> jax.Array:
    """Index ``[n]`` of each point's nearest centre (streams over the centres)."""
    return distances.nearest(x, centers, metric, p=p, w=w)[0]
