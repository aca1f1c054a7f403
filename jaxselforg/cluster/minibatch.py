"""Mini-batch k-means (Sculley 2010) for data too large to process whole.

Each centre is the running mean of every point ever assigned to it: for a batch,
with n_j points of the batch assigned to centre j and N_j assigned so far,

    c_j <- c_j + (sum_{i in batch, j} x_i - n_j c_j) / (N_j + n_j),

i.e. a per-centre learning rate 1 / N_j, as scikit-learn's ``MiniBatchKMeans``
(without its reassignment of small clusters). ``minibatch_step`` is the pure update;
``minibatch_kmeans`` drives it: on a device array, whole epochs are one compiled
``lax.scan``; on a host (numpy) array too big for the device, batches are sent to
the device one at a time.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from jaxselforg import _segments, _validation, distances
from jaxselforg.cluster import _seeding
from jaxselforg.cluster.kmeans import KMeansResult
from jaxselforg.data import batching

__all__ = ["MiniBatchState", "minibatch_init", "minibatch_kmeans", "minibatch_step"]


class MiniBatchState(NamedTuple):
    """Centres ``[k, d]`` and how many (weighted) points each has absorbed ``[k]``."""

    centers: jax.Array
    counts: jax.Array


def minibatch_init(centers: jax.Array) -> MiniBatchState:
    """A state whose centres have absorbed nothing yet."""
    return MiniBatchState(centers, jnp.zeros(centers.shape[0], centers.dtype))


@jax.jit
def minibatch_step(state: MiniBatchState, batch: jax.Array,
                   weights: jax.Array | None = None) -> tuple[MiniBatchState, jax.Array]:
    """Assigns a batch ``[b, d]`` and moves its centres; returns the batch's inertia.

    The inertia is measured before the update (the centres the batch was assigned to).
    """
    k = state.centers.shape[0]
    weights = jnp.ones(batch.shape[0], batch.dtype) if weights is None else weights
    labels, sq = distances.nearest(batch, state.centers, "sqeuclidean", block_size=None)
    inertia = jnp.sum(weights * sq)
    sums, batch_counts = _segments.weighted_sums(batch, labels, weights, k)
    counts = state.counts + batch_counts
    step = (sums - batch_counts[:, None] * state.centers) / jnp.maximum(counts, 1e-30)[:, None]
    centers = jnp.where(batch_counts[:, None] > 0, state.centers + step, state.centers)
    return MiniBatchState(centers, counts), inertia


@functools.partial(jax.jit, static_argnames=("batch_size", "epochs"))
def _device_epochs(state, x, key, *, batch_size, epochs):
    def epoch(state, epoch_key):
        start = state.centers
        state, inertia = batching.scan_batches(lambda s, b, _: minibatch_step(s, b), state, x,
                                               key=epoch_key, batch_size=batch_size)
        shift = jnp.max(jnp.linalg.norm(state.centers - start, axis=1))
        return state, (jnp.sum(inertia) / (inertia.shape[0] * batch_size), shift)

    return lax.scan(epoch, state, jax.random.split(key, epochs))


def _labels_and_inertia(x, centers, chunk: int = 65_536):
    """Nearest centre and the total squared distance, streaming host data in chunks."""
    labels, inertia = [], 0.0
    for start in range(0, x.shape[0], chunk):
        index, sq = distances.nearest(x[start:start + chunk], centers, "sqeuclidean")
        labels.append(index)
        inertia += float(jnp.sum(sq))
    return jnp.concatenate(labels), jnp.asarray(inertia, centers.dtype)


def minibatch_kmeans(x: ArrayLike, k: int, *, key: jax.Array, batch_size: int = 1024,
                     epochs: int = 10, init: str | ArrayLike = "k-means++",
                     init_size: int | None = None, tol: float = 1e-3) -> KMeansResult:
    """Mini-batch k-means (Euclidean).

    Args:
      x: ``[n, d]`` data: a JAX array on the device (epochs compile to one program)
        or a numpy array on the host (streamed batch by batch, for data that does not
        fit the device).
      k: number of clusters (static).
      key: PRNG key (initialisation and the batch orders).
      batch_size: points per update.
      epochs: passes over the data.
      init: ``"k-means++"``, ``"random"``, ``"random-partition"`` (on a random subset
        of ``init_size`` points, default ``max(3 * batch_size, 3 * k)``, as
        scikit-learn), or a ``[k, d]`` array.
      tol: ``converged`` reports whether no centre moved more than this (data units)
        over the last epoch; training always runs every epoch.

    Returns:
      A ``KMeansResult``: ``labels`` and ``inertia`` over all of ``x`` for the final
      centres; ``n_iter`` counts batch updates; the histories are per epoch (mean
      batch inertia per point, largest centre movement).
    """
    key = _validation.prng_key(key)
    on_host = isinstance(x, np.ndarray)
    if on_host:
        if x.ndim != 2 or x.size == 0 or not np.all(np.isfinite(x)):
            raise ValueError(f"x must be a finite, non-empty [n, d] array; got shape {x.shape}.")
        x = x.astype(np.float32, copy=False)
    else:
        x = _validation.at_least_float32(_validation.matrix(x, "x"))
    n, d = x.shape
    k = _validation.positive_int(k, "k", at_most=n)
    batch_size = _validation.positive_int(batch_size, "batch_size", at_most=n)
    epochs = _validation.positive_int(epochs, "epochs")
    tol = _validation.hyperparameter(tol, "tol", minimum=0.0)
    if init_size is not None:  # the k-means++ sample must hold k points
        init_size = _validation.positive_int(init_size, "init_size", minimum=k)
    init_key, key = jax.random.split(key)

    if isinstance(init, str):
        _validation.choice(init, _seeding.INITS, "init")
        size = min(n, init_size or max(3 * batch_size, 3 * k))
        subset_key, seed_key = jax.random.split(init_key)
        subset = np.sort(np.asarray(jax.random.choice(subset_key, n, (size,), replace=False)))
        sample = jnp.asarray(x[subset])
        weights = jnp.ones(size, sample.dtype)
        if init == "k-means++":
            centers = _seeding.kmeans_plusplus(
                seed_key, sample, k, weights,
                lambda a, b: distances.pairwise(a, b, "sqeuclidean"))
        elif init == "random":
            centers = _seeding.random_samples(seed_key, sample, k, weights)
        else:
            centers = _seeding.random_partition(seed_key, sample, k, weights)
    else:
        centers = _validation.matrix(init, "init", features=d)
        if centers.shape[0] != k:
            raise ValueError(f"init must have shape (k, d) = {(k, d)}; got {centers.shape}.")

    state = minibatch_init(centers)
    n_batches = n // batch_size
    if on_host:
        inertia_history, shift_history = [], []
        for epoch_key in jax.random.split(key, epochs):
            start, total = state.centers, 0.0
            for rows in np.asarray(batching.epoch_indices(epoch_key, n, batch_size)):
                state, inertia = minibatch_step(state, jax.device_put(x[np.sort(rows)]))
                total += inertia
            inertia_history.append(total / (n_batches * batch_size))
            shift_history.append(jnp.max(jnp.linalg.norm(state.centers - start, axis=1)))
        inertia_history, shift_history = jnp.stack(inertia_history), jnp.stack(shift_history)
    else:
        state, (inertia_history, shift_history) = _device_epochs(
            state, x, key, batch_size=batch_size, epochs=epochs)

    labels, inertia = _labels_and_inertia(x, state.centers)
    return KMeansResult(
        centers=state.centers,
        labels=labels,
        inertia=inertia,
        n_iter=jnp.asarray(epochs * n_batches, jnp.int32),
        converged=shift_history[-1] <= tol,
        inertia_history=inertia_history,
        shift_history=shift_history,
        restart_inertia=inertia[None],
    )
