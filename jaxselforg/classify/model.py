"""Supervised classifiers on ``nn`` blocks: the yardstick, the teacher and the baselines.

* ``CNN``: ``nn.ConvEncoder`` (3x3 stride-2 convolutions with BatchNorm, a dense
  feature layer) -> Dropout -> ``Linear(n_classes)``;
* ``MLPClassifier``: ``nn.MLP`` pixels -> hidden widths -> classes, with dropout
  (Hinton et al. 2015's 784-1200-1200-10 teacher and 784-800-800-10 student).

Both return logits ``[n, n_classes]`` for images ``[n, h, w]`` and expose
``features(images)``, the penultimate layer, which the Fréchet classifier distance
compares. Train or eval mode is the explicit ``train`` argument.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
from flax import nnx

from jaxselforg import _validation, nn
from jaxselforg.nn import _mode

__all__ = ["ARCHITECTURES", "CNN", "MLPClassifier", "make_classifier"]

ARCHITECTURES = ("cnn", "mlp")


class CNN(nnx.Module):
    """``nn.ConvEncoder(channels, features, batch_norm) -> Dropout -> Linear(n_classes)``.

    Args:
      image_shape: ``(h, w)``, multiples of ``2 ** len(channels)``.
      n_classes: output classes.
      channels: the channels of each stage (``nn.ConvEncoder``).
      features: width of the penultimate (feature) layer.
      dropout: rate before the output layer.
      stride1_convs: stride-1 convolutions before each stage's stride-2 one (0: two
        strided convolutions only; 1: a VGG-style stage, for the Fashion-MNIST target).
      rngs: initialization randomness.
    """

    def __init__(self, image_shape: Sequence[int] = (28, 28), n_classes: int = 10,
                 channels: Sequence[int] = (32, 64), features: int = 256, dropout: float = 0.3,
                 stride1_convs: int = 0, *, rngs: nnx.Rngs):
        self.image_shape = tuple(image_shape)
        self.encoder = nn.ConvEncoder(self.image_shape, channels, features, batch_norm=True,
                                      stride1_convs=stride1_convs, rngs=rngs)
        self.head = nn.MLP(features, (_validation.positive_int(n_classes, "n_classes"),),
                           rngs=rngs)
        self.drop = _mode.dropout(dropout)

    def features(self, images: jax.Array, *, train: bool = False) -> jax.Array:
        """The penultimate layer ``[n, features]``."""
        return self.encoder(images, train=train)

    def __call__(self, images: jax.Array, *, train: bool = False,
                 key: jax.Array | None = None) -> jax.Array:
        """Logits ``[n, n_classes]``; ``key`` draws the dropout mask when training."""
        h = self.features(images, train=train)
        if self.drop is not None and train:
            (key,) = _mode.layer_keys(key, 1, needed=True, block="CNN")
            h = self.drop(h, deterministic=False, rngs=key)
        return self.head(h)


class MLPClassifier(nnx.Module):
    """``nn.MLP`` pixels -> ``hidden`` (ReLU, dropout) -> ``n_classes`` logits.

    Args:
      image_shape: ``(h, w)``.
      n_classes: output classes.
      hidden: hidden widths ((1200, 1200) is Hinton et al.'s teacher).
      dropout: rate after each hidden layer (0 for the unregularized baseline).
      rngs: initialization randomness.
    """

    def __init__(self, image_shape: Sequence[int] = (28, 28), n_classes: int = 10,
                 hidden: Sequence[int] = (1200, 1200), dropout: float = 0.5, *, rngs: nnx.Rngs):
        self.image_shape = tuple(image_shape)
        n_pixels = self.image_shape[0] * self.image_shape[1]
        self.net = nn.MLP(n_pixels, (*tuple(hidden), n_classes), dropout=dropout, rngs=rngs)

    def features(self, images: jax.Array, *, train: bool = False,
                 key: jax.Array | None = None) -> jax.Array:
        """The last hidden layer ``[n, hidden[-1]]``."""
        return self.net.features(images, train=train, key=key)

    def __call__(self, images: jax.Array, *, train: bool = False,
                 key: jax.Array | None = None) -> jax.Array:
        """Logits ``[n, n_classes]``; ``key`` draws the dropout masks when training."""
        return self.net(images, train=train, key=key)


def make_classifier(architecture: str = "cnn", *, image_shape: Sequence[int] = (28, 28),
                    n_classes: int = 10, rngs: nnx.Rngs, **settings) -> nnx.Module:
    """A ``CNN`` or ``MLPClassifier`` by name; ``settings`` are the class's arguments.

    Raises:
      ValueError: unknown ``architecture`` (accepted: ``ARCHITECTURES``) or bad sizes.
    """
    _validation.choice(architecture, ARCHITECTURES, "architecture")
    cls = CNN if architecture == "cnn" else MLPClassifier
    return cls(image_shape, n_classes, **settings, rngs=rngs)
