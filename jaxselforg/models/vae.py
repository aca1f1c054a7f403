"""Variational autoencoders (lecture section 9) as Flax NNX modules.

A VAE pairs a Gaussian encoder Q(z | x) = N(mu(x), diag sigma^2(x)) with a decoder
P(x | z) that is a product of Bernoullis over the pixels, P(x | z) = prod_j
Bernoulli(x_j; sigmoid(f_j(z))), and the prior P(z) = N(0, I). The encoder returns
``(mu, log sigma^2)``; the decoder returns the logits f(z) (the sigmoid is never
taken inside the loss, see ``bernoulli_log_likelihood``).

Two architectures share that interface:

* ``MLPVAE``: dense encoder and mirrored dense decoder (``hidden=(512,)`` is the
  Flax example's size class; ``(300, 300)`` the Exemplar-VAE paper's);
* ``ConvVAE``: the Keras VAE example the lecture cites: Conv 32 and 64 (3x3,
  stride 2, ReLU), a dense layer, and a mirrored transposed-convolution decoder.

References:
  Kingma & Welling, Auto-Encoding Variational Bayes, ICLR 2014.
  F. Chollet, Variational AutoEncoder, keras.io/examples/generative/vae (2020).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from jaxselforg import _validation

__all__ = ["ACTIVATIONS", "ARCHITECTURES", "MLPVAE", "VAE", "Conv3x3", "ConvTranspose2x",
           "ConvVAE", "make_vae"]

ARCHITECTURES = ("mlp", "conv")
ACTIVATIONS = {"relu": jax.nn.relu, "tanh": jnp.tanh, "gelu": jax.nn.gelu, "elu": jax.nn.elu,
               "softplus": jax.nn.softplus}


def _image_shape(image_shape) -> tuple[int, int]:
    if (not isinstance(image_shape, (tuple, list)) or len(image_shape) != 2):
        raise ValueError(f"image_shape must be (height, width); got {image_shape!r}.")
    return tuple(_validation.positive_int(side, "image_shape entry") for side in image_shape)


class VAE(nnx.Module):
    """The interface shared by the VAE architectures.

    Attributes:
      image_shape: ``(h, w)`` of the images (single channel, values in [0, 1]).
      latent_dim: dimension of z.
    """

    image_shape: tuple[int, int]
    latent_dim: int

    def _check_shape(self, images: jax.Array) -> None:
        if images.ndim != 3 or tuple(images.shape[1:]) != self.image_shape:
            h, w = self.image_shape
            raise ValueError(f"images must have shape [n, {h}, {w}] for this model; "
                             f"got {tuple(images.shape)}.")

    def encode(self, images: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Q(z | x): ``(mean, log_variance)``, each ``[n, latent_dim]``, of ``[n, h, w]``."""
        raise NotImplementedError

    def decode(self, z: jax.Array) -> jax.Array:
        """P(x | z): Bernoulli logits ``[n, h, w]`` of latents ``[n, latent_dim]``."""
        raise NotImplementedError

    def __call__(self, images: jax.Array, key: jax.Array):
        """Encodes, samples z by reparameterization, decodes.

        Returns:
          ``(logits [n, h, w], mean [n, latent_dim], log_variance [n, latent_dim])``.
        """
        mean, log_variance = self.encode(images)
        eps = jax.random.normal(key, mean.shape, mean.dtype)
        z = mean + jnp.exp(0.5 * log_variance) * eps
        return self.decode(z), mean, log_variance


