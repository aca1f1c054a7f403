"""jaxselforg._segments: the CPU scatter and the accelerator product give the same sums."""

import jax
import numpy as np
import pytest

from jaxselforg import _segments


def _reference(x, labels, weights, k):
    sums = np.stack([(x[labels == j] * weights[labels == j, None]).sum(0) for j in range(k)])
    return sums, np.bincount(labels, weights=weights, minlength=k)


@pytest.mark.parametrize("kind", ["real weights", "0/1 weights (no weighted copy of x)"])
def test_both_platform_paths_equal_the_numpy_sums(kind):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3)).astype(np.float32)
    labels = rng.integers(0, 4, size=50)
    labels[labels == 2] = 0  # label 2 has no rows: zeros
    weights = (rng.uniform(0.0, 2.0, size=50) if kind == "real weights"
               else rng.integers(0, 2, size=50)).astype(np.float32)
    expected = _reference(x.astype(np.float64), labels, weights.astype(np.float64), 4)
    paths = {"weighted_sums (this backend)": _segments.weighted_sums(x, labels, weights, 4),
             "scatter (CPU)": _segments._sums_by_scatter(x, labels, weights, 4),
             "product (accelerators)": _segments._sums_by_product(x, labels, weights, 4)}
    for name, (sums, totals) in paths.items():
        np.testing.assert_allclose(sums, expected[0], rtol=1e-5, atol=1e-5, err_msg=name)
        np.testing.assert_allclose(totals, expected[1], rtol=1e-5, err_msg=name)
        assert np.all(np.asarray(sums)[2] == 0), name


def test_vmapped_scatter_takes_the_product_path_with_the_same_sums():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 2)).astype(np.float32)
    labels = rng.integers(0, 3, size=(4, 30))  # four fits' labels over one x
    weights = np.ones(30, np.float32)
    batched = jax.vmap(lambda l: _segments.weighted_sums(x, l, weights, 3))(labels)
    for i in range(4):
        sums, totals = _reference(x.astype(np.float64), labels[i], weights, 3)
        np.testing.assert_allclose(batched[0][i], sums, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(batched[1][i], totals, rtol=1e-6)
