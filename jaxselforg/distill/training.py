"""Distilling a trained classifier into a student: one ``train.fit`` call.

The state has two roles: ``"teacher"``, frozen (no optimizer; run in eval mode, so its
parameters and BatchNorm statistics come out bit-identical), and ``"student"``, a
``classify`` network trained with the classifiers' AdamW. The temperature and both
weights are traced loss hyperparameters, so a sweep over them (and seeds) is one
vmapped program::

    teacher = classify.train_classifier(x, y, key=key, architecture="mlp")
    result = distill.train_distilled(x, y, teacher, key=jax.random.key(1),
                                     architecture="mlp", hidden=(800, 800), dropout=0.0,
                                     temperature=20.0, hard_weight=0.1, soft_weight=0.9)
    classify.accuracy(result.model, x_test, y_test)

    sweep = distill.train_distilled(x, y, teacher, key=jax.random.split(key, 4),
                                    temperature=jnp.array([2.0, 2.0, 20.0, 20.0]),
                                    soft_weight=jnp.array([0.5, 0.9, 0.5, 0.9]), ...)
    students = [sweep.model_of(i) for i in range(4)]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple, Unpack

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.typing import ArrayLike

from jaxselforg import _validation, classify, train
from jaxselforg.distill.losses import _terms, check_weights, hint_loss
from jaxselforg.nn import _mode

__all__ = ["OPTIMIZER", "DistillationObjective", "DistillationTraining", "HintedStudent",
           "train_distilled"]

OPTIMIZER = classify.OPTIMIZER
"""The student's optimizer: the classifiers' AdamW (traced peak rate, cosine-decay length
and weight decay), so a student distilled with ``soft_weight=0`` is trained exactly as
``classify.train_classifier`` trains it."""


class HintedStudent(nnx.Module):
    """A student classifier with the FitNets regressor from its penultimate features to
    the teacher's (the trained role of a hinted distillation).

    Attributes:
      student: the classifier (``classify.CNN`` or ``classify.MLPClassifier``).
      regressor: ``nnx.Linear(d_student, d_teacher)``, trained with it.
    """

    def __init__(self, student: nnx.Module, regressor: nnx.Module):
        self.student = student
        self.regressor = regressor

    def __call__(self, images: jax.Array, *, train: bool = False,
                 key: jax.Array | None = None) -> jax.Array:
        """The student's logits."""
        return self.student(images, train=train, key=key)


def _features_and_logits(model: nnx.Module, images: jax.Array, key: jax.Array):
    """The penultimate features and logits of a ``classify`` network in train mode, from
    one forward pass (two passes would update BatchNorm statistics twice)."""
    if isinstance(model, classify.CNN):
        h = model.features(images, train=True)
        out = h
        if model.drop is not None:
            (key,) = _mode.layer_keys(key, 1, needed=True, block="CNN")
            out = model.drop(h, deterministic=False, rngs=key)
        return h, model.head(out)
    h = model.features(images, train=True, key=key)  # MLP: dropout is in the features
    return h, model.net.layers[-1](h)


@dataclasses.dataclass(frozen=True)
class DistillationObjective:
    """Hinton et al.'s loss for the student, the teacher held fixed in eval mode.

    ``loss_fn({"student": s, "teacher": t}, (images, labels), key, hyperparams)``: the
    batch is augmented (``augmentation(key, images)``, the same images for both
    networks), the teacher's logits are ``t(x, train=False)`` and the student's
    ``s(x, train=True)`` (batch statistics, dropout), and the loss is
    ``w_hard CE(y, softmax(z_s)) + w_soft T^2 KL(softmax(z_t/T) || softmax(z_s/T))
    [+ w_hint 1/2 ||u - r(v)||^2]`` (:func:`~jaxselforg.distill.distillation_loss`,
    :func:`~jaxselforg.distill.hint_loss` on the penultimate features) with ``T``,
    ``w_hard``, ``w_soft`` (and ``w_hint``) the traced ``temperature``,
    ``hard_weight``, ``soft_weight`` (and ``hint_weight``) of ``hyperparams``.

    Attributes:
      augmentation: a transform ``t(key, images)`` (``jaxselforg.augment``) or None.
      hint: the student is a :class:`HintedStudent` trained with the hint term.
    """

    augmentation: Callable | None = None
    hint: bool = False

    def __call__(self, models, batch, key, hyperparams):
        images, labels = batch
        augment_key, dropout_key = jax.random.split(key)
        if self.augmentation is not None:
            images = self.augmentation(augment_key, images)
        teacher, student = models["teacher"], models["student"]
        teacher_logits = teacher(images, train=False)
        if self.hint:
            features, logits = _features_and_logits(student.student, images, dropout_key)
            hint = hint_loss(features, teacher.features(images, train=False),
                             student.regressor)
        else:
            logits = student(images, train=True, key=dropout_key)
        hard, soft = _terms(logits, teacher_logits, labels, hyperparams["temperature"])
        loss = hyperparams["hard_weight"] * hard + hyperparams["soft_weight"] * soft
        metrics = {"accuracy": jnp.mean(jnp.argmax(logits, axis=1) == labels),
                   "hard_loss": hard, "soft_loss": soft}
        if self.hint:
            loss = loss + hyperparams["hint_weight"] * hint
            metrics["hint_loss"] = hint
        return loss, metrics


