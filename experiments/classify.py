"""Supervised baselines, the yardstick of the second half: classifiers on Fashion-MNIST and
MNIST, and every generative model of the library scored by the same reference CNN.

Classifiers, per dataset: a VGG-style CNN (two stages of a stride-1 and a stride-2 3x3
convolution with BatchNorm, a dense layer, dropout; random 2-pixel shifts, and
horizontal flips on Fashion-MNIST only), Hinton, Vinyals & Dean's (2015)
784-1200-1200-10 MLP (dropout 0.5, inputs jittered up to 2 pixels) and the same
784-800-800-10 MLP without regularization. Each is trained by
``classify.train_classifier`` (AdamW, cosine decay); the table gives test accuracy and
errors beside the published figures, parameters and training time; figures: test
accuracy per epoch, the CNN's confusion matrix, its most confidently wrong test images,
and the augmentations it trained with.

Generative models, per dataset in ``generative_datasets``: the Bernoulli mixture, the
RBM (PCD, samples from Gibbs chains started at noise), MLP VAEs with 2-, 16- and 40-d
latents and the convolutional VAE, all trained on binarized pixels. Each model's
samples are its mean images (the mixture's component means, the RBM's E[v | h] after
the last Gibbs step, the VAE decoder's Bernoulli means), scored in the eyes of the
reference CNN (``evaluation.feature_extractor``): Fréchet classifier distance (FCD, not
Inception FID), classifier score, precision and recall (k = 3), class-histogram entropy
-- beside the real-data floor (training images against test images).

    python -m experiments.classify [--quick] [--datasets fashion_mnist] [--cnn_epochs 30]
"""

from __future__ import annotations

import dataclasses
import math

import jax
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from experiments import harness
from jaxselforg import augment, classify, data, evaluation, mixture, nn, rbm, train, vae, viz

TITLE = "Supervised baselines, and every generative model on one yardstick"

# Published test figures the table sits beside (accuracy, or errors of 10,000).
PUBLISHED = {
    ("fashion_mnist", "cnn"): "2 conv + 2 FC with flips 0.939; ResNet-18 0.949 (target >= 0.935)",
    ("mnist", "cnn"): "target >= 0.994",
    ("fashion_mnist", "teacher"): "MLP 0.883 (zalando benchmark)",
    ("mnist", "teacher"): "67 errors (Hinton et al. 2015; target <= 80)",
    ("fashion_mnist", "small"): "MLP 0.883 (zalando benchmark)",
    ("mnist", "small"): "146 errors (Hinton et al. 2015)",
}
SHORT_NAMES = {"cnn": "CNN", "teacher": "teacher MLP (dropout, jitter)",
               "small": "small MLP (no regularization)"}
TARGETS = {("fashion_mnist", "cnn"): 0.935, ("mnist", "cnn"): 0.994,
           ("mnist", "teacher"): 1 - 80 / 10_000}


@dataclasses.dataclass
class Config:
    """Classifiers (CNN, Hinton's teacher MLP, the unregularized small MLP) per dataset,
    and the generative models' samples scored by the reference CNN."""

    seed: int = 0
    datasets: tuple[str, ...] = ("fashion_mnist", "mnist")
    n_train: int = 60_000
    n_test: int = 10_000
    batch_size: int = 128
    # The CNN: stages of (stride1_convs stride-1 + one stride-2) 3x3 convolutions.
    cnn_channels: tuple[int, ...] = (32, 64)
    cnn_stride1_convs: int = 1
    cnn_features: int = 256
    cnn_dropout: float = 0.3
    cnn_epochs: int = 30
    cnn_learning_rate: float = 1e-3
    cnn_weight_decay: float = 5e-4
    shift: int = 2  # pixels of random translation (augment.RandomShift) for the CNN and teacher
    # Hinton et al.'s teacher and the small net without regularization.
    mlp_learning_rate: float = 1e-3
    teacher_hidden: tuple[int, ...] = (1200, 1200)
    teacher_dropout: float = 0.5
    teacher_weight_decay: float = 1e-4
    teacher_epochs: int = 200  # 84 test errors after 60 epochs, 71 after 200 (reports/full)
    small_hidden: tuple[int, ...] = (800, 800)
    small_epochs: int = 30
    # The generative models on the reference CNN's yardstick (no datasets: skipped).
    generative_datasets: tuple[str, ...] = ("fashion_mnist", "mnist")
    n_score: int = 10_000
    reference_epochs: int = 10
    reference_n_train: int | None = None  # None: every training image
    mixture_components: int = 50
    mixture_iterations: int = 50
    rbm_hidden: int = 500
    rbm_epochs: int = 20
    rbm_gibbs_steps: int = 1_000
    vae_latents: tuple[int, ...] = (2, 16, 40)
    vae_epochs: int = 30
    conv_vae_latent: int = 16
    conv_vae_epochs: int = 10  # 0: no convolutional VAE


