"""The reference feature extractor: the library's own in-domain CNN, trained once.

Inception weights cannot be downloaded here (and an ImageNet network is a poor judge
of 28x28 grey images), so generated samples are scored in the feature space of a
Fashion-MNIST (or MNIST) CNN: the Fréchet classifier distance (FCD), the classifier
score and precision/recall all use its penultimate features or its class
probabilities. It is trained once with a fixed seed and kept as an Orbax checkpoint in
``data.cache_dir() / "models"``; later calls reload it, so every experiment scores
with the same network. A damaged checkpoint is reported by the training core
(``train.CorruptCheckpointError``, naming its folder) and moved aside, so the next call
rebuilds the same network; a folder holding another network's checkpoint is refused
(``train.CheckpointMismatchError``): delete the folder to rebuild it.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
from typing import NamedTuple

import jax
import numpy as np
from flax import nnx
from jax.typing import ArrayLike

from jaxselforg import _validation, augment, classify, data
from jaxselforg.evaluation.frechet import frechet_distance
from jaxselforg.evaluation.generative import class_histogram, classifier_score, precision_recall

__all__ = ["REFERENCE_CNN", "ReferenceClassifier", "SampleScores", "feature_extractor",
           "frechet_classifier_distance", "score_samples"]

REFERENCE_CNN = {"channels": (32, 64), "features": 256, "dropout": 0.3}
"""The reference CNN's architecture (``classify.CNN`` settings)."""


class ReferenceClassifier(NamedTuple):
    """The trained reference CNN.

    Attributes:
      model: the ``classify.CNN`` (``classify.features(model, images)`` gives its
        penultimate features, ``classify.predict`` its class probabilities).
      dataset: the dataset it was trained on.
      test_accuracy: its accuracy on the dataset's 10,000 test images.
      directory: its checkpoint folder.
    """

    model: nnx.Module
    dataset: str
    test_accuracy: float
    directory: pathlib.Path

    def features(self, images: ArrayLike) -> jax.Array:
        """Penultimate features ``[n, 256]`` of ``images [n, 28, 28]`` in [0, 1]."""
        return classify.features(self.model, images)


def _layout_tag() -> str:
    """8 hex digits naming the reference CNN's parameter layout (every path and shape),
    so that a cache written by a library version with another network is not reused."""
    model = nnx.eval_shape(lambda: classify.make_classifier("cnn", rngs=nnx.Rngs(0),
                                                            **REFERENCE_CNN))
    layout = sorted((jax.tree_util.keystr(path), tuple(leaf.shape)) for path, leaf in
                    jax.tree_util.tree_leaves_with_path(nnx.state(model)))
    return hashlib.sha1(repr(layout).encode()).hexdigest()[:8]


def feature_extractor(dataset: str = "fashion_mnist", *, epochs: int = 10,
                      n_train: int | None = None, seed: int = 0,
                      cache_dir: str | os.PathLike | None = None,
                      progress: bool | None = None) -> ReferenceClassifier:
    """The reference CNN of ``dataset``: trained on first use, reloaded afterwards.

    Trained by ``classify.train_classifier`` (AdamW 1e-3 with cosine decay, weight
    decay 1e-4, batch 128, 2-pixel random shifts) on the training split.

    Args:
      dataset: ``"fashion_mnist"`` or ``"mnist"``.
      epochs: training epochs (part of the checkpoint's identity).
      n_train: train on the first ``n_train`` images only (quick runs, tests);
        default all 60,000.
      seed: the fixed seed of the network.
      cache_dir: where the checkpoint folder lives; default
        ``data.cache_dir() / "models"``.
      progress: tqdm bar while training.

    Returns:
      A :class:`ReferenceClassifier`.

    Raises:
      ValueError: an unknown dataset or bad counts.
      CheckpointMismatchError: the folder holds a checkpoint of another network.
    """
    dataset = _validation.choice(dataset, data.DATASETS, "dataset")
    epochs = _validation.positive_int(epochs, "epochs")
    x, y = data.load(dataset, "train")
    if n_train is not None:
        n_train = _validation.positive_int(n_train, "n_train")
        x, y = x[:n_train], y[:n_train]
    root = pathlib.Path(cache_dir) if cache_dir is not None else data.cache_dir() / "models"
    directory = root / (f"{dataset}-cnn-{_layout_tag()}-{len(y)}-images-{epochs}-epochs-"
                        f"seed-{seed}")
    result = classify.train_classifier(
        data.to_unit_range(x), np.asarray(y), key=jax.random.key(seed), epochs=epochs,
        augmentation=augment.RandomShift(2), checkpoint_dir=directory, progress=progress,
        desc=f"reference CNN ({dataset})", **REFERENCE_CNN)
    x_test, y_test = data.load(dataset, "test")
    accuracy = classify.accuracy(result.model, data.to_unit_range(x_test), np.asarray(y_test))
    return ReferenceClassifier(result.model, dataset, accuracy, directory)


