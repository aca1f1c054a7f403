"""Tests for jaxselforg.criteria: internal criteria against numpy/scipy loops and
scikit-learn, external scores against sklearn.metrics and brute-force enumeration."""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.spatial.distance as ssd
import sklearn.cluster
import sklearn.metrics
import sklearn.metrics.cluster
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxselforg import criteria, data

# (our metric name, scipy pair function, scipy cdist/pdist name, extra kwargs)
METRICS = [
    ("euclidean", ssd.euclidean, "euclidean", {}),
    ("manhattan", ssd.cityblock, "cityblock", {}),
    ("chebyshev", ssd.chebyshev, "chebyshev", {}),
    ("minkowski", functools.partial(ssd.minkowski, p=3), "minkowski", {"p": 3.0}),
]
METRIC_IDS = [m[0] for m in METRICS]


@pytest.fixture(scope="module")
def fashion():
    """2000 Fashion-MNIST training rows scaled to [0, 1] (float64) and their labels."""
    images, labels = data.load("fashion_mnist", "train")
    x = images[:2000].reshape(2000, -1).astype(np.float64) / 255.0
    return x, np.asarray(labels[:2000])


def _scores(labels_true, labels_pred):
    return (float(criteria.adjusted_rand_index(labels_true, labels_pred)),
            float(criteria.normalized_mutual_info(labels_true, labels_pred)))


def _sklearn_scores(labels_true, labels_pred):
    return (sklearn.metrics.adjusted_rand_score(labels_true, labels_pred),
            sklearn.metrics.normalized_mutual_info_score(labels_true, labels_pred))


def _assert_matches_sklearn(labels_true, labels_pred):
    ari, nmi = _scores(labels_true, labels_pred)
    ari_ref, nmi_ref = _sklearn_scores(labels_true, labels_pred)
    np.testing.assert_allclose(ari, ari_ref, atol=1e-5, err_msg="ARI")
    np.testing.assert_allclose(nmi, nmi_ref, atol=1e-5, err_msg="NMI")
    return ari, nmi


# ---------------------------------------------------------------------------
# ARI and NMI against scikit-learn.


# Eager JAX compiles every operation once per shape, so the labelings below share one
# length N and mostly 10 x 10 contingency tables.
N = 300


@pytest.mark.parametrize("seed, n_true, n_pred", [
    (0, 3, 7), (1, 10, 10), (2, 10, 10), (3, 10, 4), (4, 3, 7),
])
def test_ari_nmi_random_labelings_match_sklearn(seed, n_true, n_pred):
    rng = np.random.default_rng(seed)
    labels_true = rng.integers(0, n_true, N)
    labels_pred = rng.integers(0, n_pred, N)
    ari, nmi = _assert_matches_sklearn(labels_true, labels_pred)
    assert abs(ari) < 0.05 and nmi < 0.1  # independent labelings


def test_ari_nmi_correlated_labelings_match_sklearn():
    # Random labelings score near 0; a noisy copy gives values well inside (0, 1).
    rng = np.random.default_rng(5)
    labels_true = rng.integers(0, 10, N)
    labels_pred = np.where(rng.random(N) < 0.7, labels_true, rng.integers(0, 10, N))
    ari, nmi = _assert_matches_sklearn(labels_true, labels_pred)
    assert 0.2 < ari < 0.9 and 0.2 < nmi < 0.9


def test_ari_nmi_non_contiguous_label_values_match_sklearn():
    rng = np.random.default_rng(6)
    labels_true = rng.choice([0, 3, 7], N)
    labels_pred = np.where(rng.random(N) < 0.5, labels_true + 2, rng.choice([1, 4, 5, 9], N))
    ari, nmi = _assert_matches_sklearn(labels_true, labels_pred)
    assert 0.1 < ari < 0.9 and 0.1 < nmi < 0.9


