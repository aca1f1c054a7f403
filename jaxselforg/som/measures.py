"""How good a map is: winners, quantization error, topographic error, distortion.

Every measure streams over the data: the competition (each sample's best and
second-best unit) runs on blocks of rows, so 60,000 x 784 samples against a 50 x 50
map never hold more than a ``[block, units]`` distance matrix. On a row-sharded
dataset each device works on its own rows and only the sums cross devices.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxselforg import _rows, _validation, distances
from jaxselforg.criteria import quantization_error
from jaxselforg.som import grid as _grid
from jaxselforg.som import neighborhoods as _neighborhood

__all__ = ["winners", "quantization_error", "topographic_error", "distortion"]

# A block of the competition holds about this many distances (4 MiB in float32).
_BLOCK_ELEMENTS = 2**20


# ---------------------------------------------------------------------------
# Argument checks shared with the maps and the trainer.


def check_weights(weights: ArrayLike) -> jax.Array:
    """Validates map weights ``[rows, cols, d]`` (finite, non-empty)."""
    weights = _validation.as_float_array(weights, "weights")
    _validation.check_rank(weights, 3, "weights", "[rows, cols, d]")
    _validation.check_finite(weights, "weights")
    return weights


def check_data(x: ArrayLike, weights: jax.Array, name: str = "x") -> jax.Array:
    """Validates data ``[n, d]`` whose dimension d matches the map's weights."""
    x = _validation.as_float_array(x, name)
    _validation.check_rank(x, 2, name, "[n, d]")
    if x.shape[1] != weights.shape[-1]:
        raise ValueError(f"{name} has {x.shape[1]} features but the map's weights have "
                         f"{weights.shape[-1]} (shapes {tuple(x.shape)} and "
                         f"{tuple(weights.shape)}); the dimensions must agree.")
    _validation.check_finite(x, name)
    return x.astype(jnp.result_type(x, weights))


# ``[n]`` non-negative weights with a positive sum (all ones when None).


def flat(weights: jax.Array) -> jax.Array:
    """``[rows, cols, d]`` -> ``[units, d]`` (row-major units)."""
    return weights.reshape(-1, weights.shape[-1])


# ---------------------------------------------------------------------------
# The competition, in row blocks.


def best_two(x: jax.Array, prototypes: jax.Array, metric: str, p: float):
    """Each sample's winner, runner-up and distance to the winner.

    The library's one search, :func:`jaxselforg.distances.nearest` with
    ``runner_up=True`` (row blocks, so a row-sharded ``x`` stays local and a vmapped
    sweep never holds ``[maps, n, d]`` winner prototypes).

    Args:
      x: ``[n, d]`` samples (may be row-sharded).
      prototypes: ``[units, d]``, at least 2 units.
      metric, p: the competition's distance (``jaxselforg.distances``).

    Returns:
      ``(first [n], second [n], distance [n])``: int32 unit indices (ties go to the
      smaller index, as ``argmin``) and rho(x_i, w_first(i)) computed exactly from
      its definition.
    """
    if prototypes.shape[0] < 2:  # a one-unit map has no runner-up: unit 0 stands in
        first, dist = distances.nearest(x, prototypes, metric, p=p)
        return first, jnp.zeros_like(first), dist
    first, dist, second = distances.nearest(x, prototypes, metric, p=p, runner_up=True)
    return first, second, dist


def weighted_mean(values: jax.Array, sample_weight: jax.Array) -> jax.Array:
    """sum_i w_i v_i / sum_i w_i."""
    return jnp.sum(sample_weight * values) / jnp.sum(sample_weight)


def quality(first, second, dist, sample_weight, adjacent):
    """``(quantization error, topographic error)`` from a competition's result."""
    errors = (~adjacent[first, second]).astype(dist.dtype)
    return weighted_mean(dist, sample_weight), weighted_mean(errors, sample_weight)


@functools.partial(jax.jit, static_argnames=("metric", "p"))
def _topographic_error(x, prototypes, sample_weight, adjacent, *, metric, p):
    first, second, dist = best_two(x, prototypes, metric, p)
    # The error counts (integer) winners: NaN data under tracing are reported here.
    return _validation.nan_unless(jnp.all(jnp.isfinite(dist)),
                                  quality(first, second, dist, sample_weight, adjacent)[1])


# ---------------------------------------------------------------------------
# Public measures.


def winners(weights: ArrayLike, x: ArrayLike, *, metric: str = "euclidean",
            p: float = 2.0) -> jax.Array:
    """The best-matching unit of every sample, l(x) = argmin_j rho(x, W_j).

    Args:
      weights: ``[rows, cols, d]`` map.
      x: ``[n, d]`` samples.
      metric, p: the competition's distance (any of ``distances.METRICS``).

    Returns:
      int32 ``[n]`` flat unit indices ``r * cols + c`` (``jnp.unravel_index(i,
      weights.shape[:2])`` gives ``(r, c)``); ties go to the smaller index.

    Raises:
      ValueError: bad shapes, NaN/Inf, or x's dimension differs from the weights'.
    """
    weights = check_weights(weights)
    x = check_data(x, weights)
    return distances.nearest(x, flat(weights).astype(x.dtype), metric, p=p)[0]