QUICK = {"datasets": ("fashion_mnist",), "n_train": 3_000, "n_test": 2_000, "cnn_epochs": 3,
         "cnn_channels": (8, 16), "cnn_features": 32, "cnn_stride1_convs": 0,
         "cnn_learning_rate": 3e-3, "mlp_learning_rate": 3e-3, "teacher_hidden": (128, 128),
         "teacher_epochs": 3, "small_hidden": (64, 64), "small_epochs": 3,
         "generative_datasets": ("fashion_mnist",), "n_score": 1_000, "reference_epochs": 1,
         "reference_n_train": 5_000, "mixture_components": 10, "mixture_iterations": 10,
         "rbm_hidden": 64, "rbm_epochs": 2, "rbm_gibbs_steps": 100, "vae_latents": (2, 16),
         "vae_epochs": 2, "conv_vae_epochs": 0}


def _check(config: Config) -> None:
    for dataset in (*config.datasets, *config.generative_datasets):
        if dataset not in data.DATASETS:
            raise ValueError(f"Unknown dataset {dataset!r}; accepted: {data.DATASETS}.")
    if config.n_score > config.n_test:
        raise ValueError(f"n_score ({config.n_score}) must be <= n_test ({config.n_test}): "
                         "the samples are compared with as many test images.")


def load(config: Config, dataset: str):
    """``(x, y, x_test, y_test)``: images in [0, 1] and int labels (numpy)."""
    images, labels = data.load(dataset, "train")
    test_images, test_labels = data.load(dataset, "test")
    return (data.to_unit_range(images[: config.n_train]), np.asarray(labels[: config.n_train]),
            data.to_unit_range(test_images[: config.n_test]),
            np.asarray(test_labels[: config.n_test]))


def augmentation(config: Config, dataset: str):
    """The CNN's augmentation: shifts, and (for half the images) horizontal flips where a
    flipped image is still of its class (garments; digits must not flip)."""
    shift = augment.RandomShift(config.shift)
    return augment.Compose([shift, (augment.HorizontalFlip(), 0.5)]) \
        if dataset == "fashion_mnist" else shift


