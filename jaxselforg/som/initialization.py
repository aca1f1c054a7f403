"""Initial map weights (the lecture's first step of map formation).

* ``"pca"``: the units spread over the plane of the data's first two principal
  components, centred on the mean; the longer grid side runs along the first
  component, and along component k the grid spans +-sqrt(3 lambda_k) (the range of
  a uniform distribution with the data's variance lambda_k along that axis). The map
  starts ordered, so it needs no long ordering phase (Kohonen 2013). MiniSom's
  ``pca_weights_init`` spans +-1 along unit eigenvectors instead, whatever the
  data's scale.
* ``"random"``: distinct random samples (drawn with replacement when the map has
  more units than there are samples), as MiniSom's ``random_weights_init``.
* ``"uniform"``: uniform in the data's per-feature range (its bounding box).
* an array ``[rows, cols, d]``: used as given.

Rows with sample weight 0 (the padding of a sharded dataset) are ignored throughout.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from jaxselforg import _validation
from jaxselforg.cluster import _seeding
from jaxselforg.som import grid as _grid

__all__ = ["INITS", "initial_weights"]

INITS = ("pca", "random", "uniform")
_HIGHEST = lax.Precision.HIGHEST


def _axis(size: int, dtype) -> jax.Array:
    """Grid coordinates in [-1, 1] along one side (0 for a side of one unit)."""
    return jnp.linspace(-1.0, 1.0, size, dtype=dtype) if size > 1 else jnp.zeros(1, dtype)


def pca_plane(x: jax.Array, sample_weight: jax.Array, rows: int, cols: int) -> jax.Array:
    """``[units, d]`` weights on the plane of the two leading principal components."""
    d = x.shape[1]
    total = jnp.sum(sample_weight)
    mean = jnp.matmul(sample_weight, x, precision=_HIGHEST) / total
    centred = x - mean
    covariance = jnp.matmul((centred * sample_weight[:, None]).T, centred,
                            precision=_HIGHEST) / total
    values, vectors = jnp.linalg.eigh(covariance)  # ascending
    k = min(2, d)
    values = jnp.maximum(values[::-1][:k], 0.0)
    vectors = vectors[:, ::-1][:, :k].T  # [k, d], by decreasing variance
    # A deterministic sign, as data.pca: each axis's largest-magnitude entry is positive.
    largest = jnp.take_along_axis(vectors, jnp.argmax(jnp.abs(vectors), 1)[:, None], 1)
    axes = vectors * jnp.sign(largest) * jnp.sqrt(3.0 * values)[:, None]
    if k == 1:
        axes = jnp.concatenate([axes, jnp.zeros_like(axes)])
    along_rows, along_cols = (axes[0], axes[1]) if rows >= cols else (axes[1], axes[0])
    a, b = _axis(rows, x.dtype), _axis(cols, x.dtype)
    plane = mean + a[:, None, None] * along_rows + b[None, :, None] * along_cols
    return plane.reshape(rows * cols, d)


def initial_prototypes(key: jax.Array, x: jax.Array, sample_weight: jax.Array, rows: int,
                       cols: int, init: str) -> jax.Array:
    """``[units, d]`` initial weights by a named method (traceable; no checks)."""
    units = rows * cols
    if init == "pca":
        return pca_plane(x, sample_weight, rows, cols)
    if init == "random":
        if units <= x.shape[0]:
            return x[_seeding.random_indices(key, units, sample_weight)]
        index = jax.random.choice(key, x.shape[0], (units,), replace=True,
                                  p=sample_weight / jnp.sum(sample_weight))
        return x[index]
    real = (sample_weight > 0)[:, None]
    low = jnp.min(jnp.where(real, x, jnp.inf), axis=0)
    high = jnp.max(jnp.where(real, x, -jnp.inf), axis=0)
    return low + jax.random.uniform(key, (units, x.shape[1]), x.dtype) * (high - low)


@functools.partial(jax.jit, static_argnames=("rows", "cols", "init"))
def _initial(key, x, sample_weight, *, rows, cols, init):
    return initial_prototypes(key, x, sample_weight, rows, cols, init).reshape(rows, cols, -1)


def initial_weights(
    x: ArrayLike,
    grid: int | Sequence[int],
    *,
    key: jax.Array,
    init: str = "pca",
    sample_weight: ArrayLike | None = None,
) -> jax.Array:
    """The starting weights that :func:`jaxselforg.som.train` uses for ``init``.

    Args:
      x: ``[n, d]`` data.
      grid: ``(rows, cols)``, or ``(n,)`` for a chain.
      key: PRNG key (``"random"`` and ``"uniform"``; train passes the first half of
        ``jax.random.split(key)``).
      init: ``"pca"`` (the units spread over the plane of the first two principal
        components, +-sqrt(3 lambda_k) along component k, the longer grid side on the
        first), ``"random"`` (distinct random samples), ``"uniform"`` (uniform in the
        data's bounding box), or an array ``[rows, cols, d]`` used as given.
      sample_weight: optional ``[n]`` non-negative weights; rows with weight 0 are
        ignored.

    Returns:
      ``[rows, cols, d]`` weights.

    Raises:
      ValueError: bad data (shape, NaN/Inf), grid, or an unknown init.
    """
    key = _validation.prng_key(key)
    x = _validation.matrix(x, "x")
    rows, cols, _ = _grid.grid_shape(grid)
    check_init_name(init)
    sample_weight = _validation.sample_weight(sample_weight, x.shape[0], x.dtype)
    return _initial(key, x, sample_weight, rows=rows, cols=cols, init=init)


def check_init_name(init) -> str:
    """Raises unless ``init`` is one of ``INITS``."""
    if not isinstance(init, str):
        raise ValueError(f"init must be one of {INITS} or an array [rows, cols, d]; "
                         f"got {type(init).__name__}.")
    return _validation.choice(init, INITS, "init")
