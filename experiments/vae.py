"""Variational autoencoders on Fashion-MNIST (lecture section 9, the assignment): MLP
VAEs trained on dynamically binarized images; the 2-D latent manifold and the test
codes by class; traversals along every latent coordinate, interpolations, samples
and reconstructions of a larger latent; -ELBO and importance-weighted log-likelihood
per latent size.

Further models: the Keras example's convolutional VAE on the same data, and the Flax
example's MLP VAE on binarized MNIST (its published -ELBO as the reference).

    python -m experiments.vae [--quick] [--latent_dims 2 16 40] [--epochs 60] [--iw_samples 5000]

The likelihood model (IW -231.6 nats in reports/full, against the issue's -232):

    python -m experiments.vae --latent_dims 40 --traversal_latent 40 --epochs 150 \
        --conv_epochs 0 --mnist_epochs 0
"""

from __future__ import annotations

import dataclasses

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from experiments import harness
from jaxselforg import data, train, vae, viz

TITLE = "Variational autoencoders: latent manifold, traversals and likelihoods"

# Exemplar VAE (Norouzi et al., NeurIPS 2020), Table 1: Gaussian-prior VAE, 40-d latent,
# 2x300 MLP, dynamically binarized Fashion-MNIST, importance-weighted ln P(x), K = 5000.
PUBLISHED_FASHION_40D = -228.7
# The Flax VAE example (github.com/google/flax, examples/vae): 784-500-20 MLP on
# binarized MNIST, Adam 1e-3, batch 128; test -ELBO about 104 nats after 10 epochs.
PUBLISHED_MNIST_FLAX = 104.0


@dataclasses.dataclass
class Config:
    """MLP VAEs (one per latent size) trained on binarized training images, scored on
    a fixed binarization of the test images."""

    seed: int = 0
    dataset: str = "fashion_mnist"
    n_train: int = 60_000
    n_test: int = 10_000
    latent_dims: tuple[int, ...] = (2, 16, 40)
    traversal_latent: int = 16  # the model (one of latent_dims) drawn in the traversal figures
    hidden: tuple[int, ...] = (512, 512)
    epochs: int = 60
    batch_size: int = 128
    learning_rate: float = 1e-3
    learning_rate_decay: str = "cosine"  # half cosine to 0 over the run, or "constant"
    iw_samples: int = 5000  # K of the importance-weighted log-likelihood
    iw_images: int = 2000  # test images it is computed on (the first ones of the test split)
    traversal_images: int = 2  # test images traversed (one figure each)
    interpolation_pairs: int = 5
    interpolation_steps: int = 10
    n_samples: int = 64
    n_reconstructions: int = 12
    # Further models (0 epochs: skipped), scored with fewer importance samples.
    conv_latent: int = 16
    conv_epochs: int = 10
    mnist_latent: int = 20
    mnist_hidden: tuple[int, ...] = (500,)
    mnist_epochs: int = 10
    further_iw_samples: int = 500


QUICK = {"n_train": 12_000, "latent_dims": (2, 16), "hidden": (512,), "epochs": 6,
         "iw_samples": 100, "iw_images": 500, "traversal_images": 1, "conv_epochs": 1,
         "mnist_epochs": 2, "further_iw_samples": 50}


def _binary_test(config: Config, dataset: str) -> tuple[jax.Array, jax.Array, np.ndarray]:
    """Test images in [0, 1], one fixed dynamic binarization of them, and labels."""
    images, labels = data.load(dataset, "test")
    x = data.to_unit_range(images[: config.n_test])
    binary = data.dynamic_binarize(jax.random.key(config.seed + 1), x)
    return x, binary, np.asarray(labels[: config.n_test])


def train_models(config: Config, x_train, test_binary, run: harness.Run) -> dict:
    key = jax.random.key(config.seed)
    results = {}
    for d in config.latent_dims:
        results[d] = vae.train_vae(
            x_train, key=jax.random.fold_in(key, d), latent_dim=d, architecture="mlp",
            hidden=config.hidden, epochs=config.epochs, batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            learning_rate_decay=config.learning_rate_decay, binarize=True,
            test_images=test_binary,
            metrics_path=run.out / f"train_metrics_latent{d}.jsonl",
            progress=train.progress_enabled(), desc=f"VAE latent {d}")
    return results