class MLPVAE(VAE):
    """Dense encoder ``pixels -> hidden... -> (mu, log sigma^2)`` and mirrored decoder.

    Args:
      image_shape: ``(h, w)``.
      latent_dim: dimension of z (>= 1).
      hidden: widths of the encoder's hidden layers; the decoder uses them reversed.
      activation: one of ``ACTIVATIONS`` (``"relu"``, ``"tanh"``, ...).
      rngs: initialization randomness.

    Raises:
      ValueError: ``latent_dim`` or a width < 1, unknown ``activation``.
    """

    def __init__(self, image_shape: Sequence[int] = (28, 28), latent_dim: int = 20,
                 hidden: Sequence[int] = (512,), activation: str = "relu", *, rngs: nnx.Rngs):
        self.image_shape = _image_shape(image_shape)
        self.latent_dim = _validation.positive_int(latent_dim, "latent_dim")
        hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
        hidden = tuple(_validation.positive_int(h, "hidden width") for h in hidden)
        self.activation = _validation.choice(activation, tuple(ACTIVATIONS), "activation")
        n_pixels = self.image_shape[0] * self.image_shape[1]
        widths = (n_pixels, *hidden)
        self.encoder = nnx.List([nnx.Linear(a, b, rngs=rngs)
                                 for a, b in itertools.pairwise(widths)])
        self.mean = nnx.Linear(widths[-1], self.latent_dim, rngs=rngs)
        self.log_variance = nnx.Linear(widths[-1], self.latent_dim, rngs=rngs)
        back = (self.latent_dim, *hidden[::-1])
        self.decoder = nnx.List([nnx.Linear(a, b, rngs=rngs)
                                 for a, b in itertools.pairwise(back)])
        self.logits = nnx.Linear(back[-1], n_pixels, rngs=rngs)

    def encode(self, images):
        self._check_shape(images)
        h = images.reshape(images.shape[0], -1)
        for layer in self.encoder:
            h = ACTIVATIONS[self.activation](layer(h))
        return self.mean(h), self.log_variance(h)

    def decode(self, z):
        h = z
        for layer in self.decoder:
            h = ACTIVATIONS[self.activation](layer(h))
        return self.logits(h).reshape(z.shape[0], *self.image_shape)


def _conv_params(in_features: int, out_features: int, rngs: nnx.Rngs):
    """A ``[3, 3, in, out]`` kernel and bias initialized as ``nnx.Conv``'s."""
    kernel = nnx.Param(nnx.initializers.lecun_normal()(
        rngs.params(), (3, 3, in_features, out_features)))
    return kernel, nnx.Param(jnp.zeros((out_features,)))


