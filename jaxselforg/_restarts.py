"""Restarts of a fit from split keys, as one program (shared by k-means and EM)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax


def run_restarts(fit_one: Callable[[jax.Array], Any], key: jax.Array, n_init: int,
                 sequential: bool = False) -> Any:
    """``fit_one`` from ``n_init`` keys; every output leaf gains a leading ``[n_init]`` axis.

    Restart i uses ``jax.random.split(key, n_init)[i]``; a single restart uses ``key``
    itself and runs unbatched (a batch of one would turn every matrix product into a
    slower batched one), so it equals a plain fit with that key. The restarts are one
    vmapped program, or with ``sequential`` one ``lax.map`` (a fit that branches on
    its data, whose ``lax.cond`` a vmap would turn into running both branches).
    """
    if n_init == 1:
        return jax.tree.map(lambda leaf: leaf[None], fit_one(key))
    keys = jax.random.split(key, n_init)
    return jax.lax.map(fit_one, keys) if sequential else jax.vmap(fit_one)(keys)
