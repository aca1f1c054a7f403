"""Flax NNX building blocks shared by every network of the library: the VAE, the GAN
generators and discriminators, the SimCLR encoder and the classifiers.

Train vs eval mode is an explicit argument, never module state::

    features = encoder(images, train=True, key=dropout_key)  # batch statistics, dropout
    features = encoder(images)                               # eval: running averages

Blocks: ``Conv`` and ``ConvTranspose2x`` (square-kernel convolutions as matrix products),
``MLP``, ``ConvEncoder`` (images -> features), ``ConvDecoder`` (features -> images)
and ``GaussianHead`` (features -> (mean, log variance)); ``n_parameters`` counts a
network's trainable values.
"""

from jaxselforg.nn.conv import POOLS, ConvDecoder, ConvEncoder
from jaxselforg.nn.heads import GaussianHead
from jaxselforg.nn.layers import ACTIVATIONS, Conv, ConvTranspose2x, activation
from jaxselforg.nn.mlp import MLP
from jaxselforg.nn.parameters import n_parameters

__all__ = ["ACTIVATIONS", "MLP", "POOLS", "Conv", "ConvDecoder", "ConvEncoder", "ConvTranspose2x",
           "GaussianHead", "activation", "n_parameters"]
