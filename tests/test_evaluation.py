"""Tests for jaxselforg.evaluation: the linear probe against scikit-learn's
LogisticRegression (the same objective) on real Fashion-MNIST pixels."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from checkpoint_damage import damage_step_data
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from jaxselforg import data, evaluation


@pytest.fixture(scope="module")
def pixels():
    """300 training and 200 test images, pooled 4x4 to 7x7 = 49 features."""
    def pooled(split, n):
        images, labels = data.load("fashion_mnist", split)
        x = np.asarray(images[:n], np.float32).reshape(n, 7, 4, 7, 4).mean(axis=(2, 4)) / 255.0
        return x.reshape(n, 49), np.asarray(labels[:n])

    return (*pooled("train", 300), *pooled("test", 200))


@pytest.mark.parametrize("standardize", [False, True])
def test_linear_probe_equals_sklearn_logistic_regression(pixels, standardize):
    x, y, x_test, y_test = pixels
    result = evaluation.linear_probe(x, y, x_test, y_test, C=0.5, tol=1e-6,
                                     standardize=standardize)
    assert bool(result.probe.converged) and int(result.probe.n_iter) > 1
    scaler = StandardScaler().fit(x) if standardize else None
    fx, ft = (scaler.transform(x), scaler.transform(x_test)) if standardize else (x, x_test)
    reference = LogisticRegression(C=0.5, tol=1e-10, max_iter=5000).fit(fx, y)
    ours = np.asarray(evaluation.probe_predict_proba(result.probe, x_test))
    np.testing.assert_allclose(ours, reference.predict_proba(ft), atol=2e-3)
    assert result.test_accuracy == pytest.approx(reference.score(ft, y_test), abs=1 / 200)
    assert float(result.probe.train_accuracy) == pytest.approx(reference.score(fx, y), abs=1 / 300)


def test_probe_penalty_is_traced_and_bad_input_is_refused(pixels):
    x, y, _, _ = pixels
    fits = jax.vmap(lambda c: evaluation.fit_linear_probe(x, y, C=c, n_classes=10).weights)(
        jnp.array([0.01, 10.0]))
    norms = np.linalg.norm(np.asarray(fits).reshape(2, -1), axis=1)
    assert norms[0] < norms[1] / 5  # a stronger penalty shrinks W
    # A bad traced C cannot be refused under vmap: it gives NaN weights, not a fit.
    bad_c = jax.vmap(lambda c: evaluation.fit_linear_probe(x, y, C=c, n_classes=10).weights)(
        jnp.array([-1.0]))
    assert np.all(np.isnan(np.asarray(bad_c)))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 5\); got label 9"):
        evaluation.fit_linear_probe(x, y, n_classes=5)
    with pytest.raises(ValueError, match="C must be > 0"):
        evaluation.fit_linear_probe(x, y, C=0.0)
    bad = x.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="train_features contains 1 NaN"):
        evaluation.fit_linear_probe(bad, y)
    with pytest.raises(ValueError, match="test_features must have 49 features"):
        evaluation.linear_probe(x, y, x[:, :10], y)


def test_the_probe_penalty_is_chosen_on_held_out_training_rows_as_separate_fits(pixels):
    x, y, _, _ = pixels
    choice = evaluation.choose_probe_c(x, y, (1.0, 1e-3, 0.1), n_validation=100, tol=1e-6)
    assert choice.candidates == (1e-3, 0.1, 1.0)
    # Each candidate's score is that of its own fit on the first 200 rows, scored on the
    # last 100 (sklearn's same objective as reference).
    for c, accuracy in zip(choice.candidates, choice.validation_accuracy):
        scaler = StandardScaler().fit(x[:200])
        reference = LogisticRegression(C=c, tol=1e-10, max_iter=5000).fit(
            scaler.transform(x[:200]), y[:200])
        assert accuracy == pytest.approx(reference.score(scaler.transform(x[200:]), y[200:]),
                                         abs=1.5 / 100), c
    assert choice.validation_accuracy[choice.candidates.index(choice.C)] == max(
        choice.validation_accuracy)
    assert choice.validation_accuracy[0] < max(choice.validation_accuracy)  # C matters here
    # A tie goes to the strongest penalty: one candidate repeated.
    assert evaluation.choose_probe_c(x, y, (0.1, 0.1)).C == 0.1
    with pytest.raises(ValueError, match="at least one value of C"):
        evaluation.choose_probe_c(x, y, ())
    with pytest.raises(ValueError, match="C must be > 0"):
        evaluation.choose_probe_c(x, y, (0.1, -1.0))
    with pytest.raises(ValueError, match="at most 299 of the 300 rows; got 300"):
        evaluation.choose_probe_c(x, y, n_validation=300)


def _frechet_reference(a, b):
    """pytorch-fid's formula in float64 with scipy.linalg.sqrtm."""
    import scipy.linalg

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(s_a @ s_b)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(s_a + s_b - 2 * np.real(root)))