def test_ari_nmi_identical_and_permuted_partitions_score_one():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 10, N)
    permuted = rng.permutation(10)[labels]
    for other in (labels, permuted, permuted + 2):
        ari, nmi = _assert_matches_sklearn(labels, other)
        np.testing.assert_allclose([ari, nmi], [1.0, 1.0], atol=1e-6)


def test_ari_nmi_single_cluster_prediction_vs_many_classes():
    ari, nmi = _assert_matches_sklearn(np.arange(N) % 10, np.zeros(N, int))
    assert ari == pytest.approx(0.0, abs=1e-6) and nmi == pytest.approx(0.0, abs=1e-6)


def test_ari_nmi_both_single_cluster_score_one():
    ari, nmi = _assert_matches_sklearn(np.zeros(N, int), np.full(N, 4))
    assert ari == 1.0 and nmi == 1.0


def test_ari_nmi_all_singletons():
    singletons = np.arange(N)
    ari, nmi = _assert_matches_sklearn(singletons, singletons[::-1].copy())
    assert ari == pytest.approx(1.0) and nmi == pytest.approx(1.0)
    ari, nmi = _assert_matches_sklearn(np.arange(N) % 10, singletons)
    assert ari == pytest.approx(0.0, abs=1e-6) and 0.3 < nmi < 0.7


def test_ari_nmi_kmeans_on_fashion_mnist_match_sklearn(fashion):
    x, labels_true = fashion
    labels_pred = sklearn.cluster.KMeans(n_clusters=10, n_init=1, random_state=0).fit_predict(x)
    ari, nmi = _assert_matches_sklearn(labels_true, labels_pred)
    # k-means on Fashion-MNIST is far from random and far from perfect.
    assert 0.2 < ari < 0.8 and 0.3 < nmi < 0.8


@jax.jit
def _scores_six_by_six(labels_true, labels_pred):
    # Static sizes 6 x 6 whatever labels occur: absent labels give empty rows/columns.
    return (criteria.adjusted_rand_index(labels_true, labels_pred, 6, 6),
            criteria.normalized_mutual_info(labels_true, labels_pred, 6, 6))


@settings(max_examples=30, deadline=None)
# A few lengths only: every new length is a new compilation.
@given(st.sampled_from([1, 2, 7, 30]).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 5), min_size=n, max_size=n),
    st.lists(st.integers(0, 5), min_size=n, max_size=n))))
def test_ari_nmi_property_matches_sklearn(pair):
    labels_true, labels_pred = (np.asarray(v, np.int32) for v in pair)
    ari, nmi = _scores_six_by_six(labels_true, labels_pred)
    ari_ref, nmi_ref = _sklearn_scores(labels_true, labels_pred)
    np.testing.assert_allclose(float(ari), ari_ref, atol=1e-5, err_msg="ARI")
    np.testing.assert_allclose(float(nmi), nmi_ref, atol=1e-5, err_msg="NMI")


# ---------------------------------------------------------------------------
# Clustering accuracy against brute-force enumeration.


def _brute_force_accuracy(labels_true, labels_pred):
    """Best one-to-one map of clusters to classes by enumerating all permutations."""
    size = max(labels_true.max(), labels_pred.max()) + 1
    # Cluster j -> class perm[j]; clusters mapped to a class index that does not
    # occur never match, so they count as wrong.
    return max(np.mean(np.asarray(perm)[labels_pred] == labels_true)
               for perm in itertools.permutations(range(size)))


@pytest.mark.parametrize("seed, n_true, n_pred", [
    (0, 2, 2), (1, 3, 3), (2, 4, 4), (3, 5, 5), (4, 3, 5), (5, 5, 2), (6, 4, 1),
])
def test_clustering_accuracy_equals_brute_force(seed, n_true, n_pred):
    rng = np.random.default_rng(seed)
    labels_true = rng.integers(0, n_true, N)
    # Correlated with the truth so that the best permutation is not trivial.
    labels_pred = np.where(rng.random(N) < 0.5, (labels_true + 1) % n_pred,
                           rng.integers(0, n_pred, N))
    acc = criteria.clustering_accuracy(labels_true, labels_pred)
    assert isinstance(acc, float)
    assert acc == pytest.approx(_brute_force_accuracy(labels_true, labels_pred), abs=1e-6)


