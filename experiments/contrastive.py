"""Embeddings learned from similarity (the lecture's training techniques): SimCLR on
augmented views without labels, and metric learning (triplet with semi-hard or
batch-hard mining, Hadsell's contrastive loss) on class-balanced batches, against raw
pixels, PCA, a VAE's posterior means, an RBM's hidden units and a supervised CNN's
features (the ceiling). Every representation is judged frozen by the same toolkit: a linear
probe and k-NN accuracy (train -> test), precision@1 and MAP@R (test queries against
the training set); metric learning also on held-out classes (trained on the others,
retrieved among the unseen ones); a SimCLR temperature sweep as one vmapped program.
Figures: view pairs, t-SNE maps and a Kohonen map (``jaxselforg.som``) of the test
embeddings, nearest-neighbour retrieval grids (pixels against SimCLR), training curves.

    python -m experiments.contrastive [--quick] [--datasets fashion_mnist] [--simclr_epochs 40]
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import zlib

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from experiments import harness
from experiments import transfer as transfer_experiment
from jaxselforg import augment, contrastive, data, distances, evaluation, som, train, transfer, viz

TITLE = "SimCLR and metric learning: embeddings from similarity, judged by probes and retrieval"

BASELINES = ("raw pixels", "PCA")
METRIC = ("triplet (semi-hard)", "triplet (batch-hard)", "contrastive")
LEARNED = ("SimCLR",) + METRIC
# Representations of the other topics' networks (transfer.encoder_of): the kind of
# experiments.transfer.train_encoder that trains each.
ENCODED = {"VAE (posterior mean)": "vae", "RBM (hidden units)": "rbm",
           "supervised CNN (ceiling)": "cnn"}
METHODS = BASELINES + tuple(ENCODED)[:2] + LEARNED + tuple(ENCODED)[2:]


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
    # The probe's C, chosen per representation on the last sixth of the training images
    # (SimCLR's protocol tunes this penalty; C = 1 barely penalizes 3,136 features).
    probe_c: tuple[float, ...] = (0.01, 0.1, 1.0)
    # The network (SimCLR's small-MNIST notebook: conv 32/64/64 + dense 128, head 256 -> 64;
    # 28x28 images allow two stride-2 halvings, so conv 32/64 here).
    channels: tuple[int, ...] = (32, 64)
    features: int = 128  # the dense layer ending the metric learners' and the CNN's encoder
    simclr_features: int | None = None  # SimCLR's: None evaluates the convolution maps
    head: tuple[int, ...] = (256, 64)
    embedding_dim: int = 64
    # SimCLR.
    simclr_epochs: int = 40
    simclr_batch_size: int = 256
    temperature: float = 0.2  # 10 epochs on Fashion-MNIST: 0.880 at 0.2, 0.877 at 0.1
    crop_scale: tuple[float, float] = (0.3, 1.0)
    jitter: float = 0.4  # brightness/contrast strength, applied with p = 0.8 (0: none)
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
    # The other topics' networks (the CNN is the SimCLR encoder trained on the labels).
    encoder_epochs: int = 10
    vae_latent: int = 16
    rbm_hidden: int = 500
    # Figures: t-SNE and Kohonen maps of test embeddings, retrieval grids.
    tsne_points: int = 3_000
    som_grid: tuple[int, int] = (12, 12)
    som_epochs: int = 10
    retrieval_queries: int = 6


QUICK = {"datasets": ("fashion_mnist",), "methods": ("raw pixels", "PCA", "SimCLR",
                                                     "triplet (semi-hard)"),
         "n_train": 2000, "n_test": 500, "pca_components": 20, "probe_max_iter": 100,
         "channels": (8, 16), "features": 32, "head": (32, 16), "embedding_dim": 16,
         "simclr_epochs": 3, "simclr_batch_size": 128, "sweep_temperatures": (0.2, 0.5),
         "sweep_epochs": 1, "metric_epochs": 3, "n_per_class": 8, "learning_rate": 3e-3,
         "held_out_classes": (), "tsne_points": 500, "som_grid": (8, 8), "som_epochs": 5}


def _unit(images):
    return np.asarray(data.to_unit_range(images))


def probe(train_f, train_y, test_f, test_y, config: Config):
    """The linear probe's test result, its C chosen on held-out training features."""
    choice = evaluation.choose_probe_c(train_f, train_y, config.probe_c,
                                       max_iter=config.probe_max_iter)
    return evaluation.linear_probe(train_f, train_y, test_f, test_y, C=choice.C,
                                   max_iter=config.probe_max_iter), choice.C


