"""GANs on Fashion-MNIST and MNIST: the fully connected GAN, DCGAN, the conditional GAN
and InfoGAN, each trained as a seed sweep in one vmapped program, scored on the library's
one yardstick (the reference CNN's FCD, classifier score, precision/recall, class
entropy and, for the CGAN, class accuracy) next to a VAE's samples.

    python -m experiments.gan [--quick] [--datasets mnist] [--models dcgan cgan] ...

Every model trains with Orbax checkpoints under ``<out>/checkpoints``: the sample grids
of the training progression are taken after each of ``snapshot_epochs`` by resuming
the same run, and an interrupted full run continues where it stopped when started
again with the same ``--out``.
"""

from __future__ import annotations

import dataclasses

import jax
import matplotlib.pyplot as plt
import numpy as np

from experiments import harness
from jaxselforg import data, evaluation, gan, train, vae, viz

TITLE = "GANs: fully connected, DCGAN, conditional, InfoGAN"

# The models of the experiment: train_gan settings on top of the config's.
MODELS = {
    "fc": {"architecture": "mlp"},
    "dcgan": {"architecture": "dcgan"},
    "cgan": {"architecture": "dcgan", "conditional": True},
    "infogan": {"architecture": "dcgan", "info": gan.InfoCodes()},
    "wgan_gp": {"architecture": "dcgan", "loss": "wasserstein_gp"},
}
LABELS = {"fc": "fully connected GAN", "dcgan": "DCGAN", "cgan": "conditional DCGAN",
          "infogan": "InfoGAN (DCGAN)", "wgan_gp": "WGAN-GP (DCGAN nets)"}
# Lucic et al. 2018, best Inception FID of ~100 settings (MNIST, Fashion-MNIST): a
# different metric (ImageNet features), quoted for scale only.
PUBLISHED_FID = {"non-saturating GAN": (6.8, 26.5), "WGAN": (6.7, 21.5),
                 "WGAN-GP": (20.3, 24.5)}


@dataclasses.dataclass
class Config:
    """GAN seed sweeps per dataset and model, scored against the test images."""

    seed: int = 0
    datasets: tuple[str, ...] = ("fashion_mnist", "mnist")
    models: tuple[str, ...] = ("fc", "dcgan", "cgan", "infogan")
    n_train: int = 60_000
    n_seeds: int = 4  # the vmapped seed sweep of every model
    epochs: int = 10
    snapshot_epochs: tuple[int, ...] = (1, 3, 10)  # sample grids of the progression
    batch_size: int = 64
    latent_dim: int = 64
    # CPU-sized nets: the Keras DCGAN example's (G 128, 128; D 64, 128) cost ~1 s per
    # step on 2 CPU cores; pass them on an accelerator.
    mlp_generator: tuple[int, ...] = (256, 512, 1024)
    mlp_discriminator: tuple[int, ...] = (512, 256)
    dcgan_generator: tuple[int, ...] = (64, 64)
    dcgan_discriminator: tuple[int, ...] = (32, 64)
    n_score: int = 10_000  # samples (and test images) of the final scores
    n_eval: int = 2_000  # samples of the per-epoch FCD
    reference_epochs: int = 10  # the reference CNN behind every score
    reference_n_train: int = 60_000
    vae_epochs: int = 10  # the VAE scored beside the GANs (0: none)
    vae_latent: int = 16


QUICK = {"datasets": ("fashion_mnist",), "models": ("fc", "dcgan", "cgan", "infogan"),
         "n_train": 2_048, "n_seeds": 2, "epochs": 2, "snapshot_epochs": (1, 2),
         "latent_dim": 32, "mlp_generator": (128, 256), "mlp_discriminator": (256, 128),
         "dcgan_generator": (16, 16), "dcgan_discriminator": (16, 32), "n_score": 1_000,
         "n_eval": 500, "reference_epochs": 1, "reference_n_train": 5_000, "vae_epochs": 2}


