"""Variational autoencoders (lecture section 9) as Flax NNX modules.

A VAE pairs a Gaussian encoder Q(z | x) = N(mu(x), diag sigma^2(x)) with a decoder
P(x | z) that is a product of Bernoullis over the pixels, P(x | z) = prod_j
Bernoulli(x_j; sigmoid(f_j(z))), and the prior P(z) = N(0, I). The encoder is an
``nn`` network plus an ``nn.GaussianHead`` returning ``(mu, log sigma^2)``; the
decoder returns the logits f(z) (the sigmoid is never taken inside the loss).

Two architectures share that interface:

* ``MLPVAE``: ``nn.MLP`` encoder and mirrored ``nn.MLP`` decoder (``hidden=(512,)``
  is the Flax example's size class; ``(300, 300)`` the Exemplar-VAE paper's);
* ``ConvVAE``: the Keras VAE example the lecture cites: ``nn.ConvEncoder`` (Conv 32
  and 64, 3x3, stride 2, ReLU, a dense layer) and the mirrored ``nn.ConvDecoder``.

References:
  Kingma & Welling, Auto-Encoding Variational Bayes, ICLR 2014.
  F. Chollet, Variational AutoEncoder, keras.io/examples/generative/vae (2020).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
from flax import nnx

from jaxselforg import _validation, nn
from jaxselforg.vae.objective import reparameterize

__all__ = ["ARCHITECTURES", "MLPVAE", "VAE", "ConvVAE", "make_vae"]

ARCHITECTURES = ("mlp", "conv")


class VAE(nnx.Module):
    """The interface shared by the VAE architectures: ``encoder``, ``head``, ``decoder``.

    Attributes:
      image_shape: ``(h, w)`` of the images (single channel, values in [0, 1]).
      latent_dim: dimension of z.
    """

    image_shape: tuple[int, int]
    latent_dim: int

    def encode(self, images: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Q(z | x): ``(mean, log_variance)``, each ``[n, latent_dim]``, of ``[n, h, w]``."""
        if images.ndim != 3 or tuple(images.shape[1:]) != self.image_shape:
            h, w = self.image_shape
            raise ValueError(f"images must have shape [n, {h}, {w}] for this model; "
                             f"got {tuple(images.shape)}.")
        return self.head(self.encoder(images))

    def decode(self, z: jax.Array) -> jax.Array:
        """P(x | z): Bernoulli logits ``[n, h, w]`` of latents ``[n, latent_dim]``."""
        return self.decoder(z).reshape(z.shape[0], *self.image_shape)

    def __call__(self, images: jax.Array, key: jax.Array):
        """Encodes, samples z by :func:`reparameterize`, decodes.

        Returns:
          ``(logits [n, h, w], mean [n, latent_dim], log_variance [n, latent_dim])``.
        """
        mean, log_variance = self.encode(images)
        return self.decode(reparameterize(key, mean, log_variance)), mean, log_variance


class MLPVAE(VAE):
    """``nn.MLP`` encoder ``pixels -> hidden... -> (mu, log sigma^2)`` and mirrored decoder.

    Args:
      image_shape: ``(h, w)``.
      latent_dim: dimension of z (>= 1).
      hidden: widths of the encoder's hidden layers; the decoder uses them reversed.
      activation: one of ``nn.ACTIVATIONS`` (``"relu"``, ``"tanh"``, ...).
      rngs: initialization randomness.

    Raises:
      ValueError: ``latent_dim`` or a width < 1, unknown ``activation``.
    """

    def __init__(self, image_shape: Sequence[int] = (28, 28), latent_dim: int = 20,
                 hidden: Sequence[int] = (512,), activation: str = "relu", *, rngs: nnx.Rngs):
        self.image_shape = _validation.image_shape(image_shape)
        self.latent_dim = _validation.positive_int(latent_dim, "latent_dim")
        hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
        n_pixels = self.image_shape[0] * self.image_shape[1]
        self.encoder = nn.MLP(n_pixels, hidden, activation=activation, activate_final=True,
                              rngs=rngs)
        self.head = nn.GaussianHead(hidden[-1], self.latent_dim, rngs=rngs)
        self.decoder = nn.MLP(self.latent_dim, (*hidden[::-1], n_pixels), activation=activation,
                              rngs=rngs)


class ConvVAE(VAE):
    """The Keras example's convolutional VAE.

    Encoder: Conv(32, 3x3, stride 2) -> Conv(64, 3x3, stride 2) -> dense(hidden) ->
    (mu, log sigma^2), ReLU throughout. Decoder: dense(h/4 * w/4 * 64) ->
    ConvTranspose(64, stride 2) -> ConvTranspose(32, stride 2) -> ConvTranspose(1)
    logits. Keras uses ``hidden=16`` with a 2-d latent; wider suits larger latents.

    Args:
      image_shape: ``(h, w)``, both multiples of 4.
      latent_dim: dimension of z (>= 1).
      hidden: width of the dense layer after the convolutions.
      rngs: initialization randomness.

    Raises:
      ValueError: ``latent_dim`` or ``hidden`` < 1, sides not multiples of 4.
    """

    def __init__(self, image_shape: Sequence[int] = (28, 28), latent_dim: int = 2,
                 hidden: int = 256, *, rngs: nnx.Rngs):
        self.image_shape = _validation.image_shape(image_shape)
        self.latent_dim = _validation.positive_int(latent_dim, "latent_dim")
        self.encoder = nn.ConvEncoder(self.image_shape, (32, 64), hidden, rngs=rngs)
        self.head = nn.GaussianHead(self.encoder.out_features, self.latent_dim, rngs=rngs)
        self.decoder = nn.ConvDecoder(self.latent_dim, self.image_shape, (64, 32), rngs=rngs)


def make_vae(architecture: str = "mlp", *, latent_dim: int, image_shape: Sequence[int] = (28, 28),
             hidden: Sequence[int] | int | None = None, activation: str = "relu",
             rngs: nnx.Rngs) -> VAE:
    """An ``MLPVAE`` or ``ConvVAE`` by name (``hidden=None``: the class default).

    Raises:
      ValueError: unknown ``architecture`` (accepted: ``ARCHITECTURES``), bad sizes,
        or ``activation`` other than ``"relu"`` for the conv model.
    """
    _validation.choice(architecture, ARCHITECTURES, "architecture")
    if architecture == "mlp":
        hidden = (512,) if hidden is None else (hidden,) if isinstance(hidden, int) else hidden
        return MLPVAE(image_shape, latent_dim, tuple(hidden), activation, rngs=rngs)
    if activation != "relu":
        raise ValueError(f"ConvVAE uses ReLU (as the Keras example); got activation "
                         f"{activation!r}.")
    if hidden is not None and not isinstance(hidden, int):
        hidden = tuple(hidden)
        if len(hidden) != 1:
            raise ValueError(f"ConvVAE has one dense layer; hidden must be one width, got "
                             f"{hidden}.")
        hidden = hidden[0]
    return ConvVAE(image_shape, latent_dim, 256 if hidden is None else hidden, rngs=rngs)
