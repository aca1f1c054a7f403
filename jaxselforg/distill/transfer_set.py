"""Hinton et al.'s transfer-set experiment: distil with a class missing from the
transfer set, then correct the student's bias for it.

The student never sees the left-out class, yet the teacher's soft targets on the other
images carry much of what distinguishes it; what the student lacks is the class's
prior, which a single constant added to its output bias restores (Hinton, Vinyals &
Dean 2015, sec. 3: MNIST without 3s, the 3's bias raised by 3.5)::

    result = distill.distill_without_class(x, y, teacher, left_out=3, key=key,
                                           validation_images=xv, validation_labels=yv,
                                           hidden=(800, 800), dropout=0.0, temperature=20.0)
    classify.accuracy(result.training.model, xt, yt)   # uncorrected
    classify.accuracy(result.model, xt, yt)            # bias shifted by result.bias_shift
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.typing import ArrayLike

from jaxselforg import _rows, _validation, classify
from jaxselforg.distill.training import DistillationTraining, train_distilled

__all__ = ["LeftOutDistillation", "choose_bias_shift", "distill_without_class",
           "shift_class_bias", "without_class"]

DEFAULT_SHIFTS = tuple(np.round(np.arange(0.0, 8.01, 0.25), 2).tolist())
"""The bias shifts :func:`distill_without_class` tries: 0 to 8 in steps of 0.25 (the
paper's 3.5 lies inside)."""


def without_class(images: ArrayLike, labels: ArrayLike, left_out: int):
    """The transfer set without class ``left_out``: ``(images [m, ...], labels [m])``.

    Raises:
      ValueError: labels that do not match the images, or a class absent from them.
    """
    labels = np.asarray(_validation.labels(labels, "labels", size=np.shape(images)[0]))
    keep = labels != left_out
    if keep.all():
        raise ValueError(f"Class {left_out} does not occur in the labels; nothing to leave out.")
    return np.asarray(images)[keep], labels[keep]


def _output_layer(model: nnx.Module) -> nnx.Linear:
    """The last linear layer (logits) of a ``classify`` network."""
    if isinstance(model, classify.CNN):
        return model.head.layers[-1]
    if isinstance(model, classify.MLPClassifier):
        return model.net.layers[-1]
    raise TypeError(f"The bias correction takes a classify.CNN or classify.MLPClassifier; "
                    f"got {type(model).__name__}.")


def shift_class_bias(model: nnx.Module, class_index: int, shift: ArrayLike) -> nnx.Module:
    """A copy of ``model`` whose output bias for ``class_index`` is raised by ``shift``.

    ``z'_c = z_c + shift`` for every input, the other logits unchanged: in probabilities,
    ``p'_c proportional to e^shift p_c``, a change of the class's prior (Hinton et al.
    2015, sec. 3). The original is left unchanged.

    Args:
      model: a ``classify.CNN`` or ``classify.MLPClassifier``.
      class_index: the class whose logit is shifted.
      shift: the constant added to its bias.

    Raises:
      ValueError: ``class_index`` outside the classes.
      TypeError: another kind of network.
    """
    shifted = nnx.clone(model)
    layer = _output_layer(shifted)
    n_classes = layer.bias.shape[0]
    if not 0 <= class_index < n_classes:
        raise ValueError(f"class_index must be in [0, {n_classes}); got {class_index}.")
    layer.bias[...] = layer.bias[...].at[class_index].add(jnp.asarray(shift, layer.bias.dtype))
    return shifted


@functools.partial(jax.jit, static_argnames="graphdef")
def _logits(graphdef, state, images):
    model = nnx.merge(graphdef, state)
    return _rows.map_rows(lambda rows: model(rows), images, block_rows=500)


@jax.jit
def _shift_accuracies(logits, labels, class_index, shifts):
    def accuracy(shift):
        shifted = logits.at[:, class_index].add(shift)
        return jnp.mean(jnp.argmax(shifted, axis=1) == labels)

    return jax.vmap(accuracy)(shifts)


def choose_bias_shift(model: nnx.Module, images: ArrayLike, labels: ArrayLike,
                      class_index: int, shifts=DEFAULT_SHIFTS) -> tuple[float, np.ndarray]:
    """The shift of class ``class_index``'s bias that maximizes accuracy on held-out data.

    ``argmax_b mean_i [argmax_k (z_ik + b [k = c]) = y_i]`` over the grid ``shifts``
    (the smallest best one on ties), from one evaluation of the logits.

    Args:
      model: the student (``classify`` network).
      images: ``[n, h, w]`` held-out images (all classes) in [0, 1].
      labels: ``[n]`` their classes.
      class_index: the class whose bias is shifted.
      shifts: the candidate shifts.

    Returns:
      ``(best shift, accuracies [len(shifts)])``.
    """
    images = _validation.images(images, model.image_shape)
    labels = _validation.labels(labels, "labels", size=images.shape[0])
    shifts = _validation.vector(np.asarray(shifts, np.float32), "shifts")
    logits = _logits(*nnx.split(model), images)  # eval mode
    accuracies = np.asarray(_shift_accuracies(logits, labels, class_index, shifts))
    return float(shifts[int(np.argmax(accuracies))]), accuracies


class LeftOutDistillation(NamedTuple):
    """A student distilled without class ``left_out`` (``training``), its bias-corrected
    copy (``model``), the ``bias_shift`` applied and, when it was chosen on validation
    data, the validation ``shift_accuracies`` over ``shifts``."""

    training: DistillationTraining
    model: nnx.Module
    left_out: int
    bias_shift: float
    shifts: np.ndarray | None
    shift_accuracies: np.ndarray | None


def distill_without_class(
    images: ArrayLike,
    labels: ArrayLike,
    teacher,
    *,
    left_out: int,
    key: jax.Array,
    bias_shift: float | None = None,
    validation_images: ArrayLike | None = None,
    validation_labels: ArrayLike | None = None,
    shifts=DEFAULT_SHIFTS,
    **settings,
) -> LeftOutDistillation:
    """Distils ``teacher`` on a transfer set without class ``left_out``, then raises the
    student's bias for that class (Hinton, Vinyals & Dean 2015, sec. 3).

    :func:`~jaxselforg.distill.train_distilled` on ``without_class(images, labels,
    left_out)``; then :func:`shift_class_bias` by ``bias_shift``, or, when it is None, by
    the shift that :func:`choose_bias_shift` picks on the validation data.

    Args:
      images: ``[n, h, w]`` the full transfer set in [0, 1].
      labels: ``[n]`` its classes.
      teacher: as :func:`~jaxselforg.distill.train_distilled`.
      left_out: the class removed from the transfer set.
      key: PRNG key (a single run).
      bias_shift: the constant added to the class's bias (the paper's 3.5), or None to
        choose it on the validation data.
      validation_images, validation_labels: held-out data with every class, to choose
        the shift.
      shifts: the candidate shifts.
      **settings: :func:`~jaxselforg.distill.train_distilled`'s settings (student
        architecture, temperature, weights, epochs, ...).

    Returns:
      A :class:`LeftOutDistillation`.

    Raises:
      ValueError: neither ``bias_shift`` nor validation data, a class absent from the
        labels, or any of ``train_distilled``'s errors.
    """
    if bias_shift is None and (validation_images is None or validation_labels is None):
        raise ValueError("Give bias_shift (the paper's 3.5 for MNIST's 3) or "
                         "validation_images and validation_labels to choose it on.")
    if _validation.prng_key(key, allow_batch=True).ndim:
        raise ValueError("distill_without_class trains a single run; pass one key.")
    transfer_images, transfer_labels = without_class(images, labels, left_out)
    training = train_distilled(transfer_images, transfer_labels, teacher, key=key, **settings)
    accuracies = None
    if bias_shift is None:
        shifts = np.asarray(shifts, np.float32)
        bias_shift, accuracies = choose_bias_shift(training.model, validation_images,
                                                   validation_labels, left_out, shifts)
    else:
        shifts = None
    corrected = shift_class_bias(training.model, left_out, bias_shift)
    return LeftOutDistillation(training, corrected, left_out, float(bias_shift), shifts,
                               accuracies)
