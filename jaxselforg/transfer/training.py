"""Transfer learning: a new head on a pretrained encoder, trained on few labels.

    encoder = transfer.encoder_of(simclr_result)               # or a CNN, a VAE, an RBM
    head = transfer.train_transfer(x, y, encoder, key=key, mode="frozen", hidden=(128,))
    tuned = transfer.train_transfer(x, y, encoder, key=key, mode="fine_tune",
                                    encoder_learning_rate=1e-4)
    classify.accuracy(head.model, x_test, y_test)

One ``train.fit`` call on the loss of ``classify.train_classifier``
(``classify.ClassifierObjective``: cross-entropy in train mode, augmentation inside the
step), with ``train.partition`` giving the encoder its own rate: ``"frozen"`` trains
the head alone (the encoder gets zero updates and runs in eval mode, so its parameters
and BatchNorm statistics stay bit-identical), ``"fine_tune"`` trains both, the encoder
at ``encoder_learning_rate``. The same network from scratch is
``classify.train_classifier`` with the encoder's architecture; a linear probe on the
frozen features is ``evaluation.linear_probe(transfer.encode(encoder, x), ...)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Unpack

import jax
import jax.numpy as jnp
from flax import nnx
from jax.typing import ArrayLike

from jaxselforg import _rows, _validation, classify, train
from jaxselforg.transfer.model import Encoder, TransferNet

__all__ = ["MODES", "encode", "train_transfer"]

MODES = ("frozen", "fine_tune")

_LABELS = {"encoder": "encoder", "head": "head"}
# Module constants (hashable, equal across calls): equal settings reuse the compiled
# epoch. Both labels run classify's AdamW with cosine decay; a frozen encoder gets
# optax.set_to_zero (train.partition's None).
_OPTIMIZERS = {
    "frozen": train.partition({"encoder": None, "head": classify.OPTIMIZER}, _LABELS),
    "fine_tune": train.partition({"encoder": classify.OPTIMIZER, "head": classify.OPTIMIZER},
                                 _LABELS),
}


@functools.partial(jax.jit, static_argnames="graphdef")
def _encoded(graphdef, state, images):
    encoder = nnx.merge(graphdef, state)
    return _rows.map_rows(lambda rows: encoder(rows), images, block_rows=500)


def encode(encoder: Encoder, images: ArrayLike) -> jax.Array:
    """The encoder's features ``[n, d]`` of ``images [n, h, w]`` in eval mode, a block
    of images at a time (the input of a linear probe or k-NN).

    Raises:
      ValueError: images of the wrong shape or outside [0, 1].
    """
    if not isinstance(encoder, Encoder):
        raise TypeError(f"encode needs a transfer.Encoder (see encoder_of); got "
                        f"{type(encoder).__name__}.")
    images = _validation.images(images, encoder.image_shape)
    graphdef, state = nnx.split(encoder)
    return _encoded(graphdef, state, images)


def _initial_state(encoder, mode, n_classes, hidden, dropout, key, values):
    """One run's state: the pretrained encoder (a copy) under a new head drawn from
    ``key``'s first half, the training key its second."""
    init_key, train_key = jax.random.split(key)
    model = TransferNet(nnx.clone(encoder), n_classes, hidden, dropout,
                        frozen=mode == "frozen", rngs=nnx.Rngs(init_key))
    graphdef, state = train.init_state(model, _OPTIMIZERS[mode], key=train_key)
    return graphdef, train.set_hyperparams(state, **values)


