"""Generative adversarial networks (lecture section 9): G: Z -> images against D: images ->
[0, 1] in the game min_G max_D E_x[ln D(x)] + E_z[ln(1 - D(G(z)))].

* ``model``: fully connected (Goodfellow et al. 2014) and DCGAN (the Keras example)
  generators and discriminators, conditional (Mirza & Osindero 2014) or InfoGAN's;
* ``objective``: the minimax loss, the non-saturating generator loss, WGAN-GP, InfoGAN's
  information term;
* ``training``: ``train_gan`` (the training core's alternating step, checkpoints, seed
  sweeps vmapped in one program);
* ``sampling``: samples, one row per class, latent interpolation, InfoGAN code traversals.

Example::

    result = gan.train_gan(images, key=jax.random.key(0), epochs=30)
    grid = gan.sample(result.generator, 64, key=jax.random.key(1))
"""

# Each submodule's __all__ is its public API; the package re-exports them all.
from jaxselforg.gan import model, objective, sampling, training
from jaxselforg.gan.model import *
from jaxselforg.gan.objective import *
from jaxselforg.gan.sampling import *
from jaxselforg.gan.training import *

__all__ = [*model.__all__, *objective.__all__, *sampling.__all__,  # noqa: PLE0604
           *training.__all__]
