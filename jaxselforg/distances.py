"""The lecture's distance measures (section 2): one pair, all pairs, nearest neighbour.

Every metric is defined once for a pair of vectors and lifted to all pairs with
``vmap``; the metrics built on inner products (Euclidean, squared Euclidean, dot,
cosine) also have a matrix-product fast path, as ott-jax's ``CostFn.all_pairs``.
Feature weights ``w`` follow scipy's convention (weights are not raised to ``p``):

    rho_w(x, y) = (sum_j w_j |x_j - y_j|^p)^(1/p).

They enter the per-pair formulas as written (rescaling the data by ``w^(1/p)``
instead would cost float32 digits to cancellation); the inner-product fast paths
rescale by ``sqrt(w)``, where that is exact algebra.

Metrics (``METRICS``; aliases ``"cityblock"`` and ``"supremum"`` are accepted):

* ``"euclidean"``: sqrt(sum_j (x_j - y_j)^2)
* ``"sqeuclidean"``: sum_j (x_j - y_j)^2 (not a metric: no triangle inequality)
* ``"manhattan"``: sum_j |x_j - y_j|
* ``"chebyshev"``: max_j |x_j - y_j| (the lecture's supremum; weights select the
  features with w_j > 0, as scipy)
* ``"minkowski"``: (sum_j |x_j - y_j|^p)^(1/p) for p > 0; p = 1, 2, inf dispatch to the
  three metrics above
* ``"dot"``: 1 - <x, y> (the lecture's scalar-product form; for unit vectors it is
  the cosine distance; it can be negative)
* ``"cosine"``: 1 - <x, y> / (|x| |y|), in [0, 2]; a zero vector has cosine
  similarity 0 with everything, so its distance is 1 (scikit-learn's convention;
  scipy returns NaN)

Gradients are finite everywhere, including at zero distance and at zero vectors
(square roots and powers use a guarded ``where``).

Magnitudes and dtypes: every metric but dot is computed on the data divided by a power
of two near their largest magnitude and rescaled (exact; see ``_rescale``), so values
from 1e-30 to 1e30 give scipy's distances in float32 wherever the distance itself is a
float32 (a squared distance beyond 3.4e38 is inf, below 1e-45 is 0). float16 and
bfloat16 inputs are computed in float32. The dot form 1 - <x, y> is not homogeneous
and is computed as it is.

Bad values: eager calls raise ``ValueError`` on NaN/Inf data or p <= 0; under
``jit``/``vmap`` the same inputs make every distance of the problem NaN (the policy of
``jaxselforg._validation``); indices returned next to NaN distances are meaningless.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from jaxselforg import _rows, _validation

__all__ = ["METRICS", "canonical_metric", "distance", "k_nearest", "nearest", "pairwise"]

METRICS = ("euclidean", "sqeuclidean", "manhattan", "chebyshev", "minkowski", "dot", "cosine")
_ALIASES = {"cityblock": "manhattan", "supremum": "chebyshev"}
_HIGHEST = lax.Precision.HIGHEST
_PAIRWISE_TILE = 1024
# Metrics with a matrix-product form, and those without one.
_INNER_PRODUCT = ("euclidean", "sqeuclidean", "dot", "cosine")
_ELEMENTWISE = ("manhattan", "chebyshev", "minkowski")


# ---------------------------------------------------------------------------
# Guarded elementary functions: value as usual, finite gradient at zero.


def _nan_or_zero(s: jax.Array) -> jax.Array:
    """0, or NaN where ``s`` is NaN: the guarded branch must not turn NaN into 0."""
    return jnp.where(jnp.isnan(s), s, 0.0)


def _safe_sqrt(s: jax.Array) -> jax.Array:
    positive = s > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, s, 1.0)), _nan_or_zero(s))


def _safe_power(a: jax.Array, exponent: ArrayLike) -> jax.Array:
    """``a ** exponent`` for ``a >= 0``, with 0 ** exponent = 0 and a finite gradient.

    A static integer exponent becomes repeated multiplication; any other goes through
    exp(e log a), which XLA vectorizes (its generic ``pow`` is several times slower).
    """
    if isinstance(exponent, (int, float)) and float(exponent).is_integer() and exponent >= 1:
        return lax.integer_pow(a, int(exponent))
    positive = a > 0
    return jnp.where(positive, jnp.exp(exponent * jnp.log(jnp.where(positive, a, 1.0))),
                     _nan_or_zero(a))


def _unit(v: jax.Array) -> jax.Array:
    """``v / |v|`` along the last axis; the zero vector stays zero."""
    norm = _safe_sqrt(jnp.sum(v * v, axis=-1, keepdims=True))
    return v / jnp.where(norm > 0, norm, 1.0)


# ---------------------------------------------------------------------------
# One pair of vectors [d], [d] -> scalar, with optional weights w [d] (None: all 1).


def _fusion_barrier(a: jax.Array) -> jax.Array:
    """``a`` unchanged (a float32-to-float32 ``reduce_precision`` is the identity).

    XLA on CPU fuses the arithmetic that consumes a row reduction into the reduction
    itself, and that fused loop runs 3-4x slower than the reduction alone: on
    Fashion-MNIST's 60,000 x 784 a nearest search took 95 ms with |x_i|^2 + score
    fused, 31 ms with this barrier between them (``benchmarks.distances``).
    """
    info = jnp.finfo(a.dtype)
    return lax.reduce_precision(a, exponent_bits=info.nexp, mantissa_bits=info.nmant)


def _weighted_sum(terms, w):
    return jnp.sum(terms if w is None else w * terms)


def _pair_sqeuclidean(x, y, p, w):
    del p
    diff = x - y
    return _weighted_sum(diff * diff, w)


def _pair_euclidean(x, y, p, w):
    return _safe_sqrt(_pair_sqeuclidean(x, y, p, w))


def _pair_manhattan(x, y, p, w):
    del p
    return _weighted_sum(jnp.abs(x - y), w)


def _pair_chebyshev(x, y, p, w):
    del p
    diff = jnp.abs(x - y)
    # As scipy: weights select the features (w_j > 0) that enter the maximum.
    return jnp.max(diff if w is None else jnp.where(w > 0, diff, 0.0))


def _pair_minkowski(x, y, p, w):
    return _safe_power(_weighted_sum(_safe_power(jnp.abs(x - y), p), w), 1.0 / p)


def _scale(x, w):
    """x * sqrt(w): the inner-product metrics with weights are the plain ones on this."""
    return x if w is None else x * jnp.sqrt(w)


def _pair_dot(x, y, p, w):
    del p
    return 1.0 - jnp.dot(_scale(x, w), _scale(y, w), precision=_HIGHEST)


def _cosine_from_units(sq_unit_distance, x_nonzero, y_nonzero):
    # For unit vectors 1 - cos = |u - v|^2 / 2, free of the cancellation in 1 - <u, v>.
    # A zero vector has cosine similarity 0 with everything: distance 1.
    both = x_nonzero & y_nonzero
    return jnp.where(both, jnp.clip(0.5 * sq_unit_distance, 0.0, 2.0), 1.0)


def _pair_cosine(x, y, p, w):
    x, y = _scale(x, w), _scale(y, w)
    return _cosine_from_units(_pair_sqeuclidean(_unit(x), _unit(y), p, None),
                              jnp.any(x != 0), jnp.any(y != 0))


_PAIR: dict[str, Callable] = {
    "euclidean": _pair_euclidean,
    "sqeuclidean": _pair_sqeuclidean,
    "manhattan": _pair_manhattan,
    "chebyshev": _pair_chebyshev,
    "minkowski": _pair_minkowski,
    "dot": _pair_dot,
    "cosine": _pair_cosine,
}


# ---------------------------------------------------------------------------
# All pairs [n, d], [m, d] -> [n, m].


def _lift(pair: Callable) -> Callable:
    """All pairs by double vmap; XLA fuses the broadcast difference into the reduction."""

    def all_pairs(x, y, p, w):
        row = jax.vmap(pair, in_axes=(None, 0, None, None))
        return jax.vmap(row, in_axes=(0, None, None, None))(x, y, p, w)

    return all_pairs


def _all_pairs_sqeuclidean(x, y, p, w):
    del p
    x, y = _scale(x, w), _scale(y, w)
    # |x - y|^2 = |x|^2 + |y|^2 - 2<x, y> loses digits to cancellation when the norms
    # are large next to the distance; distances are translation invariant, so centring
    # both sets on y's mean keeps the norms small.
    centre = jnp.mean(y, axis=0)
    x, y = x - centre, y - centre
    cross = jnp.matmul(x, y.T, precision=_HIGHEST)
    sq = jnp.sum(x * x, axis=1)[:, None] + jnp.sum(y * y, axis=1)[None, :] - 2.0 * cross
    return jnp.maximum(sq, 0.0)


def _all_pairs_euclidean(x, y, p, w):
    return _safe_sqrt(_all_pairs_sqeuclidean(x, y, p, w))


def _all_pairs_dot(x, y, p, w):
    del p
    return 1.0 - jnp.matmul(_scale(x, w), _scale(y, w).T, precision=_HIGHEST)


def _all_pairs_cosine(x, y, p, w):
    x, y = _scale(x, w), _scale(y, w)
    return _cosine_from_units(_all_pairs_sqeuclidean(_unit(x), _unit(y), p, None),
                              jnp.any(x != 0, axis=1)[:, None], jnp.any(y != 0, axis=1)[None, :])


_ALL_PAIRS: dict[str, Callable] = {
    "euclidean": _all_pairs_euclidean,
    "sqeuclidean": _all_pairs_sqeuclidean,
    "manhattan": _lift(_pair_manhattan),
    "chebyshev": _lift(_pair_chebyshev),
    "minkowski": _lift(_pair_minkowski),
    "dot": _all_pairs_dot,
    "cosine": _all_pairs_cosine,
}


# ---------------------------------------------------------------------------
# The nearest-prototype search: a ranking score per metric, and its distance.


class _Ranking(NamedTuple):
    """How one search ranks candidates (built inside the compiled search).

    ``score(rows(x_block), y_tile) + offset_tile`` is ordered over candidates like
    the distance minus the bias; ``distance(best_score, rows(x_block), index)`` turns
    a winner's score back into its distance (in the units of ``_rescale``), and
    ``exact`` says whether that is bit for bit the pair formula. ``rows`` prepares
    queries a block at a time, so a vmapped sweep over prototype sets never holds a
    ``[sets, n, d]`` copy of the queries. ``homogeneous``: ``score(rows(a / s), y) =
    score(rows(a), y) / s`` bit for bit for a power of two s (a product linear in the
    queries), so the search divides the ``[b, m]`` scores by the data scale instead
    of writing a scaled ``[b, d]`` copy of the queries, a pass over x that costs the
    CPU more than the product itself.
    """

    rows: Callable  # [b, d] queries -> [b, d] as the score reads them
    y: jax.Array  # [m, d] the candidates as the score reads them
    offset: jax.Array  # [m] added to every candidate's score (padding: +inf)
    score: Callable
    distance: Callable
    exact: bool
    homogeneous: bool = False


def _pair_minkowski_power(x, y, p, w):
    """sum_j w_j |x_j - y_j|^p: ordered like the Minkowski distance, without the root."""
    return _weighted_sum(_safe_power(jnp.abs(x - y), p), w)


# The pair formula without its final monotone map (square root, 1/p power): the
# exact path ranks by these and applies the map to the winner only.
_ORDER_PAIR: dict[str, Callable] = {**_PAIR, "euclidean": _pair_sqeuclidean,
                                    "minkowski": _pair_minkowski_power}


def _finish(metric, order, p):
    """The distance from its order value (``_ORDER_PAIR``): the pair formula's last map."""
    if metric == "euclidean":
        return _safe_sqrt(order)
    if metric == "minkowski":
        return _safe_power(order, 1.0 / p)
    return order


