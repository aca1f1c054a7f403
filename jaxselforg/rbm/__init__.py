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

# Each submodule's __all__ is its public API; the package re-exports them all.
from jaxselforg.rbm import hopfield, memory, model, monitoring, partition, sampling, training
from jaxselforg.rbm.memory import *
from jaxselforg.rbm.model import *
from jaxselforg.rbm.monitoring import *
from jaxselforg.rbm.partition import *
from jaxselforg.rbm.sampling import *
from jaxselforg.rbm.training import *

__all__ = ["hopfield", *model.__all__, *training.__all__, *partition.__all__,  # noqa: PLE0604
           *monitoring.__all__, *sampling.__all__, *memory.__all__]
