"""Tests for jaxselforg.evaluation: the linear probe against scikit-learn's
LogisticRegression (the same objective) on real Fashion-MNIST pixels."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
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
