"""jaxselforg: self-organizing and generative learning in JAX.

Topic modules (``from jaxselforg import distances``):

* :mod:`jaxselforg.augment`: on-device, per-example image augmentation (shift, resized crop, flip, noise, erasing)
* :mod:`jaxselforg.data`: Fashion-MNIST / MNIST, synthetic sets, preprocessing, batching
* :mod:`jaxselforg.distances`: the lecture's metrics, pairwise and streaming nearest
* :mod:`jaxselforg.criteria`: compactness, separation, inertia, quantization error, ACC/NMI/ARI
* :mod:`jaxselforg.cluster`: k-means (+ k-medians, mini-batch), winner-take-all
* :mod:`jaxselforg.mixture`: EM for Gaussian and Bernoulli mixtures
* :mod:`jaxselforg.schedules`: hyperparameter decays as optax schedules f(count) (WTA, SOM, RBM, optimizers)
* :mod:`jaxselforg.som`: Kohonen self-organizing maps (online and batch), quality measures, maps
* :mod:`jaxselforg.rbm`: restricted Boltzmann machines (CD-k, PCD), exact and AIS likelihoods, Hopfield
* :mod:`jaxselforg.parallel`: device mesh, row sharding, cross-device reductions
* :mod:`jaxselforg.nn`: Flax NNX blocks (Conv, ConvTranspose2x, MLP, conv encoder/decoder, heads)
* :mod:`jaxselforg.vae`: the VAE (MLP and convolutional), its objective, evaluation, latent helpers, training
* :mod:`jaxselforg.train`: the training core (pure jit'd steps, scanned epochs, vmapped runs, checkpoints, metric logs)
* :mod:`jaxselforg.classify`: CNN and MLP classifiers (the yardstick, the teacher, the baselines)
* :mod:`jaxselforg.distill`: knowledge distillation (Hinton's soft targets, FitNets hints)
* :mod:`jaxselforg.evaluation`: the linear probe, k-NN, retrieval, Fréchet distance, sample scores
* :mod:`jaxselforg.contrastive`: SimCLR (NT-Xent) and metric learning (contrastive, triplet with semi-hard/batch-hard mining)
* :mod:`jaxselforg.gan`: GANs (fully connected, DCGAN, conditional, InfoGAN; minimax, non-saturating, WGAN-GP)
* :mod:`jaxselforg.sklearn`: scikit-learn estimators (KMeans, mixtures, SOM, RBM); imported
  on first use, as scikit-learn is optional
* :mod:`jaxselforg.viz`: image mosaics, curves, SOM maps, latent scatter plots, figure saving
"""

from jaxselforg import (
    augment,
    classify,
    cluster,
    contrastive,
    criteria,
    data,
    distances,
    distill,
    evaluation,
    gan,
    mixture,
    nn,
    parallel,
    rbm,
    schedules,
    som,
    train,
    vae,
    viz,
)

__version__ = "0.1.0"


def __getattr__(name):
    # scikit-learn is an optional dependency: jaxselforg.sklearn is imported on first use.
    if name == "sklearn":
        import importlib

        return importlib.import_module("jaxselforg.sklearn")
    raise AttributeError(f"module 'jaxselforg' has no attribute {name!r}")


__all__ = [
    "__version__",
    "augment",
    "classify",
    "cluster",
    "contrastive",
    "criteria",
    "data",
    "distances",
    "distill",
    "evaluation",
    "gan",
    "mixture",
    "nn",
    "parallel",
    "rbm",
    "schedules",
    "sklearn",
    "som",
    "train",
    "vae",
    "viz",
]