def score(config: Config, results: dict, test_binary, run: harness.Run) -> tuple[list, dict]:
    """The table of -ELBO, IW ln P(x), KL, reconstruction per latent size."""
    n_iw = min(config.iw_images, test_binary.shape[0])
    rows, summary = [], {}
    for d, result in run.progress(results.items(), "evaluating", total=len(results)):
        model = result.model
        key = jax.random.key(config.seed + 2)
        ev = vae.evaluate(model, test_binary, key=key)
        iw = float(np.mean(np.asarray(vae.importance_log_likelihood(
            model, test_binary[:n_iw], key=jax.random.fold_in(key, 1),
            n_samples=config.iw_samples, chunk_size=min(100, config.iw_samples)))))
        elbo_subset = float(np.mean(np.asarray(vae.elbo_terms(
            model, test_binary[:n_iw], key=jax.random.fold_in(key, 2)).loss)))
        seconds = float(np.sum(result.history["seconds"]))
        row = {"test_negative_elbo": float(ev.negative_elbo),
               "test_reconstruction": float(ev.reconstruction), "test_kl": float(ev.kl),
               "iw_log_likelihood": iw, "negative_elbo_on_iw_subset": elbo_subset,
               "reconstruction_mse": float(ev.reconstruction_mse),
               "train_negative_elbo_last_epoch": float(result.history["negative_elbo"][-1]),
               "train_seconds": seconds}
        summary[d] = row
        run.log(section="evaluation", latent_dim=d, **row)
        rows.append((d, config.epochs, row["train_negative_elbo_last_epoch"],
                     row["test_negative_elbo"], row["test_reconstruction"], row["test_kl"],
                     -elbo_subset, iw, row["reconstruction_mse"], round(seconds, 1)))
    return rows, summary


def further_models(config: Config, x_train, test_binary, run: harness.Run) -> dict:
    """The conv VAE on the same data, and the Flax example's MNIST MLP VAE."""
    specs = []
    if config.conv_epochs:
        specs.append((f"conv (Keras example), latent {config.conv_latent}", config.dataset,
                      {"architecture": "conv", "latent_dim": config.conv_latent},
                      config.conv_epochs, "-"))
    if config.mnist_epochs:
        hidden = "-".join(str(h) for h in config.mnist_hidden)
        specs.append((f"MLP 784-{hidden}-{config.mnist_latent} (Flax example)", "mnist",
                      {"architecture": "mlp", "latent_dim": config.mnist_latent,
                       "hidden": config.mnist_hidden}, config.mnist_epochs,
                      f"-ELBO about {PUBLISHED_MNIST_FLAX:.0f} after 10 epochs"))
    rows, summary = [], {}
    for name, dataset, settings, epochs, published in run.progress(specs, "further models"):
        if dataset == config.dataset:
            train_x, test_x = x_train, test_binary
        else:
            images, _ = data.load(dataset, "train")
            train_x = data.to_unit_range(images[: config.n_train])
            test_x = _binary_test(config, dataset)[1]
        result = vae.train_vae(
            train_x, key=jax.random.key(config.seed), epochs=epochs,
            batch_size=config.batch_size, learning_rate=config.learning_rate, binarize=True,
            progress=train.progress_enabled(), desc=name, **settings)
        key = jax.random.key(config.seed + 2)
        ev = vae.evaluate(result.model, test_x, key=key)
        n_iw = min(config.iw_images, test_x.shape[0])
        iw = float(np.mean(np.asarray(vae.importance_log_likelihood(
            result.model, test_x[:n_iw], key=jax.random.fold_in(key, 1),
            n_samples=config.further_iw_samples,
            chunk_size=min(100, config.further_iw_samples)))))
        seconds = float(np.sum(result.history["seconds"]))
        summary[name] = {"dataset": dataset, "epochs": epochs,
                         "test_negative_elbo": float(ev.negative_elbo),
                         "test_reconstruction": float(ev.reconstruction),
                         "test_kl": float(ev.kl), "iw_log_likelihood": iw,
                         "train_seconds": seconds}
        run.log(section="further", model=name, **summary[name])
        rows.append((name, dataset, epochs, float(ev.negative_elbo), float(ev.reconstruction),
                     float(ev.kl), iw, published, round(seconds, 1)))
    if rows:
        run.table(("model", "data", "epochs", "test -ELBO", "reconstruction", "KL",
                   f"IW ln P(x), K={config.further_iw_samples}", "published", "train s"), rows,
                  caption=f"Further models, nats per image on dynamically binarized test "
                          f"images (one fixed draw), IW on the first "
                          f"{min(config.iw_images, test_binary.shape[0]):,}; Adam at "
                          f"{config.learning_rate:g}, constant, batch {config.batch_size}, "
                          f"the first {config.n_train:,} training images.")
    return summary


