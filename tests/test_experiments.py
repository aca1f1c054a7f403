"""The run harness, run_all, and the distances experiment end to end at tiny size."""

import dataclasses
import json
import math
import sys
import types

import pytest

from experiments import cluster as cluster_experiment
from experiments import distances as distances_experiment
from experiments import harness, run_all
from experiments import rbm as rbm_experiment
from experiments import som as som_experiment


@dataclasses.dataclass
class ToyConfig:
    """A toy experiment."""

    steps: int = 100
    rate: float = 0.5
    name: str = "full"
    flag: bool = False
    metrics: tuple[str, ...] = ("a", "b")


def test_config_precedence_defaults_then_quick_then_flags():
    config, out, quick = harness.parse_config(ToyConfig, [], {"steps": 5})
    assert config == ToyConfig() and out is None and not quick
    config, _, quick = harness.parse_config(ToyConfig, ["--quick"], {"steps": 5, "name": "q"})
    assert quick and config.steps == 5 and config.name == "q"
    config, out, _ = harness.parse_config(
        ToyConfig, ["--quick", "--steps", "7", "--rate", "0.25", "--flag", "true",
                    "--metrics", "x", "y", "z", "--out", "somewhere"], {"steps": 5})
    assert config == ToyConfig(steps=7, rate=0.25, name="full", flag=True, metrics=("x", "y", "z"))
    assert out == "somewhere"


@pytest.mark.parametrize("argv", [["--steps", "many"], ["--flag", "maybe"], ["--unknown", "1"]])
def test_bad_flags_exit_with_a_usage_message(argv, capsys):
    with pytest.raises(SystemExit):
        harness.parse_config(ToyConfig, argv)
    assert "usage" in capsys.readouterr().err


def _toy_module(fail=False):
    module = types.ModuleType("experiments.toy")
    module.Config, module.QUICK, module.TITLE = ToyConfig, {"steps": 3}, "A toy"

    def run(config, run):
        if fail:
            raise RuntimeError("toy exploded")
        for step in range(config.steps):
            run.log(step=step, loss=1.0 / (step + 1))
        run.table(("steps", "rate"), [(config.steps, config.rate)])
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        ax.plot(range(config.steps))
        run.figure(fig, "curve", "a curve")
        return {"final_loss": 1.0 / config.steps}

    module.run = run
    return module


def test_execute_writes_the_run_folder(tmp_path):
    summary = harness.execute(_toy_module(), ToyConfig(steps=4), tmp_path / "toy", quick=True)
    folder = tmp_path / "toy"
    assert summary["final_loss"] == 0.25 and summary["wall_time_s"] >= 0
    assert json.loads((folder / "config.json").read_text())["steps"] == 4
    assert json.loads((folder / "summary.json").read_text())["final_loss"] == 0.25
    lines = (folder / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [0, 1, 2, 3]
    report = (folder / "report.md").read_text()
    assert report.startswith("## A toy") and "| 4 | 0.5 |" in report and "](curve.png)" in report
    assert (folder / "curve.png").stat().st_size > 1000


def test_run_all_gathers_reports_and_survives_a_failure(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "experiments.toy", _toy_module())
    monkeypatch.setitem(sys.modules, "experiments.broken", _toy_module(fail=True))
    monkeypatch.setattr(run_all, "EXPERIMENTS", ("toy", "broken"))
    status = run_all.main(["--quick", "--out", str(tmp_path), "--no-progress"])
    assert status == 1  # one experiment failed
    report = (tmp_path / "REPORT.md").read_text()
    assert "| ok |" in report and "| FAILED |" in report and "toy exploded" in report
    assert "](toy/curve.png)" in report  # figure links rewritten relative to runs/
    assert json.loads((tmp_path / "toy" / "summary.json").read_text())["final_loss"] == 1 / 3


def test_distances_experiment_end_to_end_tiny(tmp_path):
    config = distances_experiment.Config(
        n_queries=60, n_train=3000, metrics=("euclidean", "minkowski:3", "seuclidean", "dot"),
        n_examples=3)
    summary = harness.execute(distances_experiment, config, tmp_path, quick=True)
    accuracy = summary["accuracy"]
    assert set(accuracy) == {"euclidean", "Minkowski p=3", "weighted Euclidean (1/var)", "dot"}
    # 1-NN on Fashion-MNIST is far above chance with Euclidean; the raw dot form is poor.
    assert accuracy["euclidean"] > 0.6 and accuracy["dot"] < accuracy["euclidean"]
    assert summary["sklearn_agreement"] == {"euclidean": 1.0}  # the reference, same predictions
    for figure in ("unit_balls", "accuracy_by_metric", "neighbours"):
        assert (tmp_path / f"{figure}.png").stat().st_size > 10_000
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["metric"] for r in records] == list(accuracy)
    assert "| euclidean |" in (tmp_path / "report.md").read_text()