def classifier_specs(config: Config, dataset: str) -> dict[str, tuple[str, dict]]:
    """``name -> (label, train_classifier settings)`` of the three baselines."""
    jitter = augment.RandomShift(config.shift)
    return {
        "cnn": ((f"CNN {config.cnn_channels}, {config.cnn_stride1_convs} stride-1 conv per "
                 f"stage, BatchNorm, dropout {config.cnn_dropout:g}"),
                {"architecture": "cnn", "channels": config.cnn_channels,
                 "stride1_convs": config.cnn_stride1_convs, "features": config.cnn_features,
                 "dropout": config.cnn_dropout, "epochs": config.cnn_epochs,
                 "learning_rate": config.cnn_learning_rate,
                 "weight_decay": config.cnn_weight_decay,
                 "augmentation": augmentation(config, dataset)}),
        "teacher": ((f"MLP 784-{'-'.join(map(str, config.teacher_hidden))}-10, dropout "
                     f"{config.teacher_dropout:g}, jitter {config.shift} px (Hinton's teacher)"),
                    {"architecture": "mlp", "hidden": config.teacher_hidden,
                     "dropout": config.teacher_dropout, "epochs": config.teacher_epochs,
                     "learning_rate": config.mlp_learning_rate,
                     "weight_decay": config.teacher_weight_decay, "augmentation": jitter}),
        "small": (f"MLP 784-{'-'.join(map(str, config.small_hidden))}-10, no regularization",
                  {"architecture": "mlp", "hidden": config.small_hidden, "dropout": 0.0,
                   "epochs": config.small_epochs, "learning_rate": config.mlp_learning_rate,
                   "weight_decay": 0.0, "augmentation": None}),
    }


def _files(run: harness.Run, name: str) -> dict:
    files = {"metrics_path": run.out / f"train_{name}.jsonl", "progress": None, "desc": name}
    if not run.quick:
        files["checkpoint_dir"] = run.out / "checkpoints" / name
    return files


def _seconds(history) -> tuple[float, float]:
    """(median seconds per epoch, total seconds) of a fit's history (``train.fit``
    keeps the epochs of earlier, resumed invocations in it)."""
    seconds = history.get("seconds", [])
    return harness.seconds_per_epoch(seconds), float(np.sum(seconds))


