"""Tests for jaxselforg.classify: both classifiers learn real Fashion-MNIST rows, train
vs eval mode is explicit (dropout, BatchNorm statistics), augmentation runs in the
step, predictions are probabilities, and bad input is refused."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from flax import nnx

from jaxselforg import augment, classify, data

SMALL_CNN = {"channels": (8, 16), "features": 32, "dropout": 0.2}


@pytest.fixture(scope="module")
def fashion():
    x, y = data.load("fashion_mnist", "train")
    xt, yt = data.load("fashion_mnist", "test")
    unit = lambda a: np.asarray(a, np.float32) / 255.0
    return unit(x[:1024]), np.asarray(y[:1024]), unit(xt[:500]), np.asarray(yt[:500])


@pytest.fixture(scope="module")
def cnn(fashion):
    x, y, xt, yt = fashion
    return classify.train_classifier(x, y, key=jax.random.key(0), epochs=3, batch_size=64,
                                     learning_rate=3e-3, augmentation=augment.RandomShift(2),
                                     test_images=xt, test_labels=yt, progress=False,
                                     **SMALL_CNN)


def test_cnn_learns_fashion_mnist(cnn, fashion):
    _, _, xt, yt = fashion
    history = cnn.history
    assert history["loss"][-1] < history["loss"][0]
    assert history["test_accuracy"][-1] > 0.65  # 10 classes: chance is 0.1
    probabilities = np.asarray(classify.predict(cnn.model, xt))
    np.testing.assert_allclose(probabilities.sum(1), 1.0, rtol=1e-5)
    manual = float(np.mean(probabilities.argmax(1) == yt))
    assert classify.accuracy(cnn.model, xt, yt) == pytest.approx(manual)
    assert manual == pytest.approx(history["test_accuracy"][-1])
    assert cnn.model.features(xt[:4]).shape == (4, 32)


def test_mlp_learns_and_eval_mode_is_deterministic(fashion):
    x, y, xt, yt = fashion
    result = classify.train_classifier(x, y, key=jax.random.key(1), architecture="mlp",
                                       hidden=(64,), dropout=0.3, epochs=3, batch_size=64,
                                       learning_rate=3e-3,
                                       progress=False)
    model = result.model
    assert classify.accuracy(model, xt, yt) > 0.6
    np.testing.assert_array_equal(model(xt[:8]), model(xt[:8]))  # eval: no dropout
    assert not np.allclose(model(xt[:8], train=True, key=jax.random.key(0)), model(xt[:8]))
    assert model.features(xt[:8]).shape == (8, 64)


def test_batch_norm_statistics_change_only_in_train_mode(cnn, fashion):
    model = cnn.model
    before = jax.tree.map(np.array, nnx.state(model, nnx.BatchStat))
    classify.predict(model, fashion[2][:16])
    model(fashion[2][:16])
    for a, b in zip(jax.tree.leaves(nnx.state(model, nnx.BatchStat)), jax.tree.leaves(before),
                    strict=True):
        np.testing.assert_array_equal(a, b)
    model(fashion[2][:16], train=True, key=jax.random.key(0))
    assert any(not np.array_equal(a, b) for a, b in zip(
        jax.tree.leaves(nnx.state(model, nnx.BatchStat)), jax.tree.leaves(before), strict=True))


def test_bad_input_is_refused(fashion):
    x, y, _, _ = fashion
    with pytest.raises(ValueError, match=r"labels must be in \[0, 5\); got label 9"):
        classify.train_classifier(x, y, key=jax.random.key(0), n_classes=5, **SMALL_CNN)
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        classify.train_classifier(x * 255, y, key=jax.random.key(0), **SMALL_CNN)
    with pytest.raises(ValueError, match="Unknown architecture 'resnet'"):
        classify.train_classifier(x, y, key=jax.random.key(0), architecture="resnet")
    with pytest.raises(ValueError, match="multiples of 4"):
        classify.train_classifier(x[:, :27, :27], y, key=jax.random.key(0), **SMALL_CNN)
    with pytest.raises(ValueError, match=r"learning_rate must be > 0.0; got -0.001"):
        classify.train_classifier(x, y, key=jax.random.key(0), learning_rate=-1e-3, **SMALL_CNN)
    with pytest.raises(ValueError, match=r"weight_decay must be >= 0.0; got -0.1"):
        classify.train_classifier(x, y, key=jax.random.key(0), weight_decay=-0.1, **SMALL_CNN)


def test_test_accuracy_fn_scores_one_run_or_every_run_of_a_sweep(cnn, fashion):
    _, _, xt, yt = fashion
    expected = classify.accuracy(cnn.model, xt, yt)
    score = classify.test_accuracy_fn(cnn.graphdef, xt, yt, (28, 28), 10)
    assert score(cnn.state)["test_accuracy"] == pytest.approx(expected)
    sweep = jax.tree.map(lambda leaf: np.stack([leaf, leaf]), cnn.state)
    assert score(sweep)["test_accuracy"] == pytest.approx([expected, expected])
    assert classify.test_accuracy_fn(cnn.graphdef, None, None, (28, 28), 10) is None
    with pytest.raises(ValueError, match="test_labels"):
        classify.test_accuracy_fn(cnn.graphdef, xt, yt + 1, (28, 28), 10)


def test_accuracy_refuses_labels_the_model_cannot_predict(fashion):
    x, y, _, _ = fashion
    model = classify.make_classifier("mlp", hidden=(8,), rngs=nnx.Rngs(0))
    assert 0 <= classify.accuracy(model, x[:4], y[:4]) <= 1
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\); got label 12"):
        classify.accuracy(model, x[:4], np.array([0, 1, 12, 3]))
