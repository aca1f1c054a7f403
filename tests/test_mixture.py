"""jaxselforg.mixture: EM for Gaussian and Bernoulli mixtures.

References: scikit-learn's GaussianMixture (float64) on real Fashion-MNIST rows, numpy
brute force for the Bernoulli likelihood, and the lecture's EM identities. The
sharded-equals-one-device checks live in ``multidevice_checks.py``.
"""

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from sklearn.mixture import GaussianMixture
from sklearn.mixture._gaussian_mixture import (
    _compute_precision_cholesky,
    _estimate_gaussian_parameters,
)

from jaxselforg import cluster, data, mixture
from jaxselforg.mixture import bernoulli, gaussian

K = 5
KEY = jax.random.key(0)


@pytest.fixture(scope="module")
def fashion():
    """500 Fashion-MNIST rows: raw pixels [500, 784] and their PCA-10 [500, 10]."""
    images, _ = data.load("fashion_mnist", "train")
    pixels = np.asarray(data.flatten(data.to_unit_range(images[:500])))
    return {"pixels": pixels, "pca10": np.asarray(data.pca_project(pixels, data.pca(pixels, 10)))}


def _data_for(covariance_type, fashion):
    # Full/tied on PCA-10; diag/spherical on raw pixels (with constant border pixels).
    return fashion["pca10"] if covariance_type in ("full", "tied") else fashion["pixels"]


def _explicit_init(x, k, covariance_type, seed=0):
    """weights/means/precisions_init in scikit-learn's conventions."""
    rng = np.random.default_rng(seed)
    means = x[rng.choice(len(x), k, replace=False)].astype(np.float64)
    inverse_variance = 1.0 / (x.var(axis=0).astype(np.float64) + 1e-2)
    precisions = {"full": np.stack([np.diag(inverse_variance)] * k),
                  "tied": np.diag(inverse_variance),
                  "diag": np.stack([inverse_variance] * k),
                  "spherical": np.full(k, inverse_variance.mean())}[covariance_type]
    return dict(weights_init=np.full(k, 1.0 / k), means_init=means, precisions_init=precisions)


@pytest.fixture(scope="module")
def parity_fits(fashion):
    """Ours and scikit-learn's fit from the same start, for every covariance type."""
    fits = {}
    for covariance_type in mixture.COVARIANCE_TYPES:
        x = _data_for(covariance_type, fashion)
        init = _explicit_init(x, K, covariance_type)
        ours = mixture.gaussian_mixture(x, K, key=KEY, covariance_type=covariance_type,
                                        tol=1e-3, max_iter=100, reg_covar=1e-6, **init)
        reference = GaussianMixture(K, covariance_type=covariance_type, tol=1e-3, max_iter=100,
                                    reg_covar=1e-6, **init).fit(x.astype(np.float64))
        fits[covariance_type] = (x, ours, reference)
    return fits


def _sklearn_with_params(result, x):
    """A scikit-learn GaussianMixture holding our fitted parameters (float64)."""
    model = GaussianMixture(result.weights.shape[0], covariance_type=result.covariance_type)
    model.weights_ = np.asarray(result.weights, np.float64)
    model.means_ = np.asarray(result.means, np.float64)
    model.covariances_ = np.asarray(result.covariances, np.float64)
    model.precisions_cholesky_ = _compute_precision_cholesky(model.covariances_,
                                                             result.covariance_type)
    model.n_features_in_ = x.shape[1]
    model.converged_, model.n_iter_, model.lower_bound_ = True, 1, 0.0
    return model


def _assert_monotone(history, n_iter, scale):
    history = np.asarray(history)
    assert np.all(np.isfinite(history[:n_iter])) and np.all(np.isnan(history[n_iter:]))
    assert np.diff(history[:n_iter]).min(initial=0.0) >= -1e-6 * abs(scale), history[:n_iter]


# ---------------------------------------------------------------------------
# Gaussian mixture: parity with scikit-learn.