def test_frechet_distance_equals_the_scipy_sqrtm_formula(pixels):
    x, _, x_test, _ = pixels
    ours = float(evaluation.frechet_distance(x, x_test))
    assert ours == pytest.approx(_frechet_reference(x, x_test), rel=1e-4)
    shifted = x_test + 0.1
    assert float(evaluation.frechet_distance(x, shifted)) == pytest.approx(
        _frechet_reference(x, shifted), rel=1e-4)
    assert float(evaluation.frechet_distance(x, x)) == pytest.approx(0.0, abs=1e-8)
    # Two Gaussians in closed form: d^2 = ||mu_a - mu_b||^2 + sum (sigma_a - sigma_b)^2
    # for diagonal covariances.
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20000, 3)) * [1.0, 2.0, 0.5]
    b = rng.normal(size=(20000, 3)) * [2.0, 2.0, 1.0] + [1.0, 0.0, 0.0]
    assert float(evaluation.frechet_distance(a, b)) == pytest.approx(1.0 + 1.0 + 0.25, rel=0.03)


def test_frechet_distance_is_finite_for_rank_deficient_covariances(pixels):
    x, _, x_test, _ = pixels
    few = x[:10]  # 10 samples in 49 dimensions: covariance of rank 9
    value = float(evaluation.frechet_distance(few, x_test[:12]))
    assert np.isfinite(value) and value > 0
    # The float64 eigen-decomposition reference (sqrtm of a singular product is unstable).
    a, b = np.asarray(few, np.float64), np.asarray(x_test[:12], np.float64)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    vals, vecs = np.linalg.eigh(s_a)
    root = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    trace = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(root @ s_b @ root), 0, None)))
    expected = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(s_a) + np.trace(s_b) - 2 * trace
    assert value == pytest.approx(expected, rel=1e-6)
    constant = np.zeros((5, 49), np.float32)  # zero covariance
    assert np.isfinite(float(evaluation.frechet_distance(constant, x[:5])))
    with pytest.raises(ValueError, match="features_b has 10 features but 49 were expected"):
        evaluation.frechet_distance(x, x[:, :10])
    with pytest.raises(ValueError, match="at least 2 rows"):
        evaluation.frechet_distance(x[:1], x)
    with pytest.raises(ValueError, match="NaN"):
        evaluation.frechet_distance(np.full((3, 49), np.nan), x)
    # Inside a trace it runs in the input dtype and stays finite.
    traced = jax.jit(evaluation.frechet_distance)(jnp.asarray(few), jnp.asarray(x_test[:12]))
    assert traced.dtype == jnp.float32 and float(traced) == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_knn_predictions_equal_sklearn(pixels, metric):
    from sklearn.neighbors import KNeighborsClassifier

    x, y, x_test, y_test = pixels
    reference = KNeighborsClassifier(n_neighbors=5, metric=metric, algorithm="brute").fit(x, y)
    ours = evaluation.knn_predict(x, y, x_test, k=5, metric=metric)
    np.testing.assert_array_equal(ours, reference.predict(x_test))
    assert evaluation.knn_accuracy(x, y, x_test, y_test, k=5, metric=metric) == pytest.approx(
        reference.score(x_test, y_test))
    with pytest.raises(ValueError, match="k = 301 exceeds the 300 reference rows"):
        evaluation.knn_accuracy(x, y, x_test, y_test, k=301)
    with pytest.raises(ValueError, match="test_labels"):
        evaluation.knn_accuracy(x, y, x_test, y_test[:5])