def test_clustering_accuracy_permuted_identical_is_one():
    labels = np.random.default_rng(8).integers(0, 5, N)
    assert criteria.clustering_accuracy(labels, np.array([2, 4, 0, 1, 3])[labels]) == 1.0


def test_clustering_accuracy_more_clusters_than_classes():
    # Two classes split into four clusters: only two clusters can be matched.
    labels_true = np.array([0] * 6 + [1] * 6)
    labels_pred = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 3])
    assert criteria.clustering_accuracy(labels_true, labels_pred) == pytest.approx(7 / 12)
    # All singletons: one point per matched cluster.
    assert criteria.clustering_accuracy(labels_true, np.arange(12)) == pytest.approx(2 / 12)


def test_clustering_accuracy_fewer_clusters_than_classes():
    labels_true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    labels_pred = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0])
    # Cluster 1 -> class 0 (3 points), cluster 0 -> class 2 (4 points); class 1 unmatched.
    assert criteria.clustering_accuracy(labels_true, labels_pred) == pytest.approx(7 / 9)
    assert criteria.clustering_accuracy(labels_true, np.zeros(9, int)) == pytest.approx(4 / 9)


# ---------------------------------------------------------------------------
# Contingency matrix and jit.


def test_contingency_matrix_matches_sklearn():
    rng = np.random.default_rng(9)
    labels_true = rng.integers(0, 10, N)
    labels_pred = rng.integers(0, 7, N)
    ours = criteria.contingency_matrix(labels_true, labels_pred)
    assert ours.shape == (10, 7)
    np.testing.assert_array_equal(
        np.asarray(ours), sklearn.metrics.cluster.contingency_matrix(labels_true, labels_pred))


def test_contingency_matrix_explicit_sizes_pad_with_zeros():
    ours = criteria.contingency_matrix(np.array([0, 1, 1]), np.array([1, 1, 0]), 3, 4)
    expected = np.zeros((3, 4))
    expected[0, 1] = expected[1, 1] = expected[1, 0] = 1
    np.testing.assert_array_equal(np.asarray(ours), expected)


@pytest.mark.parametrize("score", [criteria.adjusted_rand_index, criteria.normalized_mutual_info])
def test_scores_under_jit_equal_eager_and_sklearn(score):
    rng = np.random.default_rng(10)
    labels_true = rng.integers(0, 10, N)
    labels_pred = np.where(rng.random(N) < 0.6, labels_true, rng.integers(0, 10, N))
    jitted = functools.partial(jax.jit, static_argnums=(2, 3))(score)
    traced = jitted(jnp.asarray(labels_true), jnp.asarray(labels_pred), 10, 10)
    eager = score(labels_true, labels_pred)
    np.testing.assert_allclose(float(traced), float(eager), atol=1e-6)
    reference = {criteria.adjusted_rand_index: sklearn.metrics.adjusted_rand_score,
                 criteria.normalized_mutual_info: sklearn.metrics.normalized_mutual_info_score}
    np.testing.assert_allclose(float(traced), reference[score](labels_true, labels_pred),
                               atol=1e-5)


def test_contingency_matrix_rejects_labels_beyond_declared_sizes():
    # Label 2 with n_pred=2 would otherwise land in cell (1, 0) (flat index 0 * 2 + 2).
    with pytest.raises(ValueError, match="labels_pred"):
        criteria.contingency_matrix(np.array([0, 0, 1]), np.array([0, 2, 1]), 2, 2)
    with pytest.raises(ValueError, match="labels_true"):
        criteria.adjusted_rand_index(np.array([0, 3, 1]), np.array([0, 1, 1]), 2, 2)


