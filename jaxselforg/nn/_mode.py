"""Train vs eval mode, passed explicitly to every block: ``block(x, train=..., key=...)``.

``train=True`` uses batch statistics in BatchNorm (and updates its running
averages) and draws dropout masks from ``key``; ``train=False`` uses the running
averages and no dropout. Nothing about the mode is stored in the module.
"""

from __future__ import annotations

import jax
from flax import nnx


def layer_keys(key: jax.Array | None, n: int, *, needed: bool, block: str):
    """``n`` independent dropout keys from ``key`` (``None`` each when not ``needed``).

    Raises:
      ValueError: dropout is active (``needed``) but no key was given.
    """
    if not needed:
        return [None] * n
    if key is None:
        raise ValueError(f"{block} has dropout: in train mode (train=True) it needs "
                         "key=<a PRNG key> for the dropout masks.")
    return list(jax.random.split(key, n))


def batch_norm(features: int, enabled: bool, rngs: nnx.Rngs):
    """A BatchNorm over ``features`` channels (momentum 0.9, eps 1e-5), or None."""
    return nnx.BatchNorm(features, momentum=0.9, epsilon=1e-5, rngs=rngs) if enabled else None


def dropout_rate(rate) -> float:
    """Validates a dropout rate in [0, 1)."""
    if not 0.0 <= rate < 1.0:  # also False for NaN
        raise ValueError(f"dropout rate must be in [0, 1); got {rate!r}.")
    return float(rate)


def dropout(rate: float):
    """A dropout layer of ``rate`` in [0, 1), or None for 0.

    It holds no random state (no ``rngs``): the masks come from the key of each call,
    so the module state stays checkpointable arrays and a step's randomness is the
    step's key.
    """
    rate = dropout_rate(rate)
    return nnx.Dropout(rate) if rate > 0 else None


def normalize_activate_drop(x, norm, act, drop, *, train: bool, key):
    """BatchNorm (if any) in the given mode, the activation, dropout (if any, train only)."""
    if norm is not None:
        x = norm(x, use_running_average=not train)
    x = act(x)
    if drop is not None and train:
        x = drop(x, deterministic=False, rngs=key)
    return x
