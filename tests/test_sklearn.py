"""The scikit-learn estimators: scikit-learn's own checks, and equality with the functional API."""

import importlib
import pickle
import subprocess
import sys

import jax
import numpy as np
import pytest
import scipy.sparse
import sklearn.cluster
import sklearn.mixture
import sklearn.neural_network
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from jaxselforg import cluster, data, mixture, rbm, som
from jaxselforg import sklearn as jsk
from jaxselforg.som import training as som_training

# The modules (not the functions that the packages re-export under the same name).
kmeans_module = importlib.import_module("jaxselforg.cluster.kmeans")

SEED = 0
KEY = jax.random.key(SEED)

# Small settings keep the battery affordable: every distinct shape compiles once.
ESTIMATORS = [
    jsk.KMeans(3, max_iter=20),
    jsk.GaussianMixture(2, max_iter=20),
    jsk.BernoulliMixture(2, max_iter=20),
    jsk.SelfOrganizingMap((3, 3), epochs=3),
    jsk.BernoulliRBM(8, n_iter=2),
]


def _expected_failed_checks(estimator):
    if isinstance(estimator, jsk.BernoulliRBM):
        # As scikit-learn's own BernoulliRBM: score_samples flips one random bit per
        # row (the stochastic pseudo-likelihood), so a row's score depends on its
        # position in the batch.
        reason = "score_samples draws one random bit per row, as scikit-learn's BernoulliRBM"
        return {
            "check_methods_subset_invariance": reason,
            "check_methods_sample_order_invariance": reason,
        }
    if isinstance(estimator, jsk.KMeans):
        # As scikit-learn's own KMeans (its PER_ESTIMATOR_XFAIL_CHECKS): the k-means++
        # draws differ between weighted and repeated rows. From a given start they are
        # the same fit: test_kmeans_sample_weight_is_repeated_rows_and_sklearns.
        return {"check_sample_weight_equivalence_on_dense_data":
                "sample_weight is not equivalent to removing/repeating samples."}
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 4)) * 4
    return (centres[rng.integers(0, 3, 120)] + rng.normal(size=(120, 4))).astype(np.float32)


@pytest.fixture(scope="module")
def pixels():
    images, _ = data.load("fashion_mnist", "train")
    return np.asarray(data.flatten(data.to_unit_range(images[:200])))


# --------------------------------------------------------------------------------------
# The estimators are the functional API


def test_kmeans_equals_the_functional_api_and_sklearn_from_the_same_start(blobs):
    estimator = jsk.KMeans(3, init="random-partition", n_init=2, random_state=SEED).fit(blobs)
    ours = cluster.kmeans(blobs, 3, key=KEY, init="random-partition", n_init=2)
    np.testing.assert_array_equal(estimator.cluster_centers_, ours.centers)
    np.testing.assert_array_equal(estimator.labels_, ours.labels)
    assert estimator.inertia_ == float(ours.inertia) and estimator.n_iter_ == int(ours.n_iter)
    np.testing.assert_array_equal(estimator.predict(blobs), estimator.labels_)
    np.testing.assert_array_equal(estimator.transform(blobs).argmin(1), estimator.labels_)
    np.testing.assert_allclose(estimator.score(blobs), -estimator.inertia_, rtol=1e-5)

    start = blobs[:3]
    ours = jsk.KMeans(3, init=start, tol=0.0).fit(blobs)
    reference = sklearn.cluster.KMeans(3, init=start, n_init=1, tol=0.0).fit(blobs)
    np.testing.assert_array_equal(ours.labels_, reference.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, reference.cluster_centers_, atol=1e-4)
    np.testing.assert_allclose(ours.inertia_, reference.inertia_, rtol=1e-4)