def _ranking(metric, y, p, w, bias, matmul, centre) -> _Ranking:
    """Rewrites argmin_j rho(x_i, y_j) - b_j as argmin_j of a cheaper score.

    * matrix-product path (``matmul``; Euclidean, squared Euclidean, dot, cosine): one
      product per tile, |y|^2 - 2<x, y> (the |x|^2 term is common to every
      candidate) around y's mean (``centre``, for precision), or -<x, y> for dot and
      cosine (unit rows; a zero vector scores 0, i.e. distance 1);
    * exact path (everything else): the pair formula, lifted by vmap, without its
      final square root or 1/p power.

    With a bias the score is the distance itself (fast or exact formula) minus b_j.
    """
    zero = jnp.zeros(y.shape[0], y.dtype)
    fast = matmul and metric in _INNER_PRODUCT
    same = lambda rows: rows
    if bias is not None:
        pairs = _ALL_PAIRS[metric] if fast else _lift(_PAIR[metric])
        return _Ranking(same, y, -bias, lambda a, b: pairs(a, b, p, w),
                        lambda s, a, j: s + bias[j], exact=False)
    if not fast:
        order = _lift(_ORDER_PAIR[metric])
        return _Ranking(same, y, zero, lambda a, b: order(a, b, p, w),
                        lambda s, a, j: _finish(metric, s, p), exact=True)
    y = _scale(y, w)
    if metric in ("dot", "cosine"):
        rows = (lambda a: _unit(_scale(a, w))) if metric == "cosine" else (
            lambda a: _scale(a, w))

        def product_distance(s, a, j):
            return jnp.clip(1.0 + s, 0.0, 2.0) if metric == "cosine" else 1.0 + s

        return _Ranking(rows, _unit(y) if metric == "cosine" else y, zero,
                        lambda a, b: -jnp.matmul(a, b.T, precision=_HIGHEST),
                        product_distance, exact=False, homogeneous=metric == "dot")
    mean = jnp.mean(y, axis=0) if centre else None  # translation invariance, for precision
    if centre:
        y = y - mean

    def euclidean_distance(s, a, j):
        sq = jnp.maximum(_fusion_barrier(jnp.sum(a * a, axis=1)) + s, 0.0)
        return _safe_sqrt(sq) if metric == "euclidean" else sq

    return _Ranking(lambda a: _scale(a, w) - mean if centre else _scale(a, w), y,
                    jnp.sum(y * y, axis=1),
                    lambda a, b: -2.0 * jnp.matmul(a, b.T, precision=_HIGHEST),
                    euclidean_distance, exact=False, homogeneous=not centre)


