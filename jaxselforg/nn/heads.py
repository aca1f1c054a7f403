"""Output heads on top of a network's features."""

from __future__ import annotations

import jax
from flax import nnx

from jaxselforg import _validation

__all__ = ["GaussianHead"]


class GaussianHead(nnx.Module):
    """Features ``h [n, f]`` -> a diagonal Gaussian ``(mu(h), ln sigma^2(h))``, each ``[n, d]``.

    Two linear maps, mu = W_mu h + b_mu and ln sigma^2 = W_v h + b_v: a VAE's
    encoder output Q(z | x) = N(mu, diag sigma^2).

    Args:
      in_features: f.
      out_features: d (the latent dimension).
      rngs: initialization randomness.
    """

    def __init__(self, in_features: int, out_features: int, *, rngs: nnx.Rngs):
        in_features = _validation.positive_int(in_features, "in_features")
        self.out_features = _validation.positive_int(out_features, "latent_dim")
        self.mean = nnx.Linear(in_features, self.out_features, rngs=rngs)
        self.log_variance = nnx.Linear(in_features, self.out_features, rngs=rngs)

    def __call__(self, h: jax.Array) -> tuple[jax.Array, jax.Array]:
        return self.mean(h), self.log_variance(h)