class Conv3x3(nnx.Module):
    """A 3x3 convolution with stride 1 or 2 and "SAME" padding, as a matrix product.

    The same function of the same ``[3, 3, in, out]`` kernel as ``nnx.Conv(in, out,
    (3, 3), strides=stride, padding="SAME")``, as matrix products, in whichever of two
    orders materializes less: the nine shifted (strided) views of the padded input
    side by side (im2col, ``9 * in`` values per output pixel) times the kernel as a
    ``[9 * in, out]`` matrix; or, for stride 1 with fewer outputs than inputs (a
    logits layer), the input times the kernel as ``[in, 9 * out]`` first and the
    nine shifted slices of that summed (``9 * out`` values per pixel). Written out
    because XLA's CPU backend runs convolutions, and above all their gradients,
    several times slower inside a loop body (jax-ml/jax#12868) -- and a training
    epoch is a ``lax.scan`` -- while matrix products keep their speed; a test checks
    equality with ``nnx.Conv``.

    Args:
      in_features: input channels.
      out_features: output channels.
      stride: 1 or 2.
      rngs: initialization randomness (LeCun normal kernel, zero bias, as ``nnx.Conv``).
    """

    def __init__(self, in_features: int, out_features: int, stride: int = 1, *,
                 rngs: nnx.Rngs):
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2; got {stride!r}.")
        self.stride = stride
        self.kernel, self.bias = _conv_params(in_features, out_features, rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        n, h, w, c = x.shape
        kernel = self.kernel[...]
        k_out = kernel.shape[3]
        s = self.stride
        out_h, out_w = -(-h // s), -(-w // s)
        # "SAME": total padding (out - 1) * s + 3 - side, the smaller half before.
        pad_h, pad_w = (out_h - 1) * s + 3 - h, (out_w - 1) * s + 3 - w
        pads = [(pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2)]
        if s == 1 and k_out < c:
            taps = x @ kernel.transpose(2, 0, 1, 3).reshape(c, 9 * k_out)
            taps = jnp.pad(taps.reshape(n, h, w, 9, k_out), [(0, 0), *pads, (0, 0), (0, 0)])
            y = sum(taps[:, u:u + h, v:v + w, 3 * u + v] for u in range(3) for v in range(3))
        else:
            padded = jnp.pad(x, [(0, 0), *pads, (0, 0)])
            patches = jnp.concatenate(
                [padded[:, u:u + s * (out_h - 1) + 1:s, v:v + s * (out_w - 1) + 1:s]
                 for u in range(3) for v in range(3)], axis=-1)  # [n, oh, ow, (u, v, in)]
            y = patches @ kernel.reshape(9 * c, k_out)
        return y + self.bias[...]


class ConvTranspose2x(nnx.Module):
    """A 3x3 transposed convolution with stride 2 and "SAME" padding (doubles h and w).

    The same function of the same ``[3, 3, in, out]`` kernel as
    ``nnx.ConvTranspose(in, out, (3, 3), strides=2, padding="SAME")`` (Keras'
    ``Conv2DTranspose(out, 3, strides=2, padding="same")``), computed as a sub-pixel
    convolution: output pixel (2i + a, 2j + b) only sees the kernel taps of its
    phase (a, b), which for k = 3 are, along each axis,

        y[2i] = k[0] x[i - 1] + k[2] x[i],    y[2i + 1] = k[1] x[i].

    So the four 2x2 neighbourhoods x[i - 1 : i + 1, j - 1 : j + 1] (im2col) times one
    ``[4 * in, 4 * out]`` matrix of taps give all four phases, and a depth-to-space
    reshape interleaves them. Written out because XLA's CPU backend differentiates
    ``lax.conv_transpose`` (an input-dilated convolution) several times slower than
    a matrix product, the more so inside a loop body (see :class:`Conv3x3`); a test
    checks equality with ``nnx.ConvTranspose``.

    Args:
      in_features: input channels.
      out_features: output channels.
      rngs: initialization randomness (LeCun normal kernel, zero bias, as ``nnx.Conv``).
    """

    def __init__(self, in_features: int, out_features: int, *, rngs: nnx.Rngs):
        self.kernel, self.bias = _conv_params(in_features, out_features, rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        n, h, w, c = x.shape
        kernel = self.kernel[...]
        k_out = kernel.shape[3]
        # Tap of kernel row/column for phase a and neighbour offset u (0: i - 1, 1: i);
        # index 3 is an appended zero tap.
        taps = jnp.asarray([[0, 2], [3, 1]])
        padded = jnp.pad(kernel, [(0, 1), (0, 1), (0, 0), (0, 0)])
        phases = padded[taps[:, None, :, None], taps[None, :, None, :]]  # [a, b, u, v, in, out]
        matrix = phases.transpose(2, 3, 4, 0, 1, 5).reshape(4 * c, 4 * k_out)
        shifted = jnp.pad(x, [(0, 0), (1, 0), (1, 0), (0, 0)])
        patches = jnp.concatenate([shifted[:, u:u + h, v:v + w] for u in (0, 1) for v in (0, 1)],
                                  axis=-1)  # [n, h, w, (u, v, in)]
        y = (patches @ matrix).reshape(n, h, w, 2, 2, k_out).transpose(0, 1, 3, 2, 4, 5)
        return y.reshape(n, 2 * h, 2 * w, k_out) + self.bias[...]


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
        self.image_shape = _image_shape(image_shape)
        if any(side % 4 for side in self.image_shape):
            raise ValueError(f"ConvVAE needs image sides that are multiples of 4 (two stride-2 "
                             f"convolutions); got {self.image_shape}.")
        self.latent_dim = _validation.positive_int(latent_dim, "latent_dim")
        hidden = _validation.positive_int(hidden, "hidden")
        self.small = (self.image_shape[0] // 4, self.image_shape[1] // 4)
        n_small = self.small[0] * self.small[1] * 64
        self.conv1 = Conv3x3(1, 32, stride=2, rngs=rngs)
        self.conv2 = Conv3x3(32, 64, stride=2, rngs=rngs)
        self.dense = nnx.Linear(n_small, hidden, rngs=rngs)
        self.mean = nnx.Linear(hidden, self.latent_dim, rngs=rngs)
        self.log_variance = nnx.Linear(hidden, self.latent_dim, rngs=rngs)
        self.expand = nnx.Linear(self.latent_dim, n_small, rngs=rngs)
        self.deconv1 = ConvTranspose2x(64, 64, rngs=rngs)
        self.deconv2 = ConvTranspose2x(64, 32, rngs=rngs)
        # A stride-1 "SAME" transposed convolution is a "SAME" convolution.
        self.logits = Conv3x3(32, 1, stride=1, rngs=rngs)

    def encode(self, images):
        self._check_shape(images)
        h = jax.nn.relu(self.conv1(images[..., None]))
        h = jax.nn.relu(self.conv2(h))
        h = jax.nn.relu(self.dense(h.reshape(h.shape[0], -1)))
        return self.mean(h), self.log_variance(h)

    def decode(self, z):
        h = jax.nn.relu(self.expand(z)).reshape(z.shape[0], *self.small, 64)
        h = jax.nn.relu(self.deconv1(h))
        h = jax.nn.relu(self.deconv2(h))
        return self.logits(h)[..., 0]


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
