"""Clustering Fashion-MNIST (lecture sections 3-6): k-means, winner-take-all and EM
mixtures side by side with scikit-learn, scored on the test set by every criterion;
BIC against k; and the Bernoulli mixture's test likelihood on binarized MNIST next to
the published figures.

    python -m experiments.cluster [--quick] [--n_train 60000] [--bic_ks 2 5 10 20]
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from experiments import harness
from jaxselforg import cluster, criteria, data, mixture, viz

TITLE = "Clustering: k-means, winner-take-all and EM mixtures"

# Salakhutdinov & Hinton (2009), "Deep Boltzmann Machines", Table 1: average test
# log-probability of a mixture of Bernoullis on binarized MNIST.
PUBLISHED_BERNOULLI_MNIST = {10: -168.95, 100: -142.63, 500: -137.64}


@dataclasses.dataclass
class Config:
    """Fit on the training split, score on the test split."""

    dataset: str = "fashion_mnist"
    n_train: int = 60_000
    k: int = 10
    seed: int = 0
    pca_components: int = 50
    reg_covar: float = 1e-3  # pixels are in [0, 1]; some are constant
    wta_epochs: int = 5
    bic_ks: tuple[int, ...] = (2, 4, 6, 8, 10, 12, 15, 20, 25, 30)
    bernoulli_ks: tuple[int, ...] = (10, 100, 500)
    bernoulli_max_iter: int = 100
    sklearn_reference: bool = True


QUICK = {"n_train": 10_000, "wta_epochs": 2, "bic_ks": (2, 5, 10, 20),
         "bernoulli_ks": (10, 50), "bernoulli_max_iter": 50}


@dataclasses.dataclass
class Fit:
    """One fitted method, reduced to what the report needs."""

    name: str
    features: str
    centers: np.ndarray  # [k, 784] in pixel space, for pictures and pixel criteria
    predict: Callable[[np.ndarray], np.ndarray]  # test images (flat, [0, 1]) -> labels
    seconds: float
    n_iter: int
    test_log_likelihood: float | None = None
    bic: float | None = None
    history: np.ndarray | None = None


def _valid(history) -> np.ndarray:
    history = np.asarray(history, np.float64)
    return history[np.isfinite(history) & (history != -1)]


def _kmeans(config, x, x_test, key):
    fits = []
    for init in ("random-partition", "k-means++"):
        result, seconds = harness.timed(lambda: cluster.kmeans(x, config.k, key=key, init=init))
        fits.append(Fit(f"k-means ({init})", "pixels", np.asarray(result.centers),
                        lambda t, c=result.centers: np.asarray(cluster.predict(t, c)), seconds,
                        int(result.n_iter), history=_valid(result.inertia_history) / x.shape[0]))
    if config.sklearn_reference:
        from sklearn.cluster import KMeans

        reference, seconds = harness.timed(lambda: KMeans(config.k, n_init=1, random_state=config.seed)
                                    .fit(np.asarray(x)))
        fits.append(Fit("sklearn KMeans (k-means++)", "pixels", reference.cluster_centers_,
                        lambda t, r=reference: r.predict(np.asarray(t)), seconds,
                        int(reference.n_iter_)))
    result, seconds = harness.timed(lambda: cluster.kmeans(x, config.k, key=key, metric="manhattan",
                                                    update="median"))
    fits.append(Fit("k-medians (manhattan)", "pixels", np.asarray(result.centers),
                    lambda t, c=result.centers: np.asarray(cluster.predict(t, c, "manhattan")),
                    seconds, int(result.n_iter)))
    return fits


def _winner_take_all(config, x, x_test, key):
    result, seconds = harness.timed(lambda: cluster.competitive_learning(
        x, config.k, key=key, epochs=config.wta_epochs, learning_rate=0.1,
        final_learning_rate=0.001, conscience=2.0, conscience_rate=1e-4))
    return [Fit("winner-take-all (online, conscience)", "pixels", np.asarray(result.prototypes),
                lambda t, c=result.prototypes: np.asarray(cluster.predict(t, c)), seconds,
                config.wta_epochs * x.shape[0],
                history=np.asarray(result.history["quantization_error"]))]


def _gaussian_mixtures(config, x, x_test, key):
    pca = data.pca(x, config.pca_components)
    x_pca, test_pca = data.pca_project(x, pca), data.pca_project(x_test, pca)
    spaces = {"diag": (x, x_test, "pixels", lambda m: np.asarray(m)),
              "full": (x_pca, test_pca, f"PCA-{config.pca_components}",
                       lambda m: np.asarray(jnp.asarray(m, jnp.float32) @ pca.components
                                            + pca.mean))}
    fits = []
    for covariance_type, (train_f, test_f, features, to_pixels) in spaces.items():
        result, seconds = harness.timed(lambda: mixture.gaussian_mixture(
            train_f, config.k, key=key, covariance_type=covariance_type,
            reg_covar=config.reg_covar))
        fits.append(Fit(
            f"Gaussian mixture ({covariance_type})", features, to_pixels(result.means),
            lambda t, r=result, f=test_f: np.asarray(mixture.predict(r, f)), seconds,
            int(result.n_iter), float(jnp.mean(mixture.log_likelihood(result, test_f))),
            float(mixture.bic(result, train_f)), _valid(result.history)))
        if config.sklearn_reference:
            from sklearn.mixture import GaussianMixture

            reference, seconds = harness.timed(lambda: GaussianMixture(
                config.k, covariance_type=covariance_type, reg_covar=config.reg_covar,
                random_state=config.seed).fit(np.asarray(train_f)))
            fits.append(Fit(
                f"sklearn GaussianMixture ({covariance_type})", features,
                to_pixels(reference.means_),
                lambda t, r=reference, f=test_f: r.predict(np.asarray(f)), seconds,
                int(reference.n_iter_), float(reference.score(np.asarray(test_f))),
                float(reference.bic(np.asarray(train_f)))))
    return fits


def _bernoulli_mixture(config, x, x_test, key):
    binary, binary_test = data.binarize(x), data.binarize(x_test)
    result, seconds = harness.timed(lambda: mixture.bernoulli_mixture(binary, config.k, key=key))
    return [Fit("Bernoulli mixture", "binarized pixels", np.asarray(result.means),
                lambda t, r=result, f=binary_test: np.asarray(mixture.predict(r, f)),
                seconds, int(result.n_iter),
                float(jnp.mean(mixture.log_likelihood(result, binary_test))),
                float(mixture.bic(result, binary)), _valid(result.history))]


def fit_methods(config: Config, x: jax.Array, x_test: jax.Array, run: harness.Run) -> list[Fit]:
    """Every method of the comparison, fitted on ``x`` (flat pixels in [0, 1])."""
    key = jax.random.key(config.seed)
    groups = (_kmeans, _winner_take_all, _gaussian_mixtures, _bernoulli_mixture)
    return [fit for group in run.progress(groups, "fitting methods")
            for fit in group(config, x, x_test, key)]


def score(fit: Fit, x_test: jax.Array, test_labels: np.ndarray) -> dict:
    """External and internal criteria of one fit on the test set."""
    labels = np.asarray(fit.predict(x_test))
    centers = jnp.asarray(fit.centers, jnp.float32)
    return {
        "accuracy": criteria.clustering_accuracy(test_labels, labels),
        "nmi": float(criteria.normalized_mutual_info(test_labels, labels)),
        "ari": float(criteria.adjusted_rand_index(test_labels, labels)),
        "inertia_per_image": float(criteria.inertia(x_test, centers, labels)) / len(labels),
        "quantization_error": float(criteria.quantization_error(x_test, centers)),
        "compactness": float(criteria.compactness(x_test, centers, labels)),
        "separation": float(criteria.separation(centers)),
        "labels": labels,
    }


def centres_figure(fits, scores, test_labels, class_names):
    """Every method's centres as images, each matched to the class it mostly holds."""
    fig, axes = plt.subplots(len(fits), 1, figsize=(11, 1.45 * len(fits)))
    for ax, fit in zip(np.atleast_1d(axes), fits):
        mapping = criteria.match_clusters(test_labels, scores[fit.name]["labels"])
        order = np.argsort(np.where(mapping < 0, 99, mapping))
        ax.imshow(viz.image_grid(fit.centers[order], n_cols=len(order), pad=2), cmap="gray_r",
                  vmin=0, vmax=1)
        ax.set_xticks((np.arange(len(order)) + 0.5) * 30 - 1)
        ax.set_xticklabels([class_names[m] if m >= 0 else "-" for m in mapping[order]],
                           fontsize=7)
        ax.set_yticks([])
        ax.set_title(f"{fit.name} ({fit.features})", fontsize=9, loc="left")
    fig.tight_layout()
    return fig


