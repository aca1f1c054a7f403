"""The SimCLR / metric-learning experiment end to end at a tiny size: every
representation is trained and judged by the probes and retrieval, the temperature
sweep runs as one vmapped training, the held-out-class run and the figures are made."""

from __future__ import annotations

import numpy as np
import pytest

from experiments import contrastive as contrastive_experiment
from experiments import harness


def test_contrastive_experiment_end_to_end_tiny(tmp_path):
    config = contrastive_experiment.Config(
        datasets=("mnist",), methods=("raw pixels", "PCA", "VAE (posterior mean)",
                                      "RBM (hidden units)", "SimCLR", "triplet (batch-hard)",
                                      "contrastive", "supervised CNN (ceiling)"),
        n_train=600, n_test=200, pca_components=10, probe_max_iter=50, channels=(4, 8),
        features=16, head=(16, 8), embedding_dim=8, simclr_epochs=1, simclr_batch_size=64,
        sweep_temperatures=(0.2, 1.0), sweep_epochs=1, metric_epochs=4, n_per_class=4,
        held_out_classes=(8, 9), encoder_epochs=8, vae_latent=8, rbm_hidden=32, learning_rate=1e-2,
        tsne_points=150, som_grid=(4, 4), som_epochs=2, retrieval_queries=3)
    summary = harness.execute(contrastive_experiment, config, tmp_path, quick=True)["mnist"]
    methods = summary["methods"]
    assert list(methods) == list(config.methods)
    for name, scores in methods.items():
        for metric in ("linear_probe", "knn", "precision_at_1", "map_at_r"):
            assert 0 <= scores[metric] <= 1, (name, metric)
        # Chance is 0.1: even one tiny epoch (or raw pixels) is far above it.
        assert scores["knn"] > 0.3, name
        assert scores["probe_C"] in config.probe_c, name
    assert methods["raw pixels"]["dim"] == 784 and methods["PCA"]["dim"] == 10
    # SimCLR is evaluated on the encoder's flattened 7 x 7 x 8 maps (no dense layer).
    assert methods["SimCLR"]["dim"] == 392 and methods["contrastive"]["dim"] == 8
    assert methods["VAE (posterior mean)"]["dim"] == 8
    assert methods["RBM (hidden units)"]["dim"] == 32
    assert methods["supervised CNN (ceiling)"]["dim"] == 16
    learned = [m for m in contrastive_experiment.LEARNED if m in methods]
    assert len(learned) == 3 and all(methods[m]["final_embedding_std"] > 0 for m in learned)
    assert set(summary["sweep"]) == {"0.2", "1.0"}
    held = summary["held_out"]
    assert held["method"] == "triplet (batch-hard)" and held["classes"] == [8, 9]
    # Two unseen classes: P@1 well above the 0.5 of a coin.
    assert held["precision_at_1"] > 0.6 and held["pixels_precision_at_1"] > 0.6
    assert set(held["label_free"]) == {"PCA", "SimCLR"}
    assert all(r["precision_at_1"] > 0.6 for r in held["label_free"].values())
    for figure in ("views", "training_curves", "temperature_sweep", "tsne", "som_mnist",
                   "retrieval_mnist"):
        assert (tmp_path / f"{figure}.png").stat().st_size > 5_000, figure
    report = (tmp_path / "report.md").read_text()
    assert "| representation | dim | linear probe | probe C |" in report
    assert "| SimCLR | 392 |" in report and "unseen by the metric learner" in report
    assert "| SimCLR (no labels, every image) |" in report
    assert np.isfinite(summary["sweep"]["0.2"])


def test_contrastive_experiment_rejects_an_unknown_method(tmp_path):
    config = contrastive_experiment.Config(datasets=("mnist",), methods=("BYOL",),
                                           n_train=100, n_test=50)
    with pytest.raises(ValueError, match="Unknown method 'BYOL'"):
        contrastive_experiment.run(config, harness.Run(tmp_path, quick=True))


def test_a_rows_scores_are_kept_and_reused_only_for_the_same_inputs(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    train_f, test_f = rng.normal(size=(60, 4)), rng.normal(size=(20, 4))
    train_y, test_y = np.arange(60) % 3, np.arange(20) % 3
    config = contrastive_experiment.Config(probe_max_iter=20, knn_k=3)
    run = harness.Run(tmp_path, quick=False)
    first = contrastive_experiment.kept_scores(train_f, train_y, test_f, test_y, config, run)
    assert len(list((tmp_path / "checkpoints" / "scores").glob("*.json"))) == 1
    assert not list((tmp_path / "checkpoints" / "scores").glob("*.partial"))
    calls = []
    real = contrastive_experiment.scores
    monkeypatch.setattr(contrastive_experiment, "scores",
                        lambda *args: calls.append(1) or real(*args))
    again = contrastive_experiment.kept_scores(train_f, train_y, test_f, test_y, config, run)
    assert again == first and not calls  # read back, not evaluated again
    # Other features, or another setting the scores depend on, are evaluated anew.
    contrastive_experiment.kept_scores(train_f + 1, train_y, test_f, test_y, config, run)
    other = contrastive_experiment.Config(probe_max_iter=20, knn_k=5)
    contrastive_experiment.kept_scores(train_f, train_y, test_f, test_y, other, run)
    assert len(calls) == 2
