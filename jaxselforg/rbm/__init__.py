"""Restricted Boltzmann machines (lecture section 8) and the Hopfield network.

* :mod:`~jaxselforg.rbm.model`: ``RBMParams`` / ``GaussianRBMParams``, energy, free
  energy, the conditionals P(h | v) and P(v | h), samplers.
* :mod:`~jaxselforg.rbm.training`: CD-k and PCD (``fit``, and the optax-style
  ``contrastive_divergence`` rule, whose gradient estimate an Optax ``optimizer`` applies).
* :mod:`~jaxselforg.rbm.partition`: ln Z exactly (enumeration) or by AIS, and
  log-likelihoods in nats.
* :mod:`~jaxselforg.rbm.sampling`: Gibbs chains, pattern completion, denoising.
* :mod:`~jaxselforg.rbm.monitoring`: reconstruction error, pseudo-log-likelihood,
  free-energy gap.
* :mod:`~jaxselforg.rbm.hopfield`: Hebbian storage and recall (``from jaxselforg.rbm
  import hopfield``).

Typical use on binarized MNIST::

    params, history = rbm.fit(x_train, 500, key=key, persistent=True)
    log_z, log_z_std = rbm.log_partition_ais(params, key=key, data=x_train)
    test_ll = rbm.log_likelihood(params, x_test, log_z=log_z).mean()
"""

from jaxselforg.rbm import hopfield
from jaxselforg.rbm.model import (
    VISIBLE_UNITS,
    GaussianRBMParams,
    RBMParams,
    energy,
    free_energy,
    hidden_given_visible,
    init_params,
    sample_hidden,
    sample_visible,
    visible_given_hidden,
)
from jaxselforg.rbm.monitoring import (
    free_energy_gap,
    pseudo_log_likelihood,
    pseudo_log_likelihood_one_bit,
    reconstruction_error,
)
from jaxselforg.rbm.partition import (
    MAX_EXACT_UNITS,
    ais_betas,
    ais_log_weights,
    log_likelihood,
    log_partition_ais,
    log_partition_exact,
)
from jaxselforg.rbm.sampling import (
    GibbsChain,
    complete,
    denoise,
    gibbs_chain,
    salt_and_pepper,
    sample,
    sample_snapshots,
)
from jaxselforg.rbm.memory import RestorationErrors, restoration_errors
from jaxselforg.rbm.training import (
    RBMFit,
    RBMLearner,
    RBMTrainState,
    cd_gradient,
    contrastive_divergence,
    fit,
    optimizer,
)

__all__ = [
    "hopfield",
    "VISIBLE_UNITS",
    "RBMParams",
    "GaussianRBMParams",
    "init_params",
    "energy",
    "free_energy",
    "hidden_given_visible",
    "visible_given_hidden",
    "sample_hidden",
    "sample_visible",
    "RBMTrainState",
    "RBMLearner",
    "RBMFit",
    "cd_gradient",
    "contrastive_divergence",
    "optimizer",
    "fit",
    "MAX_EXACT_UNITS",
    "log_partition_exact",
    "ais_betas",
    "ais_log_weights",
    "log_partition_ais",
    "log_likelihood",
    "reconstruction_error",
    "pseudo_log_likelihood",
    "pseudo_log_likelihood_one_bit",
    "free_energy_gap",
    "GibbsChain",
    "gibbs_chain",
    "sample",
    "sample_snapshots",
    "complete",
    "denoise",
    "salt_and_pepper",
    "RestorationErrors",
    "restoration_errors",
]
