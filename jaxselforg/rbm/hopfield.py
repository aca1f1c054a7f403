"""The Hopfield network: the RBM's ancestor as an associative memory (lecture section 8).

Units are spins s_i in {-1, +1} (``to_spins`` maps 0/1 pixels). Hebbian storage of P
patterns xi^mu in N units sets

    w_ij = (1 / N) sum_mu xi_i^mu xi_j^mu  (i != j),   w_ii = 0,

and the energy is the lecture's E(s) = -1/2 sum_ij w_ij s_i s_j + sum_i b_i s_i. A unit
flips to agree with its local field, s_i <- sign(sum_j w_ij s_j - b_i) (a zero field
keeps the current state). Asynchronous recall updates one unit at a time, in a fresh
random order every sweep, and never raises E, so it ends in a fixed point (a local
minimum of E). Synchronous recall updates all units at once; it can also fall into a
two-cycle, and then reports ``converged=False``.

Storage holds while P / N stays below about 0.138 (Amit, Gutfreund & Sompolinsky 1985):
beyond it the stored patterns stop being (near) fixed points.

Reference: J. Hopfield, "Neural networks and physical systems with emergent collective
computational abilities", PNAS 79 (1982).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from jaxselforg import _validation

__all__ = [
    "MODES",
    "HopfieldNetwork",
    "HopfieldRecall",
    "to_spins",
    "from_spins",
    "store",
    "energy",
    "recall",
    "overlap",
]

MODES = ("asynchronous", "synchronous")
_HIGHEST = lax.Precision.HIGHEST


class HopfieldNetwork(NamedTuple):
    """Symmetric weights ``[N, N]`` (zero diagonal) and thresholds ``[N]``."""

    weights: jax.Array
    bias: jax.Array


class HopfieldRecall(NamedTuple):
    """The outcome of recall.

    Attributes:
      states: ``[n, N]`` final spins.
      n_sweeps: ``[n]`` sweeps made (the last one, if converged, changed nothing).
      converged: ``[n]`` whether the state is a fixed point of the update.
      energies: ``[max_sweeps + 1, n]`` E(s) before the first sweep and after each one;
        after a probe stops, its final energy is repeated.
    """

    states: jax.Array
    n_sweeps: jax.Array
    converged: jax.Array
    energies: jax.Array


def to_spins(x: ArrayLike) -> jax.Array:
    """0/1 values -> spins 2x - 1 in {-1, +1}.

    Raises:
      ValueError: values other than 0 and 1.
    """
    x = _validation.as_float_array(x, "x")
    if _validation.is_concrete(x) and _validation.eager(lambda: bool(jnp.any((x != 0) & (x != 1)))):
        raise ValueError("to_spins expects binary 0/1 values (e.g. data.binarize(x)).")
    return 2.0 * x - 1.0


def from_spins(s: ArrayLike) -> jax.Array:
    """Spins in {-1, +1} -> 0/1 values (s + 1) / 2."""
    return (jnp.asarray(s) + 1.0) / 2.0


def _spins(s, name, size=None):
    s = _validation.matrix(s, name, features=size)
    if _validation.is_concrete(s) and _validation.eager(lambda: bool(jnp.any(jnp.abs(s) != 1))):
        raise ValueError(f"{name} must hold spins -1/+1; convert 0/1 images with "
                         "hopfield.to_spins.")
    return s


@jax.jit
def _store(patterns):
    n_units = patterns.shape[1]
    weights = jnp.matmul(patterns.T, patterns, precision=_HIGHEST) / n_units
    weights = weights * (1.0 - jnp.eye(n_units, dtype=weights.dtype))
    return HopfieldNetwork(weights, jnp.zeros((n_units,), weights.dtype))


def store(patterns: ArrayLike) -> HopfieldNetwork:
    """Hebbian storage: w = (1/N) sum_mu xi^mu xi^mu^T with a zero diagonal, b = 0.

    Args:
      patterns: ``[P, N]`` spins (-1/+1).

    Returns:
      A ``HopfieldNetwork``.

    Raises:
      ValueError: non-spin values, wrong shape, NaN.
    """
    return _store(_spins(patterns, "patterns"))


@jax.jit
def _energy(network, s):
    field = jnp.matmul(s, network.weights, precision=_HIGHEST)
    return -0.5 * jnp.sum(field * s, axis=1) + jnp.matmul(s, network.bias, precision=_HIGHEST)


def energy(network: HopfieldNetwork, s: ArrayLike) -> jax.Array:
    """E(s) = -1/2 s^T W s + b.s per row, ``[n]``."""
    return _energy(network, _spins(s, "s", network.weights.shape[0]))


def _flip_towards(field, s):
    return jnp.where(field > 0, 1.0, jnp.where(field < 0, -1.0, s)).astype(s.dtype)


def _synchronous_sweep(network, s, key):
    del key
    field = jnp.matmul(s, network.weights, precision=_HIGHEST) - network.bias
    return _flip_towards(field, s)


def _asynchronous_sweep(network, s, key):
    n, n_units = s.shape
    orders = jnp.argsort(jax.random.uniform(key, (n, n_units)), axis=1)  # a random order per row
    rows = jnp.arange(n)

    def update(t, s):
        unit = orders[:, t]
        field = jnp.sum(network.weights[unit] * s, axis=1) - network.bias[unit]
        return s.at[rows, unit].set(_flip_towards(field, s[rows, unit]))

    return lax.fori_loop(0, n_units, update, s)


@functools.partial(jax.jit, static_argnames=("mode", "max_sweeps"))
def _recall(network, s, key, *, mode, max_sweeps):
    sweep = _asynchronous_sweep if mode == "asynchronous" else _synchronous_sweep
    n = s.shape[0]

    def cond(carry):
        _, _, converged, count, _ = carry
        return (count < max_sweeps) & ~jnp.all(converged)

    def body(carry):
        s, n_sweeps, converged, count, energies = carry
        new = sweep(network, s, jax.random.fold_in(key, count))
        new = jnp.where(converged[:, None], s, new)
        n_sweeps = n_sweeps + (~converged).astype(jnp.int32)
        converged = converged | jnp.all(new == s, axis=1)
        return new, n_sweeps, converged, count + 1, energies.at[count + 1].set(_energy(network,
                                                                                        new))

    energies = jnp.zeros((max_sweeps + 1, n), s.dtype).at[0].set(_energy(network, s))
    s, n_sweeps, converged, count, energies = lax.while_loop(
        cond, body, (s, jnp.zeros(n, jnp.int32), jnp.zeros(n, bool), jnp.int32(0), energies))
    energies = jnp.where(jnp.arange(max_sweeps + 1)[:, None] <= count, energies, energies[count])
    return HopfieldRecall(s, n_sweeps, converged, energies)


def recall(
    network: HopfieldNetwork,
    probes: ArrayLike,
    *,
    key: jax.Array | None = None,
    mode: str = "asynchronous",
    max_sweeps: int = 100,
) -> HopfieldRecall:
    """Runs the network from ``probes`` until nothing changes (or ``max_sweeps``).

    Args:
      network: a stored ``HopfieldNetwork``.
      probes: ``[n, N]`` initial spins (e.g. corrupted patterns).
      key: PRNG key for the asynchronous update orders (sweep t of probe i uses an order
        drawn from ``fold_in(key, t)``, so a run with fewer sweeps is a prefix of a
        longer one); unused for synchronous recall.
      mode: ``"asynchronous"`` (one unit at a time, random order; energy never rises)
        or ``"synchronous"`` (all units at once).
      max_sweeps: cap on sweeps over all units (static).

    Returns:
      A ``HopfieldRecall``.

    Raises:
      ValueError: unknown mode, a missing key for asynchronous recall, non-spin probes.
    """
    _validation.choice(mode, MODES, "mode")
    max_sweeps = _validation.positive_int(max_sweeps, "max_sweeps")
    probes = _spins(probes, "probes", network.weights.shape[0])
    if key is None:
        if mode == "asynchronous":
            raise ValueError("Asynchronous recall needs key= (the random update orders).")
        key = jax.random.key(0)
    return _recall(network, probes.astype(network.weights.dtype), key, mode=mode,
                   max_sweeps=max_sweeps)


def overlap(s: ArrayLike, patterns: ArrayLike) -> jax.Array:
    """Overlaps m_mu = (1/N) s . xi^mu in [-1, 1], ``[n, P]`` (1 = perfect recall)."""
    s = jnp.asarray(s)
    patterns = jnp.asarray(patterns)
    if s.ndim != 2 or patterns.ndim != 2 or s.shape[1] != patterns.shape[1]:
        raise ValueError(f"s [n, N] and patterns [P, N] must share N; got shapes "
                         f"{tuple(s.shape)} and {tuple(patterns.shape)}.")
    return jnp.matmul(s, patterns.T, precision=_HIGHEST) / s.shape[1]
