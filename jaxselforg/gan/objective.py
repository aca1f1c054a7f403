"""GAN objectives: the lecture's minimax game, the non-saturating generator loss, WGAN-GP,
and InfoGAN's mutual-information term.

The lecture's game (Goodfellow et al. 2014) is

    min_G max_D  V(D, G) = E_x[ln D(x)] + E_z[ln(1 - D(G(z)))],

D(x) = sigmoid(l(x)) with ``l`` the discriminator's logit. The discriminator minimizes
``-V`` (a binary cross-entropy: real = 1, fake = 0); under ``"minimax"`` the generator
minimizes ``E_z[ln(1 - D(G(z)))]`` exactly. Early in training D rejects every sample,
D(G(z)) ~ 0, where that loss is flat (its gradient in the logit is -D(G(z)) -> 0): the
generator learns nothing. The **non-saturating** loss ``-E_z[ln D(G(z))]`` has the same
fixed point and a gradient of 1 - D(G(z)) ~ 1 there (Goodfellow et al. 2014, section 3),
which is why it is the practical default. **WGAN-GP** (Gulrajani et al. 2017) replaces
D by a critic f with the loss ``E[f(G(z))] - E[f(x)] + lambda E[(||grad f(x_hat)|| - 1)^2]``,
x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1] per example (the Keras WGAN-GP example draws
eps from N(0, 1), a known bug); the generator minimizes ``-E[f(G(z))]``.

Everything here is written with logits and ``softplus`` (ln sigmoid(l) = -softplus(-l)),
so no probability is ever rounded to 0 or 1 before its logarithm.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from jaxselforg import _validation

__all__ = ["LOSSES", "GANObjective", "InfoCodes", "discriminator_loss", "generator_loss",
           "gradient_penalty", "info_loss"]

LOSSES = ("minimax", "non_saturating", "wasserstein_gp")
"""The adversarial losses of :class:`GANObjective`."""


def _logits(value: ArrayLike, name: str) -> jax.Array:
    """A batch of logits ``[n]`` (or ``[n, 1]``), finite when concrete."""
    value = _validation.as_float_array(value, name)
    if value.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {tuple(value.shape)}.")
    _validation.check_finite(value, name)
    return value


def discriminator_loss(real_logits: ArrayLike, fake_logits: ArrayLike,
                       loss: str = "non_saturating") -> jax.Array:
    """The discriminator's (critic's) loss on one batch, without a gradient penalty.

    ``"minimax"`` and ``"non_saturating"`` share it: ``-V = -mean ln D(x) - mean ln(1 -
    D(G(z)))`` (binary cross-entropy from logits). ``"wasserstein_gp"``: ``mean f(G(z)) -
    mean f(x)`` (the critic's value f is the logit).

    Args:
      real_logits: ``[n]`` logits of real images.
      fake_logits: ``[m]`` logits of generated images.
      loss: one of :data:`LOSSES`.
    """
    _validation.choice(loss, LOSSES, "loss")
    real_logits, fake_logits = _logits(real_logits, "real_logits"), _logits(fake_logits,
                                                                            "fake_logits")
    if loss == "wasserstein_gp":
        return jnp.mean(fake_logits) - jnp.mean(real_logits)
    real = optax.sigmoid_binary_cross_entropy(real_logits, jnp.ones_like(real_logits))
    fake = optax.sigmoid_binary_cross_entropy(fake_logits, jnp.zeros_like(fake_logits))
    return jnp.mean(real) + jnp.mean(fake)


def generator_loss(fake_logits: ArrayLike, loss: str = "non_saturating") -> jax.Array:
    """The generator's loss on the discriminator's logits of its samples.

    ``"minimax"``: ``mean ln(1 - D(G(z))) = -mean softplus(l)`` (the lecture's game);
    ``"non_saturating"``: ``-mean ln D(G(z)) = mean softplus(-l)``; ``"wasserstein_gp"``:
    ``-mean f(G(z))``.
    """
    _validation.choice(loss, LOSSES, "loss")
    fake_logits = _logits(fake_logits, "fake_logits")
    if loss == "wasserstein_gp":
        return -jnp.mean(fake_logits)
    if loss == "minimax":
        return -jnp.mean(jax.nn.softplus(fake_logits))
    return jnp.mean(optax.sigmoid_binary_cross_entropy(fake_logits, jnp.ones_like(fake_logits)))


def gradient_penalty(critic: Callable[[jax.Array], jax.Array], real: jax.Array,
                     fake: jax.Array, key: jax.Array) -> jax.Array:
    """WGAN-GP's ``mean_i (||grad_x f(x_hat_i)||_2 - 1)^2`` (Gulrajani et al. 2017, eq. 3).

    ``x_hat_i = eps_i x_i + (1 - eps_i) x~_i`` with ``eps_i ~ U[0, 1]`` per example. The
    norm is ``sqrt(sum g^2 + 1e-12)``: a plain square root has an infinite derivative at
    a zero gradient (the NaN of the Keras example).

    Args:
      critic: ``f(images) -> [n]`` critic values (per example: no BatchNorm).
      real: ``[n, ...]`` real images.
      fake: ``[n, ...]`` generated images.
      key: PRNG key for eps.
    """
    key = _validation.prng_key(key)
    eps = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1), real.dtype)
    mixed = eps * real + (1.0 - eps) * fake
    grads = jax.grad(lambda x: jnp.sum(critic(x)))(mixed)
    norms = jnp.sqrt(jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=1) + 1e-12)
    return jnp.mean((norms - 1.0) ** 2)


@dataclasses.dataclass(frozen=True)
class InfoCodes:
    """InfoGAN's latent codes c (Chen et al. 2016): one categorical code with
    ``n_categories`` values (one-hot) and ``n_continuous`` codes ~ U(-1, 1).

    The generator reads ``[z, c]``; the discriminator's Q head predicts c from the image.
    """

    n_categories: int = 10
    n_continuous: int = 2

    def __post_init__(self):
        _validation.positive_int(self.n_categories, "n_categories")
        if self.n_continuous != 0:
            _validation.positive_int(self.n_continuous, "n_continuous")

    @property
    def size(self) -> int:
        """Width of c (and of the Q head)."""
        return self.n_categories + self.n_continuous

    def sample(self, key: jax.Array, n: int) -> jax.Array:
        """``[n, size]`` codes: a uniform category (one-hot), then the continuous codes."""
        cat_key, cont_key = jax.random.split(key)
        category = jax.random.randint(cat_key, (n,), 0, self.n_categories)
        continuous = jax.random.uniform(cont_key, (n, self.n_continuous), minval=-1.0,
                                        maxval=1.0)
        return jnp.concatenate([jax.nn.one_hot(category, self.n_categories), continuous], 1)

    def code(self, categories: ArrayLike, continuous: ArrayLike) -> jax.Array:
        """``[n, size]`` codes of given categories ``[n]`` and continuous values
        ``[n, n_continuous]`` (for traversal figures)."""
        return jnp.concatenate([jax.nn.one_hot(jnp.asarray(categories), self.n_categories),
                                jnp.asarray(continuous, jnp.float32)], axis=1)


def info_loss(codes: InfoCodes, c: jax.Array, q: jax.Array) -> jax.Array:
    """InfoGAN's ``-L_I`` up to the constant H(c): ``mean_i [-ln Q(cat_i | x_i) +
    1/2 ||cont_i - mu_i||^2]``, the categorical part a cross-entropy of Q's logits and
    the continuous part the negative log-density of a unit-variance Gaussian Q (its
    constant dropped).

    Args:
      codes: the code layout.
      c: ``[n, codes.size]`` the codes the images were generated from.
      q: ``[n, codes.size]`` the Q head's output (category logits, then means).
    """
    c, q = _validation.as_float_array(c, "c"), _validation.as_float_array(q, "q")
    for name, value in (("c", c), ("q", q)):
        if value.ndim != 2 or value.shape[1] != codes.size or value.shape[0] != c.shape[0]:
            raise ValueError(f"c and q must both be [n, {codes.size}] (the codes' size); got "
                             f"shapes {tuple(c.shape)} and {tuple(q.shape)}.")
        _validation.check_finite(value, name)
    k = codes.n_categories
    categorical = optax.softmax_cross_entropy(q[:, :k], c[:, :k])
    continuous = 0.5 * jnp.sum((c[:, k:] - q[:, k:]) ** 2, axis=1)
    return jnp.mean(categorical + continuous)


@dataclasses.dataclass(frozen=True)
class GANObjective:
    """The two phases' losses of a GAN step (``train.Phase`` loss functions).

    ``discriminator(models, batch, key, hyperparams)`` and ``generator(...)`` follow the
    training core's loss contract; ``models`` is ``{"generator": G, "discriminator": D}``.
    The batch is ``images [n, h, w]``, or ``(images, labels)`` for a conditional GAN, whose
    fakes are generated for the batch's labels (the Keras conditional GAN example). Both
    networks run in train mode (batch statistics, dropout): the training core keeps the
    statistics of the network that is not being updated bit-identical.

    Traced hyperparameters (``state.hyperparams``): ``gp_weight`` (lambda of WGAN-GP) and
    ``info_weight`` (InfoGAN's lambda).

    Attributes:
      loss: one of :data:`LOSSES`.
      latent_dim: dimension of z ~ N(0, I).
      n_classes: classes of a conditional GAN (0: unconditional).
      info: InfoGAN's codes, or None.
    """

    loss: str = "non_saturating"
    latent_dim: int = 128
    n_classes: int = 0
    info: InfoCodes | None = None

    def __post_init__(self):
        _validation.choice(self.loss, LOSSES, "loss")
        _validation.positive_int(self.latent_dim, "latent_dim")
        if self.n_classes and self.info is not None:
            raise ValueError("A GAN is either conditional (n_classes) or an InfoGAN (info), "
                             "not both.")

    def _fake(self, generator, batch, key):
        """``(real images, condition or None, fakes, InfoGAN codes or None)``."""
        images, labels = batch if self.n_classes else (batch, None)
        n = images.shape[0]
        z_key, c_key = jax.random.split(key)
        z = jax.random.normal(z_key, (n, self.latent_dim), images.dtype)
        condition = None if labels is None else jax.nn.one_hot(labels, self.n_classes,
                                                                 dtype=images.dtype)
        codes = None if self.info is None else self.info.sample(c_key, n)
        fake = generator(z, condition if codes is None else codes, train=True)
        return images, condition, fake, codes

    def discriminator(self, models, batch, key, hyperparams):
        """D's loss: ``-V`` (or the critic's loss plus lambda times the penalty), plus
        lambda_I times the information term for InfoGAN."""
        g, d = models["generator"], models["discriminator"]
        fake_key, real_key, d_key, eps_key, gp_key = jax.random.split(key, 5)
        images, condition, fake, codes = self._fake(g, batch, fake_key)
        fake = jax.lax.stop_gradient(fake)
        real_logits = d(images, condition, train=True, key=real_key)
        if codes is None:
            fake_logits = d(fake, condition, train=True, key=d_key)
        else:
            fake_logits, q = d.heads(fake, train=True, key=d_key)
        loss = discriminator_loss(real_logits, fake_logits, self.loss)
        metrics = self._scores(real_logits, fake_logits)
        if self.loss == "wasserstein_gp":
            penalty = gradient_penalty(lambda x: d(x, condition, train=True, key=gp_key),
                                       images, fake, eps_key)
            loss = loss + hyperparams["gp_weight"] * penalty
            metrics["gradient_penalty"] = penalty
        if codes is not None:
            information = info_loss(self.info, codes, q)
            loss = loss + hyperparams["info_weight"] * information
            metrics["info_loss"] = information
        return loss, metrics

    def generator(self, models, batch, key, hyperparams):
        """G's loss (:func:`generator_loss`), plus lambda_I times the information term."""
        g, d = models["generator"], models["discriminator"]
        fake_key, d_key = jax.random.split(key)
        _, condition, fake, codes = self._fake(g, batch, fake_key)
        if codes is None:
            fake_logits = d(fake, condition, train=True, key=d_key)
        else:
            fake_logits, q = d.heads(fake, train=True, key=d_key)
        loss = generator_loss(fake_logits, self.loss)
        metrics = {"d_fake": jnp.mean(self._squash(fake_logits))}
        if codes is not None:
            information = info_loss(self.info, codes, q)
            loss = loss + hyperparams["info_weight"] * information
            metrics["info_loss"] = information
        return loss, metrics

    def _scores(self, real_logits, fake_logits) -> dict[str, jax.Array]:
        """Mean D(x) and D(G(z)) (a critic's mean values for WGAN-GP)."""
        return {"d_real": jnp.mean(self._squash(real_logits)),
                "d_fake": jnp.mean(self._squash(fake_logits))}

    def _squash(self, logits):
        """D = sigmoid(logit); a WGAN critic's value is the logit itself."""
        return logits if self.loss == "wasserstein_gp" else jax.nn.sigmoid(logits)
