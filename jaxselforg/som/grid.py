"""Map grids: unit positions, lateral distances and adjacency (lecture section 7).

A map of ``rows x cols`` units has weights ``[rows, cols, d]``; unit ``(r, c)`` has
the flat index ``r * cols + c`` (row-major, as MiniSom). Its position r_j in the
plane of the grid, which the neighbourhood h_ji = h(|r_j - r_i|, sigma) reads:

* ``"rectangular"``: ``(r, c)``; adjacent units are the 8-neighbourhood
  (distance <= sqrt(2)).
* ``"hexagonal"``: MiniSom's layout, so that its maps and ours coincide unit for
  unit: ``(r - 1/2 [cols - 1 - c is even], c sqrt(3) / 2)``. The columns are the
  lattice lines, sqrt(3)/2 apart, and every other column (counting from the last)
  is shifted by half a unit along the rows. Every unit's six neighbours are exactly
  1 away; adjacency is distance 1.
* ``"chain"``: a 1-D map, grid ``(n,)`` (stored as ``(1, n)``), ``(1, n)`` or
  ``(n, 1)``: positions as rectangular; adjacent units are consecutive.

``toroidal=True`` wraps both grid axes (a ring for a chain): lateral distances are
the shortest over the periodic images of the grid. A hexagonal torus needs an even
number of columns (otherwise the column shifts do not tile).

The geometry depends only on static settings; it is computed once in float64
NumPy and cached.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxselforg import _validation

__all__ = ["TOPOLOGIES", "grid_shape", "grid_positions", "lateral_distances", "adjacency"]

TOPOLOGIES = ("rectangular", "hexagonal", "chain")
_HEX_ROW_HEIGHT = math.sqrt(3.0) / 2.0  # MiniSom's Y_HEX_CONV_FACTOR
_TOLERANCE = 1e-9


def grid_shape(grid: int | Sequence[int], topology: str = "rectangular") -> tuple[int, int, str]:
    """Validates a grid and topology; returns ``(rows, cols, topology)``.

    A 1-D grid ``(n,)`` (or an int ``n``) is a chain of n units, stored as one row;
    ``"rectangular"`` on a one-row grid is the same map as ``"chain"``.

    Raises:
      ValueError: a grid that is not one or two positive integers, an unknown
        topology, a hexagonal 1-D grid, or ``"chain"`` on a grid with more than one
        row and more than one column.
    """
    if not isinstance(topology, str):
        raise ValueError(f"topology must be a string, one of {TOPOLOGIES}; got {topology!r}.")
    _validation.choice(topology, TOPOLOGIES, "topology")
    if isinstance(grid, (int, np.integer)) and not isinstance(grid, (bool, np.bool_)):
        grid = (grid,)
    if not isinstance(grid, Sequence) or not 1 <= len(grid) <= 2:
        raise ValueError(f"grid must be (rows, cols) or (n,) for a chain; got {grid!r}.")
    sides = [_validation.positive_int(side, "every grid side") for side in grid]
    if len(sides) == 1:
        if topology == "hexagonal":
            raise ValueError("A 1-D grid (n,) is a chain; a hexagonal map needs (rows, cols).")
        return 1, sides[0], "chain"
    rows, cols = sides
    if topology == "chain" and rows > 1 and cols > 1:
        raise ValueError(f"A chain has one row or one column; got grid {tuple(sides)}.")
    return rows, cols, topology


class _Geometry:
    """Positions ``[units, 2]``, lateral distances ``[units, units]``, adjacency."""

    def __init__(self, rows, cols, topology, toroidal):
        r, c = np.meshgrid(np.arange(rows, dtype=float), np.arange(cols, dtype=float),
                           indexing="ij")
        if topology == "hexagonal":
            r = r - 0.5 * ((cols - 1 - c) % 2 == 0)
            c = c * _HEX_ROW_HEIGHT
        self.positions = np.stack([r, c], axis=-1).reshape(rows * cols, 2)
        delta = self.positions[:, None, :] - self.positions[None, :, :]
        if toroidal:
            width = cols * (_HEX_ROW_HEIGHT if topology == "hexagonal" else 1.0)
            shortest = np.full(delta.shape[:2], np.inf)
            for i in (-1, 0, 1):
                for j in (-1, 0, 1):
                    image = delta + np.array([i * rows, j * width])
                    shortest = np.minimum(shortest, np.hypot(image[..., 0], image[..., 1]))
            self.distances = shortest
        else:
            self.distances = np.hypot(delta[..., 0], delta[..., 1])
        reach = 1.0 if topology == "hexagonal" else math.sqrt(2.0)
        self.adjacency = (self.distances <= reach + _TOLERANCE) & ~np.eye(rows * cols, dtype=bool)


@functools.lru_cache(maxsize=16)
def geometry(rows: int, cols: int, topology: str, toroidal: bool) -> _Geometry:
    """The cached geometry of a validated grid (see :func:`grid_shape`)."""
    if toroidal and topology == "hexagonal" and cols % 2:
        raise ValueError("A hexagonal toroidal map needs an even number of columns (the "
                         f"column shifts must tile); got {cols}.")
    return _Geometry(rows, cols, topology, bool(toroidal))


def resolve(grid, topology, toroidal) -> tuple[int, int, str, _Geometry]:
    """Validates grid, topology and toroidal; returns ``(rows, cols, topology, geometry)``."""
    rows, cols, topology = grid_shape(grid, topology)
    if not isinstance(toroidal, (bool, np.bool_)):
        raise ValueError(f"toroidal must be True or False; got {toroidal!r}.")
    return rows, cols, topology, geometry(rows, cols, topology, bool(toroidal))


def grid_positions(grid: int | Sequence[int], topology: str = "rectangular") -> jax.Array:
    """Positions of the units in the plane of the grid.

    Args:
      grid: ``(rows, cols)``, or ``(n,)`` for a chain.
      topology: ``"rectangular"``, ``"hexagonal"`` (MiniSom's layout; see the module
        docstring) or ``"chain"``.

    Returns:
      ``[rows, cols, 2]`` coordinates; ``[..., 0]`` runs with the row index and
      ``[..., 1]`` with the column index (for hexagonal maps these are MiniSom's
      ``get_euclidean_coordinates()``).

    Raises:
      ValueError: see :func:`grid_shape`.
    """
    rows, cols, _, geo = resolve(grid, topology, False)
    return jnp.asarray(geo.positions.reshape(rows, cols, 2))


def lateral_distances(grid: int | Sequence[int], topology: str = "rectangular", *,
                      toroidal: bool = False) -> jax.Array:
    """Distances d_ji = |r_j - r_i| between all pairs of units on the grid.

    Args:
      grid: ``(rows, cols)``, or ``(n,)`` for a chain.
      topology: one of ``TOPOLOGIES``.
      toroidal: wrap both axes (shortest distance over the periodic images).

    Returns:
      ``[units, units]`` symmetric distances, units in row-major order.

    Raises:
      ValueError: a bad grid or topology, or a hexagonal torus with an odd number of
        columns.
    """
    _, _, _, geo = resolve(grid, topology, toroidal)
    return jnp.asarray(geo.distances)


def adjacency(grid: int | Sequence[int], topology: str = "rectangular", *,
              toroidal: bool = False) -> jax.Array:
    """Which pairs of units are grid neighbours: boolean ``[units, units]``.

    Rectangular: the 8-neighbourhood (lateral distance <= sqrt(2)); hexagonal: the 6
    units at distance 1; chain: the previous and next unit. This is the adjacency of
    the topographic error and of the U-matrix (MiniSom's conventions).
    """
    _, _, _, geo = resolve(grid, topology, toroidal)
    return jnp.asarray(geo.adjacency)