def test_kmeans_sample_weight_is_repeated_rows_and_sklearns(blobs):
    counts = np.random.default_rng(3).integers(0, 4, size=len(blobs))
    start = blobs[counts > 0][:3]
    weighted = jsk.KMeans(3, init=start, tol=0.0).fit(blobs, sample_weight=counts)
    repeated = jsk.KMeans(3, init=start, tol=0.0).fit(np.repeat(blobs, counts, axis=0))
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(weighted.inertia_, repeated.inertia_, rtol=1e-4)
    reference = sklearn.cluster.KMeans(3, init=start, n_init=1, tol=0.0).fit(
        blobs, sample_weight=counts)
    np.testing.assert_allclose(weighted.cluster_centers_, reference.cluster_centers_, atol=1e-4)
    np.testing.assert_allclose(weighted.inertia_, reference.inertia_, rtol=1e-4)
    np.testing.assert_allclose(weighted.score(blobs, sample_weight=counts), -weighted.inertia_,
                               rtol=1e-5)
    np.testing.assert_allclose(weighted.score(blobs, sample_weight=2.0),
                               2 * weighted.score(blobs), rtol=1e-5)
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        jsk.KMeans(3).fit(blobs, sample_weight=-np.ones(len(blobs)))


def test_kmeans_algorithm_reaches_the_bounded_fit_with_lloyds_result(blobs):
    start = blobs[:3]
    lloyd = jsk.KMeans(3, init=start, tol=0.0, algorithm="lloyd").fit(blobs)
    elkan = jsk.KMeans(3, init=start, tol=0.0, algorithm="elkan").fit(blobs)
    np.testing.assert_array_equal(elkan.labels_, lloyd.labels_)
    np.testing.assert_array_equal(elkan.cluster_centers_, lloyd.cluster_centers_)
    assert elkan.n_iter_ == lloyd.n_iter_
    with pytest.raises(ValueError, match="triangle inequality"):
        jsk.KMeans(3, metric="manhattan", algorithm="hamerly").fit(blobs)


def test_kmeans_does_not_recompile_on_a_second_fit(blobs):
    jsk.KMeans(3, random_state=1).fit(blobs)
    size = kmeans_module._fit._cache_size()
    jsk.KMeans(3, tol=1e-2, random_state=2).fit(blobs)
    assert kmeans_module._fit._cache_size() == size


