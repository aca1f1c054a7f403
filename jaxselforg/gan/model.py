"""GAN generators G: Z -> images and discriminators D: images -> logit, on ``nn`` blocks.

Two architectures, each unconditional, conditional (Mirza & Osindero 2014) or with
InfoGAN's codes (Chen et al. 2016):

* ``"mlp"``: the fully connected GAN of Goodfellow et al. 2014 -- an MLP generator
  ``z -> 256 -> 512 -> 1024 -> h*w`` and an MLP discriminator ``h*w -> 512 -> 256 -> 1``,
  leaky ReLU (slope 0.2) throughout;
* ``"dcgan"``: the Keras DCGAN MNIST example -- G: ``z -> Dense 7*7*128 -> LeakyReLU ->
  2 x [ConvTranspose 128 (4x4, stride 2) -> LeakyReLU] -> Conv 1 (7x7)``; D: ``Conv 64 ->
  Conv 128 (3x3, stride 2, LeakyReLU 0.2) -> global max pool -> Dense 1`` (1,339,905 and
  74,625 parameters at the defaults, as Keras counts them).

The generator ends in a sigmoid (images in (0, 1), the range of the data); the
discriminator returns a logit ``[n]`` (D(x) = sigmoid(logit); a WGAN critic uses the
logit itself). A conditional generator reads ``[z, onehot(y)]``; a conditional
discriminator reads the one-hot label as extra inputs (MLP) or as ``n_classes`` extra
channels broadcast over the image (DCGAN, as in the Keras conditional GAN example).
InfoGAN's generator reads ``[z, c]`` and its discriminator has a second head Q(c | x)
on the same trunk.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from jaxselforg import _validation, nn

__all__ = ["ARCHITECTURES", "Discriminator", "Generator"]

ARCHITECTURES = ("mlp", "dcgan")
"""The network families of :class:`Generator` and :class:`Discriminator`."""

_DEFAULT_GENERATOR = {"mlp": (256, 512, 1024), "dcgan": (128, 128)}
_DEFAULT_DISCRIMINATOR = {"mlp": (512, 256), "dcgan": (64, 128)}


def _widths(widths, architecture: str, defaults) -> tuple[int, ...]:
    widths = defaults[architecture] if widths is None else widths
    widths = (widths,) if isinstance(widths, int) else tuple(widths)
    if not widths:
        raise ValueError("A GAN network needs at least one hidden width; got ().")
    return tuple(_validation.positive_int(w, "width") for w in widths)


def _nonnegative_int(value, name: str) -> int:
    return 0 if value == 0 and not isinstance(value, bool) else _validation.positive_int(value,
                                                                                          name)


class Generator(nnx.Module):
    """G: latent codes ``[n, latent_dim]`` (and a condition ``[n, code_dim]``) -> images
    ``[n, h, w]`` in (0, 1).

    Args:
      architecture: ``"mlp"`` or ``"dcgan"``.
      latent_dim: dimension of the noise z (the Keras DCGAN: 128).
      code_dim: width of the condition concatenated to z: ``n_classes`` for a
        conditional GAN (one-hot labels), InfoGAN's code size, or 0 for none.
      image_shape: ``(h, w)``; multiples of 4 for ``"dcgan"``.
      widths: hidden widths (MLP) or transposed-convolution channels (DCGAN);
        None for the architecture's default.
      batch_norm: BatchNorm before every hidden activation (DCGAN paper's generator;
        off in the Keras example).
      rngs: initialization randomness.

    Raises:
      ValueError: ``latent_dim < 1``, an unknown architecture, bad widths or shapes.
    """

    def __init__(self, architecture: str = "dcgan", *, latent_dim: int = 128,
                 code_dim: int = 0, image_shape: Sequence[int] = (28, 28),
                 widths: Sequence[int] | None = None, batch_norm: bool = False,
                 rngs: nnx.Rngs):
        self.architecture = _validation.choice(architecture, ARCHITECTURES, "architecture")
        self.latent_dim = _validation.positive_int(latent_dim, "latent_dim")
        self.code_dim = _nonnegative_int(code_dim, "code_dim")
        self.image_shape = _validation.image_shape(image_shape)
        widths = _widths(widths, architecture, _DEFAULT_GENERATOR)
        in_features = self.latent_dim + self.code_dim
        h, w = self.image_shape
        if architecture == "mlp":
            self.net = nn.MLP(in_features, (*widths, h * w), activation="leaky_relu",
                              batch_norm=batch_norm, rngs=rngs)
        else:
            self.net = nn.ConvDecoder(in_features, self.image_shape, widths,
                                      activation="leaky_relu", batch_norm=batch_norm,
                                      kernel_size=4, output_kernel_size=7, rngs=rngs)

    def __call__(self, z: jax.Array, code: jax.Array | None = None, *,
                 train: bool = False) -> jax.Array:
        """``G([z, code])``: images ``[n, h, w]``; ``train`` selects BatchNorm's mode."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"The generator expects z of shape [n, {self.latent_dim}]; got "
                             f"{tuple(z.shape)}.")
        if self.code_dim:
            if code is None or code.shape != (z.shape[0], self.code_dim):
                got = None if code is None else tuple(code.shape)
                raise ValueError(f"This generator is conditional: it needs a code (one-hot "
                                 f"labels or InfoGAN codes) of shape [{z.shape[0]}, "
                                 f"{self.code_dim}]; got {got}.")
            z = jnp.concatenate([z, code.astype(z.dtype)], axis=1)
        elif code is not None:
            raise ValueError("This generator is unconditional (code_dim=0); got a code.")
        logits = self.net(z, train=train)
        return jax.nn.sigmoid(logits.reshape(z.shape[0], *self.image_shape))


