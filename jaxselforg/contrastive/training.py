"""Training SimCLR and metric-learning embeddings: one ``train.fit`` call each.

    result = contrastive.train_simclr(x, key=jax.random.key(0), temperature=0.5, epochs=10)
    h = contrastive.embed(result.model, x_test)                 # the encoder's features

    # A temperature sweep in one compiled program (the same key for both runs):
    sweep = contrastive.train_simclr(x, key=key, temperature=jnp.array([0.1, 0.5]))
    h_01 = contrastive.embed(sweep.model_of(0), x_test)

    metric = contrastive.train_metric(x, y, key=key, loss="triplet", miner="semi_hard",
                                      margin=0.2, n_per_class=8)
    e = contrastive.embed(metric.model, x_test, projection=True)  # unit embeddings
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Unpack

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jax.typing import ArrayLike

from jaxselforg import _rows, _validation, augment, schedules, train
from jaxselforg.contrastive import diagnostics, losses, sampling
from jaxselforg.contrastive.model import EmbeddingNet

__all__ = ["METRIC_LOSSES", "OPTIMIZERS", "ContrastiveTraining", "MetricObjective",
           "SimCLRObjective", "embed", "simclr_augmentation", "train_metric", "train_simclr"]

METRIC_LOSSES = ("contrastive", "triplet")
"""The losses of :func:`train_metric`."""


def _cosine_decay_lars(learning_rate: ArrayLike, decay_steps: ArrayLike,
                       weight_decay: ArrayLike = 0.0) -> optax.GradientTransformation:
    """LARS (``optax.lars``, momentum 0.9) with ``schedules.cosine_decay``'s step size."""
    return optax.lars(schedules.cosine_decay(learning_rate, decay_steps),
                      weight_decay=weight_decay, momentum=0.9)


OPTIMIZERS = {
    "adam": optax.inject_hyperparams(train.cosine_decay_adamw)(
        learning_rate=1e-3, decay_steps=0, weight_decay=0.0),
    "lars": optax.inject_hyperparams(_cosine_decay_lars)(
        learning_rate=0.3, decay_steps=0, weight_decay=1e-6),
}
"""The optimizers by name: AdamW and LARS (You et al. 2017; SimCLR's for large
batches), each with a cosine-decayed peak rate; rate, decay length and weight decay
are traced state."""

_DEFAULT_RATES = {"adam": 1e-3, "lars": 0.3}


def simclr_augmentation(scale: tuple[float, float] = (0.3, 1.0), *, flip: bool = False,
                        jitter: float = 0.4, jitter_probability: float = 0.8
                        ) -> augment.Compose:
    """SimCLR's views for grayscale digits and clothes: a random resized crop back to
    the full size (area ``scale``, aspect (3/4, 4/3)), a horizontal flip with
    probability 1/2 when ``flip`` (Fashion-MNIST only: a mirrored digit is another
    symbol), and with probability ``jitter_probability`` a random brightness and
    contrast of strength ``jitter`` (``augment.BrightnessContrast``: the grayscale part
    of SimCLR's colour jitter, which it applies with p = 0.8; 0: none). Without it, a
    Fashion-MNIST encoder matched two crops by their intensities: linear probe 0.795
    after 20 epochs, below raw pixels' 0.836 (reports/full/contrastive)."""
    steps: list = [augment.RandomResizedCrop(scale=scale)]
    if flip:
        steps.append((augment.HorizontalFlip(), 0.5))
    if jitter:
        steps.append((augment.BrightnessContrast(jitter, jitter), jitter_probability))
    return augment.Compose(steps)


@dataclasses.dataclass(frozen=True)
class SimCLRObjective:
    """NT-Xent of two augmented views of every image, the network in train mode.

    ``loss_fn(model, images, key, hyperparams)``: views (x_a, x_b) =
    ``augment.simclr_views(augmentation, key, images)``; both go through the network
    in one batch (BatchNorm statistics over the 2N views); the loss is
    ``ntxent(g(f(x_a)), g(f(x_b)), hyperparams["temperature"])``. Metrics:
    ``embedding_std`` (of the unit projections; near 0 means collapse),
    ``feature_std`` (of the encoder's unit features), ``alignment`` and
    ``uniformity`` of the projections.

    Attributes:
      augmentation: a transform ``t(key, images)``.
    """

    augmentation: Callable

    def __call__(self, model, images, key, hyperparams):
        views_a, views_b = augment.simclr_views(self.augmentation, key, images)
        n = images.shape[0]
        h = model.features(jnp.concatenate([views_a, views_b]), train=True)
        z = model.head(h, train=True)
        loss = losses.ntxent(z[:n], z[n:], hyperparams["temperature"])
        return loss, {"embedding_std": diagnostics.embedding_std(z),
                      "feature_std": diagnostics.embedding_std(h),
                      "alignment": diagnostics.alignment(z[:n], z[n:]),
                      "uniformity": diagnostics.uniformity(z)}


