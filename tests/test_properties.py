"""Property tests of the public entry points beyond the distances (issue: reliability).

Random problems (hypothesis) in a few fixed shape buckets (each bucket compiles once),
in float32, float16 and bfloat16, at magnitudes across float32's range (float16's for
float16 data), with or without one NaN or Inf: every call either raises a ValueError
naming the bad value, or returns finite results that agree with a float64 numpy
reference of the same quantity.
"""

from __future__ import annotations

import re

import hypothesis
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxselforg import cluster, criteria, data, evaluation, mixture

KEY = jax.random.key(0)
_EXPONENTS = {np.float32: (-30, 30), jnp.bfloat16: (-30, 30), np.float16: (-2, 3)}
_SETTINGS = hypothesis.settings(max_examples=20, deadline=None,
                                suppress_health_check=[hypothesis.HealthCheck.too_slow])


@st.composite
def _data(draw, shapes=((6, 3), (9, 5))):
    """``(x [n, d] in the drawn dtype, x in float64, bad)``: clustered rows (two groups,
    so fits have something to find) times a magnitude, maybe one NaN or Inf."""
    dtype = draw(st.sampled_from(list(_EXPONENTS)))
    n, d = draw(st.sampled_from(shapes))
    low, high = _EXPONENTS[dtype]
    magnitude = 10.0 ** draw(st.integers(low, high))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    groups = np.where(np.arange(n)[:, None] % 2 == 0, 0.0, 4.0)
    x = (rng.normal(size=(n, d)) + groups) * magnitude
    bad = draw(st.sampled_from([None, np.nan, np.inf]))
    if bad is not None:
        x[rng.integers(n), rng.integers(d)] = bad
    cast = jnp.asarray(x, dtype)
    return cast, np.asarray(cast, np.float64), bad


def _sq_dist(x, c):
    return ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)


@_SETTINGS
@hypothesis.given(problem=_data())
def test_kmeans_raises_or_is_a_fixed_point_with_its_inertia(problem):
    x, x64, bad = problem
    if bad is not None:
        with pytest.raises(ValueError, match="NaN or Inf"):
            cluster.kmeans(x, 2, key=KEY)
        return
    fit = cluster.kmeans(x, 2, key=KEY, tol=0.0)
    centers = np.asarray(fit.centers, np.float64)
    assert np.all(np.isfinite(centers))
    sq = _sq_dist(x64, centers)
    scale = np.abs(x64).max() ** 2 * x64.shape[1]
    # Every label is a nearest centre (up to float32 ties) and the inertia is their sum.
    np.testing.assert_allclose(sq[np.arange(len(x64)), fit.labels], sq.min(1),
                               rtol=1e-4, atol=1e-5 * scale)
    np.testing.assert_array_equal(cluster.predict(x, fit.centers), fit.labels)
    expected = sq.min(1).sum()
    for inertia in (float(fit.inertia), float(criteria.inertia(x, fit.centers))):
        if expected > np.finfo(np.float32).max:  # the sum itself leaves float32: inf
            assert inertia == np.inf
        elif expected < 1e-30:
            # Terms below float32's smallest normal number (1.2e-38) flush to zero on
            # CPU: the sum can only lose mass there.
            assert 0.0 <= inertia <= expected * (1 + 1e-4)
        else:
            np.testing.assert_allclose(inertia, expected, rtol=1e-4, atol=1e-5 * scale)


@_SETTINGS
@hypothesis.given(problem=_data(shapes=((9, 3),)))
def test_gaussian_mixture_raises_or_is_a_finite_distribution(problem):
    x, x64, bad = problem
    if bad is not None:
        with pytest.raises(ValueError, match="NaN or Inf"):
            mixture.gaussian_mixture(x, 2, key=KEY, covariance_type="diag", max_iter=5)
        return
    variance = float(np.var(x64))
    ordinary = 1e-30 < variance < 1e30
    try:
        # reg_covar in the data's units: a variance floor that scales with the data.
        fit = mixture.gaussian_mixture(x, 2, key=KEY, covariance_type="diag", max_iter=5,
                                       reg_covar=1e-3 * variance if ordinary else 0.0)
    except ValueError as error:
        # Covariances near float32's limits (the mixtures fit in data units, unlike
        # k-means and the distances): a clear error that names the cure.
        assert not ordinary and re.search("collapsed|broke down|rescale", str(error)), error
        return
    assert np.isclose(float(jnp.sum(fit.weights)), 1.0, rtol=1e-5)
    assert np.all(np.asarray(fit.weights) >= 0)
    assert np.all(np.isfinite(np.asarray(fit.means))) and np.all(np.asarray(fit.covariances) > 0)
    assert np.all(np.isfinite(np.asarray(mixture.log_likelihood(fit, x))))


@_SETTINGS
@hypothesis.given(problem=_data(shapes=((8, 4),)), k=st.sampled_from([1, 3]))
def test_knn_predict_raises_or_is_the_brute_force_vote(problem, k):
    x, x64, bad = problem
    labels = np.arange(len(x64)) % 2
    if bad is not None:
        with pytest.raises(ValueError, match="NaN or Inf"):
            evaluation.knn_predict(x, labels, x, k=k, n_classes=2)
        return
    predicted = np.asarray(evaluation.knn_predict(x, labels, x[:4], k=k, n_classes=2))
    sq = _sq_dist(x64[:4], x64)
    for i, row in enumerate(sq):
        # The k nearest by float64 distance, unless float32 tied them: accept either side.
        order = np.argsort(row, kind="stable")
        votes = np.bincount(labels[order[:k]], minlength=2)
        tied = np.isclose(row[order[k - 1]], row[order[min(k, len(row) - 1)]], rtol=1e-3)
        assert tied or predicted[i] == np.argmax(votes), (i, row, predicted)


@_SETTINGS
@hypothesis.given(problem=_data(shapes=((7, 4), (9, 3))))
def test_pca_raises_or_has_orthonormal_axes_and_valid_ratios(problem):
    x, x64, bad = problem
    if bad is not None:
        with pytest.raises(ValueError, match="NaN or Inf"):
            data.pca(x, 2)
        return
    fitted = data.pca(x, 2)
    components = np.asarray(fitted.components, np.float64)
    np.testing.assert_allclose(components @ components.T, np.eye(2), atol=1e-4)
    ratio = np.asarray(fitted.explained_variance_ratio)
    assert np.all(np.isfinite(ratio)) and np.all(ratio >= 0) and ratio.sum() <= 1 + 1e-4
    centred = x64 - x64.mean(0)
    expected = np.linalg.svd(centred, compute_uv=False) ** 2
    np.testing.assert_allclose(ratio, expected[:2] / expected.sum(), atol=1e-3)


@_SETTINGS
@hypothesis.given(problem=_data(shapes=((6, 3),)), threshold=st.floats(0.0, 1.0))
def test_binarize_raises_or_thresholds(problem, threshold):
    x, x64, bad = problem
    pixels = jnp.asarray(np.clip(np.abs(np.nan_to_num(x64, nan=0.5, posinf=2.0)) / (
        np.abs(np.nan_to_num(x64, nan=0.0, posinf=0.0)).max() + 1.0), 0.0, 1.0), x.dtype)
    if bad is not None:
        pixels = pixels.at[0, 0].set(bad)
        with pytest.raises(ValueError):
            data.binarize(pixels, threshold)
        return
    np.testing.assert_array_equal(np.asarray(data.binarize(pixels, threshold), np.float64),
                                  (np.asarray(pixels, np.float64) > np.float32(threshold))
                                  .astype(float))
