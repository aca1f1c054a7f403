"""The embedding network of SimCLR and metric learning, on ``nn`` blocks.

``EmbeddingNet``: ``nn.ConvEncoder`` (3x3 stride-2 convolutions, BatchNorm, a dense
feature layer) -> ``nn.MLP`` head -> optional L2 normalization. SimCLR trains the
head's output (the projection z = g(h)) and evaluates the encoder's h = f(x)
(``features``), as Chen et al. do; metric learning trains and evaluates the
normalized head output. Train or eval mode is the explicit ``train`` argument.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
from flax import nnx

from jaxselforg import nn
from jaxselforg.contrastive.losses import _unit

__all__ = ["EmbeddingNet"]


class EmbeddingNet(nnx.Module):
    """``nn.ConvEncoder(channels, features) -> nn.MLP(head) (-> z / ||z||)``.

    Args:
      image_shape: ``(h, w)``, multiples of ``2 ** len(channels)``.
      channels: the stride-2 convolutions' channels (SimCLR's small-MNIST notebook has
        32, 64, 64; 28x28 images allow two halvings, so 32, 64 by default).
      features: width of the dense layer ending the encoder (its output h is the
        representation evaluated), or None for none: h is then the flattened
        convolution maps (SimCLR's choice, :func:`train_simclr`'s default).
      head: widths of the head's layers (ReLU between them, the last linear):
        SimCLR's 2-layer projection (256, 64); one layer (64,) for metric learning.
      normalize: L2-normalize the head's output (the triplet loss's convention).
      batch_norm: BatchNorm in the encoder (after every convolution but the first).
      rngs: initialization randomness.
    """

    def __init__(self, image_shape: Sequence[int] = (28, 28),
                 channels: Sequence[int] = (32, 64), features: int | None = 128,
                 head: Sequence[int] = (256, 64), *, normalize: bool = False,
                 batch_norm: bool = True, rngs: nnx.Rngs):
        self.image_shape = tuple(image_shape)
        self.encoder = nn.ConvEncoder(self.image_shape, channels, features,
                                      batch_norm=batch_norm, rngs=rngs)
        self.head = nn.MLP(self.encoder.out_features, tuple(head), rngs=rngs)
        self.normalize = bool(normalize)

    @property
    def out_features(self) -> int:
        """Width of the head's output."""
        return self.head.widths[-1]

    def features(self, images: jax.Array, *, train: bool = False) -> jax.Array:
        """The encoder's representation h = f(x), ``[n, features]``."""
        return self.encoder(images, train=train)

    def __call__(self, images: jax.Array, *, train: bool = False) -> jax.Array:
        """The head's output z = g(f(x)) ``[n, head[-1]]`` (unit rows if ``normalize``)."""
        z = self.head(self.features(images, train=train), train=train)
        return _unit(z) if self.normalize else z