@dataclasses.dataclass(frozen=True)
class MetricObjective:
    """A metric-learning loss on a class-balanced batch, the network in train mode.

    ``loss_fn(model, rows, key, hyperparams)``: ``rows [K, C, h, w]`` are K rows of a
    :class:`~jaxselforg.contrastive.ClassRows` table; P of the C classes are drawn
    with the key (``select_classes``), the P x K images are augmented (optional) and
    embedded, and scored by ``triplet_loss`` (with ``miner``) or
    ``batch_contrastive_loss`` at margin ``hyperparams["margin"]``. Metrics:
    ``embedding_std``.

    Attributes:
      loss: one of ``METRIC_LOSSES``.
      miner: the triplet miner (``losses.MINERS``).
      metric: the triplet loss's distance.
      n_classes: P, or None for all C.
      augmentation: a transform ``t(key, images)`` or None.
    """

    loss: str = "triplet"
    miner: str = "semi_hard"
    metric: str = "euclidean"
    n_classes: int | None = None
    augmentation: Callable | None = None

    def __call__(self, model, rows, key, hyperparams):
        class_key, augment_key = jax.random.split(key)
        columns = jnp.arange(rows.shape[1], dtype=jnp.int32)  # labels: equal means same class
        images, labels = sampling.select_classes(class_key, rows, columns, self.n_classes)
        if self.augmentation is not None:
            images = self.augmentation(augment_key, images)
        e = model(images, train=True)
        if self.loss == "triplet":
            loss = losses.triplet_loss(e, labels, margin=hyperparams["margin"],
                                       miner=self.miner, metric=self.metric)
        else:
            loss = losses.batch_contrastive_loss(e, labels, margin=hyperparams["margin"])
        return loss, {"embedding_std": diagnostics.embedding_std(e)}


@dataclasses.dataclass(frozen=True)
class _Factory:
    """``EmbeddingNet`` with fixed settings, hashable by value."""

    image_shape: tuple[int, int]
    settings: tuple[tuple[str, Any], ...]

    def __call__(self, rngs: nnx.Rngs):
        return EmbeddingNet(self.image_shape, **dict(self.settings), rngs=rngs)


class ContrastiveTraining(train.TrainingResult):
    """A trained embedding network (or a sweep of them): ``graphdef``, the final
    ``state`` and the per-epoch ``history`` (``loss``, ``embedding_std``, ... ;
    ``[epochs, n_runs]`` for a sweep); ``model`` (an :class:`EmbeddingNet`),
    ``model_of(i)`` and ``n_runs`` of :class:`~jaxselforg.train.TrainingResult`."""

    __slots__ = ()


@functools.partial(jax.jit, static_argnames=("graphdef", "projection", "block_rows"))
def _embed(graphdef, state, images, projection, block_rows):
    model = nnx.merge(graphdef, state)
    apply = model if projection else model.features
    return _rows.map_rows(lambda rows: apply(rows), images, block_rows=block_rows)


def embed(model: EmbeddingNet, images: ArrayLike, *, projection: bool = False,
          block_rows: int = 500) -> jax.Array:
    """Embeddings of ``images [n, h, w]`` in eval mode, a block of rows at a time.

    Args:
      model: a trained :class:`EmbeddingNet`.
      images: ``[n, h, w]`` in [0, 1].
      projection: the head's output (metric learning's embedding) instead of the
        encoder's features (SimCLR's representation, the default).
      block_rows: images per forward pass.

    Returns:
      ``[n, features]`` (or ``[n, head[-1]]`` with ``projection``).

    Raises:
      ValueError: images of the wrong shape or outside [0, 1].
    """
    images = _validation.images(images, model.image_shape)
    block_rows = _validation.positive_int(block_rows, "block_rows")
    graphdef, state = nnx.split(model)
    return _embed(graphdef, state, images, bool(projection), min(block_rows, images.shape[0]))


