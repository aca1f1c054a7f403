"""Generative vs discriminative classifiers (the lecture's Ng & Jordan slide, measured):
test error against the number of labelled training examples, for naive Bayes and a
mixture per class (generative: p(x, y), Bayes' rule) against multinomial logistic
regression (discriminative: p(y | x)) on the same inputs, on Fashion-MNIST and MNIST.

Two input spaces, as Ng & Jordan's two cases: binarized pixels (discrete: Bernoulli
naive Bayes, a Bernoulli mixture per class) and PCA features (continuous: Gaussian naive
Bayes, a diagonal Gaussian mixture per class). Every size draws class-balanced subsets
(several seeds, fitted as one vmapped program per model); the full training set (the
classes are not balanced) is the last size. The richest generative model is a VAE per
class on the binarized pixels, scored by its importance-weighted ln p(x | c) (one
vmapped training sweep of the ten class VAEs per subset; fewer subsets and test images,
as it costs far more).

    python -m experiments.discriminative [--quick] [--sizes 30 100 ...] [--n_seeds 5]
    # one method, merged with an earlier run's curves (its summary.json); a method the
    # baselines already hold is not measured again:
    python -m experiments.discriminative --methods "VAE per class (IW bound)" \
        --baseline reports/full/discriminative/summary.json --out runs/discriminative_vae
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from experiments import harness
from jaxselforg import data, evaluation
from jaxselforg.classify import generative

TITLE = "Generative vs discriminative classifiers: Ng & Jordan's learning curves"
N_CLASSES = 10


@dataclasses.dataclass
class Config:
    """Learning curves (test error vs training-set size) of generative and discriminative
    classifiers on binarized pixels and on PCA features."""

    seed: int = 0
    datasets: tuple[str, ...] = ("fashion_mnist", "mnist")
    sizes: tuple[int, ...] = (20, 30, 100, 300, 1000, 3000, 10_000, 60_000)
    n_seeds: int = 5  # class-balanced subsets per size (one for the full training set)
    n_test: int = 10_000
    threshold: float = 0.5  # binarization of the pixel intensities
    pca_components: int = 50
    alpha: float = 1.0  # Bernoulli add-alpha smoothing (BernoulliNB's default)
    var_smoothing: float = 1e-9  # Gaussian naive Bayes (GaussianNB's default)
    mixture_components: int = 5  # per class; capped at the class size for small subsets
    mixture_var_smoothing: float = 1e-2  # the Gaussian mixture's (components of 1 point)
    em_max_iter: int = 50
    logistic_C: float = 1.0  # scikit-learn's default inverse L2 strength
    weak_logistic_C: float = 1e4  # nearly unpenalized, as Ng & Jordan's logistic regression
    logistic_max_iter: int = 500
    methods: tuple[str, ...] = ()  # a subset of METHODS' names (default: all)
    vae_latent_dim: int = 16
    vae_hidden: int = 200
    vae_steps: int = 600  # Adam steps per class VAE (epochs = steps / batches per epoch)
    vae_max_epochs: int = 300  # the cap for tiny classes (one batch per epoch)
    vae_batch_size: int = 64
    vae_learning_rate: float = 1e-3
    vae_n_samples: int = 10  # K of the importance-weighted ln p(x | c)
    vae_n_seeds: int = 1  # subsets per size for the VAE (the first of the n_seeds)
    vae_n_test: int = 5000  # test images for the VAE (the first of the n_test)
    # summary.json files of earlier runs: their curves (later files first) are reused
    # and fill the methods not measured here
    baseline: tuple[str, ...] = ()


QUICK = {"sizes": (30, 300, 3000), "n_seeds": 2, "n_test": 2000, "mixture_components": 3,
         "em_max_iter": 20, "logistic_max_iter": 150,
         "methods": ("Bernoulli naive Bayes", "logistic regression (binary)",
                     "Gaussian naive Bayes", "logistic regression (PCA)"),
         # The VAE per class costs more than the quick budget; with --methods it runs
         # at these settings (tests/test_experiments.py covers it at a tiny size).
         "vae_hidden": 64, "vae_latent_dim": 8, "vae_steps": 100, "vae_max_epochs": 50,
         "vae_n_samples": 5, "vae_n_test": 1000}

# (name, input, kind): kind picks the fit below; pairs compared for the crossing point.
METHODS = (
    ("Bernoulli naive Bayes", "binary", "bernoulli_nb"),
    ("Bernoulli mixture per class", "binary", "bernoulli_mixture"),
    ("VAE per class (IW bound)", "binary", "vae"),
    ("logistic regression (binary)", "binary", "logistic"),
    ("logistic regression, weak L2 (binary)", "binary", "weak_logistic"),
    ("Gaussian naive Bayes", "pca", "gaussian_nb"),
    ("Gaussian mixture per class", "pca", "gaussian_mixture"),
    ("logistic regression (PCA)", "pca", "logistic"),
    ("logistic regression, weak L2 (PCA)", "pca", "weak_logistic"),
)
PAIRS = tuple((g, d) for g, space_g, kind_g in METHODS if "logistic" not in kind_g
              for d, space_d, kind_d in METHODS if "logistic" in kind_d and space_d == space_g)


def subsets(labels: np.ndarray, size: int, n_seeds: int, seed: int) -> tuple[np.ndarray, int]:
    """``[s, size]`` row indices of class-balanced subsets, and the largest class size.

    ``size / C`` rows of every class, drawn without replacement (one generator per
    seed); a size the smallest class cannot fill balanced is the whole training set
    (one subset, its own class sizes).
    """
    per_class, count = size // N_CLASSES, np.bincount(labels, minlength=N_CLASSES)
    if per_class < 1:
        raise ValueError(f"size {size} is below the {N_CLASSES} classes: every class needs "
                         "at least one example.")
    if per_class > count.min() or size >= len(labels):
        return np.arange(len(labels))[None], int(count.max())
    by_class = [np.flatnonzero(labels == c) for c in range(N_CLASSES)]
    rows = []
    for s in range(n_seeds):
        rng = np.random.default_rng([seed, size, s])
        rows.append(np.sort(np.concatenate([rng.choice(r, per_class, replace=False)
                                            for r in by_class])))
    return np.stack(rows), per_class


def _error(predicted, y_test):
    return jnp.mean(predicted != y_test)


def _generative_errors(config: Config, kind: str, class_size: int):
    """A jitted ``(xs [s, n, d], ys [s, n], keys [s], x_test, y_test) -> errors [s]``."""
    family = "bernoulli" if kind.startswith("bernoulli") else "gaussian"
    mixture = kind.endswith("mixture")
    k = min(config.mixture_components, class_size) if mixture else 1
    smoothing = config.alpha if family == "bernoulli" else (
        config.mixture_var_smoothing if mixture else config.var_smoothing)

    @jax.jit
    def errors(xs, ys, keys, x_test, y_test):
        def one(x, y, key):
            model = generative.fit_generative_classifier(
                x, y, family=family, n_components=k, key=key, smoothing=smoothing,
                n_classes=N_CLASSES, class_size=class_size, max_iter=config.em_max_iter)
            return _error(generative.predict(model, x_test), y_test)

        return jax.vmap(one)(xs, ys, keys)

    return errors


def _vae_errors(config: Config, class_size: int):
    """``(xs [s, n, d], ys [s, n], keys [s], x_test, y_test) -> errors [s']``: a VAE per
    class on the first ``vae_n_seeds`` subsets, on the first ``vae_n_test`` test rows."""
    batch = min(config.vae_batch_size, class_size)
    epochs = int(np.clip(math.ceil(config.vae_steps / (class_size // batch)), 1,
                         config.vae_max_epochs))

    def errors(xs, ys, keys, x_test, y_test):
        x_test, y_test = x_test[: config.vae_n_test], y_test[: config.vae_n_test]
        out = []
        for x, y, key in list(zip(xs, ys, keys))[: config.vae_n_seeds]:
            model = generative.fit_generative_classifier(
                x, y, family="vae", key=key, n_classes=N_CLASSES, class_size=class_size,
                latent_dim=config.vae_latent_dim, hidden=config.vae_hidden, epochs=epochs,
                batch_size=batch, learning_rate=config.vae_learning_rate,
                n_samples=config.vae_n_samples)
            out.append(_error(generative.predict(model, x_test), y_test))
        return jnp.stack(out)

    return errors


def _logistic_errors(config: Config, standardize: bool, C: float):
    @jax.jit
    def errors(xs, ys, keys, x_test, y_test):
        del keys

        def one(x, y):
            probe = evaluation.fit_linear_probe(x, y, n_classes=N_CLASSES, C=C,
                                                max_iter=config.logistic_max_iter,
                                                standardize=standardize)
            return _error(jnp.argmax(evaluation.probe_predict_proba(probe, x_test), 1), y_test)

        return jax.vmap(one)(xs, ys)

    return errors


def inputs(config: Config, dataset: str) -> dict:
    """Binarized pixels and PCA features (axes from all training images, no labels)."""
    images, labels = data.load(dataset, "train")
    test_images, test_labels = data.load(dataset, "test")
    pixels = data.flatten(data.to_unit_range(images))
    test_pixels = data.flatten(data.to_unit_range(test_images[: config.n_test]))
    fitted = data.pca(pixels, config.pca_components)
    return {"labels": np.asarray(labels), "y_test": jnp.asarray(test_labels[: config.n_test]),
            "binary": (data.binarize(pixels, config.threshold),
                       data.binarize(test_pixels, config.threshold)),
            "pca": (data.pca_project(pixels, fitted), data.pca_project(test_pixels, fitted)),
            "explained": float(jnp.sum(fitted.explained_variance_ratio))}


def learning_curves(config: Config, dataset: str, run: harness.Run) -> dict:
    """``{method: {"size": [...], "mean": [...], "std": [...], "errors": [[...]]}}``."""
    prepared = inputs(config, dataset)
    labels, y_test = prepared["labels"], prepared["y_test"]
    reused = baseline_curves(config, dataset)
    methods = tuple(m for m in selected_methods(config) if m[0] not in reused)
    curves = {name: {"size": [], "mean": [], "std": [], "errors": [], "seconds": []}
              for name, _, _ in methods}
    for size in run.progress(config.sizes if methods else (), f"{dataset} sizes"):
        rows, class_size = subsets(labels, size, config.n_seeds, config.seed)
        keys = jax.random.split(jax.random.fold_in(jax.random.key(config.seed), size), len(rows))
        for name, space, kind in methods:
            train_x, test_x = prepared[space]
            if kind.endswith("logistic"):
                C = config.weak_logistic_C if kind == "weak_logistic" else config.logistic_C
                fn = _logistic_errors(config, standardize=space == "pca", C=C)
            elif kind == "vae":
                fn = _vae_errors(config, class_size)
            else:
                fn = _generative_errors(config, kind, class_size)
            arguments = (train_x[rows], labels[rows], keys, test_x, y_test)
            errors, seconds = harness.timed(functools.partial(fn, *arguments))
            errors = np.asarray(errors, np.float64)
            curve = curves[name]
            curve["size"].append(int(rows.shape[1]))
            curve["mean"].append(float(np.mean(errors)))
            curve["std"].append(float(np.std(errors)))
            curve["errors"].append(errors.tolist())
            curve["seconds"].append(round(seconds, 2))
            run.log(dataset=dataset, method=name, size=int(rows.shape[1]),
                    n_subsets=len(errors), test_error=float(np.mean(errors)),
                    test_error_std=float(np.std(errors)), seconds=seconds)
    curves["_pca_explained_variance"] = prepared["explained"]
    return curves


def selected_methods(config: Config) -> tuple:
    """The METHODS named in ``config.methods`` (all when empty)."""
    names = [name for name, _, _ in METHODS]
    unknown = set(config.methods) - set(names)
    if unknown:
        raise ValueError(f"Unknown methods {sorted(unknown)}; accepted: {names}.")
    return tuple(m for m in METHODS if not config.methods or m[0] in config.methods)


def crossings(sizes, generative_error, discriminative_error) -> list[float]:
    """Sizes where the generative curve goes from below to above the discriminative one,
    interpolated linearly in ln n between the two measured sizes that bracket it."""
    difference = np.asarray(generative_error) - np.asarray(discriminative_error)
    points = []
    for i in range(len(difference) - 1):
        d1, d2 = difference[i], difference[i + 1]
        if d1 < 0 <= d2:
            t = d1 / (d1 - d2)
            points.append(float(math.exp(math.log(sizes[i]) +
                                         t * (math.log(sizes[i + 1]) - math.log(sizes[i])))))
    return points


def crossing_statement(name_g: str, name_d: str, curve_g: dict, curve_d: dict) -> tuple[str, list]:
    """One sentence on where ``name_g``'s mean error curve crosses ``name_d``'s.

    Returns the sentence and the crossings from generative-better to
    discriminative-better (Ng & Jordan's direction).
    """
    sizes = curve_g["size"]
    points = crossings(sizes, curve_g["mean"], curve_d["mean"])
    better = np.asarray(curve_g["mean"]) < np.asarray(curve_d["mean"])
    if better.all():
        return f"no crossing: {name_g} is better at every size up to {sizes[-1]:,}", points
    if not better.any():
        return f"no crossing: {name_d} is better at every size from n = {sizes[0]:,}", points
    where = ", ".join(f"{n:,}" for n, b in zip(sizes, better) if b)
    if not points:
        return (f"no crossing in Ng & Jordan's direction: {name_g} is better only at n = "
                f"{where}, never followed by {name_d} overtaking it"), points
    text = ", ".join(f"n = {p:,.0f}" for p in points)
    if better[0] and len(points) == 1 and not better[np.searchsorted(sizes, points[0]):].any():
        return f"{name_g} is better below and {name_d} above {text}", points
    return (f"{name_d} overtakes {name_g} at {text}; {name_g} is better only at n = "
            f"{where}"), points


def reported_methods(config: Config, results: dict) -> tuple:
    """The METHODS that have curves in ``results`` (measured or from the baseline)."""
    return tuple(m for m in METHODS
                 if all(m[0] in results[d]["curves"] for d in config.datasets))


def baseline_curves(config: Config, dataset: str) -> dict:
    """The curves of ``config.baseline``'s summary.json files for ``dataset``, merged
    in order (a later file's curve of a method replaces an earlier one's)."""
    curves = {}
    for path in config.baseline:
        with open(path) as f:
            curves.update(json.load(f)["curves"].get(dataset, {}))
    return curves


def curves_figure(results: dict, config: Config) -> plt.Figure:
    datasets, methods = config.datasets, reported_methods(config, results)
    fig, axes = plt.subplots(len(datasets), 2, figsize=(12, 4.4 * len(datasets)),
                             squeeze=False)
    styles = {"naive Bayes": ("o", "-"), "mixture": ("s", "-."), "VAE": ("D", "-"),
              "weak L2": ("v", ":"), "logistic": ("^", "--")}
    for row, dataset in enumerate(datasets):
        curves = results[dataset]["curves"]
        for col, space in enumerate(("binary", "pca")):
            ax = axes[row, col]
            for name, method_space, _ in methods:
                if method_space != space:
                    continue
                curve = curves[name]
                marker, line = next(v for k, v in styles.items() if k in name)
                ax.errorbar(curve["size"], 100 * np.asarray(curve["mean"]),
                            yerr=100 * np.asarray(curve["std"]), marker=marker, ls=line,
                            capsize=3, label=name)
            for pair in results[dataset]["pairs"]:
                if pair["space"] == space and "naive Bayes" in pair["generative"]:
                    for point in pair["crossings"]:
                        ax.axvline(point, color="grey", ls=":", lw=1)
                        ax.annotate(f"NB = {pair['discriminative'].split(' (')[0]} at "
                                    f"n = {point:,.0f}", (point, 0.98),
                                    xycoords=("data", "axes fraction"), fontsize=7,
                                    rotation=90, va="top", ha="right")
            ax.set_xscale("log")
            ax.set_xlabel("labelled training examples n (log scale)")
            ax.set_ylabel("test error (%)")
            inputs_name = ("binarized pixels (784)" if space == "binary"
                           else f"PCA features ({config.pca_components})")
            ax.set_title(f"{dataset}: {inputs_name}", fontsize=10)
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=8)
    fig.suptitle("Generative (naive Bayes, mixture or VAE per class) vs discriminative (logistic "
                 "regression): mean ± std over class-balanced subsets")
    fig.tight_layout()
    return fig


def run(config: Config, run: harness.Run) -> dict:
    results, summary = {}, {"crossings": {}, "test_error": {}}
    for dataset in config.datasets:
        curves = learning_curves(config, dataset, run)
        explained = curves.pop("_pca_explained_variance")
        curves = {**baseline_curves(config, dataset), **curves}
        names = [name for name, _, _ in METHODS if name in curves]
        pairs = []
        for name_g, name_d in PAIRS:
            if name_g not in names or name_d not in names:
                continue
            statement, points = crossing_statement(name_g, name_d, curves[name_g], curves[name_d])
            space = next(s for n, s, _ in METHODS if n == name_g)
            pairs.append({"generative": name_g, "discriminative": name_d, "space": space,
                          "crossings": points, "statement": statement,
                          "generative_first": curves[name_g]["mean"][0] <
                          curves[name_d]["mean"][0]})
            summary["crossings"][f"{dataset}: {name_g} vs {name_d}"] = {
                "crossings": [round(p) for p in points], "statement": statement}
        results[dataset] = {"curves": curves, "pairs": pairs, "explained": explained}
        summary["test_error"][dataset] = {name: dict(zip(map(str, c["size"]), c["mean"]))
                                          for name, c in curves.items()}

    names = [name for name, _, _ in reported_methods(config, results)]
    run.text(
        f"Ng & Jordan (NIPS 2002): a generative classifier (naive Bayes, fitted by counting) "
        f"reaches its higher asymptotic error with far fewer examples than the "
        f"discriminative one (logistic regression), so the learning curves cross. Inputs: "
        f"pixels binarized at {config.threshold:g} (Bernoulli naive Bayes, add-{config.alpha:g} "
        f"smoothing; a Bernoulli mixture of up to {config.mixture_components} components per "
        f"class, fitted by EM) and the first {config.pca_components} principal components of "
        f"all 60,000 training images, fitted without labels (Gaussian naive Bayes with "
        f"var_smoothing {config.var_smoothing:g}; a diagonal Gaussian mixture of up to "
        f"{config.mixture_components} components per class, var_smoothing "
        f"{config.mixture_var_smoothing:g}). Logistic regression: the library's probe "
        f"(multinomial, L2 penalty ||W||^2 / (2C) on the summed cross-entropy as "
        f"scikit-learn's, C = {config.logistic_C:g} (scikit-learn's default) and a weak "
        f"C = {config.weak_logistic_C:g} (close to Ng & Jordan's unpenalized fit); L-BFGS, "
        f"at most {config.logistic_max_iter} iterations; raw binary pixels, standardized "
        f"PCA features). Each size below the full set draws {config.n_seeds} class-balanced "
        f"subsets (n / 10 per class); the full training set (unbalanced classes) is one run. "
        f"Error on the first {config.n_test:,} test images. The mixtures cap their "
        f"components at the class size (n = 30: 3 per class). The VAE per class (MLP "
        f"784-{config.vae_hidden}-{config.vae_latent_dim}, Bernoulli decoder, Adam at "
        f"{config.vae_learning_rate:g} for about {config.vae_steps} steps of "
        f"{config.vae_batch_size} (at most {config.vae_max_epochs} epochs), the ten class "
        f"VAEs one vmapped sweep) scores ln p(x | c) by the importance-weighted bound with "
        f"K = {config.vae_n_samples}; it is measured on {config.vae_n_seeds} subset(s) per "
        f"size and the first {config.vae_n_test:,} test images only.")
    run.figure(curves_figure(results, config), "learning_curves",
               "Test error against the number of labelled training examples (log scale), "
               "mean ± std over subsets; dotted lines: where naive Bayes and a logistic "
               "regression cross")
    for dataset in config.datasets:
        curves = results[dataset]["curves"]
        sizes = curves[names[0]]["size"]
        rows = [[f"{n:,}"] + [f"{100 * curves[m]['mean'][i]:.2f} ± {100 * curves[m]['std'][i]:.2f}"
                              for m in names] for i, n in enumerate(sizes)]
        run.table(["n"] + names, rows,
                  caption=f"{dataset}: test error (%) by training-set size, mean ± std over "
                          f"subsets (the PCA keeps {100 * results[dataset]['explained']:.1f}% "
                          f"of the pixel variance).")
    lines = [f"- {dataset}, {pair['generative']} vs {pair['discriminative']}: "
             f"{pair['statement']}." for dataset in config.datasets
             for pair in results[dataset]["pairs"]]
    run.text("Crossing points (of the mean curves; interpolated in ln n between the two "
             "measured sizes that bracket a change of sign):\n\n" + "\n".join(lines))
    run.text(closing_note(config, results))
    summary["curves"] = {d: results[d]["curves"] for d in config.datasets}
    return summary


def closing_note(config: Config, results: dict) -> str:
    """The paragraph the issue asks for, written from the measured numbers."""
    parts, naive_pairs = [], []
    for dataset in config.datasets:
        curves = results[dataset]["curves"]
        for pair in results[dataset]["pairs"]:
            if "naive Bayes" not in pair["generative"]:
                continue
            naive_pairs.append(pair)
            g, d = curves[pair["generative"]], curves[pair["discriminative"]]
            inputs_name = "binarized pixels" if pair["space"] == "binary" else "PCA features"
            parts.append(
                f"On {dataset} ({inputs_name}), {pair['generative']} goes from "
                f"{100 * g['mean'][0]:.1f}% error at n = {g['size'][0]:,} to "
                f"{100 * g['mean'][-1]:.1f}% at n = {g['size'][-1]:,}, "
                f"{pair['discriminative']} from {100 * d['mean'][0]:.1f}% to "
                f"{100 * d['mean'][-1]:.1f}%: {pair['statement']}.")
    both = [pair for pair in naive_pairs if pair["crossings"] and pair["generative_first"]]
    verdict = (f"Ng & Jordan's two regimes (generative better at the smallest size, "
               f"discriminative better from a crossing on) appear in {len(both)} of the "
               f"{len(naive_pairs)} naive-Bayes comparisons.")
    richer = []
    for dataset in config.datasets:
        curves = results[dataset]["curves"]
        for pair in results[dataset]["pairs"]:
            if "VAE" not in pair["generative"]:
                continue
            g = curves[pair["generative"]]
            line = (f"On {dataset}, the {pair['generative']} goes from "
                    f"{100 * g['mean'][0]:.1f}% to {100 * g['mean'][-1]:.1f}% error; against "
                    f"{pair['discriminative']}: {pair['statement']}")
            nb = curves.get("Bernoulli naive Bayes")
            if nb is not None:
                better = [f"{n:,}" for n, v, b in zip(g["size"], g["mean"], nb["mean"]) if v < b]
                line += (f"; it beats Bernoulli naive Bayes at n = {', '.join(better)}"
                         if better else "; it never beats Bernoulli naive Bayes")
            richer.append(line + ".")
    richer_text = (" The richer generative model: " + " ".join(richer)) if richer else ""
    return "**Closing note.** " + " ".join(parts) + " " + verdict + richer_text


if __name__ == "__main__":
    harness.main(__name__)