def _retrieval_reference(q, q_labels, refs, ref_labels, same):
    """The AccuracyCalculator definitions by brute force (float64, stable order)."""
    from scipy.spatial.distance import cdist

    d = cdist(q.astype(np.float64), refs.astype(np.float64))
    p1, rp, mapr = [], [], []
    for i in range(len(q)):
        order = np.argsort(d[i], kind="stable")
        if same:
            order = order[order != i]
        relevant = ref_labels[order] == q_labels[i]
        r = int(relevant.sum())
        if r == 0:
            continue
        p1.append(relevant[0])
        rp.append(relevant[:r].mean())
        hits = relevant[:r]
        precision = np.cumsum(hits) / np.arange(1, r + 1)
        mapr.append(np.sum(precision * hits) / r)
    return np.mean(p1), np.mean(rp), np.mean(mapr), len(p1)


def test_retrieval_metrics_equal_the_brute_force_definitions(pixels):
    x, y, x_test, y_test = pixels
    ours = evaluation.retrieval_metrics(x_test, y_test)  # the test set against itself
    expected = _retrieval_reference(x_test, y_test, x_test, y_test, same=True)
    np.testing.assert_allclose(ours[:3], expected[:3], rtol=1e-6)
    assert ours.n_queries == expected[3]
    across = evaluation.retrieval_metrics(x_test, y_test, x, y)
    np.testing.assert_allclose(across[:3],
                               _retrieval_reference(x_test, y_test, x, y, same=False)[:3],
                               rtol=1e-6)
    # A perfect embedding: every measure 1; a query alone in its class is not scored.
    labels = np.array([0, 0, 0, 1, 1, 2])
    points = labels[:, None] * 10.0 + np.arange(6)[:, None] * 0.1
    perfect = evaluation.retrieval_metrics(points, labels)
    assert perfect[:3] == (1.0, 1.0, 1.0) and perfect.n_queries == 5
    with pytest.raises(ValueError, match="Give both reference_features and reference_labels"):
        evaluation.retrieval_metrics(x, y, x_test)
    with pytest.raises(ValueError, match="R = 0"):
        evaluation.retrieval_metrics(points[:3:2] * [[1.0]], np.array([0, 1]))


def test_classifier_score_and_class_histogram():
    confident = np.eye(4)[np.arange(400) % 4]  # every class, each sample certain
    assert float(evaluation.classifier_score(confident)) == pytest.approx(4.0, rel=1e-5)
    uniform = np.full((50, 4), 0.25)
    assert float(evaluation.classifier_score(uniform)) == pytest.approx(1.0, rel=1e-6)
    collapsed = np.eye(4)[np.zeros(50, int)]  # one mode only
    assert float(evaluation.classifier_score(collapsed)) == pytest.approx(1.0, rel=1e-6)
    # Two classes used evenly, each p(y|x) = (0.9, 0.1): exp KL = exp(ln 2 - H(0.9)).
    p = np.where(np.arange(100)[:, None] % 2 == 0, [0.9, 0.1], [0.1, 0.9])
    h = -(0.9 * np.log(0.9) + 0.1 * np.log(0.1))
    assert float(evaluation.classifier_score(p)) == pytest.approx(np.exp(np.log(2) - h), rel=1e-5)
    with pytest.raises(ValueError, match="softmax the logits first"):
        evaluation.classifier_score(np.ones((3, 4)))
    hist = evaluation.class_histogram(np.array([0, 0, 1, 3]), 4)
    np.testing.assert_array_equal(hist.counts, [2, 1, 0, 1])
    assert float(hist.entropy) == pytest.approx(-(0.5 * np.log(0.5) + 2 * 0.25 * np.log(0.25)))
    with pytest.raises(ValueError, match=r"predicted must be in \[0, 4\); got label 5"):
        evaluation.class_histogram(np.array([5]), 4)


def test_precision_recall_on_gaussians_with_known_answers():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(1000, 2)).astype(np.float32)
    same = evaluation.precision_recall(real, real)
    assert float(same.precision) == 1.0 and float(same.recall) == 1.0
    other = rng.normal(size=(1000, 2)).astype(np.float32)  # the same distribution
    close = evaluation.precision_recall(real, other)
    assert float(close.precision) > 0.9 and float(close.recall) > 0.9
    far = evaluation.precision_recall(real, other + 100.0)
    assert float(far.precision) == 0.0 and float(far.recall) == 0.0
    # Samples from half of the data (x_1 > 0): realistic, but half the data uncovered.
    half = evaluation.precision_recall(real, other[other[:, 0] > 0])
    assert float(half.precision) > 0.9 and 0.4 < float(half.recall) < 0.6
    with pytest.raises(ValueError, match="k = 3 needs more than k rows"):
        evaluation.precision_recall(real, other[:3])


