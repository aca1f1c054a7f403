"""jaxselforg._linalg: one LAPACK call per matrix, even under (nested) vmap."""

import re

import jax
import jax.numpy as jnp
import numpy as np

from jaxselforg import _linalg
from jaxselforg.mixture.gaussian import densities


def _spd_stack(shape, d, seed=0):
    a = np.random.default_rng(seed).normal(size=shape + (d, d)).astype(np.float32)
    return jnp.asarray(a @ np.swapaxes(a, -1, -2) / d + np.eye(d, dtype=np.float32))


def _lapack_operand_ranks(fn, *args):
    """Ranks of the first operand of every LAPACK custom call in the compiled program."""
    hlo = jax.jit(fn).lower(*args).compile().as_text()
    calls = [line for line in hlo.splitlines() if 'custom_call_target="lapack' in line]
    return [len(re.search(r"operand_layout_constraints=\{\w+\[([\d,]*)\]", line)
                .group(1).split(",")) for line in calls]


def test_values_match_numpy_under_nested_vmap():
    p = _spd_stack((2, 3), 6)
    both = jax.vmap(jax.vmap(lambda m: (_linalg.cholesky(m), _linalg.spd_inverse(m))))
    lower, inverse = both(p)
    np.testing.assert_allclose(lower, np.linalg.cholesky(np.asarray(p, np.float64)), atol=1e-5)
    np.testing.assert_allclose(inverse, np.linalg.inv(np.asarray(p, np.float64)), atol=1e-4)
    np.testing.assert_allclose(jax.vmap(jax.vmap(_linalg.inv_lower))(lower),
                               np.linalg.inv(np.asarray(lower, np.float64)), atol=1e-4)


def test_no_batched_lapack_call_is_ever_issued():
    # Batched LAPACK kernels can deadlock jaxlib's CPU thread pool (module docstring).
    p = _spd_stack((2, 3), 6)
    ranks = _lapack_operand_ranks(jax.vmap(jax.vmap(
        lambda m: (_linalg.cholesky(m), _linalg.spd_inverse(m)))), p)
    assert ranks and set(ranks) == {2}, ranks
    # The Gaussian mixture's own factorizations, for a stack of 4 covariances.
    ranks = _lapack_operand_ranks(
        lambda c: densities.from_precisions(c, "full") + (
            densities.precisions_cholesky(c, "full"),), _spd_stack((4,), 5))
    assert ranks and set(ranks) == {2}, ranks