def scores(train_f, train_y, test_f, test_y, config: Config) -> dict:
    """Linear probe (and its C), k-NN accuracy, P@1 and MAP@R of frozen features."""
    probed, c = probe(train_f, train_y, test_f, test_y, config)
    knn = evaluation.knn_accuracy(train_f, train_y, test_f, test_y, k=config.knn_k)
    retrieval = evaluation.retrieval_metrics(test_f, test_y, train_f, train_y)
    return {"linear_probe": float(probed.test_accuracy), "probe_C": c, "knn": float(knn),
            "precision_at_1": float(retrieval.precision_at_1),
            "map_at_r": float(retrieval.map_at_r)}


def kept_scores(train_f, train_y, test_f, test_y, config: Config, run: harness.Run) -> dict:
    """``scores``, kept beside the checkpoints under a digest of the features and labels
    (with the settings it depends on written inside), so that a rerun, or one resumed
    after an interruption, does not evaluate a finished row again (the probe's choice
    of C on 60,000 x 3,136 SimCLR features takes most of an hour on 2 cores)."""
    if run.quick:
        return scores(train_f, train_y, test_f, test_y, config)
    inputs = [np.asarray(a) for a in (train_f, train_y, test_f, test_y)]
    settings = {"shapes": [list(a.shape) for a in inputs], "probe_c": list(config.probe_c),
                "probe_max_iter": config.probe_max_iter, "knn_k": config.knn_k}
    path = run.out / "checkpoints" / "scores" / f"{train.fingerprint(inputs)}.json"
    if path.exists():
        kept = json.loads(path.read_text())
        if kept["settings"] == settings:
            return kept["scores"]
    result = scores(train_f, train_y, test_f, test_y, config)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")  # renamed whole: an interrupted write leaves no row
    partial.write_text(json.dumps({"settings": settings, "scores": result}))
    partial.replace(path)
    return result


def _slug(name: str) -> str:
    """The file name of a learned representation's checkpoints and metrics."""
    if name in ENCODED:
        return ENCODED[name]
    return name.lower().replace(" ", "_").replace("(", "").replace(")", "")


def _metrics_path(run: harness.Run, dataset: str, name: str, tag: str = "") -> pathlib.Path:
    return run.out / f"train_metrics_{dataset}_{_slug(name)}{tag}.jsonl"


def _views(config: Config, dataset: str):
    """SimCLR's augmentation for ``dataset`` (flips for Fashion-MNIST only)."""
    return contrastive.simclr_augmentation(config.crop_scale, flip=dataset == "fashion_mnist",
                                           jitter=config.jitter)


def _dataset_key(config: Config, dataset: str) -> jax.Array:
    return jax.random.fold_in(jax.random.key(config.seed), list(data.DATASETS).index(dataset))


def method_key(config: Config, dataset: str, name: str) -> jax.Array:
    """The PRNG key of one method's training on ``dataset``: keyed by name, not position,
    so a run of a subset of the methods (or a new row in METHODS) trains each one as the
    full run does, and resumes its checkpoints."""
    return jax.random.fold_in(_dataset_key(config, dataset),
                              zlib.crc32(name.encode()) & 0x7FFFFFFF)


def simclr_network(config: Config, dataset: str, x, **files):
    """This experiment's SimCLR (``config``'s network, views, temperature, optimizer and
    epochs; its key ``method_key(config, dataset, "SimCLR")``) trained on ``x``: the
    network of its table, and the one ``experiments.transfer`` transfers. ``files``:
    ``train_simclr``'s checkpoint_dir, metrics_path, progress and desc."""
    return contrastive.train_simclr(
        x, key=method_key(config, dataset, "SimCLR"), temperature=config.temperature,
        epochs=config.simclr_epochs, batch_size=config.simclr_batch_size,
        augmentation=_views(config, dataset), optimizer=config.optimizer,
        learning_rate=config.learning_rate, channels=config.channels,
        features=config.simclr_features, head=config.head, **{"desc": "SimCLR", **files})