def _tiles(a, block, fill=0.0):
    """``[n, ...]`` -> ``[ceil(n / block), block, ...]``, padded with ``fill``."""
    n_blocks = -(-a.shape[0] // block)
    padding = [(0, n_blocks * block - a.shape[0])] + [(0, 0)] * (a.ndim - 1)
    return jnp.pad(a, padding, constant_values=fill).reshape(n_blocks, block, *a.shape[1:])


def _best_in_tile(scores, start, runner_up):
    """``(score, index)`` of the best (and second-best) column of every row.

    Ties go to the smaller index: argmin's first minimum, then argmin with the winner
    masked out, i.e. a stable sort's first two.
    """
    first = jnp.argmin(scores, axis=1)
    best = [jnp.take_along_axis(scores, first[:, None], axis=1)[:, 0],
            start + first.astype(jnp.int32)]
    if runner_up:
        columns = jnp.arange(scores.shape[1])
        masked = jnp.where(columns[None, :] == first[:, None], jnp.inf, scores)
        second = jnp.argmin(masked, axis=1)
        best += [jnp.take_along_axis(masked, second[:, None], axis=1)[:, 0],
                 start + second.astype(jnp.int32)]
    return tuple(best)


def _merge(best, tile, runner_up):
    """The best two of a running best and a later tile's (ties keep the earlier index)."""
    if not runner_up:
        better = tile[0] < best[0]
        return (jnp.where(better, tile[0], best[0]), jnp.where(better, tile[1], best[1]))
    s1, i1, s2, i2 = best
    t1, j1, t2, j2 = tile
    tile_wins = t1 < s1
    # The tile's winner beats ours: the runner-up is the better of our winner and the
    # tile's runner-up. Otherwise it is the better of our runner-up and the tile's winner.
    second_if_tile = jnp.where(t2 < s1, t2, s1), jnp.where(t2 < s1, j2, i1)
    second_if_ours = jnp.where(t1 < s2, t1, s2), jnp.where(t1 < s2, j1, i2)
    return (jnp.where(tile_wins, t1, s1), jnp.where(tile_wins, j1, i1),
            jnp.where(tile_wins, second_if_tile[0], second_if_ours[0]),
            jnp.where(tile_wins, second_if_tile[1], second_if_ours[1]))


# ---------------------------------------------------------------------------
# Argument handling.


def canonical_metric(metric: str, p: ArrayLike = 2.0) -> str:
    """Resolves aliases and special Minkowski exponents to one of ``METRICS``.

    ``"minkowski"`` with a concrete ``p`` of 1, 2 or inf becomes ``"manhattan"``,
    ``"euclidean"`` or ``"chebyshev"`` (same values, faster paths). A traced ``p``
    stays ``"minkowski"``.

    Raises:
      ValueError: unknown metric name, or ``p <= 0`` (or NaN) for ``"minkowski"``.
    """
    if not isinstance(metric, str):
        raise ValueError(f"metric must be a string, one of {METRICS}; got {metric!r}.")
    _validation.choice(metric, METRICS + tuple(_ALIASES), "metric")
    name = _ALIASES.get(metric, metric)
    if name != "minkowski" or not _validation.is_concrete(p):
        return name
    p_value = float(np.asarray(p))
    if not p_value > 0:
        raise ValueError(f"Minkowski exponent p must be > 0 (inf allowed); got p={p_value}.")
    return {1.0: "manhattan", 2.0: "euclidean", math.inf: "chebyshev"}.get(p_value, name)


def _weights(w: ArrayLike | None, d: int) -> jax.Array | None:
    if w is None:
        return None
    w = _validation.vector(w, "w", size=d)
    _validation.check_nonnegative(w, "weights w")
    return w if _validation.is_concrete(w) else _validation.nan_unless(w >= 0, w)


def _prepare(x, y, metric, p, w, rank, shape_doc):
    """Validates the arguments; returns arrays, the canonical metric and ``p``.

    ``p`` comes back as a Python float when it is concrete (the compiled program
    specialises on it: integer exponents multiply instead of calling exp/log) and as
    an array when it is traced (one program for a sweep over p).
    """
    x = _validation.as_float_array(x, "x")
    y = _validation.as_float_array(y, "y")
    _validation.check_rank(x, rank, "x", shape_doc)
    _validation.check_rank(y, rank, "y", shape_doc)
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(
            f"x and y must have the same number of features; got {x.shape[-1]} and "
            f"{y.shape[-1]} (shapes {tuple(x.shape)} and {tuple(y.shape)})."
        )
    _validation.check_finite(x, "x")
    _validation.check_finite(y, "y")
    metric = canonical_metric(metric, p)
    w = _weights(w, x.shape[-1])
    # float16 and bfloat16 are computed in float32: their squares overflow at a few hundred.
    dtype = jnp.promote_types(jnp.result_type(x, y), jnp.float32)
    if metric != "minkowski":
        p = 0.0  # unused; a constant keeps one compiled program per metric
    elif _validation.is_concrete(p):
        p = float(np.asarray(p))
    else:
        p = jnp.asarray(p, dtype)
    return x.astype(dtype), y.astype(dtype), metric, p, w


# rho(s x, s y) = s^degree rho(x, y): how each metric's value follows a rescaling of
# the data (cosine: 0, scale-free). The dot form 1 - <x, y> is not homogeneous: it is
# computed on the data as they are (0 here, and no scaling in ``_rescale``).
_DEGREE = {"euclidean": 1, "sqeuclidean": 2, "manhattan": 1, "chebyshev": 1, "minkowski": 1,
           "dot": 0, "cosine": 0}


def _rescale(x, y, metric, p):
    """Data scaled into [-1, 1] by a power of two: ``(x / s, y / s, s)``.

    Squares and powers under- or overflow float32 long before the data do (|x|^2 at
    |x| > 1.8e19 or < 1e-19; |d|^p for p = 3 beyond 1e13 or below 1e-13), so every
    homogeneous metric is computed on data scaled by s = 2^e, the power of two just
    above max(|x|, |y|), and rescaled, rho = s^degree rho(x / s, y / s). A power of two
    is exact: for data of ordinary magnitude the result is bit for bit the unscaled
    one, matrix-product fast path included. The dot form keeps s = 1.

    The same scale carries the tracing policy of ``_validation``: a NaN or Inf anywhere
    in ``x`` or ``y``, or a traced Minkowski ``p`` that is not > 0, makes s NaN, so
    every distance of the problem comes out NaN (the eager call raises instead).
    """
    scale = _validation.power_of_two_scale(x, y)
    if metric == "dot":
        scale = scale / scale  # 1, or NaN for non-finite data
    valid = True
    if metric == "minkowski" and not isinstance(p, float):
        valid = p > 0  # a traced exponent: checked here, not in canonical_metric
    scale = _validation.nan_unless(valid, scale)
    return x / scale, y / scale, scale


def unscale(d, scale, metric):
    """Distances of data scaled by ``scale`` (``_rescale``) back in the data's units.

    rho(x, y) = scale^degree rho(x / scale, y / scale), degree 1 for the metrics, 2 for
    squared Euclidean, 0 for cosine (and dot, which is computed unscaled). Not in
    ``__all__``: for the library's fits that run on scaled data (k-means, SOM).
    """
    for _ in range(_DEGREE[metric]):
        d = d * scale
    return d if _DEGREE[metric] else _validation.nan_unless(jnp.isfinite(scale), d)


def _to_scaled(b, scale, metric):
    """Amounts in distance units (a bias) in the units of scaled data."""
    for _ in range(_DEGREE[metric]):
        b = b / scale
    return b


def _static_or_traced(p):
    """Splits ``p`` into (traced, static) jit arguments; exactly one is not None."""
    return (None, p) if isinstance(p, float) else (p, None)


# ---------------------------------------------------------------------------
# Public API.


def distance(x: ArrayLike, y: ArrayLike, metric: str = "euclidean", *, p: ArrayLike = 2.0,
             w: ArrayLike | None = None) -> jax.Array:
    """Distance between two vectors.

    Args:
      x: first vector, ``[d]``.
      y: second vector, ``[d]``.
      metric: one of ``METRICS`` (or an alias); see the module docstring.
      p: Minkowski exponent, used by ``"minkowski"`` only; may be traced.
      w: optional non-negative feature weights ``[d]`` (scipy's convention).

    Returns:
      The scalar distance rho(x, y).
    """
    x, y, metric, p, w = _prepare(x, y, metric, p, w, 1, "[d]")
    x, y, scale = _rescale(x, y, metric, p)
    return unscale(_PAIR[metric](x, y, p, w), scale, metric)


@functools.partial(jax.jit, static_argnames=("metric", "static_p"))
def _pairwise(x, y, w, traced_p, metric, static_p):
    p = traced_p if static_p is None else static_p
    x, y, scale = _rescale(x, y, metric, p)
    if metric not in _ELEMENTWISE:
        return unscale(_ALL_PAIRS[metric](x, y, p, w), scale, metric)
    # Elementwise metrics read every candidate once per query: in tiles, a block of
    # candidates stays in cache for a block of queries instead of streaming from memory.
    (n, _), m = x.shape, y.shape[0]
    row_block, col_block = min(_PAIRWISE_TILE, n), min(_PAIRWISE_TILE, m)
    y_tiles = _tiles(y, col_block)
    blocks = lax.map(lambda x_tile: lax.map(
        lambda y_tile: _ALL_PAIRS[metric](x_tile, y_tile, p, w), y_tiles), _tiles(x, row_block))
    blocks = blocks.transpose(0, 2, 1, 3).reshape(blocks.shape[0] * row_block, -1)
    return unscale(blocks[:n, :m], scale, metric)


def pairwise(x: ArrayLike, y: ArrayLike, metric: str = "euclidean", *, p: ArrayLike = 2.0,
             w: ArrayLike | None = None) -> jax.Array:
    """Distances between all rows of ``x`` and all rows of ``y``.

    Equals ``scipy.spatial.distance.cdist(x, y, metric, p=p, w=w)`` (``"cityblock"``
    for manhattan; for cosine with a zero vector scipy gives NaN, we give 1). The
    inner-product metrics use a matrix product at ``Precision.HIGHEST``, centred to
    limit cancellation; the absolute error of a squared Euclidean distance is then
    about ``1e-7 * (|x - mean|^2 + |y - mean|^2)`` in float32, so two equal rows can
    come out ~1e-3 apart instead of 0 (``nearest`` computes its distances exactly).

    Args:
      x: ``[n, d]`` array.
      y: ``[m, d]`` array.
      metric: one of ``METRICS`` (or an alias).
      p: Minkowski exponent (``"minkowski"`` only); may be traced for sweeps.
      w: optional non-negative feature weights ``[d]``.

    Returns:
      ``[n, m]`` array of distances.
    """
    x, y, metric, p, w = _prepare(x, y, metric, p, w, 2, "[n, d]")
    traced_p, static_p = _static_or_traced(p)
    return _pairwise(x, y, w, traced_p, metric=metric, static_p=static_p)


@functools.partial(jax.jit, static_argnames=(
    "metric", "static_p", "block_size", "runner_up", "matmul", "exact_distance", "centre"))
def _nearest(x, y, w, bias, traced_p, *, metric, static_p, block_size, runner_up, matmul,
             exact_distance, centre):
    p = traced_p if static_p is None else static_p
    # Only y is scaled here; query blocks are scaled as they are read (``search_rows``),
    # so a vmapped sweep over prototype sets never holds a [sets, n, d] copy of x.
    _, y, scale = _rescale(x, y, metric, p)
    if bias is not None:
        bias = _to_scaled(bias, scale, metric)
    ranking = _ranking(metric, y, p, w, bias, matmul, centre)
    m = y.shape[0]
    col_block = m if block_size is None else min(block_size[1], m)
    n_tiles = -(-m // col_block)
    if n_tiles > 1:
        y_tiles = _tiles(ranking.y, col_block)
        offset_tiles = _tiles(ranking.offset, col_block, fill=jnp.inf)  # padding never wins
        starts = jnp.arange(n_tiles, dtype=jnp.int32) * col_block

    def search_rows(x_rows):
        # A homogeneous product reads the rows as given and its [b, m] scores are scaled;
        # the scaled rows are then read only inside reductions (no [b, d] copy).
        product_rows, divisor = (ranking.rows(x_rows), scale) if ranking.homogeneous \
            else (None, None)
        x_rows = x_rows / scale
        queries = ranking.rows(x_rows)
        if divisor is None:
            product_rows, divisor = queries, 1.0

        def tile_scores(y_tile, offset_tile):
            return ranking.score(product_rows, y_tile) / divisor + offset_tile[None, :]
        if n_tiles == 1:
            scores = tile_scores(ranking.y, ranking.offset)
            best = _best_in_tile(scores, 0, runner_up)
        else:
            def scan_columns(best, column_tile):
                y_tile, offset_tile, start = column_tile
                scores = tile_scores(y_tile, offset_tile)
                return _merge(best, _best_in_tile(scores, start, runner_up), runner_up), None

            # *_like keeps the rows' sharding type, so the loop also runs in shard_map.
            inf = jnp.full_like(x_rows[:, 0], jnp.inf)
            zero = jnp.zeros_like(x_rows[:, 0], dtype=jnp.int32)
            init = (inf, zero, inf, zero) if runner_up else (inf, zero)
            best, _ = lax.scan(scan_columns, init, (y_tiles, offset_tiles, starts))
        index = best[1]
        if exact_distance and not ranking.exact:
            # The winner's distance from its definition: exact, unlike the search score.
            dist = jax.vmap(_PAIR[metric], in_axes=(0, 0, None, None))(x_rows, y[index], p, w)
        else:
            dist = ranking.distance(best[0], queries, index)
        return (index, unscale(dist, scale, metric)) + ((best[3],) if runner_up else ())

    if block_size is None or block_size[0] >= x.shape[0]:
        return search_rows(x)
    # Strided row blocks (``_rows``): on row-sharded queries every block stays local.
    return _rows.map_rows(search_rows, x, block_rows=block_size[0])


def scaled_sqeuclidean(a: jax.Array, x: jax.Array, x_sq: jax.Array) -> jax.Array:
    """Squared Euclidean distances ``[t, n]`` from rows ``a`` to data ``x`` that a fit has
    centred and scaled into [-1, 1] once (as k-means does), with ``x_sq = |x_i|^2``
    computed once: |a|^2 + |x|^2 - 2<a, x>, without the centred copy of ``x`` that
    every ``pairwise`` call writes (k-means++ asks for 2 + log k rows per centre).
    Not in ``__all__``: for the library's fits."""
    cross = jnp.matmul(a, x.T, precision=_HIGHEST)
    return jnp.maximum(jnp.sum(a * a, axis=1)[:, None] + x_sq[None, :] - 2.0 * cross, 0.0)


def scaled_sqeuclidean_nearest(x: jax.Array, y: jax.Array, x_sq: jax.Array,
                               runner_up: bool = False,
                               every_distance: bool = False) -> tuple[jax.Array, ...]:
    """``nearest``'s squared-Euclidean search for a fit that has scaled its data once.

    For ``x`` and ``y`` already finite and inside [-1, 1] (as k-means scales them) and
    ``x_sq = sum(x * x, axis=1)`` computed once per fit, the winners and squared
    distances of ``nearest(x, y, "sqeuclidean", centre=False, exact_distance=False,
    block_size=None)``, from the same ranking scores (bit for bit), without the two
    passes over ``x`` that every call of ``nearest`` makes for its data scale and
    norms. Not in ``__all__``: for the library's fits (k-means, Lloyd and Hamerly).

    Returns:
      ``(index, sq)``, with ``runner_up`` ``(index, sq, second, second_sq)``; with
      ``every_distance`` the ``[n, m]`` squared distances to every candidate last.
    """
    ranking = _ranking("sqeuclidean", y, 0.0, None, None, matmul=True, centre=False)
    scores = ranking.score(x, ranking.y) + ranking.offset[None, :]
    best = _best_in_tile(scores, 0, runner_up)
    found = (best[1], jnp.maximum(x_sq + best[0], 0.0))
    if runner_up:
        found += (best[3], jnp.maximum(x_sq + best[2], 0.0))
    if every_distance:
        found += (jnp.maximum(x_sq[:, None] + scores, 0.0),)
    return found


# Elements of one tile of scores in the default blocking (64 MiB in float32).
_TILE_ELEMENTS = 4096 * 4096


def _block_shape(block_size, metric, n, m):
    """``(row block, column block)`` from ``nearest``'s ``block_size``, or None."""
    if block_size is None:
        return None
    if isinstance(block_size, str):
        _validation.choice(block_size, ("auto",), "block_size")
        # Measured on CPU: big tiles feed the matrix product, small ones keep an
        # elementwise metric's candidates in cache.
        edge = 1024 if metric in _ELEMENTWISE else 4096
        columns = min(edge, m)
        return max(64, min(edge, _TILE_ELEMENTS // columns)), columns
    block_size = _validation.positive_int(block_size, "block_size")
    return block_size, block_size


def nearest(
    x: ArrayLike,
    y: ArrayLike,
    metric: str = "euclidean",
    *,
    p: ArrayLike = 2.0,
    w: ArrayLike | None = None,
    runner_up: bool = False,
    bias: ArrayLike | None = None,
    matmul: bool = True,
    exact_distance: bool = True,
    centre: bool = True,
    block_size: int | str | None = "auto",
) -> tuple[jax.Array, ...]:
    """The nearest-prototype search: each query's winner, runner-up and winner distance.

    For every row x_i of ``x``, the winner (best-matching prototype)

        l(i) = argmin_j rho(x_i, y_j) - b_j,

    with b = 0 unless ``bias`` is given (DeSieno's conscience), optionally the
    runner-up l2(i) = argmin_{j != l(i)} rho(x_i, y_j) - b_j, and rho(x_i, y_l(i)).
    Exact ties go to the smallest index, as ``argmin`` over ``pairwise(x, y)``, and
    the runner-up is then the next tied index (a stable sort's first two). A tie is
    one of the ranking scores: on the matrix-product path, distances equal in exact
    arithmetic can round to different scores (``matmul=False`` ranks by the formula).

    The search is the library's one: k-means, mini-batch k-means, the SOM's
    competition and measures, the criteria and ``parallel.nearest`` all run it. Its
    fast paths are options:

    * ``matmul``: the inner-product metrics (Euclidean, squared Euclidean, dot,
      cosine) rank by one matrix product per tile, |y_j|^2 - 2<x_i, y_j> (after
      translating both sets by y's mean when ``centre``) or -<x_i, y_j>; the
      elementwise metrics always rank by their formula without the final root.
      ``matmul=False`` ranks every metric by its own formula (exact, slower).
    * ``block_size``: memory. The queries are visited in row blocks (strided, so a
      row-sharded ``x`` stays local) and the candidates in column tiles (a running
      best two across a ``lax.scan``), so memory stays ``O(rows * columns + (n + m)
      d)``: 70,000 x 70,000 distances never exist at once. ``None`` scores all pairs
      in one product (fastest when ``[n, m]`` fits; no copy of ``x``).
    * ``exact_distance``: the winner's distance from its definition (one pass over
      the winners); ``False`` derives it from the ranking score instead (for the
      matrix-product path that is |x|^2 + score, which loses about ``1e-7 * |x|^2``
      to cancellation in float32, the cost of skipping that pass).

    Args:
      x: queries ``[n, d]``.
      y: candidates (prototypes) ``[m, d]``.
      metric: one of ``METRICS`` (or an alias).
      p: Minkowski exponent (``"minkowski"`` only); may be traced.
      w: optional non-negative feature weights ``[d]``.
      runner_up: also return each query's second-best candidate (needs ``m >= 2``).
      bias: optional ``[m]`` amounts subtracted from the candidates' distances before
        ranking (in distance units); the returned distance stays rho, unbiased.
      matmul: rank the inner-product metrics by a matrix product (fast path).
      exact_distance: compute the winner's distance from the metric's definition.
      centre: translate both sets to y's mean before the matrix product, which keeps
        the norms, and so the cancellation, small; ``False`` skips that pass over
        ``x`` for data already centred.
      block_size: ``"auto"`` (tiles of about 4096 x 4096 scores for the
        inner-product metrics, 1024 x 1024 for the elementwise ones, fewer rows
        against many candidates), a positive int (the edge of square tiles), or
        ``None`` (no tiling). Static.

    Returns:
      ``(index, distance)``: int32 ``[n]`` winners into ``y`` and the ``[n]``
      distances rho(x_i, y_l(i)) (under jit, bad data give NaN distances and
      index -1); with ``runner_up=True``, ``(index, distance, second)`` with int32
      ``[n]`` runner-ups.

    Raises:
      ValueError: bad shapes, NaN/Inf, an unknown metric, p <= 0, negative or
        mis-sized weights, a bias that is not ``[m]``, ``runner_up`` with fewer than
        2 candidates, or a ``block_size`` that is not "auto", None or a positive int.

    Examples:
      >>> index, dist = distances.nearest(x, prototypes)
      >>> first, dist, second = distances.nearest(x, som_units, runner_up=True)
    """
    x, y, metric, p, w = _prepare(x, y, metric, p, w, 2, "[n, d]")
    runner_up = bool(runner_up)
    if runner_up and y.shape[0] < 2:
        raise ValueError(f"runner_up needs at least 2 candidates in y; got {y.shape[0]}.")
    if bias is not None:
        bias = _validation.vector(bias, "bias", size=y.shape[0]).astype(y.dtype)
    blocks = _block_shape(block_size, metric, x.shape[0], y.shape[0])
    traced_p, static_p = _static_or_traced(p)
    found = _nearest(x, y, w, bias, traced_p, metric=metric, static_p=static_p,
                      block_size=blocks, runner_up=runner_up, matmul=bool(matmul),
                      exact_distance=bool(exact_distance), centre=bool(centre))
    if bias is not None and not _validation.is_concrete(bias):
        found = _validation.nan_unless(jnp.all(jnp.isfinite(bias)), found)  # a traced NaN bias
    # Traced bad data made the distances NaN: the winners (and runner-ups) are -1.
    valid = ~jnp.isnan(found[1])
    return tuple(_validation.minus_one_unless(valid, a) if a.dtype == jnp.int32 else a
                 for a in found)


@functools.partial(jax.jit, static_argnames=("k", "metric", "static_p"))
def _k_nearest(x, y, w, traced_p, *, k, metric, static_p):
    def block(x_rows):
        d = _pairwise(x_rows, y, w, traced_p, metric, static_p)
        negative, index = lax.top_k(-d, k)  # ties: the smaller index first
        return index.astype(jnp.int32), -negative

    return _rows.map_rows(block, x)


def k_nearest(x: ArrayLike, y: ArrayLike, k: int, metric: str = "euclidean", *, p: ArrayLike = 2.0,
              w: ArrayLike | None = None) -> tuple[jax.Array, jax.Array]:
    """The ``k`` nearest rows of ``y`` for every row of ``x``, nearest first.

    The neighbours of the k-NN classifier and of retrieval metrics: for each query
    x_i, the indices j_1 .. j_k of the k smallest rho(x_i, y_j) (equal distances: the
    smaller index first), computed a block of query rows at a time from
    :func:`pairwise` (so memory is ``[block, m]``, not ``[n, m]``).

    Args:
      x: ``[n, d]`` queries.
      y: ``[m, d]`` reference rows.
      k: neighbours per query (static, 1 <= k <= m).
      metric: one of ``METRICS`` (or an alias).
      p: Minkowski exponent (may be traced).
      w: optional non-negative feature weights ``[d]``.

    Returns:
      ``(indices, distances)``: int32 ``[n, k]`` and ``[n, k]``, ascending distance
      (under jit, bad data give NaN distances and index -1).

    Raises:
      ValueError: as :func:`pairwise`, or ``k`` outside ``[1, m]``.
    """
    x, y, metric, p, w = _prepare(x, y, metric, p, w, 2, "[n, d]")
    k = _validation.positive_int(k, "k")
    if k > y.shape[0]:
        raise ValueError(f"k = {k} exceeds the {y.shape[0]} reference rows of y.")
    traced_p, static_p = _static_or_traced(p)
    index, dist = _k_nearest(x, y, w, traced_p, k=k, metric=metric, static_p=static_p)
    return _validation.minus_one_unless(~jnp.isnan(dist), index), dist  # NaN: traced bad data
