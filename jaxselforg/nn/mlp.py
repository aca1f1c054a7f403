"""A multilayer perceptron: the dense network of the VAE, the classifiers, the GAN
discriminators and the projection heads."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import jax
from flax import nnx

from jaxselforg import _validation
from jaxselforg.nn import _mode
from jaxselforg.nn.layers import activation as get_activation

__all__ = ["MLP"]


class MLP(nnx.Module):
    """Dense layers ``in_features -> widths[0] -> ... -> widths[-1]``.

    Every layer but the last is ``Linear -> BatchNorm (optional) -> activation ->
    Dropout (optional)``; the last is a plain ``Linear`` (logits, a code), or an
    activated layer like the others with ``activate_final=True`` (an encoder's
    features). Train or eval mode is the explicit ``train`` argument of the call.

    Args:
      in_features: input width (inputs ``[n, ...]`` are flattened to ``[n, in_features]``).
      widths: output widths of the layers (at least one).
      activation: one of ``nn.ACTIVATIONS``.
      activate_final: treat the last layer as a hidden one.
      dropout: dropout rate after each activated layer (0: none).
      batch_norm: BatchNorm before each activation.
      rngs: initialization randomness.

    Raises:
      ValueError: no widths, a width < 1, an unknown activation, a rate outside [0, 1).

    Examples:
      >>> net = nn.MLP(784, (1200, 1200, 10), dropout=0.5, rngs=nnx.Rngs(0))
      >>> logits = net(images, train=True, key=jax.random.key(1))  # [n, 10]
    """

    def __init__(self, in_features: int, widths: Sequence[int], *, activation: str = "relu",
                 activate_final: bool = False, dropout: float = 0.0, batch_norm: bool = False,
                 rngs: nnx.Rngs):
        widths = (widths,) if isinstance(widths, int) else tuple(widths)
        if not widths:
            raise ValueError("MLP needs at least one layer width; got widths=().")
        sizes = [_validation.positive_int(in_features, "in_features"),
                 *(_validation.positive_int(w, "MLP width") for w in widths)]
        self.in_features, self.widths = sizes[0], widths
        get_activation(activation)  # validates the name
        self.activation = activation
        self.activate_final = bool(activate_final)
        n_activated = len(widths) if activate_final else len(widths) - 1
        # A layer before a BatchNorm has no bias: the norm's shift replaces it.
        self.layers = nnx.List([nnx.Linear(a, b, use_bias=not (batch_norm and i < n_activated),
                                           rngs=rngs)
                                for i, (a, b) in enumerate(itertools.pairwise(sizes))])
        self.norms = nnx.List([_mode.batch_norm(w, batch_norm, rngs)
                               for w in widths[:n_activated]])
        rate = _mode.dropout_rate(dropout)
        self.drops = nnx.List([_mode.dropout(rate) for _ in range(n_activated)])

    @property
    def out_features(self) -> int:
        return self.widths[-1]

    def _run(self, x, n_layers: int, train: bool, key):
        h = x.reshape(x.shape[0], -1)
        if h.shape[1] != self.in_features:
            raise ValueError(f"MLP expects {self.in_features} input features per example; got "
                             f"input shape {tuple(x.shape)}.")
        act = get_activation(self.activation)
        keys = _mode.layer_keys(key, len(self.drops),
                                needed=train and any(d is not None for d in self.drops),
                                block="MLP")
        for i, layer in enumerate(self.layers[:n_layers]):
            h = layer(h)
            if i < len(self.norms):
                h = _mode.normalize_activate_drop(h, self.norms[i], act, self.drops[i],
                                                  train=train, key=keys[i])
        return h

    def features(self, x: jax.Array, *, train: bool = False,
                 key: jax.Array | None = None) -> jax.Array:
        """The input of the last layer ``[n, widths[-2]]`` (the inputs, flattened, for a
        one-layer MLP): a classifier's penultimate features."""
        return self._run(x, len(self.layers) - 1, train, key)

    def __call__(self, x: jax.Array, *, train: bool = False,
                 key: jax.Array | None = None) -> jax.Array:
        """``[n, ...] -> [n, widths[-1]]``; ``key`` draws the dropout masks when training."""
        return self._run(x, len(self.layers), train, key)