def _values(value: ArrayLike, name: str, *, positive: bool) -> jax.Array:
    """A scalar or ``[n_runs]`` hyperparameter, finite and > 0 (or >= 0), concrete."""
    array = _validation.as_float_array(value, name)
    if array.ndim > 1:
        raise ValueError(f"{name} must be a scalar or one value per run [n_runs]; got shape "
                         f"{tuple(array.shape)}.")
    _validation.check_finite(array, name)
    if _validation.is_concrete(array):
        low = _validation.eager(lambda: float(jnp.min(array)))
        if (positive and low <= 0) or low < 0:
            bound = "> 0" if positive else ">= 0"
            raise ValueError(f"{name} must be {bound}; got {low}.")
    return array


def _checked_images(images) -> jax.Array:
    images = _validation.image_stack(images)
    return _validation.images(images, tuple(images.shape[1:]))


def _factory(image_shape, channels, features, head, normalize, batch_norm) -> _Factory:
    factory = _Factory(tuple(image_shape), tuple(sorted({
        "channels": tuple(channels), "features": features, "head": tuple(head),
        "normalize": normalize, "batch_norm": bool(batch_norm)}.items())))
    nnx.eval_shape(lambda: factory(nnx.Rngs(0)))  # validates the settings, computes nothing
    return factory


def _states(factory, optimizer, key, hyperparams, values):
    """A single run's state, or a sweep's (a key batch, or [n_runs] hyperparameters)."""
    key = _validation.prng_key(key, allow_batch=True)
    sizes = {int(v.shape[0]) for v in (*hyperparams.values(), *values.values()) if v.ndim}
    if len(sizes) > 1:
        raise ValueError(f"Swept hyperparameters need one value per run each; got lengths "
                         f"{sorted(sizes)}.")
    if key.ndim == 1:
        sizes.add(int(key.shape[0]))
        if len(sizes) > 1:
            raise ValueError(f"{key.shape[0]} keys but {sorted(sizes)} runs of hyperparameters.")
    if not sizes:
        return *train.create_state(factory, optimizer, key=key, hyperparams=hyperparams,
                                   **values), key
    (n_runs,) = sizes
    keys = key if key.ndim == 1 else jnp.broadcast_to(key, (n_runs,))
    return *train.init_states(factory, optimizer, keys, hyperparams=hyperparams, **values), keys


def _train(factory, objective, optimizer, key, hyperparams, values, data, config, *,
           config_key=None, learning_rate_decay, evaluate, **fit_args) -> ContrastiveTraining:
    """Both trainers' shared end: the state (a sweep when asked), the step and one
    ``train.fit``; the checkpoint config records ``config``, the settings, the optimizer,
    the augmentation and ``config_key`` (default: the runs' keys)."""
    graphdef, state, keys = _states(factory, OPTIMIZERS[optimizer], key, hyperparams, values)
    step = train.make_step(graphdef, objective, OPTIMIZERS[optimizer])
    config_key = keys if config_key is None else config_key
    config = {**config, "settings": factory.settings, "optimizer": optimizer,
              "learning_rate_decay": learning_rate_decay,
              "augmentation": repr(objective.augmentation),
              "key": config_key}
    eval_fn = None if evaluate is None else (
        lambda state: train.evaluate_runs(evaluate, graphdef, state))
    result = train.fit(step, state, data, config=config, eval_fn=eval_fn, **fit_args)
    return ContrastiveTraining(graphdef, result.state, result.history)


def _optimizer_values(optimizer, learning_rate, weight_decay, decay, epochs, steps_per_epoch):
    _validation.choice(optimizer, tuple(OPTIMIZERS), "optimizer")
    rate = _DEFAULT_RATES[optimizer] if learning_rate is None else learning_rate
    return {"learning_rate": _values(rate, "learning_rate", positive=True),
            "weight_decay": _values(weight_decay, "weight_decay", positive=False),
            "decay_steps": jnp.asarray(train.decay_steps(decay, epochs, steps_per_epoch))}