def test_contingency_matrix_under_jit_equals_eager():
    rng = np.random.default_rng(11)
    labels_true, labels_pred = rng.integers(0, 3, 40), rng.integers(0, 4, 40)
    jitted = jax.jit(criteria.contingency_matrix, static_argnums=(2, 3))
    np.testing.assert_array_equal(
        np.asarray(jitted(jnp.asarray(labels_true), jnp.asarray(labels_pred), 3, 4)),
        np.asarray(criteria.contingency_matrix(labels_true, labels_pred)))


# ---------------------------------------------------------------------------
# Internal criteria against numpy/scipy loops.


@pytest.fixture(scope="module")
def blobs():
    """60 points in 5-d around 4 prototypes, labels covering every prototype."""
    rng = np.random.default_rng(12)
    prototypes = rng.normal(size=(4, 5)) * 3
    labels = np.concatenate([np.arange(4), rng.integers(0, 4, 56)])
    x = prototypes[labels] + rng.normal(size=(60, 5))
    return x.astype(np.float32), prototypes.astype(np.float32), labels


def _compactness_reference(x, prototypes, labels, pair):
    total = 0.0
    for k in range(len(prototypes)):
        members = [np.float64(x[i]) for i in range(len(x)) if labels[i] == k]
        if members:  # an empty cluster adds nothing
            total += sum(pair(m, np.float64(prototypes[k])) for m in members) / len(members)
    return total


@pytest.mark.parametrize("metric, pair, _, kwargs", METRICS, ids=METRIC_IDS)
def test_compactness_with_labels_matches_loop(blobs, metric, pair, _, kwargs):
    x, prototypes, _labels = blobs
    # Deliberately not the nearest prototype for some rows.
    labels = np.random.default_rng(13).integers(0, 4, len(x))
    ours = criteria.compactness(x, prototypes, labels, metric, **kwargs)
    np.testing.assert_allclose(float(ours), _compactness_reference(x, prototypes, labels, pair),
                               rtol=1e-5)


@pytest.mark.parametrize("metric, pair, scipy_name, kwargs", METRICS, ids=METRIC_IDS)
def test_compactness_nearest_prototype_matches_loop(blobs, metric, pair, scipy_name, kwargs):
    x, prototypes, _ = blobs
    nearest = np.argmin(ssd.cdist(np.float64(x), np.float64(prototypes), scipy_name, **kwargs), 1)
    ours = criteria.compactness(x, prototypes, None, metric, **kwargs)
    np.testing.assert_allclose(float(ours), _compactness_reference(x, prototypes, nearest, pair),
                               rtol=1e-5)
    # With the nearest assignment given explicitly the value is the same.
    explicit = criteria.compactness(x, prototypes, nearest, metric, **kwargs)
    np.testing.assert_allclose(float(explicit), float(ours), rtol=1e-6)


def test_compactness_empty_cluster_contributes_zero(blobs):
    x, prototypes, labels = blobs
    far = np.concatenate([prototypes, np.full((1, 5), 1e3, np.float32)])  # never nearest
    for given_labels in (labels, None):
        with_empty = criteria.compactness(x, far, given_labels)
        assert np.isfinite(float(with_empty))
        np.testing.assert_allclose(float(with_empty),
                                   float(criteria.compactness(x, prototypes, given_labels)),
                                   rtol=1e-6)
    np.testing.assert_allclose(float(criteria.compactness(x, far, labels)),
                               _compactness_reference(x, far, labels, ssd.euclidean), rtol=1e-5)


@pytest.mark.parametrize("metric, _, scipy_name, kwargs", METRICS, ids=METRIC_IDS)
def test_separation_matches_pdist_sum(metric, _, scipy_name, kwargs):
    prototypes = np.random.default_rng(14).normal(size=(6, 4)).astype(np.float32)
    expected = ssd.pdist(np.float64(prototypes), scipy_name, **kwargs).sum()
    np.testing.assert_allclose(float(criteria.separation(prototypes, metric, **kwargs)), expected,
                               rtol=1e-5)


def test_separation_counts_each_pair_once():
    prototypes = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert float(criteria.separation(prototypes)) == pytest.approx(5.0)
    assert float(criteria.separation(prototypes, "manhattan")) == pytest.approx(7.0)


