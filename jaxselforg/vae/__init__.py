"""The variational autoencoder (lecture section 9): models (an ``nn`` encoder, a
Gaussian head and a decoder; MLP and convolutional), the objective, evaluation
(-ELBO, importance-weighted ln P(x), latent usage), latent-space helpers and training.

    result = vae.train_vae(x, key=jax.random.key(0), latent_dim=20, epochs=10)
    print(vae.evaluate(result.model, x_test_binary, key=key, n_samples=5000))
    rows = vae.latent_traversal(result.model, x_test[0])   # [latent_dim, 11, 28, 28]
"""

from jaxselforg.vae.evaluation import (
    LatentUsage,
    VAEEvaluation,
    elbo_terms,
    evaluate,
    importance_log_likelihood,
    latent_usage,
    reconstruction_error,
)
from jaxselforg.vae.latent import (
    decode,
    encode,
    interpolate,
    latent_grid,
    latent_traversal,
    sample,
)
from jaxselforg.vae.model import ARCHITECTURES, MLPVAE, VAE, ConvVAE, make_vae
from jaxselforg.vae.objective import (
    Objective,
    VAELoss,
    bernoulli_log_likelihood,
    gaussian_kl,
    gaussian_log_density,
    reparameterize,
    vae_loss,
)
from jaxselforg.vae.training import OPTIMIZER, VAETraining, train_vae

__all__ = [
    "ARCHITECTURES",
    "MLPVAE",
    "OPTIMIZER",
    "VAE",
    "ConvVAE",
    "LatentUsage",
    "Objective",
    "VAEEvaluation",
    "VAELoss",
    "VAETraining",
    "bernoulli_log_likelihood",
    "decode",
    "elbo_terms",
    "encode",
    "evaluate",
    "gaussian_kl",
    "gaussian_log_density",
    "importance_log_likelihood",
    "interpolate",
    "latent_grid",
    "latent_traversal",
    "latent_usage",
    "make_vae",
    "reconstruction_error",
    "reparameterize",
    "sample",
    "train_vae",
    "vae_loss",
]
