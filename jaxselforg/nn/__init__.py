"""Flax NNX building blocks shared by every network of the library: the VAE, the GAN
generators and discriminators, the SimCLR encoder and the classifiers.

Train vs eval mode is an explicit argument, never module state::

    features = encoder(images, train=True, key=dropout_key)  # batch statistics, dropout
    features = encoder(images)                               # eval: running averages

Blocks: ``Conv3x3`` and ``ConvTranspose2x`` (3x3 convolutions as matrix products),
``MLP``, ``ConvEncoder`` (images -> features), ``ConvDecoder`` (features -> images)
and ``GaussianHead`` (features -> (mean, log variance)).
"""

from jaxselforg.nn.conv import ConvDecoder, ConvEncoder
from jaxselforg.nn.heads import GaussianHead
from jaxselforg.nn.layers import ACTIVATIONS, Conv3x3, ConvTranspose2x, activation
from jaxselforg.nn.mlp import MLP

__all__ = ["ACTIVATIONS", "MLP", "Conv3x3", "ConvDecoder", "ConvEncoder", "ConvTranspose2x",
           "GaussianHead", "activation"]