def _check(config: Config) -> None:
    unknown = sorted(set(config.models) - set(MODELS))
    if unknown:
        raise ValueError(f"Unknown models {unknown}; choose from {sorted(MODELS)}.")
    if not config.snapshot_epochs or max(config.snapshot_epochs) > config.epochs \
            or min(config.snapshot_epochs) < 1:
        raise ValueError(f"snapshot_epochs must lie in [1, epochs = {config.epochs}]; got "
                         f"{config.snapshot_epochs}.")


def _settings(config: Config, name: str) -> dict:
    settings = dict(MODELS[name])
    widths = ((config.mlp_generator, config.mlp_discriminator) if settings["architecture"] ==
              "mlp" else (config.dcgan_generator, config.dcgan_discriminator))
    return {**settings, "generator_widths": widths[0], "discriminator_widths": widths[1],
            "latent_dim": config.latent_dim, "batch_size": config.batch_size}


def _samples(generator, settings: dict, n: int, key):
    """n samples of a generator, with balanced classes (CGAN) or prior codes (InfoGAN)."""
    if settings.get("conditional"):
        labels = np.arange(n) % 10
        return gan.sample(generator, n, key=key, labels=labels), labels
    return gan.sample(generator, n, key=key, codes=settings.get("info")), None


def train_model(config: Config, name: str, dataset: str, x, y, extractor, eval_real,
                run: harness.Run):
    """One model's seed sweep, resumed through the snapshot epochs; returns the result,
    the progression grids {epoch: run 0's 10 images [10, h, w]} and the epoch records."""
    settings = _settings(config, name)
    eval_features = extractor.features(eval_real)
    eval_key = jax.random.key(config.seed + 7)

    def fcd(generator):
        samples, _ = _samples(generator, settings, config.n_eval, eval_key)
        return {"fcd": evaluation.frechet_distance(eval_features, extractor.features(samples))}

    keys = jax.random.split(jax.random.fold_in(jax.random.key(config.seed),
                                               list(MODELS).index(name)), config.n_seeds)
    directory = run.out / "checkpoints" / dataset / name
    metrics_path = run.out / f"train_metrics_{dataset}_{name}.jsonl"
    grid_key = jax.random.key(config.seed + 11)
    # The grids are kept beside the checkpoints: a run resumed past a snapshot (whose
    # checkpoint is no longer kept) still shows it.
    grids = run.out / "checkpoints" / dataset / f"{name}_progression.npz"
    resuming = directory.exists() and grids.exists()
    progression = {int(e): g for e, g in np.load(grids).items()} if resuming else {}
    for epochs in sorted(set(config.snapshot_epochs) | {config.epochs}):
        result = gan.train_gan(x, y if settings.get("conditional") else None, key=keys,
                               epochs=epochs, evaluate=fcd, checkpoint_dir=directory,
                               metrics_path=metrics_path, progress=train.progress_enabled(),
                               desc=f"{name} {dataset}", **settings)
        # A resumed run may already be past this snapshot (the checkpoint is restored,
        # not rewound): label the grid with the epoch the state has reached.
        reached = int(np.max(np.asarray(result.state.step))) // (len(x) // config.batch_size)
        if reached in config.snapshot_epochs and reached not in progression:
            progression[reached] = np.asarray(_samples(result.generator_of(0), settings, 10,
                                                       grid_key)[0])
            grids.parent.mkdir(parents=True, exist_ok=True)
            np.savez(grids, **{str(e): g for e, g in progression.items()})
    return result, progression, train.read_metrics(metrics_path)


def score_model(config: Config, name: str, result, extractor, x_test) -> list:
    """SampleScores of every run of the sweep."""
    settings = _settings(config, name)
    scores = []
    for i in range(config.n_seeds):
        samples, labels = _samples(result.generator_of(i), settings, config.n_score,
                                   jax.random.key(config.seed + 100 + i))
        scores.append(evaluation.score_samples(extractor, samples, x_test[: config.n_score],
                                               requested_labels=labels))
    return scores


