"""The Fréchet distance between two sets of features (the FID formula).

Fitting a Gaussian to each set, N(mu_a, S_a) and N(mu_b, S_b), the squared
2-Wasserstein distance between them is

    d^2 = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)).

Tr (S_a S_b)^(1/2) is computed as the sum of the square roots of the eigenvalues of
the symmetric positive semi-definite S_a^(1/2) S_b S_a^(1/2) (the same spectrum as
S_a S_b), so rank-deficient covariances (fewer samples than features, constant
features) need no regularisation and never give NaN; ``scipy.linalg.sqrtm`` of the
non-symmetric product, as pytorch-fid does it, can turn complex there. The small
eigen-problems run in float64 (``jax.enable_x64``) when called eagerly.

References:
  Heusel et al., GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
  Equilibrium, NeurIPS 2017 (FID).
  Dowson & Landau, The Fréchet distance between multivariate normal distributions,
  J. Multivariate Anal. 1982.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxselforg import _validation

__all__ = ["frechet_distance", "gaussian_statistics"]


def _two_rows(x: ArrayLike, name: str, features: int | None = None) -> jax.Array:
    x = _validation.matrix(x, name, features=features)
    if x.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 rows for a covariance; got {x.shape[0]}.")
    return x


def gaussian_statistics(features: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(mean [d], covariance [d, d])`` of ``features [n, d]`` (unbiased, ddof = 1).

    Raises:
      ValueError: not a finite ``[n, d]`` matrix with n >= 2.
    """
    features = _two_rows(features, "features")
    mean = jnp.mean(features, axis=0)
    centred = features - mean
    return mean, centred.T @ centred / (features.shape[0] - 1)


def _significant(values: jax.Array) -> jax.Array:
    """Eigenvalues of a PSD matrix with those below its rounding level (d eps max) set
    to 0: the square root would turn that noise (1e-7 in float32) into 3e-4 each."""
    floor = values.shape[-1] * jnp.finfo(values.dtype).eps * jnp.max(jnp.abs(values))
    return jnp.where(values > floor, values, 0.0)


def _psd_sqrt(s: jax.Array) -> jax.Array:
    values, vectors = jnp.linalg.eigh(s)
    return (vectors * jnp.sqrt(_significant(values))) @ vectors.T


@jax.jit
def _frechet(a: jax.Array, b: jax.Array) -> jax.Array:
    mu_a, s_a = gaussian_statistics(a)
    mu_b, s_b = gaussian_statistics(b)
    root_a = _psd_sqrt(s_a)
    product = root_a @ s_b @ root_a
    trace_sqrt = jnp.sum(jnp.sqrt(_significant(jnp.linalg.eigvalsh((product + product.T) / 2))))
    distance = jnp.sum((mu_a - mu_b) ** 2) + jnp.trace(s_a) + jnp.trace(s_b) - 2.0 * trace_sqrt
    return jnp.maximum(distance, 0.0)  # >= 0; rounding can leave -1e-12 for equal sets


def frechet_distance(features_a: ArrayLike, features_b: ArrayLike) -> jax.Array:
    """d^2 = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) between two feature sets.

    With Inception features this is the FID; with this library's in-domain classifier
    features it is the Fréchet classifier distance (FCD). Either way it is in squared
    feature units: compare only numbers of the same feature extractor, next to the
    real-data floor (two real sets).

    Args:
      features_a: ``[n_a, d]`` features (n_a >= 2).
      features_b: ``[n_b, d]`` features (n_b >= 2).

    Returns:
      A scalar >= 0 (float64 when called eagerly, the input dtype inside a trace).

    Raises:
      ValueError: not matrices, fewer than 2 rows, different feature dimensions, NaN or
        Inf.

    Examples:
      >>> fcd = evaluation.frechet_distance(features(generated), features(test_images))
    """
    a = _two_rows(features_a, "features_a")
    b = _two_rows(features_b, "features_b", features=a.shape[1])
    if not (_validation.is_concrete(a) and _validation.is_concrete(b)):
        return _frechet(a, b)
    with jax.enable_x64(True):
        return _frechet(jnp.asarray(a, jnp.float64), jnp.asarray(b, jnp.float64))
