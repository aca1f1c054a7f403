"""A pretrained network cut at its representation, and a new head on top of it.

``encoder_of`` takes what the library trains -- a classifier (``classify.CNN``,
``classify.MLPClassifier``), a SimCLR / metric-learning ``contrastive.EmbeddingNet``, a
VAE (the mean of q(z | x)), an RBM (the hidden units' probabilities) -- or their
training results, and returns an :class:`Encoder`: ``images [n, h, w] -> [n, d]``.
:class:`TransferNet` puts a new ``nn.MLP`` head on an encoder; its parameters are
``encoder/...`` and ``head/...``, which :mod:`~jaxselforg.transfer.training` trains at
different rates (or freezes) with ``train.partition``.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from jaxselforg import nn
from jaxselforg.rbm import RBMParams

__all__ = ["KINDS", "Encoder", "TransferNet", "encoder_of"]

KINDS = ("conv", "mlp", "vae", "rbm")
"""What an :class:`Encoder` cuts: a ``nn.ConvEncoder`` (a CNN classifier's or an
embedding network's), a classifier MLP's hidden layers, a VAE's posterior mean, an RBM's
hidden units."""


class _RBMHidden(nnx.Module):
    """p(h = 1 | v) = sigmoid(v W + b) of an RBM, its weights as parameters."""

    def __init__(self, params: RBMParams):
        self.w = nnx.Param(jnp.asarray(params.w))
        self.b = nnx.Param(jnp.asarray(params.b))

    def __call__(self, images: jax.Array) -> jax.Array:
        return jax.nn.sigmoid(images.reshape(images.shape[0], -1) @ self.w[...] + self.b[...])


class Encoder(nnx.Module):
    """A pretrained network cut at its representation: ``images [n, h, w] -> [n, d]``.

    Build it with :func:`encoder_of`. Train or eval mode is the explicit ``train``
    argument (BatchNorm of a convolutional encoder: batch statistics and their update in
    train mode, the running ones in eval mode); the VAE's and the RBM's features have no
    mode.

    Attributes:
      kind: one of ``KINDS``.
      image_shape: ``(h, w)``.
      out_features: d.
    """

    def __init__(self, body: nnx.Module, kind: str, image_shape: Sequence[int]):
        if kind not in KINDS:
            raise ValueError(f"Unknown encoder kind {kind!r}; accepted: {KINDS}.")
        self.body, self.kind, self.image_shape = body, kind, tuple(image_shape)
        self.out_features = int(jax.eval_shape(
            lambda: self(jnp.zeros((1, *self.image_shape)))).shape[1])

    def __call__(self, images: jax.Array, *, train: bool = False) -> jax.Array:
        if self.kind == "conv":
            return self.body(images, train=train)
        if self.kind == "mlp":  # a classifier MLP's last hidden layer; its dropout stays off
            return self.body.features(images)
        if self.kind == "vae":
            return self.body.encode(images)[0]
        return self.body(images)


def _module(source):
    """The network inside a training result (``.model``), or ``source`` itself."""
    if isinstance(source, nnx.Module | RBMParams):
        return source
    if isinstance(getattr(source, "params", None), RBMParams):  # rbm.fit's RBMFit
        return source.params
    try:
        return source.model
    except (AttributeError, ValueError) as error:
        raise TypeError(f"encoder_of takes a trained network (classify.CNN, "
                        f"classify.MLPClassifier, contrastive.EmbeddingNet, a vae.VAE, "
                        f"rbm.RBMParams) or a single run's training result; got "
                        f"{type(source).__name__} ({error}).") from None


def encoder_of(source, *, image_shape: Sequence[int] = (28, 28)) -> Encoder:
    """The representation of a trained network as an :class:`Encoder` (a copy).

    Args:
      source: a ``classify.CNN`` (its ``ConvEncoder``: the penultimate features), a
        ``classify.MLPClassifier`` (its last hidden layer), a ``contrastive.EmbeddingNet``
        (its encoder h, before the projection head), a ``vae.VAE`` (the mean of
        q(z | x)), ``rbm.RBMParams`` (p(h = 1 | v) of the pixels), or the training result
        of one run of any of them (``.model``; ``rbm.fit``'s result).
      image_shape: ``(h, w)`` for an RBM (the others know theirs).

    Raises:
      TypeError: anything else (or a sweep's result: pick a run with ``model_of(i)``).
    """
    from jaxselforg import classify, contrastive, vae  # these import nn/train, not transfer

    module = _module(source)
    if isinstance(module, RBMParams):
        h, w = image_shape
        if module.w.shape[0] != h * w:
            raise ValueError(f"The RBM has {module.w.shape[0]} visible units; images of "
                             f"{tuple(image_shape)} have {h * w} pixels.")
        return Encoder(_RBMHidden(module), "rbm", image_shape)
    module = nnx.clone(module)
    if isinstance(module, classify.CNN | contrastive.EmbeddingNet):
        return Encoder(module.encoder, "conv", module.image_shape)
    if isinstance(module, classify.MLPClassifier):
        return Encoder(module.net, "mlp", module.image_shape)
    if isinstance(module, vae.VAE):
        return Encoder(module, "vae", module.image_shape)
    raise TypeError(f"No encoder is known for {type(module).__name__}; accepted: classify.CNN, "
                    "classify.MLPClassifier, contrastive.EmbeddingNet, vae.VAE, rbm.RBMParams.")


class TransferNet(nnx.Module):
    """``encoder -> nn.MLP(hidden..., n_classes)``: a new head on a pretrained encoder.

    Args:
      encoder: an :class:`Encoder`.
      n_classes: output classes.
      hidden: the head's hidden widths (``()``: a linear head on the features).
      dropout: rate after each hidden layer of the head.
      frozen: the encoder always runs in eval mode (a frozen encoder's BatchNorm
        statistics stay as trained); otherwise it follows ``train``.
      rngs: the head's initialization.
    """

    def __init__(self, encoder: Encoder, n_classes: int = 10, hidden: Sequence[int] = (),
                 dropout: float = 0.0, *, frozen: bool = False, rngs: nnx.Rngs):
        if not isinstance(encoder, Encoder):
            raise TypeError(f"TransferNet needs a transfer.Encoder (see encoder_of); got "
                            f"{type(encoder).__name__}.")
        self.encoder = encoder
        self.image_shape = encoder.image_shape
        self.frozen = bool(frozen)
        self.head = nn.MLP(encoder.out_features, (*tuple(hidden), n_classes), dropout=dropout,
                           rngs=rngs)

    def features(self, images: jax.Array, *, train: bool = False) -> jax.Array:
        """The encoder's representation ``[n, d]``."""
        return self.encoder(images, train=train and not self.frozen)

    def __call__(self, images: jax.Array, *, train: bool = False,
                 key: jax.Array | None = None) -> jax.Array:
        """Logits ``[n, n_classes]``; ``key`` draws the head's dropout masks in training."""
        return self.head(self.features(images, train=train), train=train, key=key)