def history_figure(fits):
    """k-means inertia, the EM log-likelihood's distance to its final value, WTA E_q."""
    panels = [
        ("inertia per image", "iteration", lambda f: f.name.startswith("k-means"),
         lambda h: h),
        ("final minus current mean log-likelihood", "EM iteration",
         lambda f: "mixture" in f.name and not f.name.startswith("sklearn"),
         lambda h: h[-1] - h[:-1]),
        ("quantization error (train)", "epoch", lambda f: f.name.startswith("winner"),
         lambda h: h),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, (ylabel, xlabel, selected, transform) in zip(axes, panels):
        viz.plot_curves(ax, {fit.name: transform(fit.history) for fit in fits
                             if fit.history is not None and len(fit.history) > 1
                             and selected(fit)}, xlabel=xlabel, ylabel=ylabel, legend_size=7)
    axes[1].set_yscale("log")
    axes[1].set_title("EM never decreases the likelihood: the gap shrinks monotonically",
                      fontsize=9)
    fig.suptitle("Criterion against iteration (training set)")
    fig.tight_layout()
    return fig


def bic_sweep(config: Config, x_pca: jax.Array, run: harness.Run):
    """BIC of full-covariance Gaussian mixtures on PCA features for every k."""
    rows = []
    for k in run.progress(config.bic_ks, "BIC vs k"):
        result = mixture.gaussian_mixture(x_pca, k, key=jax.random.key(config.seed),
                                          covariance_type="full", reg_covar=config.reg_covar)
        rows.append((k, float(mixture.bic(result, x_pca)), float(mixture.aic(result, x_pca))))
        run.log(section="bic", k=k, bic=rows[-1][1], aic=rows[-1][2])
    return rows


def bernoulli_mnist(config: Config, run: harness.Run):
    """Test log-likelihood per image of Bernoulli mixtures on binarized MNIST."""
    train, _ = data.load("mnist", "train")
    test, _ = data.load("mnist", "test")
    x = data.binarize(data.flatten(data.to_unit_range(train[: config.n_train])))
    x_test = data.binarize(data.flatten(data.to_unit_range(test)))
    rows, models = [], {}
    for k in run.progress(config.bernoulli_ks, "Bernoulli mixtures on MNIST"):
        result, seconds = harness.timed(lambda: mixture.bernoulli_mixture(
            x, k, key=jax.random.key(config.seed), max_iter=config.bernoulli_max_iter))
        test_ll = float(jnp.mean(mixture.log_likelihood(result, x_test)))
        models[k] = result
        rows.append((k, test_ll, PUBLISHED_BERNOULLI_MNIST.get(k, "-"), int(result.n_iter),
                     round(seconds, 1)))
        run.log(section="bernoulli_mnist", k=k, test_log_likelihood=test_ll,
                n_iter=int(result.n_iter), seconds=seconds)
    return rows, models


def run(config: Config, run: harness.Run) -> dict:
    warnings.filterwarnings("ignore", category=UserWarning)
    train_images, _ = data.load(config.dataset, "train")
    test_images, test_labels = data.load(config.dataset, "test")
    x = data.flatten(data.to_unit_range(train_images[: config.n_train]))
    x_test = data.flatten(data.to_unit_range(test_images))
    test_labels = np.asarray(test_labels)
    class_names = data.CLASS_NAMES[config.dataset]

    fits = fit_methods(config, x, x_test, run)
    scores = {fit.name: score(fit, x_test, test_labels) for fit in fits}
    fmt = lambda v: "-" if v is None else v
    rows = []
    for fit in fits:
        s = scores[fit.name]
        rows.append((fit.name, fit.features, s["accuracy"], s["nmi"], s["ari"],
                     s["inertia_per_image"], s["quantization_error"], s["compactness"],
                     s["separation"], fmt(fit.test_log_likelihood), fmt(fit.bic), fit.n_iter,
                     round(fit.seconds, 1)))
        run.log(section="methods", method=fit.name, **{m: v for m, v in s.items()
                                                       if m != "labels"},
                test_log_likelihood=fit.test_log_likelihood, bic=fit.bic, n_iter=fit.n_iter,
                seconds=fit.seconds)
    run.text(
        f"k = {config.k} clusters fitted on {x.shape[0]:,} {config.dataset} training images "
        f"(pixels in [0, 1]), scored on the {x_test.shape[0]:,} test images: external "
        "scores against the true classes (ACC after the best one-to-one matching, NMI, "
        "ARI), then the lecture's internal criteria in pixel space with Euclidean "
        "distances (inertia and E_q per test image, compactness sum_k mean distance to "
        "W_k, separation sum_{h<k} |W_h - W_k|; mixtures use their means, the PCA "
        "mixture's mapped back to pixels). Log-likelihoods are per test image in each "
        "model's own space (densities for continuous pixels/PCA features, nats for binary "
        "pixels), so compare them within a row pair only; BIC is on the training set. "
        "Rows named sklearn are scikit-learn on the same data and settings, in the same run.")
    run.table(("method", "features", "ACC", "NMI", "ARI", "inertia/img", "E_q", "compactness",
               "separation", "test log-lik/img", "BIC", "iterations", "fit s"), rows)

    run.figure(centres_figure(fits, scores, test_labels, class_names), "centres",
               "Cluster centres of every method, each labelled with the class it is matched to")
    best = max(fits, key=lambda f: scores[f.name]["accuracy"])
    mapping = criteria.match_clusters(test_labels, scores[best.name]["labels"])
    run.figure(viz.confusion_figure(test_labels, mapping[scores[best.name]["labels"]],
                                    class_names, f"{best.name}: test confusion matrix",
                                    xlabel="cluster (named by its matched class)"),
               "confusion", f"Confusion matrix of the most accurate method ({best.name})")
    run.figure(history_figure(fits), "criterion_vs_iteration",
               "k-means inertia, EM log-likelihood and WTA quantization error per iteration")

    pca = data.pca(x, config.pca_components)
    bic_rows = bic_sweep(config, data.pca_project(x, pca), run)
    fig, ax = plt.subplots(figsize=(7, 4))
    ks, bics, aics = zip(*bic_rows)
    ax.plot(ks, bics, "o-", label="BIC")
    ax.plot(ks, aics, "s--", label="AIC")
    best_k = ks[int(np.argmin(bics))]
    ax.axvline(best_k, color="gray", ls=":", label=f"min BIC: k={best_k}")
    ax.set_xlabel("number of components k")
    ax.set_ylabel("criterion (training set)")
    ax.set_title(f"Full-covariance Gaussian mixtures on PCA-{config.pca_components} features")
    ax.legend()
    ax.grid(alpha=0.3)
    run.figure(fig, "bic_vs_k", "BIC and AIC against the number of components")

    bernoulli_rows, models = bernoulli_mnist(config, run)
    run.table(("k", "test log-likelihood (nats/image)", "published (Salakhutdinov & Hinton 2009)",
               "EM iterations", "fit s"), bernoulli_rows,
              caption=f"Bernoulli mixtures on binarized MNIST (pixel > 0.5), fitted on "
                      f"{x.shape[0]:,} training images, scored on the 10,000 test images. "
                      "The published figures come from a differently binarized MNIST "
                      "(pixels sampled in proportion to their intensity), whose noisier "
                      "images cost more nats (the gap grows with k), so compare the trend "
                      "over k, not the values:")
    largest = max(models)
    fig, ax = plt.subplots(figsize=(10, 10 * min(largest, 100) // 100 / 1.6 + 1))
    shown = np.asarray(models[largest].means)[np.argsort(-np.asarray(models[largest].weights))]
    ax.imshow(viz.image_grid(shown[:100], n_cols=min(20, len(shown))), cmap="gray_r")
    ax.axis("off")
    ax.set_title(f"Bernoulli mixture on MNIST, k={largest}: pixel probabilities of the "
                 "heaviest components")
    run.figure(fig, "bernoulli_mnist_means", f"Component means of the k={largest} Bernoulli "
               "mixture on binarized MNIST")

    summary = {fit.name: {m: v for m, v in scores[fit.name].items() if m != "labels"}
               for fit in fits}
    return {"methods": summary, "best_by_accuracy": best.name,
            "bic_best_k": int(best_k),
            "bernoulli_mnist_test_log_likelihood": {str(r[0]): r[1] for r in bernoulli_rows},
            "n_train": int(x.shape[0])}


if __name__ == "__main__":
    harness.main(__name__)