@dataclasses.dataclass(frozen=True)
class _StudentFactory:
    """The student classifier (and, for hints, its regressor) with fixed settings,
    hashable by value; the classifier is built first, as ``train_classifier`` builds
    it, so the same key gives the same initial network."""

    architecture: str
    image_shape: tuple[int, int]
    n_classes: int
    settings: tuple[tuple[str, Any], ...]
    hint_sizes: tuple[int, int] | None = None  # (student features, teacher features)

    def __call__(self, rngs: nnx.Rngs):
        student = classify.make_classifier(self.architecture, image_shape=self.image_shape,
                                           n_classes=self.n_classes, rngs=rngs,
                                           **dict(self.settings))
        if self.hint_sizes is None:
            return student
        return HintedStudent(student, nnx.Linear(*self.hint_sizes, rngs=rngs))


class DistillationTraining(NamedTuple):
    """A distilled student (or a sweep of them): ``graphdefs`` ``{"student", "teacher"}``,
    the final ``state`` and the per-epoch ``history`` (``loss``, ``hard_loss``,
    ``soft_loss``, ``hint_loss`` with hints, ``accuracy`` on the augmented training
    batches, ``test_accuracy`` when test data were given; ``[epochs, n_runs]`` for a
    sweep). ``model`` is the student classifier, for ``classify.predict`` and
    ``classify.accuracy``."""

    graphdefs: dict[str, nnx.GraphDef]
    state: train.TrainState
    history: dict[str, np.ndarray]

    @property
    def n_runs(self) -> int | None:
        """Number of runs of a sweep, None for a single run."""
        return train.n_runs(self.state)

    @property
    def model(self) -> nnx.Module:
        """The student classifier of a single run (use it in eval mode)."""
        return _classifier(train.model_of(self.graphdefs, self.state, role="student"))

    def model_of(self, run: int) -> nnx.Module:
        """The student classifier of run ``run`` of a sweep."""
        return _classifier(train.model_of(self.graphdefs, self.state, run, role="student"))

    @property
    def teacher(self) -> nnx.Module:
        """The (unchanged) teacher."""
        state = self.state if self.n_runs is None else train.select_run(self.state, 0)
        return train.get_model(self.graphdefs, state, "teacher")


def _classifier(student: nnx.Module) -> nnx.Module:
    """The classifier of a trained student role (without a hint's regressor)."""
    return student.student if isinstance(student, HintedStudent) else student


def _teacher_module(teacher) -> nnx.Module:
    if isinstance(teacher, classify.ClassifierTraining | DistillationTraining):
        return teacher.model
    if not isinstance(teacher, nnx.Module):
        raise TypeError(f"teacher must be a trained classifier (an nnx.Module such as "
                        f"classify.CNN, or a classify.ClassifierTraining); got "
                        f"{type(teacher).__name__}.")
    return teacher


