"""The distillation experiment end to end at a tiny size: every row of Hinton et al.'s
table is measured, the bias correction is chosen on held-out images, the figure and the
report are written."""

from __future__ import annotations

import json

from experiments import harness
from experiments import transfer as transfer_experiment


def test_transfer_experiment_end_to_end_tiny(tmp_path):
    config = transfer_experiment.Config(n_train=640, n_test=300, n_validation=200,
                                        batch_size=64, learning_rate=3e-3,
                                        teacher_hidden=(32,), teacher_epochs=2,
                                        student_hidden=(16,), student_epochs=2)
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