def _metric(config: Config, dataset: str, name: str, x, y, run: harness.Run, key,
            tag: str = ""):
    settings = {"triplet (semi-hard)": {"loss": "triplet", "miner": "semi_hard",
                                        "margin": config.triplet_margin},
                "triplet (batch-hard)": {"loss": "triplet", "miner": "batch_hard",
                                         "margin": config.triplet_margin},
                "contrastive": {"loss": "contrastive", "margin": config.contrastive_margin}}
    return contrastive.train_metric(
        x, y, key=key, **settings[name], n_per_class=config.n_per_class,
        epochs=config.metric_epochs, learning_rate=config.learning_rate,
        channels=config.channels, features=config.features,
        embedding_dim=config.embedding_dim,
        checkpoint_dir=run.out / "checkpoints" / f"{dataset}_{_slug(name)}{tag}",
        metrics_path=_metrics_path(run, dataset, name, tag), desc=name)


def _encoder(config: Config, dataset: str, name: str, x, y, run: harness.Run, key):
    files = {"metrics_path": _metrics_path(run, dataset, name),
             "checkpoint_dir": run.out / "checkpoints" / f"{dataset}_{_slug(name)}",
             "desc": name}
    return transfer_experiment.train_encoder(
        ENCODED[name], x, y, key=key, epochs=config.encoder_epochs, channels=config.channels,
        features=config.features, vae_latent=config.vae_latent, rbm_hidden=config.rbm_hidden,
        files=files, learning_rate=config.learning_rate)


def evaluate_dataset(config: Config, dataset: str, run: harness.Run) -> dict:
    images, labels = data.load(dataset, "train")
    test_images, test_labels = data.load(dataset, "test")
    x, y = _unit(images[: config.n_train]), np.asarray(labels[: config.n_train])
    xt, yt = _unit(test_images[: config.n_test]), np.asarray(test_labels[: config.n_test])
    key = _dataset_key(config, dataset)
    results, histories, features = {}, {}, {}
    pixels, test_pixels = data.flatten(x), data.flatten(xt)
    for name in config.methods:
        if name not in METHODS:
            raise ValueError(f"Unknown method {name!r}; accepted: {METHODS}.")
        name_key = method_key(config, dataset, name)
        seconds = 0.0
        if name == "raw pixels":
            train_f, test_f = pixels, test_pixels
        elif name == "PCA":
            fitted, seconds = harness.timed(lambda: data.pca(pixels, config.pca_components))
            train_f = data.pca_project(pixels, fitted)
            test_f = data.pca_project(test_pixels, fitted)
        elif name in ENCODED:
            encoder, seconds = harness.timed(
                lambda n=name, k=name_key: _encoder(config, dataset, n, x, y, run, k))
            train_f, test_f = transfer.encode(encoder, x), transfer.encode(encoder, xt)
        elif name == "SimCLR":
            files = {"checkpoint_dir": run.out / "checkpoints" / f"{dataset}_simclr",
                     "metrics_path": _metrics_path(run, dataset, name)}
            trained, seconds = harness.timed(
                lambda f=files: simclr_network(config, dataset, x, **f))
            histories[name] = trained.history
            train_f = contrastive.embed(trained.model, x)
            test_f = contrastive.embed(trained.model, xt)
        else:
            trained, seconds = harness.timed(
                lambda n=name, k=name_key: _metric(config, dataset, n, x, y, run, k))
            histories[name] = trained.history
            train_f = contrastive.embed(trained.model, x, projection=True)
            test_f = contrastive.embed(trained.model, xt, projection=True)
        if name not in BASELINES:
            seconds = harness.training_seconds(_metrics_path(run, dataset, name), seconds)
        result = kept_scores(train_f, y, test_f, yt, config, run)
        result["train_seconds"] = round(seconds, 2)
        result["dim"] = int(train_f.shape[1])
        results[name] = result
        features[name] = (train_f, test_f)
        run.log(dataset=dataset, method=name, **result)
    out = {"methods": results, "histories": histories,
           "maps": embedding_maps(config, features, x, y, xt, yt, key)}
    if "SimCLR" in config.methods and len(config.sweep_temperatures) > 1:
        out["sweep"] = temperature_sweep(config, dataset, x, y, xt, yt, key, run,
                                       results["SimCLR"]["probe_C"])
        for tau, accuracy in out["sweep"].items():
            run.log(dataset=dataset, sweep_temperature=float(tau), linear_probe=accuracy)
    held = [m for m in METRIC if m in config.methods]
    if config.held_out_classes and held:
        out["held_out"] = held_out(config, dataset, held[0], x, y, xt, yt, run, key,
                                   features)
        run.log(dataset=dataset, held_out=out["held_out"])
    out["views"] = np.asarray(augment.simclr_views(_views(config, dataset),
                                                   jax.random.fold_in(key, 99), x[:8]))
    return out


