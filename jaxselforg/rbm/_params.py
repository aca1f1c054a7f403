"""The RBM parameter pytrees (re-exported by ``jaxselforg.rbm.model``)."""

from __future__ import annotations

from typing import NamedTuple

import jax


class RBMParams(NamedTuple):
    """A Bernoulli-Bernoulli RBM.

    Attributes:
      w: ``[n_visible, n_hidden]`` weights W.
      a: ``[n_visible]`` visible biases.
      b: ``[n_hidden]`` hidden biases.
    """

    w: jax.Array
    a: jax.Array
    b: jax.Array


class GaussianRBMParams(RBMParams):
    """A Gaussian-Bernoulli RBM: unit-variance real visible units, binary hidden units.

    Same fields as ``RBMParams``; ``a`` is the visible mean when the hidden units are off.
    """

    __slots__ = ()
