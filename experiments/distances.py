"""The lecture's distances: unit balls, and 1-nearest-neighbour classification of
Fashion-MNIST under every metric ("the result depends on the metric").

    python -m experiments.distances [--quick] [--n_queries 10000] [--metrics euclidean manhattan]
"""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from experiments import harness
from jaxselforg import data, distances

TITLE = "Distances: the result depends on the metric"


@dataclasses.dataclass
class Config:
    """1-NN classification under every metric of the lecture, and unit-ball pictures."""

    dataset: str = "fashion_mnist"
    # Test images classified (the first n of the test split) against the whole train split.
    n_queries: int = 10_000
    n_train: int = 60_000
    # "name" or "minkowski:p"; "seuclidean" is weighted Euclidean with w_j = 1 / var_j.
    metrics: tuple[str, ...] = ("euclidean", "manhattan", "chebyshev", "minkowski:3",
                                "minkowski:0.5", "seuclidean", "cosine", "dot")
    n_examples: int = 8
    # Metrics re-run with scikit-learn's brute-force 1-NN classifier as a reference
    # (its BLAS metrics; its manhattan/chebyshev go through scipy and take minutes).
    sklearn_reference: tuple[str, ...] = ("euclidean", "cosine")


QUICK = {"n_queries": 1_000, "metrics": ("euclidean", "manhattan", "chebyshev", "minkowski:3",
                                         "seuclidean", "cosine", "dot")}

_FORMULAS = {
    "euclidean": "sqrt(sum (x_j - y_j)^2)",
    "manhattan": "sum abs(x_j - y_j)",
    "chebyshev": "max abs(x_j - y_j)",
    "minkowski": "(sum abs(x_j - y_j)^p)^(1/p)",
    "seuclidean": "sqrt(sum w_j (x_j - y_j)^2), w_j = 1/var_j",
    "cosine": "1 - <x, y> / (abs(x) abs(y))",
    "dot": "1 - <x, y>",
}


def _formula(spec: str) -> str:
    name, _, p = spec.partition(":")
    return _FORMULAS[name].replace("^p", f"^{p}").replace("1/p", f"1/{p}") if p else _FORMULAS[name]


def _resolve(spec: str, train_x: jax.Array) -> tuple[str, str, dict]:
    """(label, metric, keyword arguments) for a metric spec string."""
    name, _, p = spec.partition(":")
    if name == "seuclidean":
        variance = jnp.var(train_x, axis=0)
        w = jnp.where(variance > 0, 1.0 / jnp.where(variance > 0, variance, 1.0), 0.0)
        return "weighted Euclidean (1/var)", "euclidean", {"w": w}
    if name == "minkowski":
        return f"Minkowski p={p}", "minkowski", {"p": float(p)}
    return name, name, {}


def _sklearn_agreement(metric, train_x, train_labels, test_x, predicted) -> float:
    """Share of test images that scikit-learn's brute-force 1-NN labels as we do."""
    from sklearn.neighbors import KNeighborsClassifier

    reference = KNeighborsClassifier(n_neighbors=1, algorithm="brute", metric=metric)
    reference.fit(np.asarray(train_x), train_labels)
    return float(np.mean(reference.predict(np.asarray(test_x)) == predicted))


def unit_ball_figure():
    """Unit balls {y : rho(c, y) <= 1} in the plane, as heat maps of rho(c, .)."""
    panels = [
        ("Euclidean", "euclidean", {}, (0.0, 0.0)),
        ("Manhattan", "manhattan", {}, (0.0, 0.0)),
        ("Chebyshev (supremum)", "chebyshev", {}, (0.0, 0.0)),
        ("Minkowski p=0.5", "minkowski", {"p": 0.5}, (0.0, 0.0)),
        ("Minkowski p=3", "minkowski", {"p": 3.0}, (0.0, 0.0)),
        ("weighted Euclidean, w=(1, 4)", "euclidean", {"w": jnp.array([1.0, 4.0])}, (0.0, 0.0)),
        ("cosine, c=(0.6, 0.8)", "cosine", {}, (0.6, 0.8)),
        ("dot 1-<c,y>, c=(0.6, 0.8)", "dot", {}, (0.6, 0.8)),
    ]
    axis = np.linspace(-1.6, 1.6, 321)
    gx, gy = np.meshgrid(axis, axis)
    grid = jnp.asarray(np.stack([gx.ravel(), gy.ravel()], axis=1), jnp.float32)
    fig, axes = plt.subplots(2, 4, figsize=(18, 8.6), constrained_layout=True)
    for ax, (title, metric, kwargs, centre) in zip(axes.ravel(), panels):
        field = distances.pairwise(grid, jnp.asarray([centre], jnp.float32), metric, **kwargs)
        field = np.asarray(field).reshape(gx.shape)
        image = ax.contourf(gx, gy, field, levels=np.linspace(field.min(), min(field.max(), 3), 16),
                            cmap="viridis", extend="max")
        ax.contour(gx, gy, field, levels=[1.0], colors="white", linewidths=2.5)
        ax.plot(*centre, "w+", markersize=12, mew=2)
        ax.set_title(title)
        ax.set_aspect("equal")
        ax.set_xlabel("$y_1$")
        ax.set_ylabel("$y_2$")
        fig.colorbar(image, ax=ax, shrink=0.8, format="%.1f", label=r"$\rho(c, y)$")
    fig.suptitle("Unit balls: the white line is $\\rho(c, y) = 1$ around the centre $c$ (+)")
    return fig