def topographic_error(
    weights: ArrayLike,
    x: ArrayLike,
    *,
    topology: str = "rectangular",
    toroidal: bool = False,
    metric: str = "euclidean",
    p: float = 2.0,
    sample_weight: ArrayLike | None = None,
) -> jax.Array:
    """Share of samples whose best and second-best units are not grid neighbours.

    Adjacency is :func:`jaxselforg.som.adjacency`: the 8-neighbourhood on a
    rectangular map (lateral distance <= sqrt(2)), distance 1 on a hexagonal map,
    consecutive units on a chain (MiniSom's and torchsom's convention). On the same
    weights this equals MiniSom's ``topographic_error`` for both topologies (our
    hexagonal layout is MiniSom's).

    Args:
      weights: ``[rows, cols, d]`` map.
      x: ``[n, d]`` samples.
      topology: the map's topology (``TOPOLOGIES``); a one-row map is a chain.
      toroidal: whether the map wraps around.
      metric, p: the competition's distance.
      sample_weight: optional ``[n]`` non-negative weights.

    Returns:
      Scalar in [0, 1]; 0 when every sample's two best units are neighbours.

    Raises:
      ValueError: bad shapes, NaN/Inf, x's dimension differs from the weights', an
        unknown topology, or a map of one unit (no second-best unit).
    """
    weights = check_weights(weights)
    x = check_data(x, weights)
    if weights.shape[0] * weights.shape[1] < 2:
        raise ValueError("The topographic error needs a map of at least 2 units.")
    geometry = map_geometry(weights.shape, topology, toroidal)
    metric = distances.canonical_metric(metric, p)
    sample_weight = _validation.sample_weight(sample_weight, x.shape[0], x.dtype)
    return _topographic_error(x, flat(weights).astype(x.dtype), sample_weight,
                              jnp.asarray(geometry.adjacency), metric=metric, p=float(p))


@functools.partial(jax.jit, static_argnames=("kind", "squared"))
def _distortion(x, prototypes, sample_weight, lateral, sigma, *, kind, squared):
    h = _neighborhood.neighborhood(lateral, sigma, kind)

    def block(rows, row_weight):
        dist = distances.pairwise(rows, prototypes, "euclidean")
        first = jnp.argmin(dist, axis=1)
        return jnp.sum(row_weight[:, None] * h[first] * (dist * dist if squared else dist))

    return _rows.sum_over_rows(block, x, sample_weight,
                               block_rows=max(64, min(4096, _BLOCK_ELEMENTS // h.shape[0])))


def distortion(
    weights: ArrayLike,
    x: ArrayLike,
    *,
    sigma: ArrayLike,
    topology: str = "rectangular",
    toroidal: bool = False,
    neighborhood: str = "gaussian",
    squared: bool = True,
    sample_weight: ArrayLike | None = None,
) -> jax.Array:
    """The SOM's distortion (energy) E = sum_i sum_j h(d_{l(i) j}, sigma) |x_i - W_j|^2.

    The neighbourhood-weighted quantization error that the batch map lowers for a
    fixed sigma (Heskes 1999, "Energy functions for self-organizing maps"); winners
    l(i) and distances are Euclidean. ``squared=False`` sums |x_i - W_j| instead,
    which is what MiniSom's ``distortion_measure`` computes (its docstring says
    squared; its code does not), with ``sigma`` its initial sigma.

    Args:
      weights: ``[rows, cols, d]`` map.
      x: ``[n, d]`` samples.
      sigma: neighbourhood width (> 0).
      topology, toroidal: the map's grid.
      neighborhood: one of ``NEIGHBORHOODS``.
      squared: square the distances (the energy function) or not (MiniSom).
      sample_weight: optional ``[n]`` non-negative weights.

    Returns:
      Scalar E (a sum over samples, as MiniSom).

    Raises:
      ValueError: bad shapes, NaN/Inf, mismatched dimensions, sigma <= 0, unknown
        topology or neighbourhood.
    """
    weights = check_weights(weights)
    x = check_data(x, weights)
    _validation.choice(neighborhood, _neighborhood.NEIGHBORHOODS, "neighborhood")
    sigma = _validation.hyperparameter(sigma, "sigma", strict=True)
    geometry = map_geometry(weights.shape, topology, toroidal)
    sample_weight = _validation.sample_weight(sample_weight, x.shape[0], x.dtype)
    return _distortion(x, flat(weights).astype(x.dtype), sample_weight,
                       jnp.asarray(geometry.distances, x.dtype), jnp.asarray(sigma, x.dtype),
                       kind=neighborhood, squared=bool(squared))


def map_geometry(weights_shape: Sequence[int], topology: str, toroidal: bool):
    """The cached geometry of a map with weights of shape ``[rows, cols, d]``."""
    return _grid.resolve(tuple(weights_shape[:2]), topology, toroidal)[3]