def test_inertia_matches_sklearn_kmeans_on_fashion_mnist(fashion):
    x = fashion[0][:1000]
    km = sklearn.cluster.KMeans(n_clusters=8, n_init=1, random_state=0).fit(x)
    x32, centers32 = x.astype(np.float32), km.cluster_centers_.astype(np.float32)
    np.testing.assert_allclose(float(criteria.inertia(x32, centers32)), km.inertia_, rtol=1e-4)
    np.testing.assert_allclose(float(criteria.inertia(x32, centers32, km.labels_)), km.inertia_,
                               rtol=1e-4)
    # Assigning every row to centre 0 is worse than the fitted assignment.
    assert float(criteria.inertia(x32, centers32, np.zeros(1000, int))) > km.inertia_ * 1.1


@pytest.mark.parametrize("metric, scipy_name", [("euclidean", "euclidean"),
                                                ("manhattan", "cityblock")])
def test_quantization_error_matches_cdist(blobs, metric, scipy_name):
    x, prototypes, _ = blobs
    expected = ssd.cdist(np.float64(x), np.float64(prototypes), scipy_name).min(axis=1).mean()
    np.testing.assert_allclose(float(criteria.quantization_error(x, prototypes, metric)),
                               expected, rtol=1e-5)


def test_quantization_error_on_fashion_mnist(fashion):
    x = fashion[0][:500].astype(np.float32)
    prototypes = fashion[0][1000:1016].astype(np.float32)
    expected = ssd.cdist(np.float64(x), np.float64(prototypes)).min(axis=1).mean()
    np.testing.assert_allclose(float(criteria.quantization_error(x, prototypes)), expected,
                               rtol=1e-5)


def test_quantization_error_is_one_function_for_prototypes_and_maps(blobs):
    from jaxselforg import som

    x, prototypes, _ = blobs
    assert som.quantization_error is criteria.quantization_error  # data first, both names
    weights = np.concatenate([prototypes, prototypes[::-1] + 1.0]).reshape(2, 4, 5)  # a map
    reference = ssd.cdist(np.float64(x), np.float64(weights.reshape(8, 5)))
    np.testing.assert_allclose(float(criteria.quantization_error(x, weights)),
                               reference.min(1).mean(), rtol=1e-5)
    # Sample weights: a weighted mean; weight 0 drops a row (sharding's padding).
    sample_weight = np.random.default_rng(3).uniform(0.0, 2.0, len(x)).astype(np.float32)
    sample_weight[:10] = 0.0
    np.testing.assert_allclose(
        float(criteria.quantization_error(x, weights, sample_weight=sample_weight)),
        np.average(reference.min(1), weights=sample_weight), rtol=1e-5)
    np.testing.assert_allclose(
        float(criteria.quantization_error(x, weights, sample_weight=sample_weight)),
        float(criteria.quantization_error(x[10:], weights, sample_weight=sample_weight[10:])),
        rtol=1e-6)
    for bad, message in [(np.zeros(5), "rows, cols, d"), (np.zeros((1, 2, 4, 5)), "rows, cols, d"),
                         (weights[..., :4], "features")]:
        with pytest.raises(ValueError, match=None) as err:
            criteria.quantization_error(x, bad)
        assert message in str(err.value), str(err.value)
    with pytest.raises(ValueError, match="positive sum"):
        criteria.quantization_error(x, weights, sample_weight=np.zeros(len(x)))


def test_internal_criteria_under_jit_equal_eager(blobs):
    x, prototypes, labels = blobs
    cases = [
        (lambda a, b, lab: criteria.compactness(a, b, lab, "manhattan"), (x, prototypes, labels)),
        (lambda a, b: criteria.compactness(a, b, None, "chebyshev"), (x, prototypes)),
        (lambda b: criteria.separation(b, "chebyshev"), (prototypes,)),
        (criteria.inertia, (x, prototypes, labels)),
        (criteria.quantization_error, (x, prototypes)),
    ]
    for fn, args in cases:
        np.testing.assert_allclose(float(jax.jit(fn)(*args)), float(fn(*args)), rtol=1e-6)


