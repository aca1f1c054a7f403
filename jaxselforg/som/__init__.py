"""Kohonen self-organizing maps (lecture section 7).

A map is ``rows x cols`` units on a grid, each with a prototype W_j; weights are
``[rows, cols, d]``. Training alternates competition (the winner), cooperation (a
neighbourhood h on the grid) and adaptation::

    from jaxselforg import som
    result = som.train(x, (20, 20), key=jax.random.key(0))          # batch map, PCA init
    som.quantization_error(x_test, result.weights)
    som.topographic_error(result.weights, x_test)
    som.u_matrix(result.weights), som.hit_map(result.weights, x)

Modules:

* :mod:`~jaxselforg.som.grid`: rectangular, hexagonal (MiniSom's layout) and chain
  grids, toroidal wrap, lateral distances, adjacency
* :mod:`~jaxselforg.som.neighborhoods`: gaussian, bubble, Mexican hat, triangle
* :mod:`~jaxselforg.som.initialization`: PCA plane, random samples, uniform, array
* :mod:`~jaxselforg.som.training`: the online rule (``online_som``), the batch map
  (``batch_step``), ``train`` and the vmapped ``sweep``
* :mod:`~jaxselforg.som.measures`: winners, quantization/topographic error, distortion
* :mod:`~jaxselforg.som.maps`: U-matrix, component planes, hit map, label map,
  winner-label classifier

Sweeps: numeric hyperparameters are traced, so
``jax.vmap(lambda s: som.train(x, grid, key=key, sigma=s).weights)(sigmas)`` is one
program; :func:`sweep` does this for a (sigma0, alpha0, seed) grid and returns a
QE/TE table. The decays of sigma and alpha (``sigma_schedule``,
``learning_rate_schedule``: exponential, linear, inverse-time, MiniSom's asymptotic, or
any callable) are :mod:`jaxselforg.schedules`.
"""

# Each submodule's __all__ is its public API; the package re-exports them all.
from jaxselforg.som import grid, initialization, maps, measures, neighborhoods, training
from jaxselforg.som.grid import *
from jaxselforg.som.initialization import *
from jaxselforg.som.maps import *
from jaxselforg.som.measures import *
from jaxselforg.som.neighborhoods import *
from jaxselforg.som.training import *

__all__ = [*grid.__all__, *neighborhoods.__all__, *initialization.__all__,  # noqa: PLE0604
           *training.__all__, *measures.__all__, *maps.__all__]
