"""The VAE objective in nats: ELBO terms, reparameterization, the training loss.

For one example x the evidence lower bound is

    ln P(x) >= ELBO(x) = E_{z ~ Q(z|x)}[ln P(x | z)] - KL(Q(z | x) || P(z)),

and the loss minimized is the per-example "reconstruction + beta * KL":
``-ln P(x | z) + beta * KL`` with one reparameterized sample z = mu + sigma * eps,
eps ~ N(0, I). ``-ln P(x | z)`` is the binary cross-entropy with logits summed over
the pixels; the KL between diagonal Gaussians is in closed form. At ``beta = 1`` the
loss is the negative ELBO, an upper bound on -ln P(x) in nats (a likelihood only for
binary x; with continuous targets in [0, 1] it is a reconstruction score).

References:
  Kingma & Welling, Auto-Encoding Variational Bayes, ICLR 2014.
  Higgins et al., beta-VAE, ICLR 2017 (the beta weight).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxselforg import _validation

if TYPE_CHECKING:
    from jaxselforg.vae.model import VAE

__all__ = [
    "Objective",
    "VAELoss",
    "bernoulli_log_likelihood",
    "gaussian_kl",
    "gaussian_log_density",
    "reparameterize",
    "vae_loss",
]

_LOG_2PI = math.log(2.0 * math.pi)  # a Python float: importing starts no JAX backend


class VAELoss(NamedTuple):
    """Per-example terms of the VAE loss, each ``[n]``, in nats.

    Attributes:
      loss: ``reconstruction + beta * kl``.
      reconstruction: ``-ln P(x | z)`` for the sampled z (summed BCE with logits).
      kl: ``KL(Q(z | x) || N(0, I))`` in closed form.
    """

    loss: jax.Array
    reconstruction: jax.Array
    kl: jax.Array


def _broadcastable(arrays: dict, doc: str) -> None:
    """Raises unless the named ``arrays`` broadcast to one array with the axes ``doc``
    names after its ``...``."""
    try:
        shape = jnp.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        shape = None
    if shape is None or len(shape) < doc.count(","):
        names = " and ".join(arrays)
        shapes = " and ".join(str(tuple(a.shape)) for a in arrays.values())
        raise ValueError(f"{names} must have one shape {doc} (or broadcast to it); got "
                         f"{shapes}.")


def _gaussian(**arrays: ArrayLike) -> tuple[jax.Array, ...]:
    """The named arrays as floats of one shape ``[..., d]`` (up to broadcasting), finite
    when concrete."""
    arrays = {name: _validation.as_float_array(a, name) for name, a in arrays.items()}
    _broadcastable(arrays, "[..., d]")
    for name, a in arrays.items():
        _validation.check_finite(a, name)
    return tuple(arrays.values())


def gaussian_kl(mean: ArrayLike, log_variance: ArrayLike) -> jax.Array:
    """KL(N(mu, diag sigma^2) || N(0, I)) = 1/2 sum_i (mu_i^2 + sigma_i^2 - 1 - ln sigma_i^2).

    Args:
      mean: ``[..., d]``.
      log_variance: ``[..., d]``, ln sigma^2.

    Returns:
      ``[...]`` in nats.
    """
    mean, log_variance = _gaussian(mean=mean, log_variance=log_variance)
    return 0.5 * jnp.sum(mean**2 + jnp.exp(log_variance) - 1.0 - log_variance, axis=-1)


def gaussian_log_density(z: ArrayLike, mean: ArrayLike, log_variance: ArrayLike) -> jax.Array:
    """ln N(z; mu, diag sigma^2), summed over the last axis: ``[...]``."""
    z, mean, log_variance = _gaussian(z=z, mean=mean, log_variance=log_variance)
    return -0.5 * jnp.sum(_LOG_2PI + log_variance + (z - mean) ** 2 * jnp.exp(-log_variance),
                          axis=-1)


def bernoulli_log_likelihood(logits: ArrayLike, images: ArrayLike) -> jax.Array:
    """ln P(x | z) = sum_j [x_j ln sigmoid(f_j) + (1 - x_j) ln sigmoid(-f_j)].

    The negative of the summed binary cross-entropy with logits; computed from the
    logits with ``log_sigmoid``, so it stays finite for saturated pixels.

    Args:
      logits: ``[..., h, w]`` decoder outputs f(z).
      images: ``[..., h, w]`` targets in [0, 1] (broadcast against ``logits``).

    Returns:
      ``[...]`` in nats.
    """
    logits = _validation.as_float_array(logits, "logits")
    images = _validation.unit_interval(images, "images", "bernoulli_log_likelihood")
    _broadcastable({"logits": logits, "images": images}, "[..., h, w]")
    _validation.check_finite(logits, "logits")
    log_p = images * jax.nn.log_sigmoid(logits) + (1.0 - images) * jax.nn.log_sigmoid(-logits)
    return jnp.sum(log_p, axis=(-2, -1))


def reparameterize(key: jax.Array, mean: jax.Array, log_variance: jax.Array) -> jax.Array:
    """z = mu + sigma * eps with eps ~ N(0, I): a sample of Q(z | x) differentiable in mu, sigma."""
    key = _validation.prng_key(key)
    mean, log_variance = _gaussian(mean=mean, log_variance=log_variance)
    eps = jax.random.normal(key, jnp.shape(mean), jnp.result_type(mean))
    return mean + jnp.exp(0.5 * log_variance) * eps


def vae_loss(model: VAE, images: jax.Array, key: jax.Array, *, beta: ArrayLike = 1.0) -> VAELoss:
    """Per-example loss terms with one reparameterized sample per image.

    Args:
      model: a VAE.
      images: ``[n, h, w]`` targets in [0, 1] (binary for likelihood numbers).
      key: PRNG key for the sample of z.
      beta: weight of the KL term (1 for the ELBO).

    Returns:
      A :class:`VAELoss` of ``[n]`` arrays.
    """
    key = _validation.prng_key(key)
    images = _validation.images(images, model.image_shape)
    beta = _validation.hyperparameter(beta, "beta")
    mean, log_variance = model.encode(images)
    logits = model.decode(reparameterize(key, mean, log_variance))
    reconstruction = -bernoulli_log_likelihood(logits, images)
    kl = gaussian_kl(mean, log_variance)
    return VAELoss(reconstruction + beta * kl, reconstruction, kl)


@dataclasses.dataclass(frozen=True)
class Objective:
    """The training loss ``loss_fn(model, images, key, hyperparams) -> (mean loss, metrics)``.

    Plugs into :func:`jaxselforg.train.make_step`; a batch is ``[b, h, w]`` images.
    The KL weight is the traced hyperparameter ``hyperparams["beta"]`` (in
    ``state.hyperparams``), so one compiled step serves a sweep over beta. Equal for
    equal settings, so that a rebuilt step reuses the compiled epoch.

    Attributes:
      binarize: dynamic binarization: each batch is resampled as Bernoulli(x) with
        a fresh key, so every epoch sees new binary images (the setting of the
        literature's likelihood numbers). False trains on the [0, 1] values.

    Returns (of a call):
      ``(mean loss, metrics)``; the metrics are the batch means of
      ``reconstruction``, ``kl`` and ``negative_elbo`` (= reconstruction + kl,
      whatever beta).
    """

    binarize: bool = True

    def __call__(self, model: VAE, images: jax.Array, key: jax.Array, hyperparams):
        binarize_key, sample_key = jax.random.split(key)
        if self.binarize:
            images = jax.random.bernoulli(binarize_key, images).astype(images.dtype)
        terms = vae_loss(model, images, sample_key, beta=hyperparams["beta"])
        return jnp.mean(terms.loss), {
            "reconstruction": jnp.mean(terms.reconstruction),
            "kl": jnp.mean(terms.kl),
            "negative_elbo": jnp.mean(terms.reconstruction + terms.kl),
        }
