"""The GAN experiment end to end at a tiny size: every model of the lecture trains as a
seed sweep, is scored on the reference CNN's yardstick next to the real-image floor and
a VAE, and its figures and report are written."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from experiments import gan as gan_experiment
from experiments import harness


def test_gan_experiment_end_to_end_tiny(tmp_path):
    config = gan_experiment.Config(datasets=("mnist",), n_train=256, n_seeds=2, epochs=1,
                                   snapshot_epochs=(1,), batch_size=32, latent_dim=8,
                                   mlp_generator=(32,), mlp_discriminator=(32,),
                                   dcgan_generator=(4, 4), dcgan_discriminator=(4, 8),
                                   n_score=200, n_eval=100, reference_epochs=1,
                                   reference_n_train=1_000, vae_epochs=1, vae_latent=4)
    summary = harness.execute(gan_experiment, config, tmp_path, quick=True)["mnist"]
    floor = summary["floor"]
    models = summary["models"]
    assert list(models) == ["fc", "dcgan", "cgan", "infogan"]
    for name, scores in models.items():
        assert len(scores["fcd"]) == 2, name  # one score per seed of the sweep
        # Untrained-looking samples are far from the test images; real ones are close.
        assert all(fcd > floor["fcd"] for fcd in scores["fcd"]), name
        assert all(0 <= p <= 1 for p in scores["precision"] + scores["recall"]), name
        assert all(0 <= h <= math.log(10) + 1e-6 for h in scores["class_entropy"]), name
        assert scores["seconds_per_epoch_all_seeds"] > 0
    assert all(0 <= a <= 1 for a in models["cgan"]["class_accuracy"])
    assert all(math.isnan(a) for a in models["dcgan"]["class_accuracy"])
    assert floor["precision"] > 0.5 and floor["recall"] > 0.5
    assert summary["vae"]["fcd"] > floor["fcd"]
    # One record per epoch, the seeds side by side (resuming through the snapshot epochs
    # is gan.train_gan's checkpoint resume, tested in test_gan.py).
    records = (tmp_path / "train_metrics_mnist_dcgan.jsonl").read_text().splitlines()
    assert len(records) == 1 and len(json.loads(records[-1])["fcd"]) == 2
    for figure in ("progression", "curves", "cgan_classes", "dcgan_interpolation",
                   "infogan_categorical", "infogan_continuous1"):
        assert (tmp_path / f"mnist_{figure}.png").stat().st_size > 5_000, figure
    report = (tmp_path / "report.md").read_text()
    assert "real training images (the floor)" in report and "conditional DCGAN" in report
    assert "FCD is not FID" in report


@pytest.mark.parametrize("change, message", [({"models": ("fc", "vqgan")}, "Unknown models"),
                                             ({"snapshot_epochs": (3,)}, "snapshot_epochs")])
def test_gan_experiment_rejects_bad_settings(tmp_path, change, message):
    config = gan_experiment.Config(epochs=2, **change)
    with pytest.raises(ValueError, match=message):
        gan_experiment.run(config, harness.Run(tmp_path, quick=True))


def test_the_progression_figure_shows_a_resumed_models_grids_without_the_skipped_one():
    grid = np.full((10, 28, 28), 0.5, np.float32)
    # dcgan resumed past epoch 2 (its checkpoint not kept): only epoch 8 exists.
    figure = gan_experiment.progression_figure({"dcgan": {8: grid}, "fc": {2: grid, 8: grid}},
                                               "fashion_mnist")
    labels = [tick.get_text() for tick in figure.axes[0].get_yticklabels()]
    assert labels == ["dcgan, epoch 8", "fc, epoch 2", "fc, epoch 8"]


class _PixelFeatures:
    """A stand-in for the reference CNN: the first 16 pixels as features."""

    @staticmethod
    def features(images):
        return np.asarray(images).reshape(len(images), -1)[:, 300:316]


def test_a_resumed_model_keeps_the_grids_of_the_snapshots_it_is_past(tmp_path):
    x = np.random.default_rng(0).uniform(size=(128, 28, 28)).astype(np.float32)
    config = gan_experiment.Config(n_seeds=1, epochs=2, snapshot_epochs=(1, 2), batch_size=32,
                                   latent_dim=4, mlp_generator=(8,), mlp_discriminator=(8,),
                                   n_eval=32)
    run = harness.Run(tmp_path, quick=True)
    args = (config, "fc", "mnist", x, None, _PixelFeatures(), x[:32], run)
    _, first, _ = gan_experiment.train_model(*args)
    _, resumed, _ = gan_experiment.train_model(*args)  # every checkpoint past epoch 1
    assert sorted(first) == sorted(resumed) == [1, 2]
    for epoch in first:
        np.testing.assert_array_equal(resumed[epoch], first[epoch])