def embedding_maps(config: Config, features: dict, x, y, xt, yt, key) -> dict:
    """What the figures show of the frozen features: t-SNE coordinates of the first
    ``tsne_points`` test images under raw pixels, the main learned representation, the
    first metric learner and the supervised ceiling; a Kohonen map of the main learned
    one's test embeddings; and the 8 nearest training images of one test query per
    class, under pixels and under it."""
    from sklearn.manifold import TSNE  # the reference t-SNE ([reference] extra)

    main = next((m for m in LEARNED if m in features), None)
    shown = [m for m in ("raw pixels", main, next((m for m in METRIC if m in features), None),
                         "supervised CNN (ceiling)") if m in features]
    shown = list(dict.fromkeys(shown))
    n = min(config.tsne_points, len(yt))
    maps: dict = {"tsne_labels": yt[:n], "tsne": {}, "main": main}
    for name in shown:
        maps["tsne"][name] = TSNE(init="pca", random_state=config.seed).fit_transform(
            np.asarray(features[name][1][:n], np.float64))
    if main is None:
        return maps
    test_f = features[main][1]
    fitted = som.train(test_f, config.som_grid, key=jax.random.fold_in(key, 3000),
                       mode="batch", epochs=config.som_epochs)
    maps["som"] = (som.u_matrix(fitted.weights), som.hit_map(fitted.weights, test_f),
                   som.label_map(fitted.weights, test_f, yt, n_classes=10))
    classes = range(min(config.retrieval_queries, 10))
    queries = np.asarray([np.flatnonzero(yt == c)[0] for c in classes if np.any(yt == c)])
    rows, labels = [], []
    for q in queries:
        for name in [m for m in ("raw pixels", main) if m in features]:
            train_f, query_f = features[name][0], features[name][1][q:q + 1]
            neighbours = np.asarray(distances.k_nearest(query_f, train_f, 8)[0][0])
            rows.append(np.concatenate([xt[q:q + 1], x[neighbours]]))
            labels.append(f"{name}: {int(np.sum(y[neighbours] == yt[q]))}/8")
    maps["retrieval"] = (np.stack(rows), labels)
    return maps


def temperature_sweep(config: Config, dataset: str, x, y, xt, yt, key,
                      run: harness.Run, c: float) -> dict:
    """Linear-probe accuracy of SimCLR at each temperature: one vmapped training
    (checkpointed: a rerun resumes it); the probes at ``c``, the penalty chosen for the
    main SimCLR row (choosing again per temperature costs 3 fits of 3,136 features each)."""
    taus = jnp.asarray(config.sweep_temperatures, jnp.float32)
    sweep = contrastive.train_simclr(
        x, key=jax.random.fold_in(key, 1000), temperature=taus, epochs=config.sweep_epochs,
        batch_size=config.simclr_batch_size,
        augmentation=_views(config, dataset), optimizer=config.optimizer,
        learning_rate=config.learning_rate, channels=config.channels,
        features=config.simclr_features, head=config.head, desc="temperature sweep",
        checkpoint_dir=run.out / "checkpoints" / f"{dataset}_simclr_sweep",
        metrics_path=_metrics_path(run, dataset, "SimCLR", "_sweep"))
    accuracy = {}
    for i, tau in enumerate(config.sweep_temperatures):
        model = sweep.model_of(i)
        probed = evaluation.linear_probe(contrastive.embed(model, x), y,
                                         contrastive.embed(model, xt), yt, C=c,
                                         max_iter=config.probe_max_iter)
        accuracy[str(tau)] = float(probed.test_accuracy)
    return accuracy