def test_minkowski_criteria_under_jit_equal_eager(blobs):
    x, prototypes, labels = blobs
    cases = [
        (lambda b: criteria.separation(b, "minkowski", p=3.0), (prototypes,)),
        (lambda a, b: criteria.compactness(a, b, None, "minkowski", p=3.0), (x, prototypes)),
        (lambda a, b: criteria.quantization_error(a, b, "minkowski", p=3.0), (x, prototypes)),
    ]
    for fn, args in cases:
        np.testing.assert_allclose(float(jax.jit(fn)(*args)), float(fn(*args)), rtol=1e-6)


# ---------------------------------------------------------------------------
# Bad input.


def test_bad_labels_raise_value_error(blobs):
    x, prototypes, labels = blobs
    with pytest.raises(ValueError, match="must have 60 entries"):
        criteria.compactness(x, prototypes, labels[:-1])
    with pytest.raises(ValueError, match="only 4 prototypes"):
        criteria.compactness(x, prototypes, np.where(labels == 0, 4, labels))
    with pytest.raises(ValueError, match="non-negative"):
        criteria.inertia(x, prototypes, np.where(labels == 0, -1, labels))
    with pytest.raises(ValueError, match="integer labels"):
        criteria.compactness(x, prototypes, labels + 0.5)
    with pytest.raises(ValueError, match="labels_pred must have 5 entries"):
        criteria.adjusted_rand_index(np.zeros(5, int), np.zeros(4, int))
    with pytest.raises(ValueError, match="non-negative"):
        criteria.normalized_mutual_info(np.array([0, 1, -1]), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="non-negative"):
        criteria.clustering_accuracy(np.array([0, 1, 1]), np.array([0, -2, 1]))


def test_nan_in_data_raises_value_error(blobs):
    x, prototypes, labels = blobs
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="x contains 1 NaN"):
        criteria.compactness(bad, prototypes, labels)
    with pytest.raises(ValueError, match="NaN or Inf"):
        criteria.quantization_error(bad, prototypes)
    bad_prototypes = prototypes.copy()
    bad_prototypes[0, 0] = np.inf
    with pytest.raises(ValueError, match="prototypes contains 1 NaN or Inf"):
        criteria.inertia(x, bad_prototypes)
    with pytest.raises(ValueError, match="prototypes contains"):
        criteria.separation(bad_prototypes)


def test_feature_mismatch_raises_value_error(blobs):
    x, prototypes, labels = blobs
    with pytest.raises(ValueError, match="prototypes has 4 features but 5 were expected"):
        criteria.compactness(x, prototypes[:, :4], labels)
    with pytest.raises(ValueError, match="4 features but 5"):
        criteria.quantization_error(x, prototypes[:, :4])


def test_unknown_metric_raises_value_error(blobs):
    x, prototypes, labels = blobs
    with pytest.raises(ValueError, match="Unknown metric 'hamming'"):
        criteria.compactness(x, prototypes, labels, "hamming")
    with pytest.raises(ValueError, match="Unknown metric 'hamming'.*euclidean"):
        criteria.compactness(x, prototypes, None, "hamming")
    with pytest.raises(ValueError, match="Unknown metric"):
        criteria.separation(prototypes, "hamming")
    with pytest.raises(ValueError, match="Unknown metric"):
        criteria.quantization_error(x, prototypes, "hamming")


def test_match_clusters_inverts_a_permutation_and_marks_extra_clusters():
    true = np.array([0, 0, 1, 1, 2, 2, 2])
    pred = np.array([2, 2, 0, 0, 1, 1, 3])  # cluster 3 holds one point of class 2
    np.testing.assert_array_equal(criteria.match_clusters(true, pred), [1, 2, 0, -1])
    assert criteria.clustering_accuracy(true, pred) == 6 / 7