def test_gaussian_mixture_equals_the_functional_api_and_sklearn_from_the_same_start(blobs):
    estimator = jsk.GaussianMixture(3, covariance_type="diag", random_state=SEED).fit(blobs)
    ours = mixture.gaussian_mixture(blobs, 3, key=KEY, covariance_type="diag")
    np.testing.assert_array_equal(estimator.means_, ours.means)
    np.testing.assert_array_equal(estimator.covariances_, ours.covariances)
    assert estimator.lower_bound_ == float(ours.lower_bound)
    np.testing.assert_allclose(estimator.score(blobs), float(ours.log_likelihood), rtol=1e-5)

    init = {
        "weights_init": np.full(3, 1 / 3),
        "means_init": blobs[:3].astype(np.float64),
        "precisions_init": np.stack([np.eye(4)] * 3),
    }
    ours = jsk.GaussianMixture(3, **init).fit(blobs)
    reference = sklearn.mixture.GaussianMixture(3, **init).fit(blobs.astype(np.float64))
    assert ours.means_.shape == reference.means_.shape == (3, 4)
    assert ours.covariances_.shape == reference.covariances_.shape == (3, 4, 4)
    np.testing.assert_allclose(ours.weights_, reference.weights_, atol=1e-4)
    np.testing.assert_allclose(ours.means_, reference.means_, atol=1e-3)
    np.testing.assert_allclose(ours.covariances_, reference.covariances_, atol=1e-3)
    np.testing.assert_allclose(ours.precisions_, reference.precisions_, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(ours.score_samples(blobs), reference.score_samples(blobs), rtol=1e-4)
    np.testing.assert_allclose(ours.bic(blobs), reference.bic(blobs), rtol=1e-4)
    np.testing.assert_allclose(ours.aic(blobs), reference.aic(blobs), rtol=1e-4)
    np.testing.assert_array_equal(ours.predict(blobs), reference.predict(blobs))
    assert ours.converged_ == reference.converged_ and ours.n_iter_ == reference.n_iter_
    x, labels = ours.sample(50)
    assert x.shape == (50, 4) and labels.shape == (50,) and set(labels) <= {0, 1, 2}


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_gaussian_mixture_precisions_invert_the_covariances(blobs, covariance_type):
    fitted = jsk.GaussianMixture(2, covariance_type=covariance_type, random_state=SEED).fit(blobs)
    reference = sklearn.mixture.GaussianMixture(2, covariance_type=covariance_type)
    reference.fit(blobs.astype(np.float64))
    assert fitted.precisions_.shape == reference.precisions_.shape
    if covariance_type in ("full", "tied"):
        identity = np.broadcast_to(np.eye(4), fitted.covariances_.shape)
        np.testing.assert_allclose(fitted.precisions_ @ fitted.covariances_, identity,
                                   atol=1e-3)
    else:
        np.testing.assert_allclose(fitted.precisions_ * fitted.covariances_, 1.0, rtol=1e-4)


def test_bernoulli_mixture_equals_the_functional_api(pixels):
    estimator = jsk.BernoulliMixture(4, random_state=SEED).fit(pixels)
    ours = mixture.bernoulli_mixture(data.binarize(pixels), 4, key=KEY)
    np.testing.assert_array_equal(estimator.means_, ours.means)
    np.testing.assert_array_equal(estimator.weights_, ours.weights)
    np.testing.assert_array_equal(
        estimator.predict(pixels), mixture.predict(ours, data.binarize(pixels))
    )
    np.testing.assert_allclose(estimator.predict_proba(pixels).sum(1), 1.0, rtol=1e-5)


def test_som_equals_the_functional_api(pixels):
    estimator = jsk.SelfOrganizingMap((4, 5), epochs=5, sigma=1.5, random_state=SEED).fit(pixels)
    ours = som.train(pixels, (4, 5), key=KEY, epochs=5, sigma=1.5)
    assert estimator.weights_.shape == (4, 5, 784)
    np.testing.assert_array_equal(estimator.weights_, ours.weights)
    np.testing.assert_array_equal(estimator.predict(pixels), som.winners(ours.weights, pixels))
    np.testing.assert_array_equal(estimator.transform(pixels).argmin(1), estimator.predict(pixels))
    np.testing.assert_allclose(
        estimator.quantization_error(pixels),
        float(som.quantization_error(pixels, ours.weights)),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        estimator.topographic_error(pixels),
        float(som.topographic_error(ours.weights, pixels)),
        rtol=1e-6,
    )


def test_rbm_equals_the_functional_api_and_sklearn_pseudo_likelihood(pixels):
    estimator = jsk.BernoulliRBM(16, n_iter=2, random_state=SEED).fit(pixels)
    v = data.binarize(pixels)
    ours = rbm.fit(v, 16, key=KEY, **estimator._fit_arguments(len(pixels)))
    np.testing.assert_array_equal(estimator.components_, np.asarray(ours.params.w).T)
    np.testing.assert_allclose(
        estimator.transform(pixels), rbm.hidden_given_visible(ours.params, v), rtol=1e-6
    )
    # scikit-learn's score_samples on the same parameters and random_state.
    reference = sklearn.neural_network.BernoulliRBM(16, random_state=SEED)
    reference.components_ = estimator.components_.astype(np.float64)
    reference.intercept_hidden_ = estimator.intercept_hidden_.astype(np.float64)
    reference.intercept_visible_ = estimator.intercept_visible_.astype(np.float64)
    reference.n_features_in_ = 784
    np.testing.assert_allclose(
        estimator.score_samples(pixels),
        reference.score_samples(np.asarray(v, np.float64)),
        rtol=1e-4,
    )
    step = estimator.gibbs(pixels[:5])
    assert step.shape == (5, 784) and set(np.unique(step)) <= {0.0, 1.0}


def test_rbm_exact_log_likelihood_normalises():
    rng = np.random.default_rng(0)
    x = (rng.random((40, 4)) < 0.4).astype(np.float32)
    estimator = jsk.BernoulliRBM(3, n_iter=5, batch_size=10, random_state=SEED).fit(x)
    states = np.array(np.meshgrid(*[[0.0, 1.0]] * 4)).reshape(4, -1).T
    total = np.exp(estimator.log_likelihood(states).astype(np.float64)).sum()
    np.testing.assert_allclose(total, 1.0, rtol=1e-4)
    with pytest.raises(ValueError, match="method must be"):
        estimator.log_likelihood(states, method="bogus")


# --------------------------------------------------------------------------------------
# scikit-learn machinery


def test_pipeline_and_grid_search_run(blobs, pixels):
    pipeline = make_pipeline(StandardScaler(), PCA(3), jsk.GaussianMixture(3, random_state=0))
    pipeline.fit(blobs)
    assert np.isfinite(pipeline.score(blobs)) and pipeline.predict(blobs).shape == (120,)

    search = GridSearchCV(
        jsk.SelfOrganizingMap((4, 4), epochs=3, random_state=0), {"sigma": [0.5, 1.0, 2.0]}, cv=2
    ).fit(pixels)
    size = som_training._train._cache_size()
    scores = search.cv_results_["mean_test_score"]
    assert search.best_params_["sigma"] in (0.5, 1.0, 2.0) and np.all(scores < 0)
    # A traced sigma: refitting with another one reuses the compiled program.
    jsk.SelfOrganizingMap((4, 4), epochs=3, sigma=3.0, random_state=0).fit(pixels[:100])
    assert som_training._train._cache_size() == size


@pytest.mark.parametrize(
    "estimator",
    [jsk.KMeans(3, random_state=0), jsk.SelfOrganizingMap((3, 3), epochs=2, random_state=0)],
)
def test_pickle_round_trips_with_numpy_attributes(blobs, estimator):
    fitted = estimator.fit(blobs)
    restored = pickle.loads(pickle.dumps(fitted))
    assert all(not isinstance(value, jax.Array) for value in vars(restored).values())
    np.testing.assert_array_equal(restored.predict(blobs), fitted.predict(blobs))


def test_random_state_maps_to_a_key_deterministically():
    assert (
        jax.random.key_data(jsk.jax_key(3)).tolist()
        == jax.random.key_data(jax.random.key(3)).tolist()
    )
    a = jsk.jax_key(np.random.default_rng(5))
    b = jsk.jax_key(np.random.default_rng(5))
    assert jax.random.key_data(a).tolist() == jax.random.key_data(b).tolist()
    with pytest.raises(ValueError, match="random_state must be"):
        jsk.jax_key("seed")
    with pytest.raises(ValueError, match="non-negative"):
        jsk.jax_key(-1)


def test_sparse_and_bad_input_are_refused(blobs):
    with pytest.raises(TypeError, match="[Ss]parse"):
        jsk.KMeans(3).fit(scipy.sparse.csr_matrix(blobs))
    with pytest.raises(ValueError, match="n_samples=2 should be >= n_clusters=3"):
        jsk.KMeans(3).fit(blobs[:2])
    fitted = jsk.KMeans(3, random_state=0).fit(blobs)
    with pytest.raises(ValueError, match="4 features"):
        fitted.predict(blobs[:, :3])


def test_importing_jaxselforg_does_not_import_sklearn():
    code = (
        "import sys, jaxselforg; assert 'sklearn' not in sys.modules; "
        "jaxselforg.sklearn.KMeans; assert 'sklearn' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
