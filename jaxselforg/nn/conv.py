"""Convolutional encoder (images -> features) and decoder (features -> images).

The encoder halves the image sides with each stride-2 3x3 convolution; the decoder
doubles them with each stride-2 transposed convolution (3x3, or DCGAN's 4x4) and ends
in a stride-1 convolution to the output channels (the Keras VAE example's shape; with
leaky ReLU, 4x4 transposed kernels and a 7x7 output the Keras DCGAN generator's, and
the encoder with a global max pool its discriminator).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import jax
from flax import nnx

from jaxselforg import _validation
from jaxselforg.nn import _mode
from jaxselforg.nn.layers import Conv, ConvTranspose2x
from jaxselforg.nn.layers import activation as get_activation

__all__ = ["POOLS", "ConvDecoder", "ConvEncoder"]

POOLS = ("flatten", "max", "mean")
"""How :class:`ConvEncoder` turns its last feature map into a vector."""


def _image_shape(image_shape, n_halvings: int, block: str) -> tuple[int, int]:
    shape = _validation.image_shape(image_shape)
    factor = 2**n_halvings
    if any(side % factor for side in shape):
        raise ValueError(f"{block} with {n_halvings} stride-2 layers needs image sides that are "
                         f"multiples of {factor}; got {shape}.")
    return shape


def _channels(channels: Sequence[int]) -> tuple[int, ...]:
    channels = (channels,) if isinstance(channels, int) else tuple(channels)
    if not channels:
        raise ValueError("channels must name at least one convolution; got ().")
    return tuple(_validation.positive_int(c, "channels entry") for c in channels)


class ConvEncoder(nnx.Module):
    """Images ``[n, h, w]`` or ``[n, h, w, c]`` -> features ``[n, features]``.

    ``len(channels)`` stages, each ``stride1_convs`` blocks of ``Conv(3x3, stride 1)``
    and one of ``Conv(3x3, stride 2)``, every block ``Conv -> BatchNorm (optional) ->
    activation`` (a VGG-style stage when ``stride1_convs > 0``), then flatten (or a global max or mean pool over the pixels),
    Dropout (optional), and ``Linear(features) -> activation`` (``features=None``: the
    flattened convolution output, ``h/2^L * w/2^L * channels[-1]`` features, or
    ``channels[-1]`` after a pool).

    Args:
      image_shape: ``(h, w)``, multiples of ``2 ** len(channels)``.
      channels: output channels of each stage's convolutions.
      features: width of the final dense layer, or None for none.
      stride1_convs: stride-1 convolutions before each stage's stride-2 one (0: the
        plain strided encoder of the VAE and the DCGAN discriminator).
      in_channels: input channels (1 for ``[n, h, w]`` images).
      activation: one of ``nn.ACTIVATIONS`` (``"leaky_relu"`` for a DCGAN critic).
      batch_norm: BatchNorm after each convolution but the first (DCGAN's rule: the
        input layer is not normalized).
      dropout: rate before the dense layer (0: none).
      pool: ``"flatten"`` (keep every pixel), ``"max"`` (the Keras DCGAN
        discriminator's global max pool) or ``"mean"``.
      rngs: initialization randomness.
    """

    def __init__(self, image_shape: Sequence[int] = (28, 28), channels: Sequence[int] = (32, 64),
                 features: int | None = 256, *, in_channels: int = 1, activation: str = "relu",
                 batch_norm: bool = False, dropout: float = 0.0, pool: str = "flatten",
                 stride1_convs: int = 0, rngs: nnx.Rngs):
        channels = _channels(channels)
        stride1_convs = _validation.positive_int(stride1_convs, "stride1_convs", minimum=0)
        self.image_shape = _image_shape(image_shape, len(channels), "ConvEncoder")
        self.in_channels = _validation.positive_int(in_channels, "in_channels")
        get_activation(activation)
        self.activation = activation
        outputs = [c for c in channels for _ in range(stride1_convs + 1)]
        strides = ([1] * stride1_convs + [2]) * len(channels)
        widths = (self.in_channels, *outputs)
        # A layer before a BatchNorm has no bias: the norm's shift replaces it (the bias
        # gets an exactly-zero gradient, whose rounding noise Adam would amplify).
        self.convs = nnx.List([Conv(a, b, stride=s, use_bias=not (batch_norm and i > 0),
                                    rngs=rngs)
                               for i, ((a, b), s) in enumerate(
                                   zip(itertools.pairwise(widths), strides))])
        self.norms = nnx.List([_mode.batch_norm(c, batch_norm and i > 0, rngs)
                               for i, c in enumerate(outputs)])
        self.pool = _validation.choice(pool, POOLS, "pool")
        factor = 2 ** len(channels)
        flat = self.image_shape[0] // factor * (self.image_shape[1] // factor) * channels[-1]
        if self.pool != "flatten":
            flat = channels[-1]
        self.drop = _mode.dropout(dropout)
        if features is None:
            self.dense, self.out_features = None, flat
        else:
            self.out_features = _validation.positive_int(features, "features")
            self.dense = nnx.Linear(flat, self.out_features, rngs=rngs)

    def __call__(self, images: jax.Array, *, train: bool = False,
                 key: jax.Array | None = None) -> jax.Array:
        """``[n, h, w(, c)] -> [n, out_features]``; ``key`` draws dropout masks in training."""
        x = images[..., None] if images.ndim == 3 else images
        h, w = self.image_shape
        if x.ndim != 4 or tuple(x.shape[1:]) != (h, w, self.in_channels):
            raise ValueError(f"ConvEncoder expects images [n, {h}, {w}, {self.in_channels}] (or "
                             f"[n, {h}, {w}] for one channel); got shape {tuple(images.shape)}.")
        (key,) = _mode.layer_keys(key, 1, needed=train and self.drop is not None,
                                  block="ConvEncoder")
        act = get_activation(self.activation)
        for conv, norm in zip(self.convs, self.norms):
            x = _mode.normalize_activate_drop(conv(x), norm, act, None, train=train, key=None)
        if self.pool == "max":
            x = x.max(axis=(1, 2))
        elif self.pool == "mean":
            x = x.mean(axis=(1, 2))
        x = x.reshape(x.shape[0], -1)
        if self.drop is not None and train:
            x = self.drop(x, deterministic=False, rngs=key)
        return x if self.dense is None else act(self.dense(x))


class ConvDecoder(nnx.Module):
    """Features ``[n, in_features]`` -> image logits ``[n, h, w]`` (or ``[n, h, w, c]``).

    ``Linear -> BatchNorm (optional) -> activation`` to a ``h/2^L x w/2^L x
    channels[0]`` map, ``L = len(channels)`` blocks of ``ConvTranspose2x -> BatchNorm
    (optional) -> activation`` (block i outputs ``channels[i]``), and a stride-1
    ``Conv`` to ``out_channels`` (a stride-1 "SAME" transposed convolution is a
    "SAME" convolution). The output is unbounded: Bernoulli logits for a VAE, or
    ``tanh`` of it for a GAN generator.

    Args:
      in_features: input width (the latent dimension).
      image_shape: ``(h, w)``, multiples of ``2 ** len(channels)``.
      channels: output channels of the transposed convolutions.
      out_channels: image channels (1: the output is ``[n, h, w]``).
      activation: one of ``nn.ACTIVATIONS``.
      batch_norm: BatchNorm before every activation (DCGAN's generator).
      kernel_size: side of the transposed convolutions' kernels (3; the Keras DCGAN: 4).
      output_kernel_size: side of the output convolution's kernel (3; the Keras DCGAN: 7).
      rngs: initialization randomness.
    """

    def __init__(self, in_features: int, image_shape: Sequence[int] = (28, 28),
                 channels: Sequence[int] = (64, 32), *, out_channels: int = 1,
                 activation: str = "relu", batch_norm: bool = False, kernel_size: int = 3,
                 output_kernel_size: int = 3, rngs: nnx.Rngs):
        channels = _channels(channels)
        self.in_features = _validation.positive_int(in_features, "in_features")
        self.image_shape = _image_shape(image_shape, len(channels), "ConvDecoder")
        self.out_channels = _validation.positive_int(out_channels, "out_channels")
        get_activation(activation)
        self.activation = activation
        factor = 2 ** len(channels)
        self.small = (self.image_shape[0] // factor, self.image_shape[1] // factor,
                      channels[0])
        self.expand = nnx.Linear(self.in_features, self.small[0] * self.small[1] * channels[0],
                                 use_bias=not batch_norm, rngs=rngs)  # no bias before a norm
        self.expand_norm = _mode.batch_norm(channels[0], batch_norm, rngs)
        ins = (channels[0], *channels[:-1])
        self.deconvs = nnx.List([ConvTranspose2x(a, b, kernel_size=kernel_size,
                                                 use_bias=not batch_norm, rngs=rngs)
                                 for a, b in zip(ins, channels)])
        self.norms = nnx.List([_mode.batch_norm(c, batch_norm, rngs) for c in channels])
        self.output = Conv(channels[-1], self.out_channels, stride=1,
                           kernel_size=output_kernel_size, rngs=rngs)

    def __call__(self, z: jax.Array, *, train: bool = False) -> jax.Array:
        """``[n, in_features] -> [n, h, w]`` (one channel) or ``[n, h, w, out_channels]``."""
        if z.ndim != 2 or z.shape[1] != self.in_features:
            raise ValueError(f"ConvDecoder expects inputs [n, {self.in_features}]; got shape "
                             f"{tuple(z.shape)}.")
        act = get_activation(self.activation)
        x = self.expand(z).reshape(z.shape[0], *self.small)
        x = _mode.normalize_activate_drop(x, self.expand_norm, act, None, train=train, key=None)
        for deconv, norm in zip(self.deconvs, self.norms):
            x = _mode.normalize_activate_drop(deconv(x), norm, act, None, train=train, key=None)
        x = self.output(x)
        return x[..., 0] if self.out_channels == 1 else x