@pytest.mark.parametrize("covariance_type", mixture.COVARIANCE_TYPES)
def test_gaussian_mixture_fit_matches_sklearn(parity_fits, covariance_type):
    x, ours, reference = parity_fits[covariance_type]
    score = reference.score(x.astype(np.float64))
    assert abs(float(ours.log_likelihood) - score) <= 1e-3 * abs(score)
    assert abs(float(ours.lower_bound) - reference.lower_bound_) <= 1e-3 * abs(score)
    assert bool(ours.converged) and abs(int(ours.n_iter) - reference.n_iter_) <= 1
    assert ours.covariances.shape == reference.covariances_.shape
    assert ours.precisions_cholesky.shape == reference.precisions_cholesky_.shape
    np.testing.assert_allclose(ours.weights, reference.weights_, atol=1e-3)
    np.testing.assert_allclose(ours.means, reference.means_, atol=1e-3 * np.abs(x).max())
    np.testing.assert_allclose(ours.covariances, reference.covariances_, rtol=1e-2, atol=1e-5)
    n_iter = min(int(ours.n_iter), reference.n_iter_)
    np.testing.assert_allclose(ours.history[:n_iter], reference.lower_bounds_[:n_iter],
                               rtol=1e-3)
    _assert_monotone(ours.history, int(ours.n_iter), score)


