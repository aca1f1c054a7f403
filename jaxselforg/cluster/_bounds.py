"""Lloyd's iteration with triangle-inequality bounds (Elkan 2003, Hamerly 2010).

The same fit as the plain loop, with fewer distances. Every point keeps an upper
bound u_i on the distance to its own centre and lower bounds on the distances to
the others: one, l_i, for all of them (Hamerly) or one per centre, l_ij (Elkan).
After the centres move by delta_j, u_i grows by delta_a(i) and each lower bound
shrinks by the shift of its centre (Elkan) or by the largest other shift
(Hamerly): the triangle inequality. A point whose u_i is below every
max(l_ij, c_a(i)j / 2), with c_aj the distance between two centres, provably keeps
its centre and is not looked at.

Static shapes: the points whose bounds fail are compacted into a buffer
(``jnp.nonzero(..., size=...)``), the smallest of a few sizes they fit in
(``tiers``), and searched against every centre; when more fail than the largest
buffer holds the iteration is a full pass. No point is ever skipped.

The centre sums are the plain loop's own (``_segments.weighted_sums``), every
iteration: one pass over x, the memory floor, so the centres are the plain loop's
bit for bit. Sums updated only for the points that changed cluster (a ``[k,
buffer] x [buffer, d]`` product, re-summed exactly every 8 iterations) made an
iteration about 20% faster at k = 10, but float32 rounds them differently from a
fresh sum: on Fashion-MNIST with k = 100 that drift moved a label across a tie and
the fit ended 11 iterations later, at another clustering.

Exactness. The plain loop ranks centres by the float32 score |c|^2 - 2<x, c>, and a
kept label must be the one that ranking would give. The bounds are therefore padded
by the score's worst rounding, delta_i = (2 d + 16) eps (|x_i|^2 + R^2) in squared
distance with R the largest |x| (every centre, a mean of points, lies within R);
the centre distances are rounded down and the shifts up. A point within that
margin of a tie fails its test and is searched as the plain loop searches it, so
from the same start the fit returns the plain loop's labels, centres and iteration
count.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from jaxselforg import _segments, distances


class _Bounds(NamedTuple):
    lloyd: NamedTuple  # the KMeansState the plain loop would carry
    labels: jax.Array  # [n] int32, -1 before the first pass
    upper: jax.Array  # [n] >= distance to the own centre
    lower: jax.Array  # [n] (Hamerly) or [n, k] (Elkan) <= distance to the other centres


def default_capacity(n: int) -> int:
    """The largest buffer of searched rows: n / 2."""
    return max(1, n // 2)


def tiers(capacity: int) -> tuple[int, ...]:
    """Buffer sizes, smallest first: capacity and its halvings down to capacity / 32
    (those of at least 64 rows).

    A compacted iteration costs what its buffer holds, not how many points fail in
    it, so each iteration takes the smallest buffer its failing points fit in.
    """
    sizes = {capacity}
    for divisor in (2, 4, 8, 16, 32):
        if capacity // divisor >= 64:
            sizes.add(capacity // divisor)
    return tuple(sorted(sizes))


def _half_distances(centers, margin):
    """``[k, k]`` half the distances between centres, rounded down; inf on the diagonal."""
    sq = distances.pairwise(centers, centers, "sqeuclidean")
    half = 0.5 * jnp.sqrt(jnp.maximum(sq - margin, 0.0))
    return jnp.where(jnp.eye(centers.shape[0], dtype=bool), jnp.inf, half)


def fit(
    state: NamedTuple,
    x: jax.Array,
    x_sq: jax.Array,
    weights: jax.Array,
    tol: jax.Array,
    max_iter: int,
    assign: Callable,
    update: Callable,
    capacity: int,
    elkan: bool,
) -> NamedTuple:
    """The plain loop's ``while_loop`` from ``state`` (a fresh ``KMeansState``), bounded.

    Args:
      state: the initial ``KMeansState`` (centres, zero iterations, empty history).
      x: ``[n, d]`` data, centred and scaled into [-1, 1] as the plain loop sees it.
      x_sq: ``[n]`` |x_i|^2, the plain loop's (computed once per fit).
      weights: ``[n]`` point weights.
      tol: the convergence threshold on the largest centre shift.
      max_iter: cap on the updates.
      assign: the plain loop's ``centers -> (labels, squared distances)``.
      update: the plain loop's ``(labels, squared distances) -> centers``, used when a
        cluster empties (its re-seeding needs every point's distance).
      capacity: static size of the largest buffer of searched points.
      elkan: one lower bound per point and centre (``[n, k]``), else one per point.

    Returns:
      The final ``KMeansState``, as the plain loop returns it.
    """
    n, d = x.shape
    k = state.centers.shape[0]
    sizes = tiers(capacity)
    eps = jnp.finfo(x.dtype).eps
    r_sq = jnp.max(x_sq)
    margin = (2 * d + 16) * eps * (x_sq + r_sq)  # the score's rounding, per point
    gap_margin = (2 * d + 16) * eps * 8 * r_sq  # centre-centre (centred by pairwise)
    total = jnp.sum(weights * x_sq)
    active = weights > 0
    inflate = 1.0 + (2 * d + 16) * eps  # shifts, rounded up

    def search(rows, rows_sq, centers, rows_margin):
        """Labels and padded bounds ``(labels, upper, lower)`` (the plain loop's ranking)."""
        if elkan:
            labels, sq, every = distances.scaled_sqeuclidean_nearest(
                rows, centers, rows_sq, every_distance=True)
            lower = jnp.sqrt(jnp.maximum(every - rows_margin[:, None], 0.0))
        else:
            labels, sq, _, second = distances.scaled_sqeuclidean_nearest(
                rows, centers, rows_sq, runner_up=True)
            lower = jnp.sqrt(jnp.maximum(second - rows_margin, 0.0))
        return labels, jnp.sqrt(sq + rows_margin), lower

    def search_failing(b, fail, size):
        index = jnp.nonzero(fail, size=size, fill_value=n)[0]
        safe = jnp.minimum(index, n - 1)
        labels, upper, lower = search(x[safe], x_sq[safe], b.lloyd.centers, margin[safe])
        return (b.labels.at[index].set(labels, mode="drop"),
                b.upper.at[index].set(upper, mode="drop"),
                b.lower.at[index].set(lower, mode="drop"))

    def search_all(b, fail):
        del fail
        return search(x, x_sq, b.lloyd.centers, margin)

    def body(b):
        s = b.lloyd
        centers = s.centers
        half = _half_distances(centers, gap_margin)[jnp.maximum(b.labels, 0)]  # [n, k]
        if elkan:
            fail = b.upper >= jnp.min(jnp.maximum(b.lower, half), axis=1)
        else:
            fail = b.upper >= jnp.maximum(b.lower, jnp.min(half, axis=1))
        fail = active & fail
        # The smallest buffer the failing points fit in, else every point.
        branch = jnp.searchsorted(jnp.asarray(sizes), jnp.sum(fail))
        labels, upper, lower = lax.switch(
            branch, [functools.partial(search_failing, size=size) for size in sizes]
            + [search_all], b, fail)
        sums, counts = _segments.weighted_sums(x, labels, weights, k)
        new = sums / jnp.maximum(counts, 1e-30)[:, None]
        # sum_i w_i |x_i - c_a(i)|^2 from the cluster sums: no second pass over x.
        inertia = total - jnp.sum(2.0 * jnp.sum(centers * sums, axis=1)
                                  - counts * jnp.sum(centers * centers, axis=1))

        def reseed():
            # A cluster emptied: the plain update re-seeds it from every point's distance;
            # the bounds are void (u = inf), so the next iteration is a full pass.
            full_labels, sq = assign(centers)
            return (update(full_labels, sq), jnp.sum(weights * sq), full_labels,
                    jnp.full_like(upper, jnp.inf))

        new, inertia, labels, upper = lax.cond(
            jnp.any(counts <= 0), reseed, lambda: (new, inertia, labels, upper))
        shifts = jnp.linalg.norm(new - centers, axis=1)
        shift = jnp.max(shifts)
        upper = upper + shifts[jnp.maximum(labels, 0)] * inflate
        if elkan:
            lower = lower - shifts[None, :] * inflate
        else:
            top2, top2_index = lax.top_k(shifts, 2)
            lower = lower - jnp.where(labels == top2_index[0], top2[1], top2[0]) * inflate
        slack = 2 * eps  # the additions' own rounding, away from the answer
        i = s.iteration
        lloyd = s._replace(
            centers=new, iteration=i + 1, shift=shift,
            inertia_history=s.inertia_history.at[i].set(inertia),
            shift_history=s.shift_history.at[i].set(shift))
        return _Bounds(lloyd, labels, upper + jnp.abs(upper) * slack,
                       lower - jnp.abs(lower) * slack)

    start = _Bounds(state, jnp.full((n,), -1, jnp.int32), jnp.full((n,), jnp.inf, x.dtype),
                    jnp.zeros((n, k) if elkan else (n,), x.dtype))
    final = lax.while_loop(lambda b: (b.lloyd.iteration < max_iter) & (b.lloyd.shift > tol),
                           body, start)
    return final.lloyd
