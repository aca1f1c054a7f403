"""Embeddings learned from similarity (the lecture's training techniques): SimCLR on
augmented views without labels, and metric learning (triplet with semi-hard or
batch-hard mining, Hadsell's contrastive loss) on class-balanced batches, against raw
pixels and PCA. Every representation is judged frozen by the same toolkit: a linear
probe and k-NN accuracy (train -> test), precision@1 and MAP@R (test queries against
the training set); metric learning also on held-out classes (trained on the others,
retrieved among the unseen ones); a SimCLR temperature sweep as one vmapped program.

    python -m experiments.contrastive [--quick] [--datasets fashion_mnist] [--simclr_epochs 20]
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from experiments import harness
from jaxselforg import augment, contrastive, data, evaluation, viz

TITLE = "SimCLR and metric learning: embeddings from similarity, judged by probes and retrieval"

BASELINES = ("raw pixels", "PCA")
LEARNED = ("SimCLR", "triplet (semi-hard)", "triplet (batch-hard)", "contrastive")
METHODS = BASELINES + LEARNED


@dataclasses.dataclass
class Config:
    """Frozen-feature evaluation of raw pixels, PCA, SimCLR and metric learning."""

    seed: int = 0
    datasets: tuple[str, ...] = ("fashion_mnist", "mnist")
    methods: tuple[str, ...] = METHODS
    n_train: int = 60_000
    n_test: int = 10_000
    pca_components: int = 50
    knn_k: int = 5
    probe_max_iter: int = 500
    # The network (SimCLR's small-MNIST notebook: conv 32/64/64 + dense 128, head 256 -> 64;
    # 28x28 images allow two stride-2 halvings, so conv 32/64 here).
    channels: tuple[int, ...] = (32, 64)
    features: int = 128
    head: tuple[int, ...] = (256, 64)
    embedding_dim: int = 64
    # SimCLR.
    simclr_epochs: int = 20
    simclr_batch_size: int = 256
    temperature: float = 0.5
    crop_scale: tuple[float, float] = (0.3, 1.0)
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    sweep_temperatures: tuple[float, ...] = (0.1, 0.2, 0.5, 1.0)
    sweep_epochs: int = 5
    # Metric learning.
    metric_epochs: int = 10
    n_per_class: int = 16
    triplet_margin: float = 0.2
    contrastive_margin: float = 1.0
    held_out_classes: tuple[int, ...] = (6, 7, 8, 9)  # () skips the held-out-class run


QUICK = {"datasets": ("fashion_mnist",), "methods": ("raw pixels", "PCA", "SimCLR",
                                                     "triplet (semi-hard)"),
         "n_train": 2000, "n_test": 500, "pca_components": 20, "probe_max_iter": 100,
         "channels": (8, 16), "features": 32, "head": (32, 16), "embedding_dim": 16,
         "simclr_epochs": 3, "simclr_batch_size": 128, "sweep_temperatures": (0.2, 0.5),
         "sweep_epochs": 1, "metric_epochs": 3, "n_per_class": 8, "learning_rate": 3e-3,
         "held_out_classes": ()}


def _unit(images):
    return np.asarray(data.to_unit_range(images))


def scores(train_f, train_y, test_f, test_y, config: Config) -> dict:
    """Linear probe, k-NN accuracy, P@1 and MAP@R of frozen features."""
    probe = evaluation.linear_probe(train_f, train_y, test_f, test_y,
                                    max_iter=config.probe_max_iter)
    knn = evaluation.knn_accuracy(train_f, train_y, test_f, test_y, k=config.knn_k)
    retrieval = evaluation.retrieval_metrics(test_f, test_y, train_f, train_y)
    return {"linear_probe": float(probe.test_accuracy), "knn": float(knn),
            "precision_at_1": float(retrieval.precision_at_1),
            "map_at_r": float(retrieval.map_at_r)}


def _simclr(config: Config, dataset: str, x, run: harness.Run, key):
    augmentation = contrastive.simclr_augmentation(config.crop_scale,
                                                   flip=dataset == "fashion_mnist")
    return contrastive.train_simclr(
        x, key=key, temperature=config.temperature, epochs=config.simclr_epochs,
        batch_size=config.simclr_batch_size, augmentation=augmentation,
        optimizer=config.optimizer, learning_rate=config.learning_rate,
        channels=config.channels, features=config.features, head=config.head,
        checkpoint_dir=run.out / "checkpoints" / f"{dataset}_simclr",
        metrics_path=run.out / f"train_metrics_{dataset}_simclr.jsonl", desc="SimCLR")


def _metric(config: Config, dataset: str, name: str, x, y, run: harness.Run, key,
            tag: str = ""):
    settings = {"triplet (semi-hard)": {"loss": "triplet", "miner": "semi_hard",
                                        "margin": config.triplet_margin},
                "triplet (batch-hard)": {"loss": "triplet", "miner": "batch_hard",
                                         "margin": config.triplet_margin},
                "contrastive": {"loss": "contrastive", "margin": config.contrastive_margin}}
    slug = name.replace(" ", "_").replace("(", "").replace(")", "") + tag
    return contrastive.train_metric(
        x, y, key=key, **settings[name], n_per_class=config.n_per_class,
        epochs=config.metric_epochs, learning_rate=config.learning_rate,
        channels=config.channels, features=config.features,
        embedding_dim=config.embedding_dim,
        checkpoint_dir=run.out / "checkpoints" / f"{dataset}_{slug}",
        metrics_path=run.out / f"train_metrics_{dataset}_{slug}.jsonl", desc=name)


def evaluate_dataset(config: Config, dataset: str, run: harness.Run) -> dict:
    images, labels = data.load(dataset, "train")
    test_images, test_labels = data.load(dataset, "test")
    x, y = _unit(images[: config.n_train]), np.asarray(labels[: config.n_train])
    xt, yt = _unit(test_images[: config.n_test]), np.asarray(test_labels[: config.n_test])
    key = jax.random.fold_in(jax.random.key(config.seed), list(data.DATASETS).index(dataset))
    results, histories = {}, {}
    pixels, test_pixels = data.flatten(x), data.flatten(xt)
    for i, name in enumerate(config.methods):
        if name not in METHODS:
            raise ValueError(f"Unknown method {name!r}; accepted: {METHODS}.")
        method_key = jax.random.fold_in(key, i)
        seconds = 0.0
        if name == "raw pixels":
            train_f, test_f = pixels, test_pixels
        elif name == "PCA":
            fitted, seconds = harness.timed(lambda: data.pca(pixels, config.pca_components))
            train_f = data.pca_project(pixels, fitted)
            test_f = data.pca_project(test_pixels, fitted)
        elif name == "SimCLR":
            trained, seconds = harness.timed(
                lambda k=method_key: _simclr(config, dataset, x, run, k))
            histories[name] = trained.history
            train_f = contrastive.embed(trained.model, x)
            test_f = contrastive.embed(trained.model, xt)
        else:
            trained, seconds = harness.timed(
                lambda n=name, k=method_key: _metric(config, dataset, n, x, y, run, k))
            histories[name] = trained.history
            train_f = contrastive.embed(trained.model, x, projection=True)
            test_f = contrastive.embed(trained.model, xt, projection=True)
        result = scores(train_f, y, test_f, yt, config)
        result["train_seconds"] = round(seconds, 2)
        result["dim"] = int(train_f.shape[1])
        results[name] = result
        run.log(dataset=dataset, method=name, **result)
    out = {"methods": results, "histories": histories}
    if "SimCLR" in config.methods and len(config.sweep_temperatures) > 1:
        out["sweep"] = temperature_sweep(config, dataset, x, y, xt, yt, key)
        for tau, accuracy in out["sweep"].items():
            run.log(dataset=dataset, sweep_temperature=float(tau), linear_probe=accuracy)
    held = [m for m in config.methods if m in LEARNED[1:]]
    if config.held_out_classes and held:
        out["held_out"] = held_out(config, dataset, held[0], x, y, xt, yt, run, key)
        run.log(dataset=dataset, held_out=out["held_out"])
    out["views"] = np.asarray(augment.simclr_views(
        contrastive.simclr_augmentation(config.crop_scale, flip=dataset == "fashion_mnist"),
        jax.random.fold_in(key, 99), x[:8]))
    return out


def temperature_sweep(config: Config, dataset: str, x, y, xt, yt, key) -> dict:
    """Linear-probe accuracy of SimCLR at each temperature: one vmapped training."""
    taus = jnp.asarray(config.sweep_temperatures, jnp.float32)
    sweep = contrastive.train_simclr(
        x, key=jax.random.fold_in(key, 1000), temperature=taus, epochs=config.sweep_epochs,
        batch_size=config.simclr_batch_size,
        augmentation=contrastive.simclr_augmentation(config.crop_scale,
                                                     flip=dataset == "fashion_mnist"),
        optimizer=config.optimizer, learning_rate=config.learning_rate,
        channels=config.channels, features=config.features, head=config.head,
        desc="temperature sweep")
    accuracy = {}
    for i, tau in enumerate(config.sweep_temperatures):
        model = sweep.model_of(i)
        probe = evaluation.linear_probe(contrastive.embed(model, x), y,
                                        contrastive.embed(model, xt), yt,
                                        max_iter=config.probe_max_iter)
        accuracy[str(tau)] = float(probe.test_accuracy)
    return accuracy


def held_out(config: Config, dataset: str, name: str, x, y, xt, yt, run, key) -> dict:
    """P@1 and MAP@R among classes unseen in training: the learned embedding vs pixels."""
    unseen = np.isin(y, config.held_out_classes)
    unseen_test = np.isin(yt, config.held_out_classes)
    trained = _metric(config, dataset, name, x[~unseen], y[~unseen], run,
                      jax.random.fold_in(key, 2000), tag="_held_out")
    embed = lambda images: contrastive.embed(trained.model, images, projection=True)
    learned = evaluation.retrieval_metrics(embed(xt[unseen_test]), yt[unseen_test],
                                           embed(x[unseen]), y[unseen])
    pixels = evaluation.retrieval_metrics(data.flatten(xt[unseen_test]), yt[unseen_test],
                                          data.flatten(x[unseen]), y[unseen])
    return {"method": name, "classes": list(config.held_out_classes),
            "precision_at_1": float(learned.precision_at_1), "map_at_r": float(learned.map_at_r),
            "pixels_precision_at_1": float(pixels.precision_at_1),
            "pixels_map_at_r": float(pixels.map_at_r)}


def curves_figure(results: dict) -> plt.Figure:
    datasets = list(results)
    panels = (("loss", "training loss"), ("embedding_std", "embedding std (0 = collapse)"),
              ("uniformity", "SimCLR uniformity (lower: more spread)"))
    fig, axes = plt.subplots(len(datasets), len(panels), figsize=(14, 3.8 * len(datasets)),
                             squeeze=False)
    for row, dataset in enumerate(datasets):
        histories = results[dataset]["histories"]
        for col, (metric, label) in enumerate(panels):
            curves = {name: h[metric] for name, h in histories.items() if metric in h}
            viz.plot_curves(axes[row, col], curves, ylabel=label, title=f"{dataset}: {label}")
    fig.tight_layout()
    return fig


def views_figure(results: dict) -> plt.Figure:
    rows = []
    for dataset in results:
        views_a, views_b = results[dataset]["views"]
        rows.extend([views_a, views_b])
    labels = [f"{d}: view {v}" for d in results for v in ("a", "b")]
    return viz.mosaic_figure(np.stack(rows), 8, "SimCLR positive pairs: two augmented views "
                             "of the same images (columns)", row_labels=labels)


def sweep_figure(results: dict) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6, 4))
    for dataset, result in results.items():
        sweep = result.get("sweep")
        if sweep:
            ax.plot([float(t) for t in sweep], list(sweep.values()), marker="o", label=dataset)
    ax.set_xscale("log")
    ax.set_xlabel("NT-Xent temperature tau (log scale)")
    ax.set_ylabel("linear-probe test accuracy")
    ax.set_title("SimCLR temperature sweep (one vmapped training)")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    return fig


def run(config: Config, run: harness.Run) -> dict:
    results = {dataset: evaluate_dataset(config, dataset, run) for dataset in config.datasets}
    run.text(
        f"Every representation is frozen and judged by the same toolkit "
        f"(``jaxselforg.evaluation``): an L-BFGS multinomial linear probe (standardized "
        f"features, C = 1, at most {config.probe_max_iter} iterations) and {config.knn_k}-NN "
        f"accuracy on the test set, and precision@1 and MAP@R of the test images as queries "
        f"against the training images (Euclidean). Training: the first {config.n_train:,} "
        f"training images; test: the first {config.n_test:,}. The network "
        f"(``contrastive.EmbeddingNet``): 3x3 stride-2 convolutions {list(config.channels)} "
        f"with BatchNorm, a dense layer of {config.features}; SimCLR adds a projection head "
        f"{list(config.head)} and is evaluated on the encoder's {config.features} features; "
        f"metric learning uses one linear layer to {config.embedding_dim} unit-normalized "
        f"dimensions and is evaluated there. SimCLR: NT-Xent at tau = {config.temperature:g}, "
        f"{config.simclr_epochs} epochs, batch {config.simclr_batch_size} (2x views), "
        f"{config.optimizer} at {config.learning_rate:g} with cosine decay, random resized "
        f"crop of area {tuple(config.crop_scale)} and aspect (3/4, 4/3), horizontal flips "
        f"(p = 1/2) for Fashion-MNIST only, no labels. Metric learning: class-balanced "
        f"batches of 10 classes x {config.n_per_class} images, {config.metric_epochs} epochs "
        f"(an epoch: the smallest class's count / {config.n_per_class} steps), triplet margin "
        f"{config.triplet_margin:g}, contrastive margin {config.contrastive_margin:g}.")
    summary: dict = {}
    for dataset, result in results.items():
        methods = result["methods"]
        rows = [[name, r["dim"], r["linear_probe"], r["knn"], r["precision_at_1"],
                 r["map_at_r"], r["train_seconds"]] for name, r in methods.items()]
        run.table(["representation", "dim", "linear probe", f"{config.knn_k}-NN", "P@1",
                   "MAP@R", "training (s)"], rows,
                  caption=f"{dataset}: frozen representations (test accuracy; retrieval of "
                          f"test queries among the training images).")
        summary[dataset] = {"methods": methods, "sweep": result.get("sweep"),
                            "held_out": result.get("held_out")}
        if result.get("sweep"):
            run.table(["temperature", "linear probe"],
                      [[t, a] for t, a in result["sweep"].items()],
                      caption=f"{dataset}: SimCLR temperature sweep ({config.sweep_epochs} "
                              f"epochs each, trained as one vmapped program).")
        held = result.get("held_out")
        if held:
            run.table(["embedding", "P@1", "MAP@R"],
                      [[held["method"], held["precision_at_1"], held["map_at_r"]],
                       ["raw pixels", held["pixels_precision_at_1"], held["pixels_map_at_r"]]],
                      caption=f"{dataset}: retrieval among classes {held['classes']}, unseen "
                              f"by the metric learner (trained on the other classes).")
        for name, history in result["histories"].items():
            std = float(np.asarray(history["embedding_std"])[-1])
            summary[dataset]["methods"][name]["final_embedding_std"] = std
    run.figure(views_figure(results), "views", "Augmented view pairs (SimCLR's positives)")
    run.figure(curves_figure(results), "training_curves",
               "Training loss, embedding spread (collapse detection) and SimCLR's uniformity "
               "per epoch")
    if any(r.get("sweep") for r in results.values()):
        run.figure(sweep_figure(results), "temperature_sweep",
                   "Linear-probe accuracy of SimCLR against the NT-Xent temperature")
    run.text("Not yet in this report (issue 16): the VAE, RBM and supervised-CNN rows, t-SNE "
             "and Kohonen maps of the embeddings, nearest-neighbour retrieval grids, and "
             "alignment/uniformity figures beyond the curves above.")
    return summary


if __name__ == "__main__":
    harness.main(__name__)