def test_feature_extractor_trains_once_reloads_and_refuses_another_network(tmp_path):
    from jaxselforg import classify, train

    first = evaluation.feature_extractor("fashion_mnist", epochs=1, n_train=512,
                                         cache_dir=tmp_path, progress=False)
    # 4 steps of training: well above chance (0.1); the quality run is the experiment's.
    assert first.directory.parent == tmp_path and 0.2 < first.test_accuracy <= 1.0
    again = evaluation.feature_extractor("fashion_mnist", epochs=1, n_train=512,
                                         cache_dir=tmp_path, progress=False)
    for a, b in zip(jax.tree.leaves(nnx_state(first.model)), jax.tree.leaves(
            nnx_state(again.model)), strict=True):
        np.testing.assert_array_equal(a, b)  # reloaded, not retrained
    assert again.test_accuracy == first.test_accuracy

    test_images, _ = data.load("fashion_mnist", "test")
    x = data.to_unit_range(test_images)
    floor = float(evaluation.frechet_classifier_distance(first, x[:500], x[500:1000]))
    noise = np.random.default_rng(0).random((500, 28, 28)).astype(np.float32)
    assert float(evaluation.frechet_classifier_distance(first, noise, x[:500])) > 10 * floor
    assert first.features(x[:3]).shape == (3, 256)

    # score_samples is the individual scores, put together; real images score as real.
    _, test_labels = data.load("fashion_mnist", "test")
    scores = evaluation.score_samples(first, x[:300], x[300:600],
                                      requested_labels=np.asarray(test_labels[:300]))
    probabilities = classify.predict(first.model, x[:300])
    predicted = np.argmax(np.asarray(probabilities), axis=1)
    pr = evaluation.precision_recall(first.features(x[300:600]), first.features(x[:300]))
    np.testing.assert_allclose(scores.fcd, float(evaluation.frechet_classifier_distance(
        first, x[300:600], x[:300])), rtol=1e-5)
    np.testing.assert_allclose(scores.classifier_score,
                               float(evaluation.classifier_score(probabilities)), rtol=1e-6)
    assert (scores.precision, scores.recall) == (float(pr.precision), float(pr.recall))
    assert scores.class_entropy == float(evaluation.class_histogram(predicted, 10).entropy)
    assert scores.class_accuracy == float(np.mean(predicted == np.asarray(test_labels[:300])))
    noise_scores = evaluation.score_samples(first, noise[:300], x[300:600])
    assert noise_scores.fcd > 10 * scores.fcd and noise_scores.precision < scores.precision
    assert np.isnan(noise_scores.class_accuracy)
    with pytest.raises(ValueError, match="requested_labels"):
        evaluation.score_samples(first, x[:300], x[300:600], requested_labels=np.full(300, 10))

    # A damaged cache is named with its folder and what to do; the damaged step is moved
    # aside, so the next call rebuilds the same network (fixed seed, deterministic).
    step_dir = max(p for p in first.directory.iterdir() if p.name.isdigit())
    damage_step_data(step_dir, "flip")
    with pytest.warns(train.CorruptCheckpointWarning), pytest.raises(
            train.CorruptCheckpointError, match=r"(?s)No checkpoint in .*" + first.directory.name
            + r".* could be read.*delete this one"):
        evaluation.feature_extractor("fashion_mnist", epochs=1, n_train=512, cache_dir=tmp_path,
                                     progress=False)
    rebuilt = evaluation.feature_extractor("fashion_mnist", epochs=1, n_train=512,
                                           cache_dir=tmp_path, progress=False)
    assert rebuilt.test_accuracy == first.test_accuracy

    x_train, y_train = data.load("fashion_mnist", "train")
    with pytest.raises(train.CheckpointMismatchError):
        classify.train_classifier(data.to_unit_range(x_train[:512]), np.asarray(y_train[:512]),
                                  key=jax.random.key(0), epochs=1, architecture="mlp",
                                  checkpoint_dir=first.directory, progress=False)


def nnx_state(model):
    from flax import nnx

    return nnx.state(model)