def _mean_std_best(values, best=min) -> str:
    values = np.asarray(values, float)
    if np.all(np.isnan(values)):
        return "-"
    text = f"{np.mean(values):.3g} ± {np.std(values):.2g}"
    return text + (f" (best {best(values):.3g})" if values.size > 1 else "")


def progression_figure(progressions: dict, dataset: str):
    """Each model's grids at the snapshot epochs it has: a run resumed past a snapshot
    (its checkpoint is not kept) has no grid of it."""
    rows, labels = [], []
    for name, grids in progressions.items():
        for e in sorted(grids):
            rows.append(grids[e])
            labels.append(f"{name}, epoch {e}")
    return viz.mosaic_figure(np.stack(rows), 10, f"Training progression on {dataset}: the "
                             "same z (and codes) after each snapshot epoch (seed 0)",
                             width=8, row_labels=labels)


def curves_figure(records: dict, dataset: str):
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    cmap = plt.get_cmap("tab10")
    for i, (name, rows) in enumerate(records.items()):
        epochs = [r["epoch"] for r in rows]
        mean = lambda key, rows=rows: [np.mean(r[key]) for r in rows]
        axes[0].plot(epochs, mean("discriminator/loss"), "-", color=cmap(i),
                     label=f"{name}: D loss")
        axes[0].plot(epochs, mean("generator/loss"), "--", color=cmap(i),
                     label=f"{name}: G loss")
        if name != "wgan_gp":
            axes[1].plot(epochs, mean("discriminator/d_real"), "-", color=cmap(i),
                         label=f"{name}: D(x)")
            axes[1].plot(epochs, mean("discriminator/d_fake"), ":", color=cmap(i),
                         label=f"{name}: D(G(z))")
        fcd = np.asarray([r["fcd"] for r in rows], float).reshape(len(rows), -1)
        axes[2].plot(epochs, fcd.mean(1), "-o", ms=3, color=cmap(i), label=name)
        axes[2].fill_between(epochs, fcd.min(1), fcd.max(1), color=cmap(i), alpha=0.2)
    axes[0].set_ylabel("loss (mean over seeds)")
    axes[1].set_ylabel("mean D output (mean over seeds)")
    axes[2].set_ylabel("FCD (mean; band: min..max over seeds)")
    axes[2].set_yscale("log")
    return harness.finish_curves(fig, axes, f"GAN training on {dataset}")


def model_figures(config: Config, name: str, dataset: str, result, run: harness.Run) -> None:
    """CGAN class rows, latent interpolation, InfoGAN code traversals (seed 0)."""
    generator = result.generator_of(0)
    key = jax.random.key(config.seed + 5)
    names = data.CLASS_NAMES[dataset]
    if name == "cgan":
        rows = np.asarray(gan.class_rows(generator, 10, key=key))
        fig = viz.mosaic_figure(rows, 10, f"Conditional DCGAN on {dataset}: one class per row, "
                                "one z per column", width=8, row_labels=list(names))
        run.figure(fig, f"{dataset}_cgan_classes", f"Conditional samples on {dataset}: row y "
                   "is G(z, onehot(y)), each column shares its z (the style)")
    elif name == "infogan":
        codes = MODELS["infogan"]["info"]
        grids = [("categorical", None), ("continuous 1", 0), ("continuous 2", 1)]
        for label, index in grids:
            rows = np.asarray(gan.code_traversal(generator, codes, key=key,
                                                 continuous_index=index))
            title = (f"InfoGAN on {dataset}: row r sets the categorical code to r"
                     + ("; columns: 8 z, continuous codes 0" if index is None else
                        f"; columns: c{index + 1} from -2 to 2, one z"))
            fig = viz.mosaic_figure(rows, rows.shape[1], title, width=8,
                                    row_labels=[f"c = {r}" for r in range(rows.shape[0])])
            slug = "categorical" if index is None else f"continuous{index + 1}"
            run.figure(fig, f"{dataset}_infogan_{slug}", f"InfoGAN code traversal "
                       f"({label}) on {dataset}: learned without labels")
    elif name == "dcgan":
        z = jax.random.normal(key, (5, 2, generator.latent_dim))
        strips = np.stack([np.asarray(gan.interpolate(generator, a, b, steps=10))
                           for a, b in z])
        fig = viz.mosaic_figure(strips, 10, f"DCGAN on {dataset}: G on the segment from z_a "
                                "to z_b", width=8)
        run.figure(fig, f"{dataset}_dcgan_interpolation", f"Latent interpolation of the "
                   f"DCGAN on {dataset} (seed 0): five random pairs of z")


