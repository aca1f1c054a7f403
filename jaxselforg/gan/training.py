"""Training a GAN: the alternating step of the training core and one ``train.fit`` call.

    result = gan.train_gan(images, key=jax.random.key(0), architecture="dcgan", epochs=30)
    samples = gan.sample(result.generator, 64, key=jax.random.key(1))

    # Eight seeds in one compiled program (Lucic et al. 2018: report distributions):
    sweep = gan.train_gan(images, key=jax.random.split(jax.random.key(0), 8), epochs=30)
    generators = [sweep.generator_of(i) for i in range(8)]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, Unpack

import jax
import numpy as np
import optax
from flax import nnx
from jax.typing import ArrayLike

from jaxselforg import _validation, train
from jaxselforg.gan.model import ARCHITECTURES, Discriminator, Generator
from jaxselforg.gan.objective import LOSSES, GANObjective, InfoCodes

__all__ = ["OPTIMIZER", "GANTraining", "train_gan"]

OPTIMIZER = optax.inject_hyperparams(optax.adam)(learning_rate=2e-4, b1=0.5, b2=0.999)
"""Both roles' optimizer: Adam whose step size and betas are traced state (Radford et
al. 2016: 2e-4, (0.5, 0.999); WGAN-GP: 2e-4, (0.5, 0.9))."""

# loss: (learning_rate, b1, b2, n_critic). Radford et al.'s DCGAN recipe, not the Keras
# example's (no BatchNorm, Adam 3e-4, b1 = 0.9): measured on MNIST (G (32, 32), D (32,
# 64); the example's widths alike), with the Keras settings the samples lose their
# dependence on z within ~100 steps (std over samples 0.015 -> 0.01; the fully
# connected GAN's 0.066 -> 0.008) and the DCGAN's sigmoid saturates to all-black images
# by step 128 -- a plain optax + jax.numpy GAN written beside the library collapses the
# same way, so it is the game, not the training core. With BatchNorm and b1 = 0.5 the
# std over samples grows to 0.2 (real digits: 0.3).
_DEFAULTS = {
    "minimax": (2e-4, 0.5, 0.999, 1),
    "non_saturating": (2e-4, 0.5, 0.999, 1),
    "wasserstein_gp": (2e-4, 0.5, 0.9, 5),
}
_ROLES = ("generator", "discriminator")


def _default_batch_norm(architecture: str, loss: str) -> tuple[str, ...]:
    """The roles with BatchNorm by default: both for a DCGAN (Radford et al.); the
    generator only for a WGAN-GP (its critic must not have it, Gulrajani et al.) and
    for the fully connected GAN (measured on MNIST: with BatchNorm in both MLPs it
    collapsed to one image, FCD 1,050; with it in G only it draws digit shapes within
    1,200 steps)."""
    if loss == "wasserstein_gp" or architecture == "mlp":
        return ("generator",)
    return _ROLES


# The DCGAN discriminator's pool in train_gan: Radford et al.'s flatten. Measured on
# MNIST (19,200 images, batch 64, the experiment's CPU widths, one seed): FCD 404 / 314
# after 300 / 600 steps with flatten against 799 / 536 with the Keras example's global
# max pool (the Discriminator class's own default, which reproduces that example).
_DEFAULT_DCGAN_POOL = "flatten"


def _normalized_roles(batch_norm, architecture: str, loss: str) -> tuple[str, ...]:
    """``batch_norm`` as the roles that get BatchNorm: None (the default), True (both),
    False (neither), or a sequence of role names."""
    if batch_norm is None:
        return _default_batch_norm(architecture, loss)
    if isinstance(batch_norm, bool):
        return _ROLES if batch_norm else ()
    if isinstance(batch_norm, str):
        roles = (batch_norm,)
    elif isinstance(batch_norm, (list, tuple, set, frozenset)):
        roles = tuple(batch_norm)
    else:
        raise ValueError("batch_norm must be True, False, None or a sequence of roles such "
                         f"as ('generator',); got {batch_norm!r}.")
    for role in roles:
        _validation.choice(role, _ROLES, "batch_norm role")
    return tuple(r for r in _ROLES if r in roles)


@dataclasses.dataclass(frozen=True)
class _Factory:
    """A role's network with fixed settings, hashable by value."""

    role: str
    architecture: str
    settings: tuple[tuple[str, Any], ...]

    def __call__(self, rngs: nnx.Rngs):
        cls = Generator if self.role == "generator" else Discriminator
        return cls(self.architecture, rngs=rngs, **dict(self.settings))