def manifold_figures(config: Config, model, x_test, labels, run: harness.Run) -> None:
    grid = np.asarray(vae.latent_grid(model, n=20))
    fig = viz.mosaic_figure(grid, 20, "Decoded 20x20 grid over the prior's quantiles "
                            "(5%..95%; z1 left to right, z2 bottom to top)", width=10)
    run.figure(fig, "manifold_2d", "The learned 2-D manifold: Bernoulli means decoded on a "
               "20x20 grid of N(0, I) quantiles (latent_dim = 2)")
    mean, _ = vae.encode(model, x_test)
    fig = viz.latent_scatter(mean, labels, data.CLASS_NAMES[config.dataset],
                             f"Means of Q(z | x) for {len(mean):,} test images (latent_dim = 2)",
                             axis_labels=("$\\mu_1(x)$", "$\\mu_2(x)$"))
    run.figure(fig, "latent_scatter_2d", "Test-set means of the 2-D latent code, coloured by "
               "Fashion-MNIST class")


def latent_figures(config: Config, model, x_test, labels, run: harness.Run) -> dict:
    d = model.latent_dim
    names = data.CLASS_NAMES[config.dataset]
    usage = vae.latent_usage(model, x_test)  # Burda et al.'s active units
    kl_per_dim, active = np.asarray(usage.kl_per_dimension), usage.n_active
    offsets = np.linspace(-3.0, 3.0, 11)
    # Different classes for the traversed images: the first test image of classes 0, 9, 1, ...
    classes = [0, 9, 1, 8, 2, 7, 3, 5, 4, 6][: config.traversal_images]
    for n, c in enumerate(classes):
        index = int(np.flatnonzero(labels == c)[0])
        rows = np.asarray(vae.latent_traversal(model, x_test[index], offsets=offsets))
        labels_rows = [f"z{i + 1} (KL {kl_per_dim[i]:.2f})" for i in range(d)]
        fig = viz.mosaic_figure(rows, len(offsets),
                                f"Traversal around test image {index} ({names[c]}): row i decodes "
                                f"mu(x) + t e_i, t = -3 .. +3", width=7.5, row_labels=labels_rows)
        run.figure(fig, f"traversal_{n}" if n else "traversal",
                   f"Latent traversal (latent_dim = {d}) around a test {names[c]}: one row per "
                   "latent coordinate, 11 steps from -3 to +3 prior standard deviations, the "
                   "other coordinates fixed at mu(x); each row is labelled with that "
                   "coordinate's mean KL (nats) over the test set (near 0: an inactive unit, "
                   "whose row does not change)")

    rng = np.random.default_rng(config.seed)
    pairs = rng.choice(len(x_test), size=(config.interpolation_pairs, 2), replace=False)
    strips = []
    for a, b in pairs:
        path = np.asarray(vae.interpolate(model, x_test[a], x_test[b],
                                             n_steps=config.interpolation_steps))
        strips.append(np.concatenate([np.asarray(x_test[a])[None], path,
                                      np.asarray(x_test[b])[None]]))
    fig = viz.mosaic_figure(np.stack(strips), config.interpolation_steps + 2,
                            "Interpolation between test images (ends: the inputs; between: decoded "
                            "points on the segment mu(a) -> mu(b))", width=10,
                            row_labels=[f"{names[labels[a]]} -> {names[labels[b]]}"
                            for a, b in pairs])
    run.figure(fig, "interpolation", f"Linear interpolation in the {d}-d latent space between "
               "pairs of test images")

    generated = np.asarray(vae.sample(model, config.n_samples,
                                      key=jax.random.key(config.seed + 3)))
    n_cols = int(np.ceil(np.sqrt(config.n_samples)))
    fig = viz.mosaic_figure(generated, n_cols, f"Samples: decoded z ~ N(0, I), latent_dim = {d}",
                            width=7)
    run.figure(fig, "samples", f"Generated images (Bernoulli means) from the prior, "
               f"latent_dim = {d}")

    n = config.n_reconstructions
    chosen = rng.choice(len(x_test), size=n, replace=False)
    outputs = np.asarray(vae.decode(model, vae.encode(model, x_test[chosen])[0]))
    fig = viz.mosaic_figure(np.concatenate([np.asarray(x_test[chosen]), outputs]), n,
                            "Reconstructions: test inputs (top) and sigmoid(f(mu(x))) (bottom)",
                            width=10, row_labels=["input", "output"])
    run.figure(fig, "reconstructions", f"Test images above their reconstructions "
               f"(latent_dim = {d}; continuous [0, 1] inputs, decoded means)")
    return {"kl_per_dim": [float(v) for v in kl_per_dim], "active_units": active}