def vae_row(config: Config, x, extractor, x_test):
    """The lecture's other generative model, on the same yardstick: an MLP VAE's
    samples (Bernoulli means of the decoder at z ~ N(0, I))."""
    result = vae.train_vae(x, key=jax.random.key(config.seed), latent_dim=config.vae_latent,
                           architecture="mlp", epochs=config.vae_epochs, binarize=True,
                           progress=train.progress_enabled(), desc="VAE")
    samples = vae.sample(result.model, config.n_score, key=jax.random.key(config.seed + 3))
    seconds = harness.seconds_per_epoch(result.history["seconds"])
    return evaluation.score_samples(extractor, samples, x_test[: config.n_score]), seconds, \
        np.asarray(samples[:40])


def run_dataset(config: Config, dataset: str, run: harness.Run) -> dict:
    images, labels = data.load(dataset, "train")
    x, y = data.to_unit_range(images[: config.n_train]), np.asarray(labels[: config.n_train])
    test_images, _ = data.load(dataset, "test")
    x_test = data.to_unit_range(test_images)
    extractor = evaluation.feature_extractor(dataset, epochs=config.reference_epochs,
                                             n_train=config.reference_n_train,
                                             progress=train.progress_enabled())
    # The floor: real training images scored as samples against the test images.
    floor = evaluation.score_samples(extractor, data.to_unit_range(images[: config.n_score]),
                                     x_test[: config.n_score])
    rows = [("real training images (the floor)", "-", floor.fcd, floor.classifier_score,
             floor.precision, floor.recall, floor.class_entropy, "-", "-")]
    summary = {"reference_cnn_test_accuracy": extractor.test_accuracy,
               "floor": floor._asdict(), "models": {}}
    progressions, records = {}, {}
    for name in run.progress(config.models, f"GANs on {dataset}"):
        # The per-epoch FCD uses the last n_eval test images, the final scores the first.
        result, progressions[name], records[name] = train_model(
            config, name, dataset, x, y, extractor, x_test[-config.n_eval:], run)
        scores = score_model(config, name, result, extractor, x_test)
        seconds = harness.seconds_per_epoch([r["seconds"] for r in records[name]])
        column = lambda field, scores=scores: [getattr(s, field) for s in scores]
        summary["models"][name] = {field: column(field) for field in scores[0]._fields}
        summary["models"][name]["seconds_per_epoch_all_seeds"] = seconds
        for i, s in enumerate(scores):
            run.log(section="scores", dataset=dataset, model=name, seed=i, **s._asdict())
        rows.append((LABELS[name], config.n_seeds, _mean_std_best(column("fcd")),
                     _mean_std_best(column("classifier_score"), max),
                     _mean_std_best(column("precision"), max),
                     _mean_std_best(column("recall"), max),
                     _mean_std_best(column("class_entropy"), max),
                     _mean_std_best(column("class_accuracy"), max),
                     f"{seconds:.1f} ({seconds / config.n_seeds:.1f} per seed)"))
        model_figures(config, name, dataset, result, run)
    if config.vae_epochs:
        vae_scores, seconds, vae_samples = vae_row(config, x, extractor, x_test)
        summary["vae"] = {**vae_scores._asdict(), "seconds_per_epoch": seconds}
        rows.append((f"MLP VAE, latent {config.vae_latent} (samples: Bernoulli means)", 1,
                     vae_scores.fcd, vae_scores.classifier_score, vae_scores.precision,
                     vae_scores.recall, vae_scores.class_entropy, "-", f"{seconds:.1f}"))
        progressions["vae"] = {config.vae_epochs: vae_samples[:10]}
    run.table(("model", "seeds", "FCD (lower better)", "classifier score", "precision",
               "recall", "class entropy (ln 10 = 2.303)", "class accuracy",
               "s / epoch (sweep)"), rows,
              caption=f"**{dataset}**: {config.n_score:,} samples per run against the first "
                      f"{config.n_score:,} test images, in the reference CNN's features (test "
                      f"accuracy {extractor.test_accuracy:.4f}); mean ± std over the seed "
                      f"sweep and the best run; {config.epochs} epochs on {len(x):,} training "
                      f"images, batch {config.batch_size}, z of {config.latent_dim}.")
    run.figure(progression_figure({k: v for k, v in progressions.items() if k != "vae"},
                                  dataset), f"{dataset}_progression",
               f"Samples during training on {dataset} (fixed z, seed 0 of each sweep)")
    run.figure(curves_figure(records, dataset), f"{dataset}_curves",
               f"Losses, mean D(x) and D(G(z)), and the per-epoch FCD on {config.n_eval:,} "
               f"samples, on {dataset}")
    return summary


