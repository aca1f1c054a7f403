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

from jaxselforg.som.grid import (
    TOPOLOGIES,
    adjacency,
    grid_positions,
    grid_shape,
    lateral_distances,
)
from jaxselforg.som.initialization import INITS, initial_weights
from jaxselforg.som.maps import (
    class_counts,
    component_planes,
    hit_map,
    label_map,
    predict_labels,
    u_matrix,
    winner_labels_classifier,
)
from jaxselforg.som.measures import (
    distortion,
    quantization_error,
    topographic_error,
    winners,
)
from jaxselforg.som.neighborhoods import NEIGHBORHOODS, neighborhood
from jaxselforg.som.training import (
    MODES,
    OnlineSOM,
    SOMResult,
    SOMState,
    SweepResult,
    batch_step,
    online_som,
    sweep,
    train,
)

__all__ = [
    "TOPOLOGIES",
    "NEIGHBORHOODS",
    "INITS",
    "MODES",
    "grid_shape",
    "grid_positions",
    "lateral_distances",
    "adjacency",
    "neighborhood",
    "initial_weights",
    "SOMState",
    "OnlineSOM",
    "SOMResult",
    "SweepResult",
    "online_som",
    "batch_step",
    "train",
    "sweep",
    "winners",
    "quantization_error",
    "topographic_error",
    "distortion",
    "u_matrix",
    "component_planes",
    "hit_map",
    "class_counts",
    "label_map",
    "winner_labels_classifier",
    "predict_labels",
]
