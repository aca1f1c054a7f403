"""On-device batching for jit/scan training loops.

An epoch is a permutation drawn inside the compiled program and reshaped into
``[n_batches, batch_size]``; :func:`scan_batches`, the one epoch driver of the library
(``train``, the RBM, winner-take-all and mini-batch k-means all run their epochs
through it), gathers each batch on device and runs the step in a ``lax.scan``, with no
Python loop per batch::

    def epoch(state, key):
        return data.scan_batches(train_step, state, x, key=key, batch_size=128)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from jaxselforg import _validation

__all__ = ["epoch_batches", "epoch_indices", "scan_batches", "sequential_batches"]


def _leading_size(data) -> int:
    sizes = {leaf.shape[0] for leaf in jax.tree.leaves(data)}
    if len(sizes) != 1:
        raise ValueError("All arrays must share their first (example) dimension; got "
                         f"{sorted(sizes)}.")
    return sizes.pop()


def epoch_indices(key: jax.Array, n: int, batch_size: int) -> jax.Array:
    """A random permutation of ``range(n)`` as int32 ``[n // batch_size, batch_size]``.

    The last ``n % batch_size`` indices of the permutation are dropped; they differ
    every epoch, so no example is left out systematically.
    """
    key = _validation.prng_key(key)
    batch_size = _validation.positive_int(batch_size, "batch_size", at_most=n,
                                          bound="the number of examples")
    n_batches = n // batch_size
    permutation = jax.random.permutation(key, n).astype(jnp.int32)
    return permutation[: n_batches * batch_size].reshape(n_batches, batch_size)


def epoch_batches(key: jax.Array, data, batch_size: int):
    """Shuffles a pytree of arrays (shared first dimension) into batches.

    Returns:
      The same pytree with leaves of shape ``[n // batch_size, batch_size, ...]``.
    """
    key = _validation.prng_key(key)
    index = epoch_indices(key, _leading_size(data), batch_size)
    return jax.tree.map(lambda leaf: jnp.asarray(leaf)[index], data)


def scan_batches(
    step: Callable[[Any, Any, jax.Array], tuple[Any, Any]],
    carry,
    data,
    *,
    key: jax.Array,
    batch_size: int,
) -> tuple[Any, Any]:
    """One epoch: ``step`` scanned over the shuffled batches of ``data``.

    With ``P = epoch_indices(key, n, batch_size)`` (a random permutation of the ``n``
    examples, its last ``n % batch_size`` entries dropped, reshaped to
    ``[n_batches, batch_size]``), batch ``i`` is ``data[P[i]]``, gathered on device
    inside the scan (no shuffled copy of the data is materialised), and

        (carry_{i+1}, y_i) = step(carry_i, data[P[i]], i),   i = 0 .. n_batches - 1.

    ``i`` is the batch's number within the epoch (int32), so a step can form the
    global update count ``t = epoch * n_batches + i`` for an optax schedule f(t) or
    derive its per-batch randomness with ``jax.random.fold_in(step_key, i)``.

    Args:
      step: ``step(carry, batch, index) -> (carry, output)``; ``batch`` has the
        structure of ``data`` with leaves ``[batch_size, ...]``; ``output`` may be None.
      carry: the initial carry (any pytree, e.g. a training state).
      data: pytree of arrays sharing their first (example) dimension ``n``.
      key: PRNG key of the epoch's batch order.
      batch_size: examples per batch (static, 1 <= batch_size <= n).

    Returns:
      ``(carry, outputs)``: the final carry and the steps' outputs stacked along a
      leading ``[n_batches]`` axis, ``n_batches = n // batch_size``.

    Raises:
      ValueError: arrays of ``data`` with different first dimensions, or a
        ``batch_size`` that is not an integer in ``[1, n]``.

    Examples:
      An epoch of an SGD-like rule whose rate is a schedule of the update count:

      >>> def epoch(params, epoch_index, key):
      ...     def step(params, batch, i):
      ...         eta = schedule(epoch_index * n_batches + i)
      ...         return params - eta * gradient(params, batch), None
      ...     return data.scan_batches(step, params, x, key=key, batch_size=32)
    """
    key = _validation.prng_key(key)
    data = jax.tree.map(jnp.asarray, data)
    indices = epoch_indices(key, _leading_size(data), batch_size)

    def body(carry, inputs):
        index, rows = inputs
        return step(carry, jax.tree.map(lambda leaf: leaf[rows], data), index)

    return lax.scan(body, carry, (jnp.arange(indices.shape[0], dtype=jnp.int32), indices))


def sequential_batches(data, batch_size: int):
    """All examples in order, zero-padded to whole batches, for evaluation.

    Returns:
      ``(batches, mask)``: the pytree with leaves ``[n_batches, batch_size, ...]`` and a
      boolean ``[n_batches, batch_size]`` mask that is False on the padding.
    """
    batch_size = _validation.positive_int(batch_size, "batch_size")
    n = _leading_size(data)
    n_batches = -(-n // batch_size)
    pad = n_batches * batch_size - n

    def batch(leaf):
        leaf = jnp.asarray(leaf)
        leaf = jnp.pad(leaf, [(0, pad)] + [(0, 0)] * (leaf.ndim - 1))
        return leaf.reshape(n_batches, batch_size, *leaf.shape[1:])

    mask = (jnp.arange(n_batches * batch_size) < n).reshape(n_batches, batch_size)
    return jax.tree.map(batch, data), mask