def test_cluster_experiment_end_to_end_tiny(tmp_path):
    config = cluster_experiment.Config(n_train=1500, k=4, pca_components=8, wta_epochs=1,
                                       bic_ks=(2, 4), bernoulli_ks=(3,), bernoulli_max_iter=10)
    summary = harness.execute(cluster_experiment, config, tmp_path, quick=True)
    methods = summary["methods"]
    assert {"k-means (k-means++)", "sklearn KMeans (k-means++)", "Gaussian mixture (diag)",
            "sklearn GaussianMixture (full)", "Bernoulli mixture"} <= set(methods)
    for name, scores in methods.items():
        assert 0.2 < scores["accuracy"] <= 1 and scores["quantization_error"] > 0, name
    # Our k-means and scikit-learn's find clusterings of similar quality.
    ours, theirs = methods["k-means (k-means++)"], methods["sklearn KMeans (k-means++)"]
    assert abs(ours["inertia_per_image"] - theirs["inertia_per_image"]) < 0.05 * theirs[
        "inertia_per_image"]
    assert summary["bic_best_k"] in (2, 4)
    assert summary["bernoulli_mnist_test_log_likelihood"]["3"] < 0
    for figure in ("centres", "confusion", "criterion_vs_iteration", "bic_vs_k",
                   "bernoulli_mnist_means"):
        assert (tmp_path / f"{figure}.png").stat().st_size > 10_000
    report = (tmp_path / "report.md").read_text()
    assert "| Bernoulli mixture |" in report and "Salakhutdinov" in report


def test_som_experiment_end_to_end_tiny(tmp_path):
    config = som_experiment.Config(toy_points=300, toy_grid=(4, 4), toy_epochs=(0, 1, 2),
                                   chain_units=8, n_train=800, grid=(5, 5), epochs=3,
                                   online_epochs=1)
    summary = harness.execute(som_experiment, config, tmp_path, quick=True)
    maps = summary["fashion_map"]
    assert set(maps) == {"batch map (jaxselforg)", "online, asymptotic decay (jaxselforg)",
                         "online, asymptotic decay (MiniSom)"}
    for name, scores in maps.items():
        # Ten classes: labelling by the winning unit must beat chance by far.
        assert scores["winner_label_accuracy"] > 0.4, name
        assert 0 < scores["test_quantization_error"] < 10 and 0 <= scores[
            "test_topographic_error"] <= 1, name
    for figure in ("development", "prototypes", "u_matrix_hits_labels", "qe_te_per_epoch"):
        assert (tmp_path / f"{figure}.png").stat().st_size > 10_000
    assert "| batch map (jaxselforg) |" in (tmp_path / "report.md").read_text()


def test_vae_experiment_end_to_end_tiny(tmp_path):
    from experiments import vae as vae_experiment

    config = vae_experiment.Config(n_train=1000, n_test=500, latent_dims=(2,),
                                   traversal_latent=2, hidden=(64,), epochs=2, iw_samples=10,
                                   iw_images=100, interpolation_pairs=2, interpolation_steps=5,
                                   n_samples=16, n_reconstructions=8, conv_epochs=0,
                                   mnist_hidden=(32,), mnist_epochs=4, further_iw_samples=5)
    summary = harness.execute(vae_experiment, config, tmp_path, quick=True)
    further = summary["further_models"]
    # The conv model is tested in test_vae.py; here the MNIST check alone (its compile
    # would double this test's time).
    assert [s["dataset"] for s in further.values()] == ["mnist"]
    for name, scores in further.items():
        assert 0 < scores["test_negative_elbo"] < 784 * 0.6932, name
        assert -784 * 0.6932 < scores["iw_log_likelihood"] < 0, name
    for d in ("2",):
        elbo = summary["test_negative_elbo"][d]
        # Binarized 28x28 images: between the perfect 0 and a coin per pixel (784 ln 2).
        assert 0 < elbo < 784 * 0.6932, d
        # The importance-weighted bound is at least the ELBO on the same images (K = 10).
        scores = summary["by_latent_dim"][d]
        assert -elbo - 20 < summary["iw_log_likelihood"][d] < 0
        assert summary["iw_log_likelihood"][d] >= -scores["negative_elbo_on_iw_subset"] - 1.0
        assert scores["test_kl"] > 0 and scores["test_reconstruction"] > 0
        assert (tmp_path / f"train_metrics_latent{d}.jsonl").read_text().count("\n") == 2
    for figure in ("manifold_2d", "latent_scatter_2d", "traversal", "interpolation", "samples",
                   "reconstructions", "loss_curves"):
        assert (tmp_path / f"{figure}.png").stat().st_size > 10_000, figure
    report = (tmp_path / "report.md").read_text()
    assert "| 2 | 2 |" in report and "binarized" in report and "Flax example" in report