def neighbours_figure(queries, query_labels, train_images, train_labels, indices, labels,
                      class_names):
    """Each query with its nearest training image under every metric; red = wrong class."""
    n, n_metrics = queries.shape[0], len(labels)
    fig, axes = plt.subplots(n, n_metrics + 1, figsize=(1.45 * (n_metrics + 1), 1.6 * n))
    for i in range(n):
        axes[i, 0].imshow(queries[i], cmap="gray_r")
        axes[i, 0].set_title(f"query: {class_names[query_labels[i]]}", fontsize=7)
        for j, label in enumerate(labels):
            k = indices[label][i]
            ax = axes[i, j + 1]
            ax.imshow(train_images[k], cmap="gray_r")
            correct = train_labels[k] == query_labels[i]
            ax.set_title(class_names[train_labels[k]], fontsize=7,
                         color="green" if correct else "red")
            for spine in ax.spines.values():
                spine.set_edgecolor("green" if correct else "red")
                spine.set_linewidth(2)
            if i == 0:
                ax.set_xlabel(label, fontsize=7)
                ax.xaxis.set_label_position("top")
                ax.xaxis.labelpad = 14
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Nearest training image under each metric (green: same class as the query)")
    return fig


def run(config: Config, run: harness.Run) -> dict:
    train_images, train_labels = data.load(config.dataset, "train")
    test_images, test_labels = data.load(config.dataset, "test")
    train_images, train_labels = train_images[: config.n_train], train_labels[: config.n_train]
    test_images, test_labels = test_images[: config.n_queries], test_labels[: config.n_queries]
    train_x = data.flatten(data.to_unit_range(train_images))
    test_x = data.flatten(data.to_unit_range(test_images))
    class_names = data.CLASS_NAMES[config.dataset]

    run.figure(unit_ball_figure(), "unit_balls",
               "Unit balls of the lecture's metrics in the plane (heat map: distance to the centre)")

    rows, per_class, indices, summary = [], {}, {}, {"accuracy": {}, "sklearn_agreement": {}}
    for spec in run.progress(config.metrics, "1-NN per metric"):
        label, metric, kwargs = _resolve(spec, train_x)
        start = time.perf_counter()
        index, _ = distances.nearest(test_x, train_x, metric, **kwargs)
        index = np.asarray(index)
        seconds = time.perf_counter() - start
        predicted = train_labels[index]
        correct = predicted == test_labels
        accuracy = float(correct.mean())
        indices[label] = index
        per_class[label] = [float(correct[test_labels == c].mean()) for c in range(10)]
        agreement = "-"
        if spec in config.sklearn_reference:
            summary["sklearn_agreement"][label] = _sklearn_agreement(
                metric, train_x, train_labels, test_x, predicted)
            agreement = f"{summary['sklearn_agreement'][label]:.2%}"
        rows.append((label, f"`{_formula(spec)}`", accuracy, agreement, round(seconds, 1)))
        summary["accuracy"][label] = accuracy
        run.log(metric=label, accuracy=accuracy, seconds=seconds,
                n_queries=int(test_x.shape[0]), n_train=int(train_x.shape[0]))

    run.text(
        f"1-nearest-neighbour classification of the first {test_x.shape[0]:,} "
        f"{config.dataset} test images against {train_x.shape[0]:,} training images "
        "(pixels scaled to [0, 1]), with `jaxselforg.distances.nearest` "
        f"on {jax.devices()[0].platform.upper()}. The same data, only the metric changes. "
        "Where scikit-learn's `KNeighborsClassifier(n_neighbors=1, algorithm='brute')` "
        "was run as a reference, the share of identical predictions is shown (ties "
        "between equidistant training images are the only possible source of "
        "difference)."
    )
    run.table(("metric", "formula", "1-NN accuracy", "same prediction as scikit-learn",
               "time (s, incl. compile)"), rows)
    run.table(("class",) + tuple(per_class),
              [(class_names[c],) + tuple(f"{per_class[m][c]:.3f}" for m in per_class)
               for c in range(10)],
              caption="Accuracy per class:")

    fig, ax = plt.subplots(figsize=(9, 4))
    names = list(summary["accuracy"])
    ax.barh(names, [summary["accuracy"][m] for m in names], color="tab:blue")
    for y, m in enumerate(names):
        ax.text(summary["accuracy"][m] + 0.005, y, f"{summary['accuracy'][m]:.3f}", va="center")
    ax.set_xlabel("1-NN test accuracy")
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_title(f"{config.dataset}: 1-NN accuracy by metric ({test_x.shape[0]:,} queries)")
    run.figure(fig, "accuracy_by_metric", "1-NN accuracy by metric")

    n_examples = min(config.n_examples, test_x.shape[0])
    run.figure(
        neighbours_figure(test_images[:n_examples], test_labels[:n_examples], train_images,
                          train_labels, {k: v[:n_examples] for k, v in indices.items()},
                          list(indices), class_names),
        "neighbours", "The nearest training image of some test images under each metric")
    best = max(summary["accuracy"], key=summary["accuracy"].get)
    summary.update(best_metric=best, n_queries=int(test_x.shape[0]),
                   n_train=int(train_x.shape[0]), dataset=config.dataset)
    return summary


if __name__ == "__main__":
    harness.main(__name__)
