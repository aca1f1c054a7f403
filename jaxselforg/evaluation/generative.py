"""Scores of a generative model's samples through a classifier's eyes.

* :func:`classifier_score`: the Inception Score with an in-domain classifier,
  exp E_x KL(p(y | x) || p(y)), p(y) = E_x p(y | x): high when each sample is
  classified confidently and the classes are used evenly (at most the number of
  classes; the real test set's score is the ceiling to compare with).
* :func:`class_histogram`: how often each class is predicted, and its entropy in
  nats (ln C for perfectly even classes); mode collapse shows as a low entropy.
* :func:`precision_recall`: Kynkäänniemi et al.'s k-NN manifolds in feature space.
  Each real feature r_i gets the ball of radius ||r_i - NN_k(r_i)|| (its k-th nearest
  other real feature); precision is the share of generated features inside the union
  of the real balls (are the samples realistic?), recall the share of real features
  inside the union of the generated balls (is the data covered?).

References:
  Salimans et al., Improved Techniques for Training GANs, NeurIPS 2016 (the IS).
  Kynkäänniemi, Karras, Laine, Lehtinen & Aila, Improved Precision and Recall Metric
  for Assessing Generative Models, NeurIPS 2019.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxselforg import _rows, _validation, distances

__all__ = ["ClassHistogram", "PrecisionRecall", "class_histogram", "classifier_score",
           "precision_recall"]


def _probabilities(p: ArrayLike) -> jax.Array:
    p = _validation.matrix(p, "probabilities")
    if not _validation.is_concrete(p):  # traced: NaN unless every row is a distribution
        valid = (jnp.all((p >= 0) & (p <= 1))
                 & (jnp.max(jnp.abs(jnp.sum(p, 1) - 1.0)) <= 1e-3))
        return _validation.nan_unless(valid, p)
    low, high = _validation.value_range(p)
    row_error = _validation.eager(lambda: float(jnp.max(jnp.abs(jnp.sum(p, 1) - 1.0))))
    if low < 0 or high > 1 or row_error > 1e-3:
        raise ValueError("probabilities must be [n, classes] rows of class probabilities "
                         f"(in [0, 1], summing to 1); got values in [{low}, {high}] and a "
                         f"row sum off by {row_error:.2g} (softmax the logits first).")
    return p


@jax.jit
def _score(p):
    marginal = jnp.mean(p, axis=0)
    kl = jnp.sum(jax.scipy.special.xlogy(p, p) - jax.scipy.special.xlogy(p, marginal), axis=1)
    return jnp.exp(jnp.mean(kl))


def classifier_score(probabilities: ArrayLike) -> jax.Array:
    """exp E_x KL(p(y | x) || p(y)) of classifier outputs ``[n, classes]`` (in [1, classes]).

    Raises:
      ValueError: rows that are not probability vectors.
    """
    return _score(_probabilities(probabilities))


class ClassHistogram(NamedTuple):
    """Attributes: ``counts [classes]`` of predicted classes and their ``entropy`` (nats)."""

    counts: jax.Array
    entropy: jax.Array


def class_histogram(predicted: ArrayLike, n_classes: int) -> ClassHistogram:
    """Counts of the predicted classes ``[n]`` and the entropy of their frequencies.

    Raises:
      ValueError: labels not non-negative integers below ``n_classes``.
    """
    predicted, n_classes = _validation.class_labels(predicted, "predicted", n_classes=n_classes)
    counts = jnp.bincount(predicted, length=n_classes)
    frequency = counts / jnp.sum(counts)
    histogram = ClassHistogram(counts, -jnp.sum(jax.scipy.special.xlogy(frequency, frequency)))
    # bincount drops traced labels outside [0, n_classes): the entropy reports them.
    return _validation.nan_unless(_validation.in_range(predicted, n_classes), histogram)


class PrecisionRecall(NamedTuple):
    """Attributes: ``precision`` and ``recall``, each in [0, 1]."""

    precision: jax.Array
    recall: jax.Array


@jax.jit
def _coverage(points, centres, radii):
    """Share of ``points`` inside at least one ball (centre, radius)."""
    def block(rows):
        return jnp.any(distances.pairwise(rows, centres) <= radii[None, :], axis=1)

    return jnp.mean(_rows.map_rows(block, points))


def precision_recall(real_features: ArrayLike, generated_features: ArrayLike, *,
                     k: int = 3) -> PrecisionRecall:
    """Kynkäänniemi et al.'s precision and recall of generated against real features.

    Args:
      real_features: ``[n, d]`` (features of real images, e.g. the test set).
      generated_features: ``[m, d]`` (features of as many samples).
      k: the neighbour whose distance sets each ball's radius (3 in the paper).

    Returns:
      A :class:`PrecisionRecall`.

    Raises:
      ValueError: bad shapes, NaN, or ``k`` not below either set's size.
    """
    real = _validation.matrix(real_features, "real_features")
    fake = _validation.matrix(generated_features, "generated_features", features=real.shape[1])
    k = _validation.positive_int(k, "k")
    for name, x in (("real_features", real), ("generated_features", fake)):
        if k >= x.shape[0]:
            raise ValueError(f"k = {k} needs more than k rows in {name}; got {x.shape[0]}.")
    # The (k + 1)-th nearest of a point within its own set is its k-th nearest other
    # point (the nearest is itself, at distance 0).
    real_radii = distances.k_nearest(real, real, k + 1)[1][:, k]
    fake_radii = distances.k_nearest(fake, fake, k + 1)[1][:, k]
    result = PrecisionRecall(_coverage(fake, real, real_radii), _coverage(real, fake, fake_radii))
    # Coverage counts comparisons, which turn NaN into False: traced NaN features are
    # reported here.
    return _validation.nan_unless(jnp.all(jnp.isfinite(real)) & jnp.all(jnp.isfinite(fake)),
                                  result)
