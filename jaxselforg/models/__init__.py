"""Flax NNX models: the variational autoencoder (MLP and convolutional), its loss,
evaluation (-ELBO, importance-weighted ln P(x)), latent-space helpers and training."""

from jaxselforg.models.vae import (
    ACTIVATIONS,
    ARCHITECTURES,
    MLPVAE,
    VAE,
    Conv3x3,
    ConvTranspose2x,
    ConvVAE,
    make_vae,
)
from jaxselforg.models.vae_evaluation import (
    VAEEvaluation,
    elbo_terms,
    evaluate,
    importance_log_likelihood,
    reconstruction_error,
)
from jaxselforg.models.vae_latent import (
    decode,
    encode,
    interpolate,
    latent_grid,
    latent_traversal,
    sample,
)
from jaxselforg.models.vae_objective import (
    VAELoss,
    bernoulli_log_likelihood,
    gaussian_kl,
    gaussian_log_density,
    make_loss,
    reparameterize,
    vae_loss,
)
from jaxselforg.models.vae_training import VAETraining, train_vae

__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURES",
    "MLPVAE",
    "VAE",
    "Conv3x3",
    "ConvTranspose2x",
    "ConvVAE",
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
    "make_loss",
    "make_vae",
    "reconstruction_error",
    "reparameterize",
    "sample",
    "train_vae",
    "vae_loss",
]
