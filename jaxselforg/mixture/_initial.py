"""Starting points shared by the mixture families: initial responsibilities and checked
``weights_init``/``means_init`` arrays."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxselforg import _validation, cluster


def responsibilities(key: jax.Array, x: jax.Array, sample_weight: jax.Array, k: int,
                     init: str) -> jax.Array:
    """Initial responsibilities ``[n, k]`` for ``init`` ``"kmeans"`` or ``"random"``.

    ``"kmeans"``: one-hot labels of :func:`jaxselforg.cluster.kmeans` (``n_init=1``, the
    same key, the same sample weights). ``"random"``: uniform draws, each row normalised
    to sum to 1 (scikit-learn's ``init_params="random"``).
    """
    if init == "kmeans":
        labels = cluster.kmeans(x, k, key=key, n_init=1, sample_weight=sample_weight).labels
        return jax.nn.one_hot(labels, k, dtype=x.dtype)
    if init == "random":
        resp = jax.random.uniform(key, (x.shape[0], k), x.dtype)
        return resp / jnp.sum(resp, axis=1, keepdims=True)
    raise ValueError(f"Unknown init {init!r} for shared responsibilities; "
                     "accepted: 'kmeans', 'random'.")


def check_weights_init(weights_init: ArrayLike | None, k: int, dtype) -> jax.Array | None:
    """``weights_init`` as ``[k]`` of ``dtype``, checked to lie in [0, 1] and sum to 1.

    Raises:
      ValueError: the wrong shape, NaN/Inf, or values outside [0, 1] or not summing to 1.
    """
    if weights_init is None:
        return None
    weights_init = _validation.vector(weights_init, "weights_init")
    if weights_init.shape != (k,):
        raise ValueError(f"weights_init must have shape (k,) = {(k,)}; "
                         f"got {tuple(weights_init.shape)}.")
    if not _validation.is_concrete(weights_init):
        valid = (jnp.all((weights_init >= 0) & (weights_init <= 1))
                 & (jnp.abs(jnp.sum(weights_init) - 1.0) <= 1e-5))
        return _validation.nan_unless(valid, weights_init).astype(dtype)
    w = np.asarray(weights_init, np.float64)
    if np.any(w < 0) or np.any(w > 1) or abs(w.sum() - 1.0) > 1e-5:
        raise ValueError(f"weights_init must lie in [0, 1] and sum to 1; got sum "
                         f"{w.sum():.6g}, range [{w.min():.3g}, {w.max():.3g}].")
    return weights_init.astype(dtype)


def check_means_init(means_init: ArrayLike | None, k: int, d: int, dtype) -> jax.Array | None:
    """``means_init`` as ``[k, d]`` of ``dtype``.

    Raises:
      ValueError: the wrong shape, or NaN/Inf.
    """
    if means_init is None:
        return None
    means_init = _validation.matrix(means_init, "means_init")
    if means_init.shape != (k, d):
        raise ValueError(f"means_init must have shape (k, d) = {(k, d)}; "
                         f"got {tuple(means_init.shape)}.")
    return means_init.astype(dtype)