def frechet_classifier_distance(extractor: ReferenceClassifier, images_a: ArrayLike,
                                images_b: ArrayLike) -> jax.Array:
    """FCD: :func:`frechet_distance` between the reference CNN's penultimate features
    of two image sets ``[n, 28, 28]`` in [0, 1] (10,000 vs 10,000 as the convention;
    report it next to the real-data floor, the FCD of two real sets)."""
    return frechet_distance(extractor.features(images_a), extractor.features(images_b))


class SampleScores(NamedTuple):
    """A generative model's samples on the library's one yardstick (:func:`score_samples`).

    Attributes:
      fcd: Fréchet classifier distance to the real images (lower is better).
      classifier_score: exp E KL(p(y | x) || p(y)) (higher is better, at most 10).
      precision, recall: Kynkäänniemi et al.'s, in the reference CNN's features.
      class_entropy: entropy (nats) of the predicted classes' histogram (ln 10 = even).
      class_accuracy: share of samples classified as the class they were generated
        for (conditional models; NaN when no classes were requested).
    """

    fcd: float
    classifier_score: float
    precision: float
    recall: float
    class_entropy: float
    class_accuracy: float


def score_samples(extractor: ReferenceClassifier, samples: ArrayLike, real: ArrayLike, *,
                  requested_labels: ArrayLike | None = None, k: int = 3) -> SampleScores:
    """Every sample score of a generative model against real images, in the reference
    CNN's eyes: the FCD, the classifier score, precision and recall (k-NN balls of
    radius the k-th neighbour distance), the class-histogram entropy and, given the
    classes the samples were asked for, the class accuracy
    (1/n) sum_i [argmax_y p(y | x_i) = y_i].

    Args:
      extractor: the reference CNN (:func:`feature_extractor`).
      samples: ``[n, 28, 28]`` generated images in [0, 1].
      real: ``[m, 28, 28]`` real images in [0, 1] (the test set, as many as ``samples``
        by convention).
      requested_labels: ``[n]`` classes a conditional model was asked for, or None.
      k: the neighbour of precision and recall (3 in the paper).

    Returns:
      :class:`SampleScores` (Python floats).

    Raises:
      ValueError: bad images, labels or ``k``.
    """
    samples = _validation.images(samples, extractor.model.image_shape, "samples")
    real = _validation.images(real, extractor.model.image_shape, "real")
    fake_features, real_features = extractor.features(samples), extractor.features(real)
    probabilities = classify.predict(extractor.model, samples)
    predicted = np.asarray(jax.numpy.argmax(probabilities, axis=1))
    n_classes = probabilities.shape[1]
    accuracy = float("nan")
    if requested_labels is not None:
        requested, _ = _validation.class_labels(requested_labels, "requested_labels",
                                                size=samples.shape[0], n_classes=n_classes)
        accuracy = float(np.mean(predicted == np.asarray(requested)))
    pr = precision_recall(real_features, fake_features, k=k)
    return SampleScores(
        fcd=float(frechet_distance(real_features, fake_features)),
        classifier_score=float(classifier_score(probabilities)),
        precision=float(pr.precision), recall=float(pr.recall),
        class_entropy=float(class_histogram(predicted, n_classes).entropy),
        class_accuracy=accuracy)