def test_rbm_experiment_end_to_end_tiny(tmp_path):
    # Mostly compilation: one dataset, and the Hopfield probes share one shape.
    config = rbm_experiment.Config(
        datasets=("fashion_mnist",), n_train=600, n_hidden=16, cd1_epochs=2, cd_k=2,
        cd_k_epochs=1, pcd_epochs=2, ais_chains=8, ais_betas=100, train_ll_rows=300,
        sample_chains=4, chain_columns=4, sample_steps=(1, 5), memory_show=4, memory_eval=40,
        complete_steps=6, hopfield_patterns=5, capacity_units=40, capacity_alphas=(0.05,),
        capacity_probes=40, probe_train=300, probe_max_iter=50)
    summary = harness.execute(rbm_experiment, config, tmp_path, quick=True)
    scores = summary["log_likelihood"]["fashion_mnist"]
    assert set(scores) == {"CD-1", "CD-2", "PCD-1"}
    for name, s in scores.items():
        # 784 binary pixels: between certainty (0 nats) and uniform noise (784 ln 2).
        assert -784 * 0.6932 < s["test"] < 0 and s["log_z_std"] >= 0, name
    memory = summary["memory"]
    completion = "completion (bottom half hidden)"
    # Half the hidden pixels of the noise start are wrong; any RBM does better.
    assert memory[f"{completion} / corrupted input / start noise"]["pixel_error_pct"] > 35
    assert memory[f"{completion} / RBM CD-1 / start blank"]["pixel_error_pct"] < 35
    assert summary["hopfield_capacity"]["overlap_random_exact"]["0.05"] > 0.95
    assert set(summary["probe_accuracy"]) >= {"raw pixels (grey levels)"}
    assert all(0.1 < a <= 1 for a in summary["probe_accuracy"].values())
    for figure in ("filters", "gibbs_chains", "samples_by_method", "monitors_per_epoch",
                   "associative_memory", "hopfield_capacity"):
        assert (tmp_path / f"{figure}.png").stat().st_size > 10_000
    report = (tmp_path / "report.md").read_text()
    assert "| PCD-1 | 2 |" in report and "| Hopfield" in report


def test_discriminative_experiment_with_the_vae_per_class_tiny(tmp_path):
    from experiments import discriminative

    methods = ("Bernoulli naive Bayes", "VAE per class (IW bound)",
               "logistic regression (binary)")
    config = discriminative.Config(datasets=("mnist",), sizes=(20, 100), n_seeds=2,
                                   n_test=200, logistic_max_iter=20, methods=methods,
                                   vae_hidden=16, vae_latent_dim=2, vae_steps=10,
                                   vae_max_epochs=5, vae_n_samples=2, vae_n_test=100)
    first = tmp_path / "first"
    summary = harness.execute(discriminative, config, first, quick=True)
    curves = summary["curves"]["mnist"]
    vae_curve = curves["VAE per class (IW bound)"]
    assert vae_curve["size"] == [20, 100] and all(len(e) == 1 for e in vae_curve["errors"])
    assert all(0 <= e <= 1 for e in vae_curve["mean"])  # 10 Adam steps: no accuracy claim
    assert "mnist: VAE per class (IW bound) vs logistic regression (binary)" in summary[
        "crossings"]
    report = (first / "report.md").read_text()
    assert "VAE per class (IW bound)" in report and "richer generative model" in report
    # A second run with the first as baseline reuses its curves and measures nothing.
    again = dataclasses.replace(config, methods=("VAE per class (IW bound)",),
                                baseline=(str(first / "summary.json"),))
    second = harness.execute(discriminative, again, tmp_path / "second", quick=True)
    assert second["curves"]["mnist"] == summary["curves"]["mnist"]
    metrics = tmp_path / "second" / "metrics.jsonl"
    assert not metrics.exists() or metrics.read_text() == ""
    assert (tmp_path / "second" / "learning_curves.png").stat().st_size > 10_000


def test_seconds_per_epoch_leaves_out_the_compiling_first_epoch():
    assert harness.seconds_per_epoch([9.0, 1.0, 3.0, 2.0]) == 2.0
    assert harness.seconds_per_epoch([4.0]) == 4.0
    assert math.isnan(harness.seconds_per_epoch([]))