class Discriminator(nnx.Module):
    """D: images ``[n, h, w]`` (and a one-hot condition ``[n, n_classes]``) -> logits ``[n]``.

    Args:
      architecture: ``"mlp"`` or ``"dcgan"``.
      n_classes: classes of a conditional discriminator (0: unconditional).
      q_dim: width of InfoGAN's head Q(c | x) on the shared trunk (0: none).
      image_shape: ``(h, w)``; multiples of 4 for ``"dcgan"``.
      widths: hidden widths (MLP) or convolution channels (DCGAN); None for defaults.
      batch_norm: BatchNorm in the trunk (never in a WGAN-GP critic: the penalty is
        per example, BatchNorm couples the examples of a batch).
      dropout: dropout rate of the MLP trunk (0: none).
      pool: how the DCGAN trunk's last feature maps reach the heads: ``"max"`` (the
        Keras example's global max pool; None means it), ``"mean"`` or ``"flatten"``
        (every pixel, as Radford et al.'s discriminator). None for an MLP.
      rngs: initialization randomness.
    """

    def __init__(self, architecture: str = "dcgan", *, n_classes: int = 0, q_dim: int = 0,
                 image_shape: Sequence[int] = (28, 28), widths: Sequence[int] | None = None,
                 batch_norm: bool = False, dropout: float = 0.0, pool: str | None = None,
                 rngs: nnx.Rngs):
        self.architecture = _validation.choice(architecture, ARCHITECTURES, "architecture")
        self.n_classes = _nonnegative_int(n_classes, "n_classes")
        self.q_dim = _nonnegative_int(q_dim, "q_dim")
        self.image_shape = _validation.image_shape(image_shape)
        widths = _widths(widths, architecture, _DEFAULT_DISCRIMINATOR)
        h, w = self.image_shape
        if architecture == "mlp":
            if pool is not None:
                raise ValueError("pool applies to the DCGAN discriminator; an MLP's has none "
                                 f"(use pool=None); got {pool!r}.")
            self.trunk = nn.MLP(h * w + self.n_classes, widths, activation="leaky_relu",
                                activate_final=True, batch_norm=batch_norm, dropout=dropout,
                                rngs=rngs)
        else:
            if dropout:
                raise ValueError("The DCGAN discriminator has no dropout; use dropout=0.")
            self.trunk = nn.ConvEncoder(self.image_shape, widths, features=None,
                                        in_channels=1 + self.n_classes, activation="leaky_relu",
                                        batch_norm=batch_norm, pool=pool or "max", rngs=rngs)
        self.logit = nnx.Linear(self.trunk.out_features, 1, rngs=rngs)
        self.q = nnx.Linear(self.trunk.out_features, self.q_dim, rngs=rngs) if self.q_dim \
            else None

    def features(self, images: jax.Array, condition: jax.Array | None = None, *,
                 train: bool = False, key: jax.Array | None = None) -> jax.Array:
        """The shared trunk's output ``[n, features]`` (the input of the heads)."""
        h, w = self.image_shape
        if images.ndim != 3 or tuple(images.shape[1:]) != (h, w):
            raise ValueError(f"The discriminator expects images [n, {h}, {w}]; got "
                             f"{tuple(images.shape)}.")
        n = images.shape[0]
        if self.n_classes:
            if condition is None or condition.shape != (n, self.n_classes):
                got = None if condition is None else tuple(condition.shape)
                raise ValueError(f"This discriminator is conditional: it needs one-hot labels "
                                 f"of shape [{n}, {self.n_classes}]; got {got}.")
            condition = condition.astype(images.dtype)
            if self.architecture == "mlp":
                x = jnp.concatenate([images.reshape(n, -1), condition], axis=1)
            else:  # the label as n_classes constant channels
                planes = jnp.broadcast_to(condition[:, None, None, :], (n, h, w, self.n_classes))
                x = jnp.concatenate([images[..., None], planes], axis=-1)
        elif condition is not None:
            raise ValueError("This discriminator is unconditional (n_classes=0); got labels.")
        else:
            x = images
        return self.trunk(x, train=train, key=key)

    def __call__(self, images: jax.Array, condition: jax.Array | None = None, *,
                 train: bool = False, key: jax.Array | None = None) -> jax.Array:
        """The logit ``[n]`` of D(x) (of D(x | y) when conditional)."""
        return self.logit(self.features(images, condition, train=train, key=key))[:, 0]

    def heads(self, images: jax.Array, condition: jax.Array | None = None, *,
              train: bool = False, key: jax.Array | None = None
              ) -> tuple[jax.Array, jax.Array]:
        """``(logit [n], q [n, q_dim])``: D's logit and InfoGAN's Q head from one trunk pass.

        Raises:
          ValueError: the discriminator has no Q head (``q_dim=0``).
        """
        if self.q is None:
            raise ValueError("This discriminator has no InfoGAN head (q_dim=0).")
        features = self.features(images, condition, train=train, key=key)
        return self.logit(features)[:, 0], self.q(features)