def train_simclr(
    images: ArrayLike,
    *,
    key: jax.Array,
    temperature: ArrayLike = 0.5,
    epochs: int = 10,
    batch_size: int = 256,
    augmentation: Callable | None = None,
    optimizer: str = "adam",
    learning_rate: ArrayLike | None = None,
    weight_decay: ArrayLike = 0.0,
    learning_rate_decay: str = "cosine",
    channels: Sequence[int] = (32, 64),
    features: int | None = None,
    head: Sequence[int] = (256, 64),
    batch_norm: bool = True,
    evaluate: Callable[[EmbeddingNet], Mapping[str, Any]] | None = None,
    **run: Unpack[train.RunOptions],
) -> ContrastiveTraining:
    """Trains SimCLR (an ``EmbeddingNet`` on NT-Xent of two augmented views).

    Every step draws a batch of N images, two views of each
    (``augment.simclr_views``), and minimizes ``ntxent`` of their projections at
    temperature tau (a traced loss hyperparameter). The representation to evaluate
    is the encoder's output: ``embed(result.model, x)``.

    A sweep is one compiled program: ``temperature`` (or ``learning_rate``,
    ``weight_decay``) with one value per run, and/or ``key`` a ``[n_runs]`` batch
    of keys; a single key is shared by every run (same initialization and batches,
    so runs differ only by the swept values). Run i equals the single run with run
    i's key and values.

    Args:
      images: ``[n, h, w]`` training images in [0, 1] (labels are not used).
      key: PRNG key (initialization, batch order, views), or ``[n_runs]`` keys.
      temperature: tau > 0, scalar or ``[n_runs]`` (traced).
      epochs: passes over the data (a resumed run continues up to it).
      batch_size: N images per step (2N views), >= 2.
      augmentation: the view transform; default :func:`simclr_augmentation` (crop
        area (0.3, 1), brightness and contrast jitter, no flip; pass
        ``simclr_augmentation(flip=True)`` for Fashion-MNIST).
      optimizer: ``"adam"`` (AdamW) or ``"lars"`` (``optax.lars``).
      learning_rate: peak rate (traced; default 1e-3 for Adam, 0.3 for LARS).
      weight_decay: decoupled weight decay (traced).
      learning_rate_decay: ``"cosine"`` (to 0 over the run) or ``"constant"``.
      channels, head, batch_norm: the :class:`EmbeddingNet`'s settings.
      features: the width of a dense layer ending the encoder, or None (default) for
        none: the representation is then the flattened convolution maps, as SimCLR's
        ResNet's is its pooled convolution output. On Fashion-MNIST (conv 32/64, tau
        0.2) the linear probe of a dense layer of 128 was 0.853 after 20 epochs, of
        the maps 0.880 after 10.
      evaluate: ``evaluate(model) -> {name: value}`` logged every ``eval_every``
        epochs (e.g. an online linear probe), per run for a sweep.
      **run: :class:`~jaxselforg.train.RunOptions` (``checkpoint_dir``: resumed if
        present, the config must match; ``metrics_path``, ``eval_every``, ``mesh``, ...).

    Returns:
      A :class:`ContrastiveTraining`; its history holds ``loss``, ``embedding_std``
      (collapse shows as values near 0), ``feature_std``, ``alignment``,
      ``uniformity`` and ``grad_norm``.

    Raises:
      ValueError: bad images, tau <= 0, a batch of fewer than 2 images, unknown
        optimizer, bad sizes, mismatched sweep lengths.
      NonFiniteLossError: the loss diverged (the last good checkpoint is kept).

    References:
      Chen, Kornblith, Norouzi & Hinton, "A Simple Framework for Contrastive Learning of
      Visual Representations", ICML 2020.

    Examples:
      >>> result = contrastive.train_simclr(x, key=jax.random.key(0), temperature=0.5,
      ...                                   augmentation=contrastive.simclr_augmentation(
      ...                                       flip=True), epochs=10)
      >>> h = contrastive.embed(result.model, x_test)
    """
    run, _ = train.run_options("train_simclr", run)
    images = _checked_images(images)
    epochs = _validation.positive_int(epochs, "epochs")
    batch_size = _validation.positive_int(batch_size, "batch_size", at_most=images.shape[0],
                                          bound="the number of images")
    if batch_size < 2:
        raise ValueError("SimCLR needs batch_size >= 2: a batch of one image has no negatives.")
    temperature = _values(temperature, "temperature", positive=True)
    augmentation = simclr_augmentation() if augmentation is None else augmentation
    if not callable(augmentation):
        raise TypeError(f"augmentation must be a transform t(key, images); got "
                         f"{augmentation!r}.")
    factory = _factory(images.shape[1:], channels, features, head, False, batch_norm)
    values = _optimizer_values(optimizer, learning_rate, weight_decay, learning_rate_decay,
                               epochs, images.shape[0] // batch_size)
    return _train(factory, SimCLRObjective(augmentation), optimizer, key,
                  {"temperature": temperature}, values, images, {"model": "simclr"},
                  batch_size=batch_size, epochs=epochs, learning_rate_decay=learning_rate_decay,
                  evaluate=evaluate, **run)


def train_metric(
    images: ArrayLike,
    labels: ArrayLike,
    *,
    key: jax.Array,
    loss: str = "triplet",
    miner: str = "semi_hard",
    margin: ArrayLike = 0.2,
    metric: str = "euclidean",
    n_classes: int | None = None,
    n_per_class: int = 8,
    epochs: int = 10,
    augmentation: Callable | None = None,
    optimizer: str = "adam",
    learning_rate: ArrayLike | None = None,
    weight_decay: ArrayLike = 0.0,
    learning_rate_decay: str = "cosine",
    channels: Sequence[int] = (32, 64),
    features: int = 128,
    embedding_dim: int = 64,
    batch_norm: bool = True,
    evaluate: Callable[[EmbeddingNet], Mapping[str, Any]] | None = None,
    **run: Unpack[train.RunOptions],
) -> ContrastiveTraining:
    """Trains unit embeddings with the triplet or contrastive loss on class-balanced batches.

    The images are laid out as a class-row table (``class_rows``, from ``key``); every
    step takes K = ``n_per_class`` rows of it (``train.fit``'s on-device shuffle, a
    new order every epoch) and P = ``n_classes`` of its classes (drawn in the loss),
    and minimizes ``triplet_loss`` (``miner``) or ``batch_contrastive_loss`` of the
    network's normalized output on those P x K images. An epoch is n_min // K steps,
    n_min the smallest class's count. The embedding to evaluate is the head's output:
    ``embed(result.model, x, projection=True)``.

    Args:
      images: ``[n, h, w]`` training images in [0, 1].
      labels: ``[n]`` integer classes (at least two classes).
      key: PRNG key (table order, initialization, batches, augmentation).
      loss: one of ``METRIC_LOSSES``.
      miner: ``"semi_hard"`` or ``"batch_hard"`` (triplet loss only).
      margin: m >= 0, scalar or ``[n_runs]`` (traced; the embeddings are unit vectors,
        so distances lie in [0, 2]).
      metric: the triplet loss's distance (``distances.METRICS``).
      n_classes: P classes per batch (default: every class).
      n_per_class: K images per class per batch, at most the smallest class's count.
      epochs: passes over the table.
      augmentation: an optional transform ``t(key, images)`` applied to every batch.
      optimizer, learning_rate, weight_decay, learning_rate_decay: as
        :func:`train_simclr`.
      channels, features, embedding_dim, batch_norm: the :class:`EmbeddingNet`'s
        settings (its head is one linear layer to ``embedding_dim``, normalized).
      evaluate, **run: as :func:`train_simclr`.

    Returns:
      A :class:`ContrastiveTraining` (history: ``loss``, ``embedding_std``,
      ``grad_norm``).

    Raises:
      ValueError: bad images or labels, fewer than 2 classes, K larger than the
        smallest class, P outside [2, C], margin < 0, an unknown loss, miner,
        metric or optimizer.
      NonFiniteLossError: the loss diverged (the last good checkpoint is kept).

    Examples:
      >>> result = contrastive.train_metric(x, y, key=jax.random.key(0), miner="batch_hard",
      ...                                   n_classes=10, n_per_class=16, epochs=5)
      >>> e = contrastive.embed(result.model, x_test, projection=True)
    """
    run, _ = train.run_options("train_metric", run)
    _validation.choice(loss, METRIC_LOSSES, "loss")
    _validation.choice(miner, losses.MINERS, "miner")
    metric = _validation.choice(metric, ("euclidean", "sqeuclidean", "cosine"), "metric")
    images = _checked_images(images)
    labels = _validation.labels(labels, "labels", size=images.shape[0])
    epochs = _validation.positive_int(epochs, "epochs")
    margin = _values(margin, "margin", positive=False)
    embedding_dim = _validation.positive_int(embedding_dim, "embedding_dim")
    key = _validation.prng_key(key)
    table_key, init_key = jax.random.split(key)
    table = sampling.class_rows(images, labels, key=table_key)
    k = sampling._per_class(n_per_class, table.n_rows)
    n_classes = sampling._n_classes(n_classes, table.classes.shape[0])
    if augmentation is not None and not callable(augmentation):
        raise TypeError(f"augmentation must be a transform t(key, images) or None; got "
                         f"{augmentation!r}.")
    factory = _factory(images.shape[1:], channels, features, (embedding_dim,), True,
                       batch_norm)
    values = _optimizer_values(optimizer, learning_rate, weight_decay, learning_rate_decay,
                               epochs, table.n_rows // k)
    config = {"model": "metric", "loss": loss, "miner": miner, "metric": metric,
              "n_classes": n_classes, "n_per_class": k}
    return _train(factory, MetricObjective(loss, miner, metric, n_classes, augmentation),
                  optimizer, init_key, {"margin": margin}, values, table.images, config,
                  config_key=key, batch_size=k, epochs=epochs,
                  learning_rate_decay=learning_rate_decay, evaluate=evaluate, **run)
