"""Training a classifier on labelled images: one ``train.fit`` call.

    result = classify.train_classifier(x, y, key=jax.random.key(0), epochs=15,
                                       augmentation=augment.RandomShift(2),
                                       test_images=x_test, test_labels=y_test)
    classify.accuracy(result.model, x_test, y_test)
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any, Unpack

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jax.typing import ArrayLike

from jaxselforg import _rows, _validation, train
from jaxselforg.classify.model import ARCHITECTURES, make_classifier

__all__ = ["OPTIMIZER", "ClassifierObjective", "ClassifierTraining", "accuracy", "features",
           "predict", "test_accuracy_fn", "train_classifier"]

OPTIMIZER = optax.inject_hyperparams(train.cosine_decay_adamw)(
    learning_rate=1e-3, decay_steps=0, weight_decay=0.0)
"""The optimizer of :func:`train_classifier`: AdamW whose peak rate, cosine-decay length
and weight decay are traced state (one value, so that equal settings reuse one
compiled epoch)."""


@dataclasses.dataclass(frozen=True)
class ClassifierObjective:
    """Cross-entropy of the labels under the model in train mode, with augmentation.

    ``loss_fn(model, (images, labels), key, hyperparams)``: the batch is augmented
    (``augmentation(key, images)``, per example, inside the compiled step), passed
    through the model with ``train=True`` (batch statistics, dropout) and scored by
    mean_i -ln softmax(f(x_i))_{y_i} (``optax.softmax_cross_entropy_with_integer_labels``).
    Equal for equal settings (a rebuilt step reuses the compiled epoch).

    Attributes:
      augmentation: a transform ``t(key, images)`` (``jaxselforg.augment``) or None.
    """

    augmentation: Callable | None = None

    def __call__(self, model, batch, key, hyperparams):
        images, labels = batch
        augment_key, dropout_key = jax.random.split(key)
        if self.augmentation is not None:
            images = self.augmentation(augment_key, images)
        logits = model(images, train=True, key=dropout_key)
        loss = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))
        return loss, {"accuracy": jnp.mean(jnp.argmax(logits, axis=1) == labels)}


@dataclasses.dataclass(frozen=True)
class _Factory:
    """``make_classifier`` with fixed settings, hashable by value."""

    architecture: str
    image_shape: tuple[int, int]
    n_classes: int
    settings: tuple[tuple[str, Any], ...]

    def __call__(self, rngs: nnx.Rngs):
        return make_classifier(self.architecture, image_shape=self.image_shape,
                               n_classes=self.n_classes, rngs=rngs, **dict(self.settings))


class ClassifierOptions(train.RunOptions, total=False):
    """The keywords of :func:`train_classifier` (and the student's of
    ``distill.train_distilled``) past its own: the architecture's settings (``CNN``:
    channels, features, dropout, stride1_convs; ``MLPClassifier``: hidden, dropout)
    and the run options."""

    channels: Sequence[int]
    features: int
    hidden: Sequence[int]
    dropout: float
    stride1_convs: int


class ClassifierTraining(train.TrainingResult):
    """A trained classifier: ``graphdef``, the final ``state`` and the per-epoch
    ``history`` (``loss``, ``accuracy`` on the augmented training batches, and
    ``test_accuracy`` when test data were given); ``model`` is the trained network
    (use it in eval mode: ``model(images)``)."""

    __slots__ = ()


@functools.partial(jax.jit, static_argnames=("graphdef", "penultimate"))
def _outputs(graphdef, state, images, penultimate):
    model = nnx.merge(graphdef, state)
    apply = model.features if penultimate else model
    return _rows.map_rows(lambda rows: apply(rows), images, block_rows=500)


def features(model: nnx.Module, images: ArrayLike) -> jax.Array:
    """The penultimate layer ``[n, features]`` of ``images [n, h, w]`` in eval mode (the
    features of the Fréchet classifier distance), a block of images at a time.

    Raises:
      ValueError: images of the wrong shape or outside [0, 1].
    """
    images = _validation.images(images, model.image_shape)
    graphdef, state = nnx.split(model)
    return _outputs(graphdef, state, images, True)


def predict(model: nnx.Module, images: ArrayLike) -> jax.Array:
    """Class probabilities ``[n, n_classes]`` of ``images [n, h, w]`` in eval mode.

    Raises:
      ValueError: images of the wrong shape or outside [0, 1].
    """
    images = _validation.images(images, model.image_shape)
    graphdef, state = nnx.split(model)
    return jax.nn.softmax(_outputs(graphdef, state, images, False), axis=-1)


def accuracy(model: nnx.Module, images: ArrayLike, labels: ArrayLike) -> float:
    """The share of ``images`` whose most probable class is their label.

    Raises:
      ValueError: images of the wrong shape or outside [0, 1]; labels not ``[n]``
        integers in ``[0, n_classes)`` (a label the model cannot predict).
    """
    images = _validation.images(images, model.image_shape)
    probabilities = predict(model, images)
    labels, _ = _validation.class_labels(labels, "labels", size=images.shape[0],
                                         n_classes=probabilities.shape[1])
    return float(jnp.mean(jnp.argmax(probabilities, axis=1) == labels))


def test_accuracy_fn(
    graphdef,
    test_images: ArrayLike | None,
    test_labels: ArrayLike | None,
    image_shape: tuple[int, ...],
    n_classes: int,
    *,
    role: str | None = None,
    classifier: Callable[[nnx.Module], nnx.Module] = lambda model: model,
) -> Callable[[train.TrainState], dict[str, Any]] | None:
    """``train.fit``'s ``eval_fn`` reporting ``test_accuracy``: one value for a single
    run, one per run for a sweep (``train.evaluate_runs``). None without test images.

    Args:
      graphdef, role: the trained network, as :func:`jaxselforg.train.model_of`.
      test_images, test_labels: the labelled test set (checked here, once).
      image_shape, n_classes: what the network takes and predicts.
      classifier: the network's classifier (e.g. a student without its hint regressor).

    Raises:
      ValueError: test images or labels of the wrong shape, range or class.
    """
    if test_images is None:
        return None
    test_images, test_labels = _validation.labelled_images(
        test_images, test_labels, image_shape, n_classes, ("test_images", "test_labels"))

    def evaluate(model):
        return {"test_accuracy": accuracy(classifier(model), test_images, test_labels)}

    return lambda state: train.evaluate_runs(evaluate, graphdef, state, role=role)


def train_classifier(
    images: ArrayLike,
    labels: ArrayLike,
    *,
    key: jax.Array,
    architecture: str = "cnn",
    n_classes: int = 10,
    epochs: int = 10,
    batch_size: int = 128,
    learning_rate: ArrayLike = 1e-3,
    weight_decay: ArrayLike = 1e-4,
    learning_rate_decay: str = "cosine",
    augmentation: Callable | None = None,
    test_images: ArrayLike | None = None,
    test_labels: ArrayLike | None = None,
    **options: Unpack[ClassifierOptions],
) -> ClassifierTraining:
    """Trains a ``CNN`` or ``MLPClassifier`` with AdamW (``train.fit`` underneath).

    Args:
      images: ``[n, h, w]`` training images in [0, 1].
      labels: ``[n]`` integer classes in ``[0, n_classes)``.
      key: PRNG key (initialization, batch order, augmentation, dropout).
      architecture: ``"cnn"`` or ``"mlp"``.
      n_classes: number of classes.
      epochs: passes over the data (a resumed run continues up to it).
      batch_size: images per step.
      learning_rate: AdamW's peak step size (traced).
      weight_decay: AdamW's decoupled decay lambda (traced).
      learning_rate_decay: ``"cosine"`` (to 0 over the run) or ``"constant"``.
      augmentation: a ``jaxselforg.augment`` transform applied to every batch (e.g.
        ``augment.RandomShift(2)``, Hinton's jitter); None for none.
      test_images, test_labels: optional test set for a per-epoch ``test_accuracy``.
      **options: the architecture's arguments (``channels``, ``features``, ``hidden``,
        ``dropout``) and :class:`~jaxselforg.train.RunOptions` (``checkpoint_dir``:
        resumed if present, the config must match; ``metrics_path``, ``mesh``, ...).

    Returns:
      A :class:`ClassifierTraining`.

    Raises:
      ValueError: bad images or labels, an unknown architecture or decay, a learning
        rate <= 0 or a negative weight decay.
      NonFiniteLossError: the loss diverged (the last good checkpoint is kept).
    """
    run, model_settings = train.run_options("train_classifier", options,
                                            others=ClassifierOptions.__annotations__)
    _validation.choice(architecture, ARCHITECTURES, "architecture")
    n_classes = _validation.positive_int(n_classes, "n_classes")
    images = _validation.image_stack(images)
    model_fn = _Factory(architecture, tuple(images.shape[1:]), n_classes,
                        tuple(sorted(model_settings.items())))
    nnx.eval_shape(lambda: model_fn(nnx.Rngs(0)))  # validates the settings, computes nothing
    images, labels = _validation.labelled_images(images, labels, model_fn.image_shape, n_classes)
    epochs = _validation.positive_int(epochs, "epochs")
    batch_size = _validation.positive_int(batch_size, "batch_size")
    learning_rate = _validation.hyperparameter(learning_rate, "learning_rate", strict=True)
    weight_decay = _validation.hyperparameter(weight_decay, "weight_decay")
    decay_steps = train.decay_steps(learning_rate_decay, epochs, images.shape[0] // batch_size)
    key = _validation.prng_key(key)
    graphdef, state = train.create_state(model_fn, OPTIMIZER, key=key,
                                         learning_rate=learning_rate, decay_steps=decay_steps,
                                         weight_decay=weight_decay)
    step = train.make_step(graphdef, ClassifierObjective(augmentation), OPTIMIZER)
    eval_fn = test_accuracy_fn(graphdef, test_images, test_labels, model_fn.image_shape,
                               n_classes)
    config = {"model": "classifier", "architecture": architecture, "n_classes": n_classes,
              "settings": model_settings,
              "augmentation": repr(augmentation), "learning_rate_decay": learning_rate_decay,
              "decay_steps": decay_steps, "key": key}
    result = train.fit(step, state, (images, labels), batch_size=batch_size, epochs=epochs,
                       config=config, eval_fn=eval_fn, **run)
    return ClassifierTraining(graphdef, result.state, result.history)