class GANTraining(NamedTuple):
    """A trained GAN (or a sweep of them): ``graphdefs`` ``{role: graphdef}``, the final
    ``state``, the per-epoch ``history`` (``generator/loss``, ``discriminator/loss``,
    ``discriminator/d_real``, ``discriminator/d_fake``, ... and the evaluation's values;
    ``[epochs, n_runs]`` for a sweep) and the ``objective``."""

    graphdefs: dict[str, nnx.GraphDef]
    state: train.TrainState
    history: dict[str, np.ndarray]
    objective: GANObjective

    @property
    def n_runs(self) -> int | None:
        """Number of runs of a sweep, None for a single run."""
        return train.n_runs(self.state)

    def generator_of(self, run: int | None = None) -> Generator:
        """The generator (of run ``run`` of a sweep)."""
        return train.model_of(self.graphdefs, self.state, run, role="generator",
                              accessor="generator_of")

    def discriminator_of(self, run: int | None = None) -> Discriminator:
        """The discriminator (of run ``run`` of a sweep)."""
        return train.model_of(self.graphdefs, self.state, run, role="discriminator",
                              accessor="discriminator_of")

    @property
    def generator(self) -> Generator:
        """The generator of a single run."""
        return self.generator_of()

    @property
    def discriminator(self) -> Discriminator:
        """The discriminator of a single run."""
        return self.discriminator_of()