def curves_figure(results: dict):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    cmap = plt.get_cmap("tab10")
    for i, (d, result) in enumerate(results.items()):
        h = result.history
        epochs = np.arange(1, len(h["loss"]) + 1)
        axes[0].plot(epochs, h["negative_elbo"], "-", marker=".", color=cmap(i),
                     label=f"latent {d}: train")
        if "test_negative_elbo" in h:
            axes[0].plot(epochs, h["test_negative_elbo"], "--", marker="o", ms=3, color=cmap(i),
                         label=f"latent {d}: test")
        axes[1].plot(epochs, h["reconstruction"], "-", marker=".", color=cmap(i),
                     label=f"latent {d}: reconstruction")
        axes[1].plot(epochs, h["kl"], ":", marker=".", color=cmap(i), label=f"latent {d}: KL")
    axes[0].set_ylabel("-ELBO (nats per image)")
    axes[1].set_ylabel("nats per image (training)")
    axes[1].set_yscale("log")
    return harness.finish_curves(fig, axes, "Loss curves (dynamically binarized Fashion-MNIST)")


def run(config: Config, run: harness.Run) -> dict:
    if config.traversal_latent not in config.latent_dims:
        raise ValueError(f"traversal_latent={config.traversal_latent} must be one of "
                         f"latent_dims={config.latent_dims}.")
    images, _ = data.load(config.dataset, "train")
    x_train = data.to_unit_range(images[: config.n_train])
    x_test, test_binary, labels = _binary_test(config, config.dataset)

    results = train_models(config, x_train, test_binary, run)
    rows, scores = score(config, results, test_binary, run)
    n_iw = min(config.iw_images, test_binary.shape[0])
    hidden = "x".join(str(h) for h in config.hidden)
    run.text(
        f"MLP VAEs (encoder 784-{hidden}-(mu, log sigma^2), mirrored Bernoulli decoder, ReLU, "
        f"Adam at {config.learning_rate:g} ({config.learning_rate_decay} step size), batch "
        f"{config.batch_size}, beta = 1) trained for "
        f"{config.epochs} epochs on {x_train.shape[0]:,} {config.dataset} training images, "
        "dynamically binarized (every pixel resampled as Bernoulli(intensity) in every batch "
        "of every epoch).")
    run.table(
        ("latent dim", "epochs", "train -ELBO (last epoch)", "test -ELBO", "reconstruction",
         "KL", "ELBO on IW subset", f"IW ln P(x), K={config.iw_samples}", "recon. MSE",
         "train s"), rows,
        caption=f"All numbers in nats per image on **dynamically binarized** {config.dataset} "
                f"(one fixed Bernoulli(intensity) draw of the test images): test -ELBO, its "
                f"reconstruction and KL terms on {test_binary.shape[0]:,} test images (one z per "
                f"image); the importance-weighted log-likelihood with K = {config.iw_samples} "
                f"samples on the first {n_iw:,} test images, next to the ELBO on the same "
                f"images (the IW bound must be the higher); reconstruction MSE per pixel of "
                f"the decoded mean against the binary test image. Published reference: "
                f"{PUBLISHED_FASHION_40D} nats (Exemplar VAE, Gaussian prior, 40-d latent, "
                f"2x300 MLP, K = 5000, all 10,000 test images); target -232 or better.")

    run.figure(curves_figure(results), "loss_curves",
               "Training and test -ELBO per epoch, and the reconstruction and KL terms")
    further = further_models(config, x_train, test_binary, run)
    summary = {"test_negative_elbo": {str(d): s["test_negative_elbo"] for d, s in scores.items()},
               "iw_log_likelihood": {str(d): s["iw_log_likelihood"] for d, s in scores.items()},
               "iw_samples": config.iw_samples, "iw_images": n_iw,
               "n_train": int(x_train.shape[0]), "by_latent_dim": {str(d): s for d, s in
                                                                    scores.items()},
               "further_models": further}
    if 2 in results:
        manifold_figures(config, results[2].model, x_test, labels, run)
    latent = latent_figures(config, results[config.traversal_latent].model, x_test, labels, run)
    run.text(f"The {config.traversal_latent}-d model uses {latent['active_units']} of its "
             f"{config.traversal_latent} latent coordinates (active: Var_x[mu_i(x)] > 0.01, "
             "Burda et al.); traversal rows of inactive ones do not change.")
    summary[f"latent{config.traversal_latent}_active_units"] = latent["active_units"]
    return summary


if __name__ == "__main__":
    harness.main(__name__)
