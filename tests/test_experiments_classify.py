"""The classify experiment end to end at a tiny size: the three supervised baselines are
trained and scored, and every generative model's samples are scored by the reference
CNN beside the real-image floor, with the figures and report written."""

from __future__ import annotations

import json
import math

import pytest

from experiments import classify as classify_experiment
from experiments import harness


def test_classify_experiment_end_to_end_tiny(tmp_path):
    config = classify_experiment.Config(
        datasets=("mnist",), n_train=512, n_test=200, batch_size=64, cnn_channels=(4, 8),
        cnn_features=16, cnn_epochs=1, teacher_hidden=(32,), teacher_epochs=2,
        small_hidden=(16, 16), small_epochs=1, generative_datasets=("mnist",), n_score=200,
        reference_epochs=1, reference_n_train=1_000, mixture_components=4,
        mixture_iterations=3, rbm_hidden=16, rbm_epochs=1, rbm_gibbs_steps=10,
        vae_latents=(2,), vae_epochs=1, conv_vae_epochs=0)
    summary = harness.execute(classify_experiment, config, tmp_path, quick=True)["mnist"]
    for name in ("cnn", "teacher", "small"):
        scores = summary[name]
        assert 0 <= scores["test_accuracy"] <= 1, name
        assert scores["test_errors"] == round((1 - scores["test_accuracy"]) * 200), name
        assert scores["seconds_per_epoch"] > 0, name
    assert summary["teacher"]["parameters"] == 784 * 32 + 32 + 32 * 10 + 10
    assert summary["small"]["parameters"] == 784 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10
    assert summary["cnn"]["target"] == 0.994 and summary["small"]["target"] is None
    # Two teacher epochs, one record each, with the test accuracy the curve is drawn from.
    records = (tmp_path / "train_mnist_teacher.jsonl").read_text().splitlines()
    assert [json.loads(r)["epoch"] for r in records] == [1, 2]
    assert all("test_accuracy" in json.loads(r) for r in records)

    generative = summary["generative"]
    floor = generative["real_floor"]
    assert floor["precision"] > 0.5 and floor["recall"] > 0.5
    assert list(generative)[2:] == ["mixture", "rbm", "vae_2"]
    for name in ("mixture", "rbm", "vae_2"):
        scores = generative[name]
        assert scores["fcd"] > floor["fcd"], name  # barely trained models: far from real
        assert 0 <= scores["precision"] <= 1 and 0 <= scores["recall"] <= 1, name
        assert 0 <= scores["class_entropy"] <= math.log(10) + 1e-6, name
        assert 1 - 1e-6 <= scores["classifier_score"] <= 10, name
    for figure in ("curves", "cnn_confusion", "cnn_confident_mistakes", "augmentation",
                   "generative_samples"):
        assert (tmp_path / f"mnist_{figure}.png").stat().st_size > 5_000, figure
    report = (tmp_path / "report.md").read_text()
    assert "Hinton's teacher" in report and "real training images (the floor)" in report
    assert "not Inception FID" in report and "146 errors" in report


@pytest.mark.parametrize("change, message", [
    ({"datasets": ("cifar10",)}, "Unknown dataset 'cifar10'"),
    ({"generative_datasets": ("svhn",)}, "Unknown dataset 'svhn'"),
    ({"n_score": 300, "n_test": 200}, r"n_score \(300\) must be <= n_test \(200\)"),
])
def test_classify_experiment_rejects_bad_settings(tmp_path, change, message):
    config = classify_experiment.Config(**change)
    with pytest.raises(ValueError, match=message):
        classify_experiment.run(config, harness.Run(tmp_path, quick=True))


def test_augmentation_flips_half_the_garments_and_no_digit():
    import jax
    import numpy as np

    config = classify_experiment.Config()
    images = np.zeros((400, 28, 28), np.float32)
    images[:, 10:18, 4:8] = 1.0  # a bar on the left, far from the edges: shifts keep it left
    views = np.asarray(classify_experiment.augmentation(config, "fashion_mnist")(
        jax.random.key(0), images))
    flipped = views[:, :, 14:].sum(axis=(1, 2)) > views[:, :, :14].sum(axis=(1, 2))
    assert 0.4 < flipped.mean() < 0.6  # the test images are not flipped: train on both
    digits = np.asarray(classify_experiment.augmentation(config, "mnist")(
        jax.random.key(0), images))
    assert (digits[:, :, 14:].sum(axis=(1, 2)) == 0).all()
