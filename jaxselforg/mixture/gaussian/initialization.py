"""Where a Gaussian mixture fit starts: scikit-learn's ``init_params`` and ``*_init``."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxselforg import _validation, distances
from jaxselforg.cluster import _seeding
from jaxselforg.mixture import _initial
from jaxselforg.mixture.gaussian import densities
from jaxselforg.mixture.gaussian.params import GaussianMixtureParams

INITS = ("kmeans", "k-means++", "random", "random_from_data")


def _one_hot_rows(index, n, k, dtype):
    """Responsibilities that give component j all of point ``index[j]`` and nothing else."""
    return jnp.zeros((n, k), dtype).at[index, jnp.arange(k)].set(1.0)


def initial_responsibilities(key: jax.Array, x: jax.Array, sample_weight: jax.Array, k: int,
                             init: str) -> jax.Array:
    """scikit-learn's ``init_params`` choices, each as responsibilities ``[n, k]``.

    ``"kmeans"`` and ``"random"`` as every mixture family; ``"random_from_data"``: one-hot
    on k distinct points drawn with probability proportional to ``sample_weight``;
    ``"k-means++"``: one-hot on the k-means++ seeds (squared Euclidean).
    """
    if init in ("kmeans", "random"):
        return _initial.responsibilities(key, x, sample_weight, k, init)
    if init == "random_from_data":
        index = _seeding.random_indices(key, k, sample_weight)
    else:
        index = _seeding.kmeans_plusplus_indices(
            key, x, k, sample_weight, lambda a, b: distances.pairwise(a, b, "sqeuclidean"))
    return _one_hot_rows(index, x.shape[0], k, x.dtype)


def initial_params(key, x, sample_weight, step_fn, *, k, init, covariance_type,
                   weights_init, means_init, precisions_init) -> GaussianMixtureParams:
    """As scikit-learn's ``_initialize_parameters``: responsibilities from ``init`` and one
    M-step (``step_fn``), then every ``*_init`` given replaces its part (all three given:
    no M-step)."""
    if weights_init is not None and means_init is not None and precisions_init is not None:
        covariances, factor = densities.from_precisions(precisions_init, covariance_type)
        return GaussianMixtureParams(weights_init, means_init, covariances, factor,
                                     covariance_type)
    params = step_fn(x, initial_responsibilities(key, x, sample_weight, k, init), sample_weight)
    if weights_init is not None:
        params = dataclasses.replace(params, weights=weights_init)
    if means_init is not None:
        params = dataclasses.replace(params, means=means_init)
    if precisions_init is not None:
        covariances, factor = densities.from_precisions(precisions_init, covariance_type)
        params = dataclasses.replace(params, covariances=covariances, precisions_cholesky=factor)
    return params


def _precisions_shape(covariance_type, k, d):
    return {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[covariance_type]


def check_precisions_init(precisions_init: ArrayLike | None, k: int, d: int,
                          covariance_type: str, dtype) -> jax.Array | None:
    """scikit-learn's ``_check_precisions``: the shape of the type, finite, symmetric
    positive definite ("full", "tied") or positive ("diag", "spherical").

    Raises:
      ValueError: naming what was wrong.
    """
    if precisions_init is None:
        return None
    expected = _precisions_shape(covariance_type, k, d)
    precisions_init = _validation.as_float_array(precisions_init, "precisions_init")
    if precisions_init.shape != expected:
        raise ValueError(f"precisions_init for covariance_type={covariance_type!r} must "
                         f"have shape {expected}; got {tuple(precisions_init.shape)}.")
    _validation.check_finite(precisions_init, "precisions_init")
    if _validation.is_concrete(precisions_init):
        p = np.asarray(precisions_init, np.float64)
        if covariance_type in ("full", "tied"):
            p = p.reshape(-1, d, d)
            if not np.allclose(p, np.swapaxes(p, 1, 2)):
                raise ValueError("precisions_init must hold symmetric matrices.")
            if np.any(np.linalg.eigvalsh(p) <= 0):
                raise ValueError("precisions_init must hold positive-definite matrices.")
        elif np.any(p <= 0):
            raise ValueError("precisions_init must be positive.")
    return precisions_init.astype(dtype)