def held_out(config: Config, dataset: str, name: str, x, y, xt, yt, run, key,
             features: dict) -> dict:
    """P@1 and MAP@R among classes unseen in training: the metric learner trained on the
    other classes against raw pixels, and (``label_free``) the representations of
    ``features`` that never saw a label (PCA, SimCLR: fitted on every image)."""
    unseen = np.isin(y, config.held_out_classes)
    unseen_test = np.isin(yt, config.held_out_classes)
    trained = _metric(config, dataset, name, x[~unseen], y[~unseen], run,
                      jax.random.fold_in(key, 2000), tag="_held_out")
    embed = lambda images: contrastive.embed(trained.model, images, projection=True)
    learned = evaluation.retrieval_metrics(embed(xt[unseen_test]), yt[unseen_test],
                                           embed(x[unseen]), y[unseen])
    pixels = evaluation.retrieval_metrics(data.flatten(xt[unseen_test]), yt[unseen_test],
                                          data.flatten(x[unseen]), y[unseen])
    label_free = {}
    for other in [m for m in ("PCA", "SimCLR") if m in features]:
        train_f, test_f = features[other]
        found = evaluation.retrieval_metrics(test_f[unseen_test], yt[unseen_test],
                                             train_f[unseen], y[unseen])
        label_free[other] = {"precision_at_1": float(found.precision_at_1),
                             "map_at_r": float(found.map_at_r)}
    return {"method": name, "classes": list(config.held_out_classes),
            "precision_at_1": float(learned.precision_at_1), "map_at_r": float(learned.map_at_r),
            "pixels_precision_at_1": float(pixels.precision_at_1),
            "pixels_map_at_r": float(pixels.map_at_r), "label_free": label_free}


def curves_figure(results: dict) -> plt.Figure:
    datasets = list(results)
    panels = (("loss", "training loss"), ("embedding_std", "embedding std (0 = collapse)"),
              ("alignment", "SimCLR alignment (lower: views closer)"),
              ("uniformity", "SimCLR uniformity (lower: more spread)"))
    fig, axes = plt.subplots(len(datasets), len(panels),
                             figsize=(4.6 * len(panels), 3.8 * len(datasets)), squeeze=False)
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