@pytest.mark.parametrize("covariance_type", mixture.COVARIANCE_TYPES)
def test_gaussian_scores_equal_sklearn_on_the_same_parameters(parity_fits, covariance_type):
    x, ours, _ = parity_fits[covariance_type]
    reference = _sklearn_with_params(ours, x)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(ours.precisions_cholesky, reference.precisions_cholesky_,
                               rtol=1e-3, atol=1e-6)
    per_sample = reference.score_samples(x64)
    np.testing.assert_allclose(mixture.log_likelihood(ours, x), per_sample, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(ours.log_likelihood, per_sample.mean(), rtol=1e-5)
    np.testing.assert_allclose(mixture.predict_proba(ours, x), reference.predict_proba(x64),
                               atol=1e-4)
    assert np.mean(np.asarray(mixture.predict(ours, x)) == reference.predict(x64)) >= 0.99
    assert mixture.n_parameters(ours) == reference._n_parameters()
    np.testing.assert_allclose(mixture.bic(ours, x), reference.bic(x64), rtol=1e-5)
    np.testing.assert_allclose(mixture.aic(ours, x), reference.aic(x64), rtol=1e-5)


def test_traced_hyperparameters_do_not_recompile(parity_fits, compilations):
    x, _, _ = parity_fits["spherical"]
    init = _explicit_init(x, K, "spherical")
    with compilations() as compiled:
        again = mixture.gaussian_mixture(x, K, key=KEY, covariance_type="spherical", tol=1e-2,
                                         reg_covar=1e-3, **init)
    assert compiled == []
    assert np.all(np.asarray(again.covariances) >= 1e-3)


@pytest.mark.parametrize("covariance_type", mixture.COVARIANCE_TYPES)
def test_gaussian_sample_follows_the_mixture(parity_fits, covariance_type):
    _, ours, _ = parity_fits[covariance_type]
    n = 10000
    points, labels = mixture.sample(ours, n, key=jax.random.key(1))
    points, labels = np.asarray(points), np.asarray(labels)
    assert points.shape == (n, ours.means.shape[1]) and labels.shape == (n,)
    counts = np.bincount(labels, minlength=K)
    np.testing.assert_allclose(counts / n, ours.weights, atol=0.03)
    covariances = np.asarray(ours.covariances)
    for j in np.flatnonzero(counts >= 200):
        if covariance_type == "full":
            variance = np.diagonal(covariances[j])
        elif covariance_type == "tied":
            variance = np.diagonal(covariances)
        else:
            variance = np.broadcast_to(covariances[j], (points.shape[1],))
        members = points[labels == j]
        np.testing.assert_array_less(np.abs(members.mean(0) - ours.means[j]),
                                     6 * np.sqrt(variance / len(members)) + 1e-6)
        # The sample variance has relative standard error sqrt(2 / (m - 1)).
        relative = np.abs(members.var(0, ddof=1) / variance - 1) / np.sqrt(2 / (len(members) - 1))
        assert np.median(relative) < 2 and relative.max() < 6


# ---------------------------------------------------------------------------
# Initialisations and the EM driver's guarantees.


@pytest.fixture(scope="module")
def small(fashion):
    return fashion["pca10"][:150]


@pytest.mark.parametrize("init", gaussian.INITS)
def test_every_init_gives_a_monotone_converged_fit(small, init):
    result = mixture.gaussian_mixture(small, 3, key=KEY, init=init, tol=1e-4, max_iter=200)
    n_iter = int(result.n_iter)
    assert bool(result.converged) and n_iter < 200
    _assert_monotone(result.history, n_iter, result.log_likelihood)
    np.testing.assert_allclose(result.history[n_iter - 1], result.lower_bound)
    # The last M-step cannot lower the likelihood (the final E-step scores it).
    assert float(result.log_likelihood) >= float(result.lower_bound) - 1e-5
    np.testing.assert_allclose(float(jnp.sum(result.weights)), 1.0, rtol=1e-5)


def test_kmeans_init_is_one_m_step_on_kmeans_labels(small):
    # As scikit-learn: one-hot k-means labels (n_init=1, the same key), then an M-step.
    result = mixture.gaussian_mixture(small, 3, key=KEY, init="kmeans", tol=1e-4, max_iter=200)
    labels = np.asarray(cluster.kmeans(small, 3, key=KEY, n_init=1).labels)
    x64 = small.astype(np.float64)
    nk, means, covariances = _estimate_gaussian_parameters(x64, np.eye(3)[labels], 1e-6, "full")
    start = GaussianMixture(3)
    start.weights_, start.means_, start.covariances_ = nk / nk.sum(), means, covariances
    start.precisions_cholesky_ = _compute_precision_cholesky(covariances, "full")
    start.n_features_in_ = small.shape[1]
    np.testing.assert_allclose(result.history[0], start.score(x64), rtol=1e-5)


def test_n_init_is_the_best_of_single_fits_with_the_split_keys(small):
    kwargs = dict(covariance_type="diag", init="random", tol=1e-4, max_iter=200)
    best = mixture.gaussian_mixture(small, 3, key=KEY, n_init=3, **kwargs)
    singles = [mixture.gaussian_mixture(small, 3, key=key, **kwargs)
               for key in jax.random.split(KEY, 3)]
    scores = np.array([float(single.log_likelihood) for single in singles])
    assert np.ptp(scores) > 1e-3  # the restarts really differ, so the choice matters
    np.testing.assert_allclose(best.restart_log_likelihood, scores, rtol=1e-5)
    winner = singles[int(np.argmax(scores))]
    np.testing.assert_allclose(best.log_likelihood, winner.log_likelihood, rtol=1e-5)
    np.testing.assert_allclose(best.means, winner.means, rtol=1e-4, atol=1e-4)
    assert int(best.n_iter) == int(winner.n_iter)


def test_every_family_returns_one_result_type_that_reads_through_to_its_params(small):
    gmm = mixture.gaussian_mixture(small, 3, key=KEY, covariance_type="diag")
    bmm = mixture.bernoulli_mixture((small > small.mean()).astype(np.float32), 3, key=KEY)
    assert type(gmm) is type(bmm) is mixture.EMResult
    assert gmm.covariances is gmm.params.covariances and bmm.means is bmm.params.means
    assert gmm.covariance_type == "diag" and gmm.collapsed.shape == (3,)
    assert gmm.restart_log_likelihood.shape == bmm.restart_log_likelihood.shape == (1,)
    with pytest.raises(AttributeError, match="'covariances'.*BernoulliMixtureParams"):
        _ = bmm.covariances


@pytest.mark.parametrize("covariance_type", gaussian.COVARIANCE_TYPES)
def test_collapsed_flags_each_run_of_stacked_parameters(covariance_type):
    # Two runs of k = 3 components in d = 2, as a vmapped fit returns them; run 1's
    # component 2 (or, tied, its one shared factor) is broken.
    shapes = {"full": (3, 2, 2), "tied": (2, 2), "diag": (3, 2), "spherical": (3,)}
    factor = np.ones((2, *shapes[covariance_type]), np.float32)
    factor[(1, 2) if covariance_type != "tied" else (1,)] = np.nan
    params = gaussian.GaussianMixtureParams(jnp.full((2, 3), 1 / 3), jnp.zeros((2, 3, 2)),
                                            jnp.asarray(factor), jnp.asarray(factor),
                                            covariance_type)
    expected = [[False] * 3, [True] * 3 if covariance_type == "tied" else [False, False, True]]
    np.testing.assert_array_equal(params.collapsed, expected)


def test_zero_weight_rows_are_ignored_and_weights_count_rows(small):
    # Weight 2 = the row twice; weight 0 = the row absent, even if it is huge.
    x, kwargs = small[:100], dict(covariance_type="diag", tol=0.0, max_iter=10)
    init = _explicit_init(x, 3, "diag")
    garbage = np.full((20, x.shape[1]), 1e4, np.float32)
    weights = np.concatenate([np.ones(50), np.full(50, 2.0), np.zeros(20)])
    weighted = mixture.gaussian_mixture(np.concatenate([x, garbage]), 3, key=KEY,
                                        sample_weight=weights, **kwargs, **init)
    repeated = mixture.gaussian_mixture(np.concatenate([x, x[50:]]), 3, key=KEY, **kwargs, **init)
    np.testing.assert_allclose(weighted.log_likelihood, repeated.log_likelihood, rtol=1e-5)
    np.testing.assert_allclose(weighted.history, repeated.history, rtol=1e-5)
    np.testing.assert_allclose(weighted.means, repeated.means, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(weighted.covariances, repeated.covariances, rtol=1e-4)


# ---------------------------------------------------------------------------
# The lecture's identities: L(g) <= ln P(X), equality after the E-step.


@pytest.fixture(scope="module")
def log_joint(small):
    result = mixture.gaussian_mixture(small, 3, key=KEY, init="kmeans", tol=1e-4, max_iter=200)
    return result, np.asarray(mixture.log_component_prob(result.params, jnp.asarray(small)))


def test_lower_bound_equals_log_likelihood_after_the_e_step(log_joint):
    result, joint = log_joint
    resp, log_marginal = mixture.e_step(jnp.asarray(joint))
    ln_px = logsumexp(joint.astype(np.float64), axis=1)
    np.testing.assert_allclose(np.asarray(resp).sum(1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(log_marginal, ln_px, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(mixture.lower_bound(jnp.asarray(joint), resp), ln_px.sum(),
                               rtol=1e-5)
    np.testing.assert_allclose(ln_px.mean(), result.log_likelihood, rtol=1e-5)


_lower_bound = jax.jit(mixture.lower_bound)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), concentration=st.floats(0.05, 20.0),
       zero_fraction=st.floats(0.0, 0.6))
def test_gap_to_the_lower_bound_is_the_kl_to_the_posterior(log_joint, seed, concentration,
                                                           zero_fraction):
    _, joint = log_joint
    rng = np.random.default_rng(seed)
    n, k = joint.shape
    g = rng.dirichlet(np.full(k, concentration), size=n)
    g[rng.random((n, k)) < zero_fraction] = 0.0
    g[np.arange(n), rng.integers(0, k, n)] += 1e-3  # no empty row
    g /= g.sum(1, keepdims=True)
    joint64 = joint.astype(np.float64)
    log_posterior = joint64 - logsumexp(joint64, axis=1, keepdims=True)
    safe_g = np.where(g > 0, g, 1.0)
    kl = np.sum(np.where(g > 0, g * (np.log(safe_g) - log_posterior), 0.0))
    bound = float(_lower_bound(jnp.asarray(joint), jnp.asarray(g, jnp.float32)))
    gap = logsumexp(joint64, axis=1).sum() - bound
    assert kl >= 0
    np.testing.assert_allclose(gap, kl, rtol=1e-3, atol=1e-6 * np.abs(g * joint64).sum() + 1e-3)


# ---------------------------------------------------------------------------
# Bernoulli mixture.


@pytest.fixture(scope="module")
def binary_mnist():
    images, _ = data.load("mnist", "train")
    return np.asarray(data.binarize(data.flatten(data.to_unit_range(images[:200]))))


@pytest.fixture(scope="module")
def bernoulli_fit(binary_mnist):
    return mixture.bernoulli_mixture(binary_mnist, 4, key=KEY, tol=1e-4, max_iter=200)


def _brute_force_bernoulli(weights, means, x, alpha_clip=np.finfo(np.float32).eps):
    """ln sum_j w_j prod_a mu^x (1 - mu)^(1 - x), by the definition, in float64."""
    means = np.clip(np.asarray(means, np.float64), alpha_clip, 1 - alpha_clip)
    per_pixel = np.where(x[:, None, :] > 0.5, means[None], 1.0 - means[None])  # [n, k, d]
    return logsumexp(np.log(np.asarray(weights, np.float64)) + np.log(per_pixel).sum(2), axis=1)


def test_bernoulli_likelihood_is_monotone_and_equals_brute_force(binary_mnist, bernoulli_fit):
    result = bernoulli_fit
    n_iter = int(result.n_iter)
    assert bool(result.converged)
    _assert_monotone(result.history, n_iter, result.log_likelihood)
    reference = _brute_force_bernoulli(result.weights, result.means, binary_mnist)
    np.testing.assert_allclose(mixture.log_likelihood(result, binary_mnist), reference,
                               rtol=1e-5)
    np.testing.assert_allclose(result.log_likelihood, reference.mean(), rtol=1e-5)
    np.testing.assert_allclose(mixture.predict_proba(result, binary_mnist).sum(1), 1.0,
                               rtol=1e-5)
    n = binary_mnist.shape[0]
    np.testing.assert_allclose(mixture.bic(result, binary_mnist),
                               -2 * reference.sum() + (4 * 784 + 3) * np.log(n), rtol=1e-5)


def test_bernoulli_constant_pixels_are_smoothed_not_zero(binary_mnist, bernoulli_fit):
    result = bernoulli_fit
    off = np.flatnonzero(binary_mnist.sum(0) == 0)
    assert off.size > 100  # MNIST borders: the case the smoothing is for
    means = np.asarray(result.means)
    assert np.all(np.isfinite(means)) and np.all((means > 0) & (means < 1))
    # mu = alpha / (n_j + 2 alpha) for a pixel never on, with n_j = w_j n.
    counts = np.asarray(result.weights, np.float64) * binary_mnist.shape[0]
    np.testing.assert_allclose(means[:, off], np.broadcast_to(
        (0.01 / (counts + 0.02))[:, None], (4, off.size)), rtol=1e-3)


def test_bernoulli_m_step_is_the_smoothed_weighted_mean(binary_mnist):
    # Start from pixel probabilities of exactly 0 and 1 that the data contradict: the
    # clipped logarithms keep the likelihood finite, and one M-step smooths them away.
    rng = np.random.default_rng(0)
    start = rng.integers(0, 2, size=(4, binary_mnist.shape[1])).astype(np.float32)
    weights = np.array([0.1, 0.2, 0.3, 0.4], np.float32)
    result = mixture.bernoulli_mixture(binary_mnist, 4, key=KEY, max_iter=1, alpha=0.5,
                                       weights_init=weights, means_init=start)
    start_params = bernoulli.BernoulliMixtureParams(jnp.asarray(weights), jnp.asarray(start))
    assert np.isfinite(float(result.history[0]))
    np.testing.assert_allclose(result.history[0],
                               _brute_force_bernoulli(weights, start, binary_mnist).mean(),
                               rtol=1e-5)
    resp = np.asarray(mixture.predict_proba(start_params, binary_mnist), np.float64)
    nk = resp.sum(0)
    np.testing.assert_allclose(result.means, (resp.T @ binary_mnist + 0.5) / (nk + 1.0)[:, None],
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(result.weights, nk / nk.sum(), rtol=1e-4, atol=1e-6)


def test_bernoulli_sample_follows_the_mixture(bernoulli_fit):
    n = 4000
    points, labels = mixture.sample(bernoulli_fit, n, key=jax.random.key(2))
    points, labels = np.asarray(points), np.asarray(labels)
    assert set(np.unique(points)) <= {0.0, 1.0}
    np.testing.assert_allclose(np.bincount(labels, minlength=4) / n, bernoulli_fit.weights,
                               atol=0.03)
    j = int(np.argmax(bernoulli_fit.weights))
    members = points[labels == j]
    mu = np.asarray(bernoulli_fit.means[j])
    np.testing.assert_array_less(np.abs(members.mean(0) - mu),
                                 6 * np.sqrt(mu * (1 - mu) / len(members)) + 1e-3)


# ---------------------------------------------------------------------------
# The fitted-model API, written once in em.py for every family.


_m_step = jax.jit(gaussian.m_step, static_argnames="covariance_type")


@functools.cache
def _tiny_gaussian_params(covariance_type):
    """Parameters from one M-step on random responsibilities (no fit)."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=(20, 3)), rng.normal(size=(20, 3)) + 4.0]).astype(
        np.float32)
    resp = rng.dirichlet(np.ones(3), size=len(x)).astype(np.float32)
    params = _m_step(jnp.asarray(x), jnp.asarray(resp), jnp.ones(len(x)), reg_covar=1e-6,
                     covariance_type=covariance_type)
    return x, params


@functools.cache
def _tiny_bernoulli_params():
    rng = np.random.default_rng(0)
    x = (rng.random((40, 6)) < 0.3).astype(np.float32)
    params = bernoulli.BernoulliMixtureParams(jnp.asarray([0.2, 0.3, 0.5], jnp.float32),
                                              jnp.asarray(rng.uniform(0.1, 0.9, (3, 6)),
                                                          jnp.float32))
    return x, params


@pytest.mark.parametrize("covariance_type", mixture.COVARIANCE_TYPES)
def test_api_on_params_equals_sklearn_with_the_same_parameters(covariance_type):
    x, params = _tiny_gaussian_params(covariance_type)
    reference = _sklearn_with_params(params, x)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(mixture.log_likelihood(params, x), reference.score_samples(x64),
                               rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(mixture.predict_proba(params, x), reference.predict_proba(x64),
                               atol=1e-5)
    np.testing.assert_array_equal(mixture.predict(params, x), reference.predict(x64))
    assert mixture.n_parameters(params) == reference._n_parameters()
    np.testing.assert_allclose(mixture.bic(params, x), reference.bic(x64), rtol=1e-5)
    np.testing.assert_allclose(mixture.aic(params, x), reference.aic(x64), rtol=1e-5)


@pytest.mark.parametrize("family", ["gaussian", "bernoulli"])
def test_api_is_the_log_joint_through_logsumexp(family):
    x, params = _tiny_gaussian_params("diag") if family == "gaussian" else _tiny_bernoulli_params()
    joint = np.asarray(mixture.log_component_prob(params, jnp.asarray(x)), np.float64)
    ln_px = logsumexp(joint, axis=1)
    proba = np.asarray(mixture.predict_proba(params, x))
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(proba, np.exp(joint - ln_px[:, None]), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(mixture.log_likelihood(params, x), ln_px, rtol=1e-5)
    predicted = np.asarray(mixture.predict(params, x))
    assert predicted.dtype == np.int32
    np.testing.assert_array_equal(predicted, proba.argmax(1))
    n, k = joint.shape
    p = mixture.n_parameters(params)
    np.testing.assert_allclose(mixture.bic(params, x), -2 * ln_px.sum() + p * np.log(n), rtol=1e-5)
    np.testing.assert_allclose(mixture.aic(params, x), -2 * ln_px.sum() + 2 * p, rtol=1e-5)
    # Traced inside the caller's jit, the same numbers.
    np.testing.assert_allclose(jax.jit(mixture.log_likelihood)(params, jnp.asarray(x)), ln_px,
                               rtol=1e-5)


def test_bernoulli_parameter_count_and_aic(binary_mnist, bernoulli_fit):
    n, d = binary_mnist.shape
    assert mixture.n_parameters(bernoulli_fit) == 4 * d + 3
    total = np.sum(_brute_force_bernoulli(bernoulli_fit.weights, bernoulli_fit.means,
                                          binary_mnist))
    np.testing.assert_allclose(mixture.aic(bernoulli_fit, binary_mnist),
                               -2 * total + 2 * (4 * d + 3), rtol=1e-5)


@pytest.mark.parametrize("family", ["gaussian", "bernoulli"])
def test_sample_is_keyed_shaped_and_labelled(family):
    x, params = _tiny_gaussian_params("full") if family == "gaussian" else _tiny_bernoulli_params()
    points, labels = mixture.sample(params, 2000, key=jax.random.key(3))
    assert points.shape == (2000, x.shape[1]) and points.dtype == x.dtype
    assert labels.shape == (2000,) and labels.dtype == jnp.int32
    np.testing.assert_allclose(np.bincount(labels, minlength=3) / 2000, params.weights,
                               atol=0.04)
    again, _ = mixture.sample(params, 2000, key=jax.random.key(3))
    other, _ = mixture.sample(params, 2000, key=jax.random.key(4))
    np.testing.assert_array_equal(points, again)
    assert not np.array_equal(np.asarray(points), np.asarray(other))


def test_sampling_a_single_component_follows_it():
    # One component with all the weight: the draws are that component's distribution.
    x, params = _tiny_gaussian_params("full")
    params = dataclasses.replace(params, weights=jnp.asarray([0.0, 1.0, 0.0]))
    points, labels = mixture.sample(params, 2000, key=jax.random.key(5))
    assert set(np.unique(labels)) == {1}
    covariance = np.asarray(params.covariances[1], np.float64)
    np.testing.assert_allclose(np.asarray(points).mean(0), params.means[1],
                               atol=float(6 * np.sqrt(covariance.diagonal().max() / 2000)))
    np.testing.assert_allclose(np.cov(np.asarray(points, np.float64).T), covariance,
                               atol=0.15 * np.abs(covariance).max())


class _UnitGaussianParams(NamedTuple):
    weights: jax.Array
    means: jax.Array


def _unit_log_density(params, x):
    d = x.shape[1]
    sq = jnp.sum((x[:, None, :] - params.means[None]) ** 2, axis=2)
    return -0.5 * (sq + d * np.log(2 * np.pi))


def _unit_m_step(x, resp, sample_weight):
    resp = resp * sample_weight[:, None]
    nk = jnp.sum(resp, axis=0)
    return _UnitGaussianParams(nk / jnp.sum(nk), resp.T @ x / nk[:, None])


def _unit_sample(params, labels, *, key):
    return params.means[labels] + jax.random.normal(key, (labels.shape[0],
                                                          params.means.shape[1]))


_UNIT = mixture.em.register_family(mixture.Family(
    name="unit-variance Gaussian", params_type=_UnitGaussianParams,
    log_density=_unit_log_density, m_step=_unit_m_step,
    n_component_parameters=lambda params: params.means.size, sample=_unit_sample))


def test_a_new_family_gets_the_whole_api_from_em():
    # Identity covariances: the Gaussian family with covariances fixed to I must agree.
    x = np.concatenate([np.zeros((10, 2)), np.full((10, 2), 5.0)]).astype(np.float32)
    x += np.random.default_rng(0).normal(size=x.shape).astype(np.float32)
    start = _UnitGaussianParams(jnp.asarray([0.5, 0.5]), jnp.asarray([[1.0, 1.0], [4.0, 4.0]]))
    fit = jax.jit(lambda x, key: mixture.em.fit_restarts(
        _UNIT, lambda key, m_step: start, x, key=key, sample_weight=jnp.ones(x.shape[0]),
        tol=1e-6, max_iter=50, n_init=1))(jnp.asarray(x), KEY)
    assert bool(fit.converged)
    as_gaussian = gaussian.GaussianMixtureParams(fit.params.weights, fit.params.means,
                                                 jnp.ones((2, 2)), jnp.ones((2, 2)), "diag")
    np.testing.assert_allclose(mixture.log_likelihood(fit, x),
                               mixture.log_likelihood(as_gaussian, x), rtol=1e-5)
    np.testing.assert_array_equal(mixture.predict(fit, x), np.repeat([0, 1], 10))
    assert mixture.n_parameters(fit) == 2 * 2 + 1
    np.testing.assert_allclose(mixture.bic(fit, x) - mixture.bic(as_gaussian, x),
                               (5 - mixture.n_parameters(as_gaussian)) * np.log(20), rtol=1e-5)
    points, labels = mixture.sample(fit, 5, key=KEY)
    assert points.shape == (5, 2) and labels.shape == (5,)


def test_a_parameter_class_belongs_to_one_family():
    with pytest.raises(ValueError, match="already belongs to the unit-variance Gaussian family"):
        mixture.em.register_family(_UNIT._replace(name="another"))


# ---------------------------------------------------------------------------
# Degenerate data: finite, or a ValueError that says what to do.


def _duplicates():
    points = np.array([[0., 1., 2.], [3., 0., 1.], [1., 2., 0.], [2., 2., 2.]], np.float32)
    return np.repeat(points, 4, axis=0)


def test_duplicate_points_are_finite_with_reg_covar():
    result = mixture.gaussian_mixture(_duplicates(), 4, key=KEY)
    assert np.isfinite(float(result.log_likelihood))
    assert np.all(np.isfinite(np.asarray(result.precisions_cholesky)))
    assert not np.asarray(result.collapsed).any()
    np.testing.assert_allclose(result.weights, 0.25, rtol=1e-4)
    # Every component sits on one duplicated point with covariance reg_covar I.
    np.testing.assert_allclose(result.covariances, np.broadcast_to(1e-6 * np.eye(3), (4, 3, 3)),
                               rtol=1e-2, atol=1e-9)


def test_duplicate_points_without_reg_covar_raise_naming_the_component():
    with pytest.raises(ValueError, match=r"Component\(s\) \[.*\] .* collapsed.*reg_covar"):
        mixture.gaussian_mixture(_duplicates(), 4, key=KEY, reg_covar=0.0)


def test_constant_pixels_get_variance_reg_covar(parity_fits):
    x, ours, _ = parity_fits["diag"]
    constant = np.flatnonzero(np.ptp(x, axis=0) == 0)
    assert constant.size > 0  # corner pixels that are 0 in all 500 images
    np.testing.assert_allclose(np.asarray(ours.covariances)[:, constant], 1e-6, rtol=1e-3)
    assert np.isfinite(float(ours.log_likelihood))


def test_as_many_components_as_points_is_finite():
    x = np.random.default_rng(0).normal(size=(6, 2)).astype(np.float32)
    result = mixture.gaussian_mixture(x, 6, key=KEY)
    assert np.isfinite(float(result.log_likelihood))
    np.testing.assert_allclose(result.weights, 1 / 6, rtol=1e-4)
    assert sorted(np.asarray(mixture.predict(result, x)).tolist()) == list(range(6))


# ---------------------------------------------------------------------------
# Bad input.

_X = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)


def _with(x, value):
    x = x.copy()
    x[3, 1] = value
    return x


@pytest.mark.parametrize("call, message", [
    (lambda: mixture.gaussian_mixture(_X, 0, key=KEY), "k must be a positive integer"),
    (lambda: mixture.gaussian_mixture(_X, 21, key=KEY), "k must be <="),
    (lambda: mixture.gaussian_mixture(_with(_X, np.nan), 2, key=KEY), "NaN or Inf"),
    (lambda: mixture.gaussian_mixture(_with(_X, np.inf), 2, key=KEY), "NaN or Inf"),
    (lambda: mixture.gaussian_mixture(np.zeros((0, 3)), 2, key=KEY), "must not be empty"),
    (lambda: mixture.gaussian_mixture(_X, 2, key=KEY, means_init=np.zeros((3, 3))),
     "means_init must have shape"),
    (lambda: mixture.gaussian_mixture(_X, 2, key=KEY, weights_init=np.ones(3) / 3),
     "weights_init must have shape"),
    (lambda: mixture.gaussian_mixture(_X, 2, key=KEY, weights_init=[0.7, 0.7]), "sum to 1"),
    (lambda: mixture.gaussian_mixture(_X, 2, key=KEY, precisions_init=np.ones((2, 3))),
     "precisions_init .* must have shape"),
    (lambda: mixture.gaussian_mixture(_X, 2, key=KEY, covariance_type="diag",
                                      precisions_init=np.ones((2, 3, 3))),
     "precisions_init .* must have shape"),
    (lambda: mixture.gaussian_mixture(_X, 2, key=KEY, precisions_init=-np.stack([np.eye(3)] * 2)),
     "positive-definite"),
    (lambda: mixture.gaussian_mixture(_X, 2, key=KEY, covariance_type="banana"),
     "Unknown covariance_type"),
    (lambda: mixture.gaussian_mixture(_X, 2, key=KEY, init="banana"), "Unknown init"),
    (lambda: mixture.gaussian_mixture(_X, 2, key=KEY, tol=-1.0), "tol must be >= 0"),
    (lambda: mixture.gaussian_mixture(_X, 2, key=KEY, reg_covar=-1e-6), "reg_covar must be >= 0"),
    (lambda: mixture.gaussian_mixture(_X, 2, key=KEY, sample_weight=-np.ones(20)),
     "non-negative"),
    (lambda: mixture.gaussian_mixture(_X, 3, key=KEY, sample_weight=np.eye(20)[0] + np.eye(20)[1]),
     "positive sample_weight"),
    (lambda: mixture.bernoulli_mixture(np.abs(_X), 2, key=KEY), r"\[0, 1\]"),
    (lambda: mixture.bernoulli_mixture((_X > 0) * 1.0, 0, key=KEY), "k must be"),
    (lambda: mixture.bernoulli_mixture((_X > 0) * 1.0, 2, key=KEY, alpha=0.0), "alpha must be"),
    (lambda: mixture.bernoulli_mixture((_X > 0) * 1.0, 2, key=KEY, init="kmeans++"),
     "Unknown init"),
    (lambda: mixture.bernoulli_mixture((_X > 0) * 1.0, 2, key=KEY, means_init=np.ones((2, 4))),
     "means_init must have shape"),
    (lambda: mixture.bernoulli_mixture((_X > 0) * 1.0, 2, key=KEY, tol=-1.0), "tol must be"),
    (lambda: mixture.log_likelihood("not a model", _X), "Expected a fitted"),
    (lambda: mixture.predict(_tiny_gaussian_params("diag")[1], _X[:, :2]),
     "2 features but 3 were expected"),
    (lambda: mixture.bic(_tiny_bernoulli_params()[1], np.full((4, 6), 2.0)), r"\[0, 1\]"),
    (lambda: mixture.sample(_tiny_bernoulli_params()[1], 0, key=KEY), "n must be a positive"),
    (lambda: mixture.sample(_tiny_bernoulli_params()[1], 3, key=0), r"jax\.random\.key\(0\)"),
])
def test_bad_input_is_rejected_with_the_reason(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_gaussian_mixture_with_nan_data_raises_eagerly_and_is_nan_under_jit_and_vmap(
        covariance_type):
    x = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    bad = x.copy()
    bad[3, 1] = np.nan
    fit = lambda a: mixture.gaussian_mixture(a, 2, key=jax.random.key(0),
                                             covariance_type=covariance_type)
    with pytest.raises(ValueError, match="NaN"):
        fit(bad)
    assert np.isnan(jax.jit(fit)(bad).log_likelihood)
    batched = jax.vmap(fit)(np.stack([x, bad]))
    assert np.isfinite(batched.log_likelihood[0]) and np.isnan(batched.log_likelihood[1])
