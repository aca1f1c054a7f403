"""Training a VAE on an array of images: the one call the experiments make.

    result = vae.train_vae(train_x, key=jax.random.key(0), latent_dim=20, epochs=10,
                              test_images=test_x, checkpoint_dir=out / "checkpoints",
                              metrics_path=out / "train_metrics.jsonl")
    result.model                 # the trained VAE (an NNX module)
    result.history["loss"]       # per-epoch mean training loss, [epochs]

A key of shape ``[n_runs]`` (and optionally ``learning_rate`` of shape ``[n_runs]``)
trains that many runs vmapped in one program (seeds x learning rates); images of shape
``[n_runs, n, h, w]`` then give every run its own training set (one VAE per class).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any, Unpack

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.typing import ArrayLike

from jaxselforg import _validation, train
from jaxselforg.vae._batches import map_batches
from jaxselforg.vae.model import ARCHITECTURES, VAE, make_vae
from jaxselforg.vae.objective import Objective, vae_loss

__all__ = ["OPTIMIZER", "VAETraining", "train_vae"]


class VAETraining(train.TrainingResult):
    """A trained VAE (or a batch of them): ``model``, ``model_of(i)`` and ``n_runs`` of
    :class:`~jaxselforg.train.TrainingResult`.

    Attributes:
      graphdef: the model structure.
      state: the final :class:`~jaxselforg.train.TrainState` (leaves ``[n_runs, ...]``
        for a vmapped sweep).
      history: ``{name: [epochs]}`` (``[epochs, n_runs]`` for a sweep) of per-epoch
        means: ``loss``, ``reconstruction``, ``kl``, ``negative_elbo``,
        ``grad_norm``, ``seconds``, and ``test_negative_elbo`` when test images
        were given (on one fixed binarization of them, the same for every run,
        when ``binarize``; one sample of z per image).
    """

    __slots__ = ()


def train_vae(
    images: ArrayLike,
    *,
    key: jax.Array,
    latent_dim: int = 20,
    image_shape: Sequence[int] = (28, 28),
    architecture: str = "mlp",
    hidden: Sequence[int] | int | None = None,
    activation: str = "relu",
    epochs: int = 10,
    batch_size: int = 128,
    learning_rate: ArrayLike = 1e-3,
    learning_rate_decay: str = "constant",
    beta: float = 1.0,
    binarize: bool = True,
    test_images: ArrayLike | None = None,
    **run: Unpack[train.RunOptions],
) -> VAETraining:
    """Trains a VAE with Adam on ``images`` (``jaxselforg.train.fit`` underneath).

    Args:
      images: ``[n, h, w]`` training images in [0, 1], or ``[n_runs, n, h, w]`` with
        ``[n_runs]`` keys: run i trains on ``images[i]`` alone.
      key: PRNG key (model initialization and training randomness), or ``[n_runs]``
        keys for a vmapped sweep.
      latent_dim: dimension of z.
      image_shape: ``(h, w)`` the images must have.
      architecture: ``"mlp"`` or ``"conv"`` (:func:`make_vae`).
      hidden: hidden widths (``None``: the architecture's default).
      activation: MLP activation.
      epochs: total number of epochs (a resumed run continues up to it).
      batch_size: images per step.
      learning_rate: Adam's step size, a scalar or ``[n_runs]`` (traced, via
        ``optax.inject_hyperparams``).
      learning_rate_decay: ``"constant"``, or ``"cosine"``: the step size falls from
        ``learning_rate`` to 0 along a half cosine over the ``epochs`` (part of the
        checkpoint's config, so a resume must keep ``epochs``).
      beta: KL weight (1 for likelihood numbers), a scalar or ``[n_runs]`` (traced:
        ``state.hyperparams["beta"]``).
      binarize: dynamic binarization, resampled for every batch of every epoch.
      test_images: optional ``[m, h, w]`` images for a test -ELBO every ``eval_every``
        epochs.
      **run: :class:`~jaxselforg.train.RunOptions` (``checkpoint_dir``: resumed if
        present, the config must match; ``metrics_path``, ``eval_every``, ``mesh``, ...).

    Returns:
      A :class:`VAETraining`.

    Raises:
      ValueError: bad images (shape, range), ``latent_dim < 1``, unknown
        architecture, a learning rate per run that does not match the keys, a
        (concrete) learning rate <= 0 or beta < 0 (or NaN).
      NonFiniteLossError: the loss diverged (the last good checkpoint is kept).
      CheckpointMismatchError: ``checkpoint_dir`` belongs to another configuration.
    """
    run, _ = train.run_options("train_vae", run)
    _validation.choice(architecture, ARCHITECTURES, "architecture")
    latent_dim = _validation.positive_int(latent_dim, "latent_dim")
    if hidden is not None and not isinstance(hidden, int):
        hidden = tuple(hidden)
    model_fn = _VAEFactory(architecture, latent_dim, tuple(image_shape), hidden, activation)
    abstract = nnx.eval_shape(lambda: model_fn(nnx.Rngs(0)))  # validates, computes nothing
    per_run = np.ndim(images) == 4
    if per_run:
        stacked = _validation.as_float_array(images, "images")
        images = _validation.images(stacked.reshape(-1, *stacked.shape[2:]),
                                    abstract.image_shape).reshape(stacked.shape)
    else:
        images = _validation.images(images, abstract.image_shape)
    epochs = _validation.positive_int(epochs, "epochs")
    batch_size = _validation.positive_int(batch_size, "batch_size")
    # A negative step size would maximise the loss; a negative beta rewards the KL.
    learning_rate = _validation.hyperparameter(learning_rate, "learning_rate", strict=True)
    beta = _validation.hyperparameter(beta, "beta", minimum=0.0)
    decay_steps = train.decay_steps(learning_rate_decay, epochs,
                                    images.shape[int(per_run)] // batch_size)
    key = _validation.prng_key(key, allow_batch=True)
    sweep = key.ndim == 1
    if per_run and (not sweep or key.shape[0] != images.shape[0]):
        raise ValueError(f"images of shape {tuple(images.shape)} (one training set per run) "
                         f"need one key per run, [{images.shape[0]}]; got keys of shape "
                         f"{tuple(key.shape)}.")
    values = {"hyperparams": {"beta": beta}, "learning_rate": learning_rate,
              "decay_steps": decay_steps}
    if sweep:
        graphdef, state = train.init_states(model_fn, OPTIMIZER, key, **values)
    else:
        graphdef, state = train.create_state(model_fn, OPTIMIZER, key=key, **values)
    step = train.make_step(graphdef, Objective(binarize=bool(binarize)), OPTIMIZER)

    eval_fn = None
    if test_images is not None:
        test_images = _validation.images(test_images, abstract.image_shape, "test_images")
        if binarize:
            # One fixed binarization of the test set, the same for every run and seed so
            # that their numbers compare; drawn on the host (no sampler compiled for
            # one use).
            uniform = np.random.default_rng(0).random(test_images.shape, np.float32)
            test_images = jnp.asarray(uniform < np.asarray(test_images), test_images.dtype)

        def eval_fn(state):
            return {"test_negative_elbo": _test_negative_elbo(graphdef, state, test_images,
                                                              vmapped=sweep)}

    config: dict[str, Any] = {
        "model": "vae", "architecture": architecture, "latent_dim": latent_dim,
        "hidden": hidden, "activation": activation, "binarize": binarize,
        "learning_rate_decay": learning_rate_decay, "decay_steps": decay_steps,
        "key": key,
    }
    result = train.fit(step, state, images, batch_size=batch_size, epochs=epochs,
                       config=config, eval_fn=eval_fn, data_per_run=per_run, **run)
    return VAETraining(graphdef, result.state, result.history)


OPTIMIZER = optax.inject_hyperparams(train.cosine_decay_adam)(learning_rate=1e-3, decay_steps=0)
"""The optimizer of :func:`train_vae`: Adam whose peak rate and cosine-decay length are
traced state (one value for every call, so that equal settings reuse one compiled
epoch)."""


@dataclasses.dataclass(frozen=True)
class _VAEFactory:
    """``make_vae`` with fixed settings, hashable by value (a static jit argument)."""

    architecture: str
    latent_dim: int
    image_shape: tuple[int, int]
    hidden: tuple[int, ...] | int | None
    activation: str

    def __call__(self, rngs: nnx.Rngs) -> VAE:
        return make_vae(self.architecture, latent_dim=self.latent_dim,
                        image_shape=self.image_shape, hidden=self.hidden,
                        activation=self.activation, rngs=rngs)


# The fixed z sample of the per-epoch test -ELBO: the same for every epoch and run.
_TEST_KEY_SEED = 2**31 - 1


@functools.partial(jax.jit, static_argnames=("graphdef", "vmapped"))
def _test_negative_elbo(graphdef, state: train.TrainState, images, *, vmapped: bool):
    """Mean -ELBO of ``images`` under the state's model, vmapped over a sweep's runs."""
    key = jax.random.key(_TEST_KEY_SEED)

    def one(params, model_state):
        model = train.merge_model(graphdef, params, model_state)
        return jnp.mean(map_batches(lambda x, k: vae_loss(model, x, k).loss, images, 500, key))

    run = jax.vmap(one) if vmapped else one
    return run(state.params[train.SINGLE_ROLE], state.model_state[train.SINGLE_ROLE])