def tsne_figure(results: dict) -> plt.Figure:
    cols = max(len(result["maps"]["tsne"]) for result in results.values())
    fig, axes = plt.subplots(len(results), cols, figsize=(5.2 * cols, 4.8 * len(results)),
                             squeeze=False)
    for ax in axes.ravel():
        ax.set_visible(False)
    for row, dataset in enumerate(results):
        maps = results[dataset]["maps"]
        for col, (name, coords) in enumerate(maps["tsne"].items()):
            axes[row, col].set_visible(True)
            viz.latent_scatter(coords, maps["tsne_labels"], data.CLASS_NAMES[dataset],
                               f"{dataset}: {name}", axis_labels=("t-SNE 1", "t-SNE 2"),
                               ax=axes[row, col])
    fig.tight_layout()
    return fig


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
    simclr_encoder = ("the flattened maps (no dense layer)" if config.simclr_features is None
                      else f"a dense layer of {config.simclr_features}")
    run.text(
        f"Every representation is frozen and judged by the same toolkit "
        f"(``jaxselforg.evaluation``): an L-BFGS multinomial linear probe (standardized "
        f"features, at most {config.probe_max_iter} iterations; its L2 penalty C chosen "
        f"among {list(config.probe_c)} by the accuracy on the last sixth of the training "
        f"images, fitted on the rest, then refitted on all: ``evaluation.choose_probe_c``) "
        f"and {config.knn_k}-NN "
        f"accuracy on the test set, and precision@1 and MAP@R of the test images as queries "
        f"against the training images (Euclidean). Training: the first {config.n_train:,} "
        f"training images; test: the first {config.n_test:,}. The network "
        f"(``contrastive.EmbeddingNet``): 3x3 stride-2 convolutions {list(config.channels)} "
        f"with BatchNorm, then {simclr_encoder}; SimCLR adds a projection head "
        f"{list(config.head)} and is evaluated on the encoder's output (as SimCLR's ResNet "
        f"on its pooled convolution maps); the metric learners' encoder ends in a dense "
        f"layer of {config.features}, then one linear layer to {config.embedding_dim} "
        f"unit-normalized dimensions, evaluated there. The earlier design, SimCLR on a "
        f"dense layer of 128 and views without the brightness and contrast jitter, gave "
        f"0.795 on Fashion-MNIST after 20 epochs at tau 0.5: below raw pixels. "
        f"SimCLR: NT-Xent at tau = {config.temperature:g}, "
        f"{config.simclr_epochs} epochs, batch {config.simclr_batch_size} (2x views), "
        f"{config.optimizer} at {config.learning_rate:g} with cosine decay, random resized "
        f"crop of area {tuple(config.crop_scale)} and aspect (3/4, 4/3), horizontal flips "
        f"(p = 1/2) for Fashion-MNIST only, a random brightness and contrast (factors in "
        f"1 +- {config.jitter:g}, p = 0.8; ``augment.BrightnessContrast``), no labels. "
        f"Metric learning: class-balanced batches of 10 classes x {config.n_per_class} "
        f"images, {config.metric_epochs} epochs "
        f"(an epoch: the smallest class's count / {config.n_per_class} steps), triplet margin "
        f"{config.triplet_margin:g}, contrastive margin {config.contrastive_margin:g}. "
        f"The other topics' networks, {config.encoder_epochs} epochs on the same training "
        f"images (``experiments.transfer.train_encoder``, features by "
        f"``transfer.encode``): an MLP VAE's posterior means (latent {config.vae_latent}, "
        f"binarized pixels), an RBM's {config.rbm_hidden} hidden-unit probabilities (CD-1), "
        f"and the SimCLR encoder's network trained on the labels (2-pixel jitter) as the "
        f"supervised ceiling.")
    summary: dict = {}
    for dataset, result in results.items():
        methods = result["methods"]
        rows = [[name, r["dim"], r["linear_probe"], r["probe_C"], r["knn"],
                 r["precision_at_1"], r["map_at_r"], r["train_seconds"]]
                for name, r in methods.items()]
        run.table(["representation", "dim", "linear probe", "probe C", f"{config.knn_k}-NN",
                   "P@1", "MAP@R", "training (s)"], rows,
                  caption=f"{dataset}: frozen representations (test accuracy; retrieval of "
                          f"test queries among the training images).")
        summary[dataset] = {"methods": methods, "sweep": result.get("sweep"),
                            "held_out": result.get("held_out")}
        if result.get("sweep"):
            run.table(["temperature", "linear probe"],
                      [[t, a] for t, a in result["sweep"].items()],
                      caption=f"{dataset}: SimCLR temperature sweep ({config.sweep_epochs} "
                              f"epochs each, trained as one vmapped program; probes at the "
                              f"C chosen for the SimCLR row, "
                              f"{result['methods']['SimCLR']['probe_C']:g}).")
        held = result.get("held_out")
        if held:
            run.table(["embedding", "P@1", "MAP@R"],
                      [[held["method"], held["precision_at_1"], held["map_at_r"]],
                       ["raw pixels", held["pixels_precision_at_1"], held["pixels_map_at_r"]]]
                      + [[f"{other} (no labels, every image)", r["precision_at_1"],
                          r["map_at_r"]] for other, r in held["label_free"].items()],
                      caption=f"{dataset}: retrieval among classes {held['classes']}, unseen "
                              f"by the metric learner (trained on the other classes).")
        for name, history in result["histories"].items():
            std = float(np.asarray(history["embedding_std"])[-1])
            summary[dataset]["methods"][name]["final_embedding_std"] = std
    run.figure(views_figure(results), "views", "Augmented view pairs (SimCLR's positives)")
    run.figure(curves_figure(results), "training_curves",
               "Training loss, embedding spread (collapse detection) and SimCLR's alignment "
               "and uniformity (Wang & Isola 2020) per epoch")
    if any(r.get("sweep") for r in results.values()):
        run.figure(sweep_figure(results), "temperature_sweep",
                   "Linear-probe accuracy of SimCLR against the NT-Xent temperature")
    if any(r["maps"]["tsne"] for r in results.values()):
        run.figure(tsne_figure(results), "tsne",
                   f"t-SNE (scikit-learn, PCA start) of the first {config.tsne_points:,} test "
                   f"images' frozen features, coloured by class")
    for dataset, result in results.items():
        maps = result["maps"]
        if "som" in maps:
            fig = viz.som_maps_figure(
                *maps["som"], data.CLASS_NAMES[dataset], inputs="test embeddings",
                title=f"{dataset}: a {config.som_grid[0]}x{config.som_grid[1]} Kohonen map of "
                      f"{maps['main']}'s test embeddings")
            run.figure(fig, f"som_{dataset}",
                       f"{dataset}: the lecture's self-organizing map applied to learned "
                       f"features: U-matrix, hits and majority class per unit of a batch map "
                       f"({config.som_epochs} epochs) of {maps['main']}'s test embeddings")
            images, labels = maps["retrieval"]
            run.figure(viz.mosaic_figure(images, images.shape[1],
                                         f"{dataset}: a test query (left) and its 8 nearest "
                                         f"training images", row_labels=labels),
                       f"retrieval_{dataset}",
                       f"{dataset}: nearest training images of one test query per class, "
                       f"by raw pixels and by {maps['main']} (row label: neighbours of the "
                       f"query's class)")
    return summary


if __name__ == "__main__":
    harness.main(__name__)