def train_gan(
    images: ArrayLike,
    labels: ArrayLike | None = None,
    *,
    key: jax.Array,
    architecture: str = "dcgan",
    loss: str = "non_saturating",
    conditional: bool = False,
    n_classes: int = 10,
    info: InfoCodes | None = None,
    latent_dim: int = 128,
    generator_widths: Sequence[int] | None = None,
    discriminator_widths: Sequence[int] | None = None,
    batch_norm: bool | Sequence[str] | None = None,
    discriminator_pool: str | None = None,
    dropout: float = 0.0,
    epochs: int = 10,
    batch_size: int = 64,
    learning_rate: ArrayLike | None = None,
    b1: ArrayLike | None = None,
    b2: ArrayLike | None = None,
    n_critic: int | None = None,
    gp_weight: ArrayLike = 10.0,
    info_weight: ArrayLike = 1.0,
    evaluate: Callable[[Generator], Mapping[str, Any]] | None = None,
    **run: Unpack[train.RunOptions],
) -> GANTraining:
    """Trains a GAN: every step updates the discriminator ``n_critic`` times, then the
    generator once (``train.make_alternating_step``), with Adam for both.

    Args:
      images: ``[n, h, w]`` training images in [0, 1].
      labels: ``[n]`` classes in ``[0, n_classes)`` (a conditional GAN only).
      key: PRNG key, or ``[n_runs]`` keys: a seed sweep trained vmapped in one program.
      architecture: ``"mlp"`` (Goodfellow et al. 2014) or ``"dcgan"`` (the Keras example).
      loss: ``"non_saturating"`` (default), ``"minimax"`` (the lecture's game) or
        ``"wasserstein_gp"`` (see :mod:`jaxselforg.gan.objective`).
      conditional: a conditional GAN on ``labels`` (Mirza & Osindero 2014).
      n_classes: classes of a conditional GAN.
      info: InfoGAN codes (``gan.InfoCodes()``: 10 categories, 2 continuous), or None.
      latent_dim: dimension of z.
      generator_widths, discriminator_widths: hidden widths / channels (None: defaults).
      batch_norm: the roles with BatchNorm: True (both), False (neither), a sequence
        such as ``("generator",)``, or None: both for a DCGAN, the generator only for
        the fully connected GAN and for WGAN-GP (whose critic must not have it).
      discriminator_pool: a DCGAN discriminator's pool before its heads: ``"flatten"``
        (Radford et al.; None means it: it learns faster), ``"max"`` (the Keras
        example's global max pool) or ``"mean"``. None for an MLP.
      dropout: dropout rate of an MLP discriminator.
      epochs: total epochs (a resumed run continues up to it).
      batch_size: real images per step.
      learning_rate, b1, b2: Adam's settings for both roles (traced; scalars or
        ``[n_runs]``); None: 2e-4, 0.5, 0.999 (Radford et al. 2016) or, for WGAN-GP,
        2e-4, 0.5, 0.9 (Gulrajani et al.).
      n_critic: discriminator updates per generator update (default 1; WGAN-GP 5).
      gp_weight: WGAN-GP's lambda (traced).
      info_weight: InfoGAN's lambda (traced).
      evaluate: ``evaluate(generator) -> {name: value}`` after every ``eval_every``
        epochs (FCD, classifier score), once per run of a sweep; logged in the history.
      **run: :class:`~jaxselforg.train.RunOptions` (``checkpoint_dir``, resumed if
        present, the config must match; ``metrics_path``, ``eval_every``, ``mesh``, ...).

    Returns:
      A :class:`GANTraining`.

    Raises:
      ValueError: bad images or labels, labels missing for (or given to a
        non-)conditional GAN, ``latent_dim < 1``, ``n_critic < 1``, a negative
        ``gp_weight`` or ``info_weight``, a learning rate <= 0, Adam's b1 or b2 outside
        [0, 1), BatchNorm in a WGAN-GP critic.
      NonFiniteLossError: a loss diverged (the last good checkpoint is kept).
      CheckpointMismatchError: ``checkpoint_dir`` belongs to another configuration.
    """
    run, _ = train.run_options("train_gan", run)
    _validation.choice(architecture, ARCHITECTURES, "architecture")
    _validation.choice(loss, LOSSES, "loss")
    latent_dim = _validation.positive_int(latent_dim, "latent_dim")
    conditional = bool(conditional)
    n_classes = _validation.positive_int(n_classes, "n_classes") if conditional else 0
    if info is not None and not isinstance(info, InfoCodes):
        raise ValueError(f"info must be gan.InfoCodes(...) or None; got {info!r}.")
    rate, beta1, beta2, critic_steps = _DEFAULTS[loss]
    normalized = _normalized_roles(batch_norm, architecture, loss)
    if discriminator_pool is None and architecture == "dcgan":
        discriminator_pool = _DEFAULT_DCGAN_POOL
    if loss == "wasserstein_gp" and "discriminator" in normalized:
        raise ValueError("WGAN-GP's critic must not use BatchNorm: the gradient penalty is "
                         "per example and BatchNorm couples a batch (Gulrajani et al. 2017).")
    n_critic = _validation.positive_int(critic_steps if n_critic is None else n_critic,
                                        "n_critic")
    gp_weight = _validation.nonnegative_weight(gp_weight, "gp_weight")
    info_weight = _validation.nonnegative_weight(info_weight, "info_weight")
    images = _validation.image_stack(images)
    image_shape = tuple(images.shape[1:])
    code_dim = n_classes or (info.size if info is not None else 0)
    factories = {
        "generator": _Factory("generator", architecture, tuple(sorted({
            "latent_dim": latent_dim, "code_dim": code_dim, "image_shape": image_shape,
            "widths": None if generator_widths is None else tuple(generator_widths),
            "batch_norm": "generator" in normalized}.items()))),
        "discriminator": _Factory("discriminator", architecture, tuple(sorted({
            "n_classes": n_classes, "q_dim": info.size if info is not None else 0,
            "image_shape": image_shape,
            "widths": None if discriminator_widths is None else tuple(discriminator_widths),
            "batch_norm": "discriminator" in normalized, "dropout": dropout,
            "pool": discriminator_pool}.items()))),
    }
    for factory in factories.values():
        nnx.eval_shape(lambda f=factory: f(nnx.Rngs(0)))  # validates settings, computes nothing
    images = _validation.images(images, image_shape)
    if conditional:
        if labels is None:
            raise ValueError("A conditional GAN needs labels [n] in [0, n_classes).")
        labels, _ = _validation.class_labels(labels, "labels", size=images.shape[0],
                                             n_classes=n_classes)
        data = (images, labels)
    else:
        if labels is not None:
            raise ValueError("labels are used by a conditional GAN only; pass "
                             "conditional=True or leave labels out.")
        data = images
    epochs = _validation.positive_int(epochs, "epochs")
    batch_size = _validation.positive_int(batch_size, "batch_size")
    key = _validation.prng_key(key, allow_batch=True)
    sweep = key.ndim == 1

    objective = GANObjective(loss, latent_dim, n_classes, info)
    optimizers = {"generator": OPTIMIZER, "discriminator": OPTIMIZER}
    learning_rate = _validation.hyperparameter(rate if learning_rate is None else learning_rate,
                                               "learning_rate", strict=True)
    b1, b2 = (_validation.hyperparameter(default if value is None else value, name, maximum=1.0,
                                         strict_maximum=True)
              for name, value, default in (("b1", b1, beta1), ("b2", b2, beta2)))
    values = {"hyperparams": {"gp_weight": gp_weight, "info_weight": info_weight},
              "learning_rate": learning_rate, "b1": b1, "b2": b2}
    if sweep:
        graphdefs, state = train.init_states(factories, optimizers, key, **values)
    else:
        graphdefs, state = train.create_state(factories, optimizers, key=key, **values)
    step = train.make_alternating_step(graphdefs, optimizers, [
        train.Phase("discriminator", objective.discriminator, repeats=n_critic),
        train.Phase("generator", objective.generator)])

    eval_fn = None
    if evaluate is not None:
        def eval_fn(state):
            return train.evaluate_runs(evaluate, graphdefs, state, role="generator")

    config = {
        "model": "gan", "architecture": architecture, "loss": loss,
        "latent_dim": latent_dim, "n_classes": n_classes,
        "info": None if info is None else dataclasses.asdict(info), "n_critic": n_critic,
        "generator_widths": factories["generator"].settings,
        "discriminator_widths": factories["discriminator"].settings,
        "key": key,
    }
    result = train.fit(step, state, data, batch_size=batch_size, epochs=epochs,
                       config=config, eval_fn=eval_fn, **run)
    return GANTraining(graphdefs, result.state, result.history, objective)
