"""The distillation experiment end to end at a tiny size: every row of Hinton et al.'s
table is measured, the bias correction is chosen on held-out images, the figure and the
report are written; the Fashion-MNIST section (seeds, hints, the T x w_soft sweep) runs."""

from __future__ import annotations

import json

import jax
import numpy as np
from flax import nnx

from experiments import harness
from experiments import transfer as transfer_experiment
from jaxselforg import classify


def test_transfer_experiment_end_to_end_tiny(tmp_path):
    config = transfer_experiment.Config(n_train=640, n_test=300, n_validation=200,
                                        batch_size=64, learning_rate=3e-3,
                                        teacher_hidden=(32,), teacher_epochs=2,
                                        student_hidden=(16,), student_epochs=2,
                                        fashion_epochs=1, fashion_n_train=640,
                                        fashion_teacher_channels=(4, 8),
                                        fashion_teacher_features=32,
                                        fashion_student_channels=(2, 4),
                                        fashion_student_features=8, fashion_seeds=2,
                                        sweep_temperatures=(1.0, 4.0),
                                        sweep_soft_weights=(0.5, 0.9, 0.99),
                                        label_budgets=(100,), label_seeds=2, label_steps=20,
                                        label_min_epochs=1, label_hidden=(8,),
                                        encoder_channels=(2, 4), encoder_features=8,
                                        pretrain_n_train=512, pretrain_epochs=1, simclr_epochs=1,
                                        rbm_hidden=16, vae_latent=4)
    summary = harness.execute(transfer_experiment, config, tmp_path, quick=True)
    results = summary["test_errors"]
    assert list(results) == ["teacher", "scratch", "distilled", "without_3",
                             "without_3_published_shift", "without_3_chosen_shift"]
    for name, scores in results.items():
        assert 0 <= scores["errors_on_3s"] <= scores["test_errors"] <= 300, name
        if name != "without_3_published_shift":  # 3.5 is far too much for a tiny net
            assert scores["test_errors"] < 300 * 0.8, name  # chance: 270 errors
    # The chosen shift is the best on the held-out images, so no worse there than none.
    shifts = summary["shift_accuracies"]
    assert shifts[summary["bias_shift"]] == max(shifts.values()) >= shifts[0.0]
    # A large enough shift makes the student call (almost) every 3 a 3.
    assert results["without_3_published_shift"]["errors_on_3s"] <= results["without_3"][
        "errors_on_3s"]
    assert (tmp_path / "bias_shift.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "summary.json").read_text())["bias_shift"] == summary[
        "bias_shift"]
    report = (tmp_path / "report.md").read_text()
    assert "| student distilled, T = 20 |" in report and "| 206 | 133 |" in report
    assert (tmp_path / "train_distilled.jsonl").read_text().count("\n") == 2
    fashion = summary["fashion_mnist"]
    assert [len(a) for a in fashion["test_accuracy"].values()] == [1, 2, 2, 2, 2]  # seeds
    grid = np.asarray(fashion["sweep"]["test_accuracy"])
    assert grid.shape == (2, 3) and np.all((0 <= grid) & (grid <= 1))
    assert (tmp_path / "temperature_soft_weight.png").stat().st_size > 10_000
    assert "student CNN, distilled + hints" in report
    # Transfer learning: every encoder x way of transferring it, and the scratch CNN.
    labels = summary["label_efficiency"]
    assert list(labels) == ["mnist_cnn", "simclr", "vae", "rbm", "scratch"]
    for name, modes in labels.items():
        assert list(modes) == (["fine_tune"] if name == "scratch" else
                               ["probe", "frozen", "fine_tune"]), name
        for mode, by_budget in modes.items():
            assert len(by_budget["100"]) == (1 if mode == "probe" else 2), (name, mode)
            assert all(0 <= a <= 1 for a in by_budget["100"]), (name, mode)
    assert max(labels["rbm"]["probe"]["100"]) > 0.3  # chance 0.1
    assert (tmp_path / "label_efficiency.png").stat().st_size > 10_000
    assert "| same CNN from scratch |" in report


def _n_params(module_fn) -> int:
    shapes = nnx.eval_shape(module_fn)
    return sum(leaf.size for leaf in jax.tree.leaves(nnx.state(shapes, nnx.Param)))


def test_the_default_fashion_student_has_at_most_a_tenth_of_the_teachers_parameters():
    config = transfer_experiment.Config()
    teacher = _n_params(lambda: classify.CNN(channels=config.fashion_teacher_channels,
                                             features=config.fashion_teacher_features,
                                             rngs=nnx.Rngs(0)))
    student = _n_params(lambda: classify.CNN(channels=config.fashion_student_channels,
                                             features=config.fashion_student_features,
                                             rngs=nnx.Rngs(0)))
    assert student <= teacher / 10


def test_the_default_simclr_encoder_is_the_contrastive_experiments_own():
    # At the defaults the transferred SimCLR is trained exactly as the contrastive table's
    # (the same recipe and key), so either experiment's checkpoint serves the other.
    from experiments import contrastive as contrastive_experiment

    config = transfer_experiment.Config()
    assert transfer_experiment.simclr_recipe(config) == contrastive_experiment.Config()
    assert config.pretrain_n_train == contrastive_experiment.Config().n_train
