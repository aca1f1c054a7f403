"""Losses that learn embeddings from similarity: NT-Xent (SimCLR), the contrastive
loss of Hadsell et al. and the triplet loss with semi-hard or batch-hard mining.

Every loss is a pure function of embeddings, jit-, vmap- and grad-able; its numeric
hyperparameter (temperature, margin) may be traced, so a sweep over it is one
compiled program. A bad value is a ``ValueError`` when it is concrete; a traced bad
value makes the loss NaN, which ``train.fit`` reports as a ``NonFiniteLossError``.
Distances between embeddings are ``jaxselforg.distances.pairwise``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxselforg import _validation, distances

__all__ = ["MINERS", "batch_contrastive_loss", "contrastive_loss", "ntxent", "triplet_loss"]

MINERS = ("semi_hard", "batch_hard")
"""The triplet miners of :func:`triplet_loss`."""

_EPS = 1e-12


def _embeddings(z: ArrayLike, name: str) -> jax.Array:
    z = _validation.as_float_array(z, name)
    _validation.check_rank(z, 2, name, "[n, d]")
    _validation.check_finite(z, name)
    return z


def _bounded(value: ArrayLike, name: str, *, positive: bool) -> jax.Array:
    """A scalar hyperparameter > 0 (``positive``) or >= 0: raises when concrete, NaN when
    traced and out of bounds."""
    value = _validation.as_float_array(value, name)
    if value.ndim:
        raise ValueError(f"{name} must be a scalar; got shape {tuple(value.shape)} (vmap the "
                         "loss for a sweep).")
    inside = (lambda v: v > 0) if positive else (lambda v: v >= 0)
    if _validation.is_concrete(value):
        ok = _validation.eager(lambda: bool(jnp.isfinite(value) & inside(value)))
        if not ok:
            bound = "> 0" if positive else ">= 0"
            raise ValueError(f"{name} must be a finite number {bound}; got {float(value)}.")
        return value
    return jnp.where(inside(value), value, jnp.nan)


def _unit(z: jax.Array) -> jax.Array:
    """Rows scaled to unit L2 norm; a zero row stays zero (finite gradient)."""
    return z * jax.lax.rsqrt(jnp.maximum(jnp.sum(z * z, axis=-1, keepdims=True), _EPS))


def ntxent(z_a: ArrayLike, z_b: ArrayLike, temperature: ArrayLike = 0.5) -> jax.Array:
    """The normalized temperature-scaled cross-entropy of SimCLR's two views.

    With the 2N embeddings z = [z_a; z_b], sim(u, v) = u^T v / (||u|| ||v||) and j(i)
    the other view of example i,

        l(i, j) = -ln exp(sim(z_i, z_j) / tau) / sum_{k != i} exp(sim(z_i, z_k) / tau),
        loss = 1/(2N) sum_{i=1}^{2N} l(i, j(i)),

    the mean over all 2N anchors (the paper's; the official TF2 code returns the sum
    of the two directions' means, twice this). It equals ``optax.losses.ntxent(z,
    labels=[0..N-1, 0..N-1], temperature)``; all embeddings equal (collapse) give
    ln(2N - 1). Computed as logsumexp_{k != i}(s_ik - s_ij), stable for small tau; a
    zero embedding counts as similarity 0 to everything (finite gradients).

    Args:
      z_a: ``[N, d]`` embeddings of the first views.
      z_b: ``[N, d]`` embeddings of the second views (row i: the same image as row i
        of ``z_a``).
      temperature: tau > 0 (traced; SimCLR uses 0.1 to 0.5).

    Returns:
      The scalar loss.

    Raises:
      ValueError: embeddings that are not two ``[N, d]`` arrays of one shape with
        N >= 2 (one example has no negative), or a concrete tau <= 0.

    References:
      Chen, Kornblith, Norouzi & Hinton, "A Simple Framework for Contrastive Learning of
      Visual Representations", ICML 2020.

    Examples:
      >>> loss = contrastive.ntxent(model(views_a), model(views_b), temperature=0.5)
    """
    z_a, z_b = _embeddings(z_a, "z_a"), _embeddings(z_b, "z_b")
    if z_a.shape != z_b.shape:
        raise ValueError(f"z_a and z_b must have the same shape [N, d] (two views of N "
                         f"examples); got {tuple(z_a.shape)} and {tuple(z_b.shape)}.")
    n = z_a.shape[0]
    if n < 2:
        raise ValueError("NT-Xent needs N >= 2 examples (a batch of one has no negatives); "
                         f"got N = {n}.")
    tau = _bounded(temperature, "temperature", positive=True)
    z = _unit(jnp.concatenate([z_a, z_b]))
    s = (z @ z.T) / tau  # [2N, 2N]
    partner = jnp.concatenate([jnp.arange(n, 2 * n), jnp.arange(n)])
    positive = jnp.take_along_axis(s, partner[:, None], axis=1)  # [2N, 1]
    others = jnp.where(jnp.eye(2 * n, dtype=bool), -jnp.inf, s - positive)
    return jnp.mean(jax.nn.logsumexp(others, axis=1))


def _contrastive_terms(d: jax.Array, similar: jax.Array, margin: jax.Array) -> jax.Array:
    """(1 - Y) D^2 / 2 + Y max(0, m - D)^2 / 2 with Y = 0 for similar pairs."""
    return jnp.where(similar, 0.5 * d**2, 0.5 * jnp.maximum(margin - d, 0.0) ** 2)


def contrastive_loss(z_a: ArrayLike, z_b: ArrayLike, similar: ArrayLike, *,
                     margin: ArrayLike = 1.0) -> jax.Array:
    """The contrastive loss of pairs (Hadsell, Chopra & LeCun 2006), mean over pairs.

    With D_i = ||z_a_i - z_b_i|| (Euclidean) and Y_i = 0 for a similar pair, 1 for a
    dissimilar one,

        L = 1/n sum_i (1 - Y_i) D_i^2 / 2 + Y_i max(0, m - D_i)^2 / 2:

    similar pairs are pulled together, dissimilar ones pushed apart until they are at
    least the margin m apart.

    Args:
      z_a, z_b: ``[n, d]`` embeddings of the pairs' two members.
      similar: ``[n]`` booleans (or 0/1), True for a similar pair.
      margin: m >= 0 (traced).

    Returns:
      The scalar loss.

    Raises:
      ValueError: embeddings not ``[n, d]`` of one shape, ``similar`` not ``[n]``, or
        a concrete margin < 0.

    References:
      Hadsell, Chopra & LeCun, "Dimensionality Reduction by Learning an Invariant
      Mapping", CVPR 2006.
    """
    z_a, z_b = _embeddings(z_a, "z_a"), _embeddings(z_b, "z_b")
    if z_a.shape != z_b.shape:
        raise ValueError(f"z_a and z_b must have the same shape [n, d]; got "
                         f"{tuple(z_a.shape)} and {tuple(z_b.shape)}.")
    similar = _validation.asarray(similar)
    if similar.shape != (z_a.shape[0],):
        raise ValueError(f"similar must have shape [{z_a.shape[0]}] (one flag per pair); got "
                         f"{tuple(similar.shape)}.")
    # Flags: 0 (dissimilar) or 1 (similar); traced, another value makes the loss NaN.
    flags = _validation.binary(similar.astype(z_a.dtype), "similar", "the contrastive loss",
                               hint="1 (or True) marks a similar pair, 0 a dissimilar one")
    margin = _bounded(margin, "margin", positive=False)
    d = jax.vmap(distances.distance)(z_a, z_b)
    return _validation.nan_unless(jnp.all(~jnp.isnan(flags)),
                                  jnp.mean(_contrastive_terms(d, flags == 1, margin)))


def _labels(labels: ArrayLike, n: int) -> jax.Array:
    labels = _validation.asarray(labels)
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise ValueError(f"labels must be integers; got dtype {labels.dtype}.")
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape [{n}] (one per embedding); got "
                         f"{tuple(labels.shape)}.")
    return labels


def _batch(embeddings, labels, metric):
    """Distances ``[n, n]``, the positive mask (same label, not self) and the negative mask."""
    embeddings = _embeddings(embeddings, "embeddings")
    n = embeddings.shape[0]
    if n < 2:
        raise ValueError(f"A metric-learning batch needs at least 2 embeddings; got {n}.")
    labels = _labels(labels, n)
    d = distances.pairwise(embeddings, embeddings, metric)
    same = labels[:, None] == labels[None, :]
    positive = same & ~jnp.eye(n, dtype=bool)
    return d, positive, ~same


def batch_contrastive_loss(embeddings: ArrayLike, labels: ArrayLike, *,
                           margin: ArrayLike = 1.0) -> jax.Array:
    """:func:`contrastive_loss` over every pair i < j of a labelled batch.

    A pair is similar when its labels are equal:
    L = 2/(n(n-1)) sum_{i<j} (1 - Y_ij) D_ij^2 / 2 + Y_ij max(0, m - D_ij)^2 / 2 with the
    Euclidean D_ij = ||e_i - e_j|| (``distances.pairwise``).

    Args:
      embeddings: ``[n, d]``, n >= 2.
      labels: ``[n]`` integer classes.
      margin: m >= 0 (traced).

    Returns:
      The scalar loss.

    Raises:
      ValueError: embeddings not ``[n, d]`` with n >= 2, labels not ``[n]`` integers,
        or a concrete margin < 0.
    """
    d, positive, _ = _batch(embeddings, labels, "euclidean")
    margin = _bounded(margin, "margin", positive=False)
    n = d.shape[0]
    upper = jnp.triu(jnp.ones((n, n), dtype=bool), k=1)
    terms = _contrastive_terms(d, positive, margin)
    return jnp.sum(jnp.where(upper, terms, 0.0)) / (n * (n - 1) / 2)


def triplet_loss(embeddings: ArrayLike, labels: ArrayLike, *, margin: ArrayLike = 1.0,
                 miner: str = "semi_hard", metric: str = "euclidean") -> jax.Array:
    """The triplet loss of a labelled batch with its triplets mined in the batch.

    For an anchor a, a positive p (same label, p != a) and a negative n (another
    label) the triplet's loss is max(0, D_ap - D_an + m). The miners choose n:

    * ``"semi_hard"`` (FaceNet; TF-Addons ``TripletSemiHardLoss``): for every
      (a, p), the nearest negative farther than the positive,
      n* = argmin_{n: D_an > D_ap} D_an (semi-hard when D_an < D_ap + m; beyond the
      margin the triplet's loss is 0); if no negative is farther than the positive,
      the *farthest* negative, argmax_n D_an (TF-Addons' rule, not the hardest).
      L = mean over (a, p) pairs of max(0, D_ap - D_an* + m).
    * ``"batch_hard"`` (Hermans, Beyer & Leibe 2017; TF-Addons ``TripletHardLoss``):
      per anchor the farthest positive and the nearest negative,
      L = mean over anchors of max(0, max_p D_ap - min_n D_an + m).

    Only (a, p) pairs (semi-hard) or anchors (batch-hard) that have at least one
    positive and one negative count; a batch with none gives 0, not TF-Addons'
    NaN (addons issue 2447). TF-Addons also counts anchors without negatives (against
    a distance 0); here they have no triplet and are left out. TF-Addons' default
    ``distance_metric="L_2"`` is the *squared* Euclidean distance: use
    ``metric="sqeuclidean"`` to reproduce it.

    Args:
      embeddings: ``[n, d]`` (often L2-normalized), n >= 2.
      labels: ``[n]`` integer classes.
      margin: m >= 0 (traced).
      miner: one of ``MINERS``.
      metric: the distance D, any of ``distances.METRICS`` (``"euclidean"``,
        ``"sqeuclidean"``, ``"cosine"``).

    Returns:
      The scalar loss.

    Raises:
      ValueError: embeddings not ``[n, d]`` with n >= 2, labels not ``[n]`` integers,
        an unknown miner or metric, or a concrete margin < 0.

    References:
      Schroff, Kalenichenko & Philbin, "FaceNet", CVPR 2015; Hermans, Beyer & Leibe,
      "In Defense of the Triplet Loss for Person Re-Identification", 2017.

    Examples:
      >>> loss = contrastive.triplet_loss(model(images), labels, margin=0.2)
    """
    _validation.choice(miner, MINERS, "miner")
    d, positive, negative = _batch(embeddings, labels, metric)
    margin = _bounded(margin, "margin", positive=False)
    has_negative = jnp.any(negative, axis=1)  # [n] per anchor
    if miner == "batch_hard":
        hardest_positive = jnp.max(jnp.where(positive, d, -jnp.inf), axis=1)
        hardest_negative = jnp.min(jnp.where(negative, d, jnp.inf), axis=1)
        valid = jnp.any(positive, axis=1) & has_negative
        terms = jnp.maximum(jnp.where(valid, hardest_positive - hardest_negative, 0.0) + margin,
                            0.0)
        return jnp.sum(jnp.where(valid, terms, 0.0)) / jnp.maximum(jnp.sum(valid), 1)
    # semi_hard: pair (a, p) is d[a, p]; candidates n along the last axis.
    d_ap = d[:, :, None]                                  # [a, p, 1]
    d_an = d[:, None, :]                                  # [a, 1, n]
    farther = negative[:, None, :] & (d_an > d_ap)        # [a, p, n]
    nearest_farther = jnp.min(jnp.where(farther, d_an, jnp.inf), axis=2)  # [a, p]
    farthest = jnp.max(jnp.where(negative, d, -jnp.inf), axis=1)          # [a]
    chosen = jnp.where(jnp.any(farther, axis=2), nearest_farther, farthest[:, None])
    valid = positive & has_negative[:, None]
    terms = jnp.maximum(jnp.where(valid, d - chosen, 0.0) + margin, 0.0)
    return jnp.sum(jnp.where(valid, terms, 0.0)) / jnp.maximum(jnp.sum(valid), 1)