def train_transfer(
    images: ArrayLike,
    labels: ArrayLike,
    encoder: Encoder,
    *,
    key: jax.Array,
    mode: str = "frozen",
    n_classes: int = 10,
    hidden: tuple[int, ...] = (),
    dropout: float = 0.0,
    epochs: int = 10,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    encoder_learning_rate: float = 1e-4,
    weight_decay: float = 1e-4,
    augmentation: Callable | None = None,
    test_images: ArrayLike | None = None,
    test_labels: ArrayLike | None = None,
    **run: Unpack[train.RunOptions],
) -> classify.ClassifierTraining:
    """Trains a new head on ``encoder`` (``"frozen"``) or head and encoder together
    (``"fine_tune"``) on labelled images: one ``train.fit`` call.

    Args:
      images: ``[n, h, w]`` training images in [0, 1] (the encoder's image shape).
      labels: ``[n]`` integer classes in ``[0, n_classes)``.
      encoder: a :class:`~jaxselforg.transfer.Encoder` (``encoder_of(trained net)``);
        not modified.
      key: PRNG key, or ``[n_runs]`` keys: a seed sweep trained vmapped in one program
        (every run: the same encoder, its own head initialization, batch order,
        augmentation and dropout).
      mode: one of ``MODES``.
      n_classes: output classes.
      hidden: the head's hidden widths (``()``: linear).
      dropout: rate after each hidden layer of the head.
      epochs, batch_size: passes over the data, images per step (at most n).
      learning_rate: the head's AdamW peak rate (cosine decay to 0 over the run).
      encoder_learning_rate: the encoder's peak rate when fine-tuning.
      weight_decay: AdamW's decoupled decay of the trained parameters.
      augmentation: a ``jaxselforg.augment`` transform applied to every batch.
      test_images, test_labels: optional test set for a per-epoch ``test_accuracy``
        (one value per run of a sweep).
      **run: :class:`~jaxselforg.train.RunOptions` (``checkpoint_dir``: resumed if
        present, the config, including the encoder's weights, must match; ...).

    Returns:
      A ``classify.ClassifierTraining``: ``.model`` (a single run) or ``.model_of(i)``
      (run i of a sweep) works with ``classify.predict`` / ``classify.accuracy``.

    Raises:
      ValueError: an unknown mode, bad images or labels (classes outside
        ``[0, n_classes)``), a batch larger than the data, non-positive or non-finite
        rates.
      TypeError: ``encoder`` is not a ``transfer.Encoder``.
    """
    if not isinstance(encoder, Encoder):
        raise TypeError(f"train_transfer needs a transfer.Encoder (see encoder_of); got "
                        f"{type(encoder).__name__}.")
    run, _ = train.run_options("train_transfer", run)
    mode = _validation.choice(mode, MODES, "mode")
    n_classes = _validation.positive_int(n_classes, "n_classes")
    images, labels = _validation.labelled_images(images, labels, encoder.image_shape, n_classes)
    epochs = _validation.positive_int(epochs, "epochs")
    batch_size = _validation.positive_int(batch_size, "batch_size")
    if batch_size > images.shape[0]:
        raise ValueError(f"batch_size {batch_size} is larger than the {images.shape[0]} "
                         "training images; pass at most that many.")
    learning_rate = _validation.hyperparameter(learning_rate, "learning_rate", strict=True)
    encoder_learning_rate = _validation.hyperparameter(
        encoder_learning_rate, "encoder_learning_rate", strict=True)
    weight_decay = _validation.hyperparameter(weight_decay, "weight_decay")
    keys = _validation.prng_key(key, allow_batch=True)
    decay_steps = train.decay_steps("cosine", epochs, images.shape[0] // batch_size)
    values = {"head.learning_rate": learning_rate, "decay_steps": decay_steps,
              "weight_decay": weight_decay}
    if mode == "fine_tune":
        values["encoder.learning_rate"] = encoder_learning_rate
    if keys.ndim:
        built = [_initial_state(encoder, mode, n_classes, tuple(hidden), dropout, k, values)
                 for k in keys]
        graphdef = built[0][0]
        state = jax.tree.map(lambda *leaves: jnp.stack(leaves), *(s for _, s in built))
    else:
        graphdef, state = _initial_state(encoder, mode, n_classes, tuple(hidden), dropout,
                                         keys, values)
    step = train.make_step(graphdef, classify.ClassifierObjective(augmentation),
                           _OPTIMIZERS[mode])
    eval_fn = classify.test_accuracy_fn(graphdef, test_images, test_labels,
                                        encoder.image_shape, n_classes)
    config = {"model": "transfer", "mode": mode, "encoder": encoder.kind,
              "encoder_weights": train.fingerprint(nnx.state(encoder)),
              "n_classes": n_classes, "hidden": list(hidden), "dropout": dropout,
              "augmentation": repr(augmentation), "decay_steps": decay_steps,
              "key": keys}
    result = train.fit(step, state, (images, labels), batch_size=batch_size, epochs=epochs,
                       config=config, eval_fn=eval_fn, **run)
    return classify.ClassifierTraining(graphdef, result.state, result.history)