def run(config: Config, run: harness.Run) -> dict:
    _check(config)
    g, d = config.dcgan_generator, config.dcgan_discriminator
    run.text(
        f"Each model is a sweep of {config.n_seeds} seeds trained **vmapped in one compiled "
        f"program** (`gan.train_gan(..., key=jax.random.split(key, {config.n_seeds}))`), "
        f"non-saturating loss, Adam 2e-4 (0.5, 0.999) (Radford et al. 2016; WGAN-GP: "
        f"(0.5, 0.9)), BatchNorm in both DCGAN networks and in the generator only of the "
        f"fully connected GAN and of WGAN-GP (`train_gan`'s defaults), batch "
        f"{config.batch_size}, z ~ "
        f"N(0, I) of {config.latent_dim}. Fully connected nets: G "
        f"{'-'.join(map(str, config.mlp_generator))}, D "
        f"{'-'.join(map(str, config.mlp_discriminator))} (leaky ReLU 0.2). DCGAN: the Keras "
        f"example's layout (G dense 7x7 -> two 4x4 stride-2 transposed convolutions -> 7x7 "
        f"conv, sigmoid; D two 3x3 stride-2 convolutions, then, as Radford et al. and "
        f"`train_gan`'s default, the flattened maps (the example's global max pool learns "
        f"slower), dense) at widths G {g}, D {d} (the example's are G (128, 128), "
        f"D (64, 128)). The CGAN "
        "concatenates onehot(y) to z and broadcasts it as 10 extra channels of D's input; "
        "InfoGAN adds a categorical code of 10 and 2 continuous codes, and a Q head on D.")
    summary = {}
    for dataset in config.datasets:
        summary[dataset] = run_dataset(config, dataset, run)
    fid = ", ".join(f"{k} {v[0]} / {v[1]}" for k, v in PUBLISHED_FID.items())
    run.text(
        "**FCD is not FID.** FCD is the Fréchet distance between Gaussians fitted to the "
        "256 penultimate features of the library's own Fashion-MNIST / MNIST CNN (no "
        "ImageNet weights can be downloaded here, and an ImageNet network is a poor judge "
        "of 28x28 grey images); its scale is that CNN's, so only numbers in the same table "
        "compare. For scale only, Lucic et al. 2018's best Inception FIDs over ~100 "
        f"settings (MNIST / Fashion-MNIST): {fid}. Precision and recall: k = 3 nearest "
        "neighbours in the same features (Kynkäänniemi et al. 2019). Class entropy: of the "
        "CNN's predicted classes of the samples (mode collapse shows as a low entropy). "
        "Class accuracy: the share of the CGAN's samples that the CNN assigns to the "
        "class they were generated for.")
    return summary


if __name__ == "__main__":
    harness.main(__name__)