def _with_teacher(state: train.TrainState, teacher: nnx.Module,
                  n_runs: int | None) -> tuple[nnx.GraphDef, train.TrainState]:
    """``state`` (the student's, from ``create_state``/``init_states``, whose one role is
    named ``"model"``) with that role renamed ``"student"`` and the frozen ``"teacher"``
    role added: its parameters and statistics (one copy per run of a sweep) and no
    optimizer state. Built this way, the student's initialization and training key are
    those of ``train_classifier`` with the same key."""
    graphdef, params, model_state = train.split_model(teacher)
    if n_runs is not None:
        params, model_state = jax.tree.map(
            lambda leaf: jnp.broadcast_to(leaf, (n_runs, *jnp.shape(leaf))), (params, model_state))
    role = train.SINGLE_ROLE
    return graphdef, state._replace(
        params={"student": state.params[role], "teacher": params},
        model_state={"student": state.model_state[role], "teacher": model_state},
        opt_state={"student": state.opt_state[role]})


def train_distilled(
    images: ArrayLike,
    labels: ArrayLike,
    teacher,
    *,
    key: jax.Array,
    architecture: str = "mlp",
    n_classes: int | None = None,
    temperature: ArrayLike = 4.0,
    hard_weight: ArrayLike = 0.1,
    soft_weight: ArrayLike = 0.9,
    hint_weight: ArrayLike | None = None,
    epochs: int = 10,
    batch_size: int = 128,
    learning_rate: ArrayLike = 1e-3,
    weight_decay: ArrayLike = 1e-4,
    learning_rate_decay: str = "cosine",
    augmentation: Callable | None = None,
    test_images: ArrayLike | None = None,
    test_labels: ArrayLike | None = None,
    **options: Unpack[classify.ClassifierOptions],
) -> DistillationTraining:
    """Trains a student classifier on a frozen teacher's soft targets and the labels.

    The loss (:class:`DistillationObjective`) is
    ``w_hard CE(y, softmax(z_s)) + w_soft T^2 KL(softmax(z_t/T) || softmax(z_s/T))``
    (Hinton, Vinyals & Dean 2015), plus ``w_hint 1/2 ||u - r(v)||^2`` between the
    teacher's penultimate features u and a linear regressor r of the student's v
    (FitNets, Romero et al. 2015, trained jointly rather than in FitNets' two stages)
    when ``hint_weight`` is given. One ``train.fit`` call: the teacher is a frozen role
    run in eval mode on the same augmented batch as the student. With
    ``soft_weight=0, hard_weight=1`` (and no hint) the student is trained as
    ``classify.train_classifier(images, labels, key=key, ...)`` trains it.

    Args:
      images: ``[n, h, w]`` transfer-set images in [0, 1].
      labels: ``[n]`` their classes in ``[0, n_classes)``.
      teacher: the trained classifier: an NNX module called ``teacher(x, train=False)``
        -> logits (with ``features(x, train=False)`` for hints), e.g.
        ``classify.CNN``, or a ``classify.ClassifierTraining``.
      key: PRNG key, or ``[n_runs]`` keys: a sweep trained vmapped in one program.
      architecture: the student's, ``"mlp"`` or ``"cnn"``.
      n_classes: the student's classes; default the teacher's (which must equal it).
      temperature: T > 0 (traced; a scalar or ``[n_runs]``).
      hard_weight: w_hard >= 0, the true labels' weight (traced).
      soft_weight: w_soft >= 0, the soft targets' weight (traced).
      hint_weight: w_hint >= 0 (traced), or None for no hint (no regressor).
      epochs: passes over the transfer set (a resumed run continues up to it).
      batch_size: images per step.
      learning_rate, weight_decay, learning_rate_decay: the student's AdamW, as in
        ``classify.train_classifier``.
      augmentation: a ``jaxselforg.augment`` transform (``augment.RandomShift(2)``).
      test_images, test_labels: optional test set for a per-epoch ``test_accuracy``.
      **options: the student architecture's arguments (``hidden``, ``dropout``,
        ``channels``, ``features``) and :class:`~jaxselforg.train.RunOptions`
        (``checkpoint_dir``: resumed if present, the config, including the teacher's
        weights, must match; ``metrics_path``, ``mesh``, ...).

    Returns:
      A :class:`DistillationTraining`.

    Raises:
      ValueError: bad images or labels, a teacher whose class count or image shape
        differs from the student's, T <= 0, a negative weight, both ``hard_weight`` and
        ``soft_weight`` 0.
      TypeError: ``teacher`` is not a network (or a classifier training result).
      NonFiniteLossError: the loss diverged (the last good checkpoint is kept).

    Examples:
      >>> result = distill.train_distilled(x, y, teacher, key=jax.random.key(0),
      ...                                  hidden=(800, 800), dropout=0.0, temperature=20.0)
      >>> classify.accuracy(result.model, x_test, y_test)
    """
    run, model_settings = train.run_options("train_distilled", options,
                                            others=classify.ClassifierOptions.__annotations__)
    teacher = _teacher_module(teacher)
    _validation.choice(architecture, classify.ARCHITECTURES, "architecture")
    images = _validation.image_stack(images)
    image_shape = tuple(images.shape[1:])
    teacher_shape = getattr(teacher, "image_shape", image_shape)
    if tuple(teacher_shape) != image_shape:
        raise ValueError(f"The teacher takes images of shape {tuple(teacher_shape)}; the "
                         f"transfer set's are {image_shape}.")
    probe = jnp.zeros((1, *image_shape))
    teacher_classes = int(teacher(probe, train=False).shape[-1])
    if n_classes is None:
        n_classes = teacher_classes
    n_classes = _validation.positive_int(n_classes, "n_classes")
    if n_classes != teacher_classes:
        raise ValueError(f"The teacher has {teacher_classes} classes but the student "
                         f"n_classes={n_classes}: distillation matches their outputs class "
                         "by class.")
    check_weights(temperature, hard_weight, soft_weight)
    hyperparams = {"temperature": temperature, "hard_weight": hard_weight,
                   "soft_weight": soft_weight}
    settings = tuple(sorted(model_settings.items()))
    factory = _StudentFactory(architecture, image_shape, n_classes, settings)
    hint_sizes = None
    if hint_weight is not None:
        hyperparams["hint_weight"] = _validation.nonnegative_weight(hint_weight, "hint_weight")
        if not callable(getattr(teacher, "features", None)):
            raise ValueError(f"Hints regress the teacher's penultimate features: the teacher "
                             f"({type(teacher).__name__}) needs a features(images, "
                             "train=False) method.")
        student_features = nnx.eval_shape(lambda: factory(nnx.Rngs(0)).features(probe))
        hint_sizes = (int(student_features.shape[-1]),
                      int(teacher.features(probe, train=False).shape[-1]))
        factory = dataclasses.replace(factory, hint_sizes=hint_sizes)
    nnx.eval_shape(lambda: factory(nnx.Rngs(0)))  # validates the settings, computes nothing
    images, labels = _validation.labelled_images(images, labels, image_shape, n_classes)
    epochs = _validation.positive_int(epochs, "epochs")
    batch_size = _validation.positive_int(batch_size, "batch_size")
    decay_steps = train.decay_steps(learning_rate_decay, epochs, images.shape[0] // batch_size)
    key = _validation.prng_key(key, allow_batch=True)
    n_runs = int(key.shape[0]) if key.ndim == 1 else None

    values = {"hyperparams": hyperparams, "learning_rate": learning_rate,
              "decay_steps": decay_steps, "weight_decay": weight_decay}
    if n_runs is None:
        student_graphdef, state = train.create_state(factory, OPTIMIZER, key=key, **values)
    else:
        student_graphdef, state = train.init_states(factory, OPTIMIZER, key, **values)
    teacher_graphdef, state = _with_teacher(state, teacher, n_runs)
    graphdefs = {"student": student_graphdef, "teacher": teacher_graphdef}
    optimizers = {"student": OPTIMIZER, "teacher": None}
    step = train.make_step(graphdefs, DistillationObjective(augmentation, hint_sizes is not None),
                           optimizers)

    eval_fn = classify.test_accuracy_fn(graphdefs, test_images, test_labels, image_shape,
                                        n_classes, role="student", classifier=_classifier)
    config = {"model": "distill", "architecture": architecture, "n_classes": n_classes,
              "settings": model_settings,
              "hint": hint_sizes is not None, "augmentation": repr(augmentation),
              "learning_rate_decay": learning_rate_decay, "decay_steps": decay_steps,
              "teacher": train.fingerprint(nnx.state(teacher)),
              "key": key}
    result = train.fit(step, state, (images, labels), batch_size=batch_size, epochs=epochs,
                       config=config, eval_fn=eval_fn, **run)
    return DistillationTraining(graphdefs, result.state, result.history)