def wrong_figure(images, labels, probabilities, class_names, title: str, n: int = 16):
    """The ``n`` test images the classifier got wrong with the highest confidence."""
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    shown = wrong[np.argsort(-confidence[wrong])][:n]
    cols = 8
    rows = max(1, math.ceil(len(shown) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.7 * cols, 2.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, shown):
        ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"{class_names[labels[i]]}\n-> {class_names[predicted[i]]} "
                     f"({confidence[i]:.2f})", fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def augmentation_figure(transform, images, key, dataset: str, n_views: int = 7):
    """Each row: a training image, then ``n_views`` augmented copies of it."""
    keys = jax.random.split(key, n_views)
    views = [np.asarray(transform(k, images)) for k in keys]
    grid = np.stack([np.asarray(images), *views], axis=1)  # [rows, 1 + n_views, h, w]
    return viz.mosaic_figure(grid, n_views + 1, f"{dataset}: a training image (left) and "
                             f"{n_views} of its augmented views", width=8)


def curves_figure(histories: dict, dataset: str):
    fig, ax = plt.subplots(figsize=(7, 4))
    viz.plot_curves(ax, {label: 100 * (1 - np.asarray(h["test_accuracy"]))
                         for label, h in histories.items()})
    ax.set_ylabel("test error (%)")
    return harness.finish_curves(fig, [ax], f"{dataset}: test error per epoch")


def classifiers(config: Config, dataset: str, run: harness.Run) -> dict:
    """Trains and scores the three baselines on ``dataset``; adds its table and figures."""
    x, y, x_test, y_test = load(config, dataset)
    specs = classifier_specs(config, dataset)
    summary, rows, histories, cnn_probabilities = {}, [], {}, None
    for name, (label, settings) in specs.items():
        result = classify.train_classifier(
            x, y, key=jax.random.key(config.seed), batch_size=config.batch_size,
            test_images=x_test, test_labels=y_test, **settings,
            **_files(run, f"{dataset}_{name}"))
        probabilities = np.asarray(classify.predict(result.model, x_test))
        accuracy = float(np.mean(probabilities.argmax(axis=1) == y_test))
        errors = int(np.sum(probabilities.argmax(axis=1) != y_test))
        parameters = nn.n_parameters(result.model)
        per_epoch, total = _seconds(result.history)
        target = TARGETS.get((dataset, name))
        met = "-" if target is None else ("met" if accuracy >= target else "missed")
        summary[name] = {"test_accuracy": accuracy, "test_errors": errors,
                         "parameters": parameters, "epochs": settings["epochs"],
                         "seconds_per_epoch": per_epoch, "target": target}
        run.log(dataset=dataset, model=name, **summary[name])
        rows.append((label, settings["epochs"], f"{parameters:,}", f"{accuracy:.4f}", errors,
                     PUBLISHED.get((dataset, name), "-"), met, f"{per_epoch:.3g}",
                     f"{total / 60:.1f}"))
        if "test_accuracy" in result.history:
            histories[SHORT_NAMES[name]] = result.history
        if name == "cnn":
            cnn_probabilities = probabilities
    run.table(["network", "epochs", "parameters", "test accuracy", "test errors",
               "published", "target", "s / epoch", "minutes"], rows,
              caption=f"**{dataset}**: {len(y):,} training and {len(y_test):,} test images; "
                      f"AdamW with cosine decay, batches of {config.batch_size}, seed "
                      f"{config.seed}. s / epoch: the median epoch; minutes: all epochs, with "
                      "each invocation's compilation (runs resume from checkpoints).")
    if histories:
        run.figure(curves_figure(histories, dataset), f"{dataset}_curves",
                   f"Test error per epoch on {dataset}")
    class_names = data.CLASS_NAMES[dataset]
    predicted = cnn_probabilities.argmax(axis=1)
    run.figure(viz.confusion_figure(y_test, predicted, class_names,
                                    f"{dataset}: the CNN's test confusion matrix"),
               f"{dataset}_cnn_confusion",
               f"Confusion matrix of the CNN on the {len(y_test):,} {dataset} test images")
    run.figure(wrong_figure(np.asarray(x_test), y_test, cnn_probabilities, class_names,
                            f"{dataset}: the CNN's most confident mistakes "
                            "(true -> predicted, probability)"),
               f"{dataset}_cnn_confident_mistakes",
               f"The CNN's 16 most confidently wrong {dataset} test images")
    transform = specs["cnn"][1]["augmentation"]
    run.figure(augmentation_figure(transform, x[:6], jax.random.key(config.seed + 1), dataset),
               f"{dataset}_augmentation",
               f"The CNN's training augmentation on {dataset} ({transform!r})")
    return summary


def generative_samples(config: Config, x, key, run: harness.Run,
                       dataset: str) -> dict[str, tuple[str, str, np.ndarray]]:
    """``name -> (label, short label, samples [n_score, 28, 28])`` of every generative
    model, trained
    on binarized ``x``; each sample is the model's mean image given its latent draw."""
    n, side = config.n_score, x.shape[1:]
    binary = data.binarize(x)
    flat = data.flatten(binary)
    keys = iter(jax.random.split(key, 16))
    samples = {}
    bmm = mixture.bernoulli_mixture(flat, config.mixture_components, key=next(keys),
                                    max_iter=config.mixture_iterations)
    _, components = mixture.sample(bmm, n, key=next(keys))
    means = np.asarray(bmm.params.means[components]).reshape(n, *side)
    samples["mixture"] = (f"Bernoulli mixture, {config.mixture_components} components",
                          "Bernoulli mixture", means)
    fit = rbm.fit(flat, config.rbm_hidden, key=next(keys), persistent=True,
                  epochs=config.rbm_epochs)
    chains = rbm.sample(fit.params, n, key=next(keys), n_steps=config.rbm_gibbs_steps)
    samples["rbm"] = ((f"RBM, {config.rbm_hidden} hidden, PCD-1, {config.rbm_gibbs_steps} "
                       "Gibbs steps"), "RBM", np.asarray(chains.means[-1]).reshape(n, *side))
    for latent in config.vae_latents:
        result = vae.train_vae(x, key=next(keys), latent_dim=latent, architecture="mlp",
                               epochs=config.vae_epochs, binarize=True,
                               **_files(run, f"{dataset}_vae_{latent}"))
        samples[f"vae_{latent}"] = (f"MLP VAE, {latent}-d latent", f"VAE {latent}-d",
                                    np.asarray(vae.sample(result.model, n, key=next(keys))))
    if config.conv_vae_epochs:
        result = vae.train_vae(x, key=next(keys), latent_dim=config.conv_vae_latent,
                               architecture="conv", epochs=config.conv_vae_epochs,
                               binarize=True, **_files(run, f"{dataset}_conv_vae"))
        drawn = np.asarray(vae.sample(result.model, n, key=next(keys)))
        samples["conv_vae"] = (f"conv VAE, {config.conv_vae_latent}-d latent",
                               f"conv VAE {config.conv_vae_latent}-d", drawn)
    return samples


def generative(config: Config, dataset: str, run: harness.Run) -> dict:
    """Scores every generative model's samples on ``dataset`` by the reference CNN."""
    x, _, x_test, _ = load(config, dataset)
    extractor = evaluation.feature_extractor(dataset, epochs=config.reference_epochs,
                                             n_train=config.reference_n_train,
                                             progress=train.progress_enabled())
    real = x_test[: config.n_score]
    floor = evaluation.score_samples(extractor, x[: config.n_score], real)
    summary = {"reference_test_accuracy": extractor.test_accuracy,
               "real_floor": floor._asdict()}
    rows = [("real training images (the floor)", f"{floor.fcd:.2f}",
             f"{floor.classifier_score:.2f}", f"{floor.precision:.3f}", f"{floor.recall:.3f}",
             f"{floor.class_entropy + 0.0:.3f}")]
    samples = generative_samples(config, x, jax.random.key(config.seed + 7), run, dataset)
    for name, (label, _, images) in samples.items():
        scores = evaluation.score_samples(extractor, images, real)
        summary[name] = scores._asdict()
        run.log(dataset=dataset, generative=name, **scores._asdict())
        rows.append((label, f"{scores.fcd:.2f}", f"{scores.classifier_score:.2f}",
                     f"{scores.precision:.3f}", f"{scores.recall:.3f}",
                     f"{scores.class_entropy + 0.0:.3f}"))
    run.table(["model (samples: mean images)", "FCD", "classifier score", "precision",
               "recall", "class entropy (nats)"], rows,
              caption=f"**{dataset}**: {config.n_score:,} samples of each model against "
                      f"{config.n_score:,} test images, in the eyes of the reference CNN "
                      f"(test accuracy {extractor.test_accuracy:.4f}). FCD is the Fréchet "
                      "distance of its penultimate features, not Inception FID: not "
                      "comparable with published FIDs; the first row is its floor. Classifier "
                      "score at most 10; an even class histogram has entropy ln 10 = 2.303.")
    grid = np.stack([images[:10] for _, _, images in samples.values()])
    run.figure(viz.mosaic_figure(grid, 10, f"{dataset}: samples of each generative model",
                                 row_labels=[short for _, short, _ in samples.values()],
                                 width=8),
               f"{dataset}_generative_samples", f"Ten samples (mean images) of each "
               f"generative model on {dataset}, one model per row")
    return summary


def run(config: Config, run: harness.Run) -> dict:
    _check(config)
    summary = {}
    for dataset in config.datasets:
        summary[dataset] = classifiers(config, dataset, run)
    for dataset in config.generative_datasets:
        summary.setdefault(dataset, {})["generative"] = generative(config, dataset, run)
    run.text("Every network is one `classify.train_classifier` call (AdamW, cosine decay to "
             "0, augmentation inside the compiled step; dropout and BatchNorm in train mode "
             "only while training). The test set chooses nothing: the settings are fixed "
             "in advance and the reported accuracy is the last epoch's, so the per-epoch "
             "test curves are for looking at only.")
    return summary


if __name__ == "__main__":
    harness.main(__name__)
