"""Transfer learning (the lecture's training techniques): reuse what one network learned
in another. A trained network's representation (:func:`encoder_of`: a CNN classifier, a
SimCLR or metric-learning encoder, a VAE's posterior mean, an RBM's hidden units) gets
a new head, trained alone on the frozen encoder or fine-tuned together with it
(:func:`train_transfer`); :func:`encode` gives the frozen features for a linear probe.

    encoder = transfer.encoder_of(mnist_cnn.model)
    result = transfer.train_transfer(x_fashion[:1000], y_fashion[:1000], encoder,
                                     key=jax.random.key(0), mode="fine_tune")
"""

from jaxselforg.transfer.model import KINDS, Encoder, TransferNet, encoder_of
from jaxselforg.transfer.training import MODES, encode, train_transfer

__all__ = ["KINDS", "MODES", "Encoder", "TransferNet", "encode", "encoder_of",
           "train_transfer"]
