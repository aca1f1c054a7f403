"""jaxselforg.distances against scipy's cdist, sklearn, and the metric axioms."""

import functools

import hypothesis
import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.metrics.pairwise import cosine_distances

from jaxselforg import data, distances

# (our metric, scipy's name, keyword arguments)
SCIPY_METRICS = [
    ("euclidean", "euclidean", {}),
    ("sqeuclidean", "sqeuclidean", {}),
    ("manhattan", "cityblock", {}),
    ("cityblock", "cityblock", {}),
    ("chebyshev", "chebyshev", {}),
    ("supremum", "chebyshev", {}),
    ("minkowski", "minkowski", {"p": 3.0}),
    ("minkowski", "minkowski", {"p": 1.5}),
    ("minkowski", "minkowski", {"p": 0.5}),
    ("cosine", "cosine", {}),
]
TRUE_METRICS = [("euclidean", {}), ("manhattan", {}), ("chebyshev", {}),
                ("minkowski", {"p": 1.5}), ("minkowski", {"p": 3.0})]


@pytest.fixture(scope="module")
def fashion():
    images, _ = data.load("fashion_mnist", "train")
    rows = np.asarray(data.flatten(data.to_unit_range(images[:70])))
    return rows[:40], rows[40:]


@pytest.fixture(scope="module")
def gaussian():
    rng = np.random.default_rng(0)
    return (rng.normal(size=(23, 11)).astype(np.float32),
            rng.normal(size=(17, 11)).astype(np.float32),
            rng.uniform(0.1, 2.0, size=11).astype(np.float32))


def _cdist(x, y, metric, w=None, **kwargs):
    return cdist(np.float64(x), np.float64(y), metric, w=None if w is None else np.float64(w),
                 **kwargs)


@pytest.mark.parametrize("metric,scipy_metric,kwargs", SCIPY_METRICS)
@pytest.mark.parametrize("weighted", [False, True])
def test_pairwise_equals_cdist_on_fashion_mnist(fashion, metric, scipy_metric, kwargs, weighted):
    x, y = fashion
    w = np.random.default_rng(1).uniform(0.0, 3.0, x.shape[1]).astype(np.float32) if weighted \
        else None
    if weighted:
        w[::7] = 0.0  # zero weights drop features (chebyshev: from the max)
    ours = distances.pairwise(x, y, metric, w=w, **kwargs)
    np.testing.assert_allclose(ours, _cdist(x, y, scipy_metric, w=w, **kwargs), rtol=1e-5)


@pytest.mark.parametrize("metric,scipy_metric,kwargs", SCIPY_METRICS)
def test_pairwise_equals_cdist_on_random_data(gaussian, metric, scipy_metric, kwargs):
    x, y, w = gaussian
    for weights in (None, w):
        ours = distances.pairwise(x, y, metric, w=weights, **kwargs)
        np.testing.assert_allclose(ours, _cdist(x, y, scipy_metric, w=weights, **kwargs),
                                   rtol=1e-5)


def test_dot_is_one_minus_inner_product(gaussian):
    x, y, w = gaussian
    np.testing.assert_allclose(distances.pairwise(x, y, "dot"), 1 - np.float64(x) @ y.T,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(distances.pairwise(x, y, "dot", w=w),
                               1 - (np.float64(x) * w) @ y.T, rtol=1e-5, atol=1e-5)


def test_distance_of_one_pair_equals_pairwise(gaussian):
    x, y, w = gaussian
    for metric, _, kwargs in SCIPY_METRICS:
        one = distances.distance(x[3], y[5], metric, w=w, **kwargs)
        np.testing.assert_allclose(one, distances.pairwise(x, y, metric, w=w, **kwargs)[3, 5],
                                   rtol=1e-5)


def test_chebyshev_takes_absolute_differences():
    # MiniSom's _chebyshev_distance computes max(x - w) and would answer 3 here.
    x, y = jnp.array([0.0, 0.0]), jnp.array([3.0, -5.0])
    assert distances.distance(x, y, "chebyshev") == 5.0
    assert distances.pairwise(x[None], y[None], "supremum")[0, 0] == 5.0
    assert distances.nearest(x[None], jnp.stack([y, y + 10]), "chebyshev")[1][0] == 5.0


def test_cosine_with_zero_vectors_is_one_like_sklearn():
    x = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]], np.float32)
    y = np.array([[0.0, 0.0, 0.0], [3.0, -1.0, 0.5]], np.float32)
    ours = np.asarray(distances.pairwise(x, y, "cosine"))
    assert np.all(np.isfinite(ours))
    np.testing.assert_allclose(ours, cosine_distances(x, y), rtol=1e-6, atol=1e-6)
    assert distances.distance(x[0], y[1], "cosine") == 1.0


def test_jit_and_eager_agree(gaussian):
    x, y, w = gaussian
    for metric, _, kwargs in SCIPY_METRICS + [("dot", None, {})]:
        compiled = distances.pairwise(x, y, metric, w=w, **kwargs)
        with jax.disable_jit():
            eager = distances.pairwise(x, y, metric, w=w, **kwargs)
        np.testing.assert_allclose(compiled, eager, rtol=1e-5, atol=1e-6)
    # The streaming loop eagerly is a Python loop over tiles: a few metrics suffice.
    for metric, kwargs in [("euclidean", {}), ("chebyshev", {}), ("minkowski", {"p": 3.0})]:
        index, dist = distances.nearest(x, y, metric, w=w, block_size=9, **kwargs)
        with jax.disable_jit():
            eager_index, eager_dist = distances.nearest(x, y, metric, w=w, block_size=9, **kwargs)
        np.testing.assert_array_equal(index, eager_index)
        np.testing.assert_allclose(dist, eager_dist, rtol=1e-5, atol=1e-6)


def test_concrete_exponent_inside_a_users_jit(gaussian):
    x, y, _ = gaussian
    inside = jax.jit(lambda a: distances.pairwise(a, y, "minkowski", p=3.0))(x)
    np.testing.assert_allclose(inside, distances.pairwise(x, y, "minkowski", p=3.0), rtol=1e-6)
    index = jax.jit(lambda a: distances.nearest(a, y, "minkowski", p=0.5)[0])(x)
    np.testing.assert_array_equal(index, _cdist(x, y, "minkowski", p=0.5).argmin(1))


def test_vmap_matches_a_loop(gaussian):
    x, y, _ = gaussian
    batch = jnp.stack([x, 2 * x, x - 1])
    mapped = jax.vmap(lambda b: distances.pairwise(b, y, "manhattan"))(batch)
    for i in range(batch.shape[0]):
        np.testing.assert_allclose(mapped[i], distances.pairwise(batch[i], y, "manhattan"),
                                   rtol=1e-6)
    pairs = jax.vmap(lambda a, b: distances.distance(a, b, "cosine"))(x[:10], y[:10])
    np.testing.assert_allclose(pairs, [distances.distance(a, b, "cosine")
                                       for a, b in zip(x[:10], y[:10])], rtol=1e-6)


def test_traced_minkowski_exponent_sweeps_in_one_program(gaussian):
    x, y, _ = gaussian
    exponents = jnp.array([0.7, 1.5, 3.0, 4.0])
    swept = jax.jit(jax.vmap(lambda p: distances.pairwise(x, y, "minkowski", p=p)))(exponents)
    for p, result in zip([0.7, 1.5, 3.0, 4.0], swept):
        np.testing.assert_allclose(result, _cdist(x, y, "minkowski", p=p), rtol=1e-5)
    nearest_swept = jax.jit(jax.vmap(lambda p: distances.nearest(x, y, "minkowski", p=p)[0]))(
        exponents)
    for p, index in zip([0.7, 1.5, 3.0, 4.0], nearest_swept):
        np.testing.assert_array_equal(index, _cdist(x, y, "minkowski", p=p).argmin(1))


@pytest.mark.parametrize("metric,scipy_metric,kwargs",
                         [m for m in SCIPY_METRICS if m[0] in ("euclidean", "manhattan",
                                                               "chebyshev", "minkowski", "cosine")])
@pytest.mark.parametrize("block_size", [1, 7, 4096])
def test_nearest_equals_argmin_of_cdist(fashion, metric, scipy_metric, kwargs, block_size):
    x, y = fashion
    reference = _cdist(x, y, scipy_metric, **kwargs)
    index, dist = distances.nearest(x, y, metric, block_size=block_size, **kwargs)
    np.testing.assert_array_equal(index, reference.argmin(1))
    np.testing.assert_allclose(dist, reference.min(1), rtol=1e-5)


@pytest.mark.parametrize("weighted", [False, True])
def test_nearest_dot_sqeuclidean_and_cosine_zero_vectors(gaussian, weighted):
    x, y, w = gaussian
    w = w if weighted else None
    for metric in ("dot", "sqeuclidean", "cosine"):
        full = np.asarray(distances.pairwise(x, y, metric, w=w))
        index, dist = distances.nearest(x, y, metric, w=w, block_size=4)
        np.testing.assert_array_equal(index, full.argmin(1))
        np.testing.assert_allclose(dist, full.min(1), rtol=1e-5, atol=1e-6)
    zero_query = np.zeros((1, x.shape[1]), np.float32)
    index, dist = distances.nearest(zero_query, y, "cosine")
    assert int(index[0]) == 0 and float(dist[0]) == 1.0  # every candidate at distance 1


def test_nearest_breaks_ties_towards_the_smallest_index():
    y = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    index, _ = distances.nearest(jnp.array([[0.9, 0.0], [0.0, 0.9]]), y, block_size=1)
    np.testing.assert_array_equal(index, [0, 1])


# (metric, scipy's name, kwargs) for the search's brute-force checks: both paths of
# the inner-product metrics, and the elementwise ones.
SEARCH_METRICS = [("euclidean", "euclidean", {}), ("cosine", "cosine", {}),
                  ("minkowski", "minkowski", {"p": 3.0})]


@pytest.mark.parametrize("metric,scipy_metric,kwargs", SEARCH_METRICS)
def test_search_winner_runner_up_and_distance_equal_brute_force(gaussian, metric, scipy_metric,
                                                                kwargs):
    x, y, w = gaussian
    cases = [(None, {}), (w, {}), (None, {"block_size": 4}),
             (None, {"block_size": None, "matmul": False}),
             (w, {"block_size": 5, "exact_distance": False})]
    for weights, options in cases:
        reference = _cdist(x, y, scipy_metric, w=weights, **kwargs)
        order = np.argsort(reference, axis=1, kind="stable")  # ties: smaller index first
        first, dist, second = distances.nearest(x, y, metric, w=weights, runner_up=True,
                                                **kwargs, **options)
        assert first.dtype == second.dtype == jnp.int32
        np.testing.assert_array_equal(first, order[:, 0], err_msg=str(options))
        np.testing.assert_array_equal(second, order[:, 1], err_msg=str(options))
        np.testing.assert_allclose(dist, reference.min(1), rtol=1e-5, atol=1e-5,
                                   err_msg=str(options))


def test_search_ties_go_to_the_smallest_indices_across_tiles():
    # Integer coordinates, candidates centred on 0: every score of both paths is exact
    # (the centring subtracts an exact 0), so the ties are real.
    x = jnp.array([[-2.0, 0.0], [0.0, 0.0], [3.0, 0.0]])
    y = jnp.array([[1.0, 0.0], [-1.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [1.0, 0.0]])
    reference = _cdist(x, y, "euclidean")
    order = np.argsort(reference, axis=1, kind="stable")
    np.testing.assert_array_equal(order[:, :2], [[1, 2], [0, 1], [0, 3]])
    for block_size in (1, 4, None):
        for matmul in (True, False):
            first, _, second = distances.nearest(x, y, block_size=block_size, matmul=matmul,
                                                 runner_up=True)
            np.testing.assert_array_equal(np.stack([first, second], 1), order[:, :2],
                                          err_msg=f"block_size={block_size}, matmul={matmul}")


def test_search_fast_paths_agree_with_the_exact_path(fashion):
    x, y = fashion
    x, y = x + 10.0, y + 10.0  # far from the origin: the centring earns its keep
    exact_index, exact_dist, exact_second = distances.nearest(
        x, y, runner_up=True, matmul=False, block_size=None)
    for options in [{}, {"block_size": 7}, {"block_size": None}, {"exact_distance": False}]:
        index, dist, second = distances.nearest(x, y, runner_up=True, **options)
        np.testing.assert_array_equal(index, exact_index, err_msg=str(options))
        np.testing.assert_array_equal(second, exact_second, err_msg=str(options))
        tolerance = 1e-4 if options.get("exact_distance") is False else 1e-6
        np.testing.assert_allclose(dist, exact_dist, rtol=tolerance, err_msg=str(options))
    # Without the centring, |x|^2 + score in float32 loses most of the small distances'
    # digits; the exact winner distance (the default) does not.
    _, uncentred = distances.nearest(x, y, centre=False, exact_distance=False)
    _, uncentred_exact = distances.nearest(x, y, centre=False)
    np.testing.assert_allclose(uncentred_exact, exact_dist, rtol=1e-6)
    assert np.max(np.abs(np.asarray(uncentred) - np.asarray(exact_dist))) > 1e-4


def test_search_bias_is_desienos_conscience(gaussian):
    x, y, _ = gaussian
    bias = np.random.default_rng(2).uniform(0.0, 1.5, y.shape[0]).astype(np.float32)
    reference = _cdist(x, y, "euclidean")
    winners = (reference - bias).argmin(1)
    assert np.any(winners != reference.argmin(1))  # the bias changes some winners
    for options in [{}, {"block_size": 4, "exact_distance": False}, {"matmul": False}]:
        index, dist = distances.nearest(x, y, bias=bias, **options)
        np.testing.assert_array_equal(index, winners, err_msg=str(options))
        # The distance stays the unbiased rho(x_i, y_winner).
        np.testing.assert_allclose(dist, reference[np.arange(len(x)), winners], rtol=1e-5)


def test_search_vmapped_over_prototype_sets_equals_a_loop(gaussian):
    x, y, _ = gaussian
    sets = jnp.stack([y, y[::-1], 2.0 * y])
    first, dist, second = jax.jit(jax.vmap(
        lambda prototypes: distances.nearest(x, prototypes, runner_up=True, block_size=8)))(sets)
    for i, prototypes in enumerate(sets):
        order = np.argsort(_cdist(x, prototypes, "euclidean"), axis=1, kind="stable")
        np.testing.assert_array_equal(first[i], order[:, 0])
        np.testing.assert_array_equal(second[i], order[:, 1])


def test_nearest_streams_instead_of_materializing_all_pairs():
    n = 20_000
    x = jnp.zeros((n, 4), jnp.float32)
    compiled = jax.jit(lambda a: distances.nearest(a, a, "manhattan", block_size=1024)).lower(
        x).compile()
    temp = compiled.memory_analysis().temp_size_in_bytes
    assert temp < n * n * 4 / 50, f"nearest uses {temp / 1e6:.0f} MB of temporaries"


def test_search_vmapped_over_prototype_sets_prepares_queries_a_block_at_a_time():
    n, d, sets = 20_000, 64, 8  # a sweep over 8 maps must not hold 8 centred copies of x
    x = jnp.zeros((n, d), jnp.float32)
    search = jax.vmap(lambda y: distances.nearest(x, y, runner_up=True, block_size=1000))
    compiled = jax.jit(search).lower(jnp.zeros((sets, 100, d), jnp.float32)).compile()
    temp = compiled.memory_analysis().temp_size_in_bytes
    assert temp < sets * n * d * 4 / 2, f"the search uses {temp / 1e6:.0f} MB of temporaries"


def test_second_call_does_not_recompile(gaussian, compilations):
    x, y, _ = gaussian
    distances.pairwise(x, y, "manhattan")
    distances.nearest(x, y, "manhattan")
    shifted = x + 1
    with compilations() as compiled:
        distances.pairwise(shifted, y, "manhattan", p=5.0)  # p is ignored by manhattan
        distances.nearest(shifted, y, "manhattan")
    assert compiled == []


@pytest.mark.parametrize("metric,kwargs", TRUE_METRICS + [("sqeuclidean", {}), ("cosine", {}),
                                                          ("dot", {}), ("minkowski", {"p": 0.5})])
def test_gradients_are_finite_at_zero_distance(metric, kwargs):
    x = jnp.array([0.3, -1.2, 0.0, 2.0])
    grad = jax.grad(lambda a: distances.distance(a, x, metric, **kwargs))(x)
    assert np.all(np.isfinite(grad)), grad
    grad = jax.grad(lambda a: distances.pairwise(a, a, metric, **kwargs).sum())(x[None])
    assert np.all(np.isfinite(grad)), grad
    zero = jnp.zeros(4)
    grad = jax.grad(lambda a: distances.distance(a, zero, metric, **kwargs))(zero)
    assert np.all(np.isfinite(grad)), grad


@pytest.mark.parametrize("metric,kwargs", [("euclidean", {}), ("minkowski", {"p": 3.0}),
                                           ("cosine", {}), ("manhattan", {})])
def test_gradients_match_finite_differences(metric, kwargs):
    x = jnp.array([0.3, -1.2, 0.5, 2.0], jnp.float32)
    y = jnp.array([1.0, 0.4, -0.6, 1.1], jnp.float32)
    f = lambda a: distances.distance(a, y, metric, **kwargs)  # noqa: E731
    grad = jax.grad(f)(x)
    eps = 1e-3
    numeric = [(f(x.at[i].add(eps)) - f(x.at[i].add(-eps))) / (2 * eps) for i in range(4)]
    np.testing.assert_allclose(grad, numeric, rtol=2e-2, atol=2e-3)


@pytest.mark.parametrize("magnitude", [1e-20, 1e20])
def test_minkowski_powers_neither_underflow_nor_overflow(magnitude):
    x, y = jnp.zeros((1, 5)), jnp.full((1, 5), magnitude, jnp.float32)
    expected = magnitude * 5 ** (1 / 3)  # |d|^3 alone would be 1e-60 or 1e60 in float32
    np.testing.assert_allclose(distances.distance(x[0], y[0], "minkowski", p=3.0), expected,
                               rtol=1e-5)
    np.testing.assert_allclose(distances.pairwise(x, y, "minkowski", p=3.0)[0, 0], expected,
                               rtol=1e-5)
    np.testing.assert_allclose(distances.nearest(x, y, "minkowski", p=3.0)[1][0], expected,
                               rtol=1e-5)


def test_minkowski_special_exponents_use_the_named_metrics():
    assert distances.canonical_metric("minkowski", 1) == "manhattan"
    assert distances.canonical_metric("minkowski", 2.0) == "euclidean"
    assert distances.canonical_metric("minkowski", np.inf) == "chebyshev"
    assert distances.canonical_metric("minkowski", 3) == "minkowski"
    assert distances.canonical_metric("cityblock") == "manhattan"


# Values on a 1e-3 grid: XLA flushes float32 subnormals to zero, so distinct vectors
# closer than ~1e-38 would read as equal; that is float32, not the metric.
vectors = hnp.arrays(np.float32, 5, elements=st.integers(-100_000, 100_000).map(lambda i: i / 1000))
weights = hnp.arrays(np.float32, 5, elements=st.floats(0.125, 10, width=32))


@pytest.mark.parametrize("metric,kwargs", TRUE_METRICS)
@hypothesis.settings(max_examples=40, deadline=None)
@hypothesis.given(x=vectors, y=vectors, z=vectors, w=weights)
def test_metric_axioms(metric, kwargs, x, y, z, w):
    d = functools.partial(distances.distance, metric=metric, w=w, **kwargs)
    dxy, dyx, dxz, dzy = float(d(x, y)), float(d(y, x)), float(d(x, z)), float(d(z, y))
    scale = 1e-5 * (1 + max(dxy, dxz, dzy))
    assert dxy >= 0
    assert float(d(x, x)) == 0.0
    assert abs(dxy - dyx) <= scale
    assert dxy <= dxz + dzy + scale
    if not np.array_equal(x, y):
        assert dxy > 0


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: distances.pairwise(np.ones(3), np.ones((2, 3))), "shape [n, d]"),
        (lambda: distances.pairwise(np.ones((2, 3)), np.ones((2, 4))), "same number of features"),
        (lambda: distances.pairwise(np.array([[np.nan, 1.0]]), np.ones((2, 2))), "NaN or Inf"),
        (lambda: distances.nearest(np.ones((2, 2)), np.array([[np.inf, 1.0]])), "NaN or Inf"),
        (lambda: distances.pairwise(np.ones((0, 3)), np.ones((2, 3))), "must not be empty"),
        (lambda: distances.pairwise(np.ones((2, 3)), np.ones((2, 3)), "minkowski", p=0), "p must be > 0"),
        (lambda: distances.pairwise(np.ones((2, 3)), np.ones((2, 3)), "minkowski", p=-1.0), "p must be > 0"),
        (lambda: distances.pairwise(np.ones((2, 3)), np.ones((2, 3)), w=-np.ones(3)), "non-negative"),
        (lambda: distances.pairwise(np.ones((2, 3)), np.ones((2, 3)), w=np.ones(4)), "length 3"),
        (lambda: distances.pairwise(np.ones((2, 3)), np.ones((2, 3)), "hamming"), "accepted:"),
        (lambda: distances.distance(np.ones((2, 3)), np.ones(3)), "shape [d]"),
        (lambda: distances.nearest(np.ones((2, 3)), np.ones((2, 3)), block_size=0), "block_size"),
        (lambda: distances.nearest(np.ones((2, 3)), np.ones((2, 3)), block_size="big"), "block_size"),
        (lambda: distances.nearest(np.ones((2, 3)), np.ones((1, 3)), runner_up=True), "at least 2"),
        (lambda: distances.nearest(np.ones((2, 3)), np.ones((2, 3)), bias=np.ones(3)), "length 2"),
        (lambda: distances.nearest(np.ones((2, 3)), np.ones((2, 3)), bias=[np.nan, 0]), "NaN or Inf"),
        (lambda: distances.pairwise(np.array([["a"]]), np.ones((1, 1))), "array of numbers"),
    ],
)
def test_bad_input_is_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=None) as err:
        call()
    assert message in str(err.value), str(err.value)


@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "cosine"])
def test_k_nearest_equals_a_stable_sort_of_cdist(metric):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(230, 6)).astype(np.float32)  # more rows than one block
    y = rng.normal(size=(40, 6)).astype(np.float32)
    y[7] = y[3]  # an exact tie: the smaller index comes first
    index, dist = distances.k_nearest(x, y, 4, metric)
    reference = cdist(x.astype(np.float64), y.astype(np.float64),
                      "cityblock" if metric == "manhattan" else metric)
    order = np.argsort(reference, axis=1, kind="stable")[:, :4]
    np.testing.assert_array_equal(index, order)
    np.testing.assert_allclose(dist, np.take_along_axis(reference, order, 1), rtol=1e-4,
                               atol=1e-4)
    with pytest.raises(ValueError, match="k = 41 exceeds the 40 reference rows"):
        distances.k_nearest(x, y, 41)


# --------------------------------------------------------------------------------------
# Magnitudes, low-precision inputs, and the traced policy (NaN in, NaN out).

# Metrics whose value at data of magnitude s stays in float32's range for s in
# 1e-30 .. 1e30 (the squared distance does not: s^2 leaves it beyond 1e19).
HOMOGENEOUS = [("euclidean", "euclidean", {}), ("manhattan", "cityblock", {}),
               ("chebyshev", "chebyshev", {}), ("minkowski", "minkowski", {"p": 3.0}),
               ("cosine", "cosine", {})]


@pytest.mark.parametrize("metric,scipy_metric,kwargs", HOMOGENEOUS)
def test_every_metric_matches_scipy_from_1e_minus_30_to_1e30(gaussian, metric, scipy_metric,
                                                             kwargs):
    x, y, _ = gaussian
    for magnitude in (1e-30, 1e-20, 1e20, 1e30):
        a, b = (x[:6] * magnitude).astype(np.float32), (y[:5] * magnitude).astype(np.float32)
        reference = _cdist(a, b, scipy_metric, **kwargs)
        np.testing.assert_allclose(distances.pairwise(a, b, metric, **kwargs), reference,
                                   rtol=1e-5, err_msg=str(magnitude))
        index, dist = distances.nearest(a, b, metric, **kwargs)
        np.testing.assert_array_equal(index, reference.argmin(1))
        np.testing.assert_allclose(dist, reference.min(1), rtol=1e-5)
        k_index, k_dist = distances.k_nearest(a, b, 2, metric, **kwargs)
        np.testing.assert_array_equal(k_index, np.argsort(reference, axis=1)[:, :2])
        np.testing.assert_allclose(k_dist, np.sort(reference, axis=1)[:, :2], rtol=1e-5)


def test_squared_euclidean_and_dot_are_right_wherever_their_value_is_a_float32(gaussian):
    x, y, _ = gaussian
    for magnitude in (1e-15, 1e15):
        a, b = (x[:6] * magnitude).astype(np.float32), (y[:5] * magnitude).astype(np.float32)
        reference = _cdist(a, b, "sqeuclidean")
        np.testing.assert_allclose(distances.pairwise(a, b, "sqeuclidean"), reference, rtol=1e-5)
        index, dist = distances.nearest(a, b, "sqeuclidean")
        np.testing.assert_array_equal(index, reference.argmin(1))
        np.testing.assert_allclose(dist, reference.min(1), rtol=1e-5)
    # 1 - <x, y> at 1e15: <x, y> ~ 1e30 is still a float32; at 1e-15 the value is 1.
    for magnitude in (1e-15, 1e15):
        a, b = (x[:6] * magnitude).astype(np.float32), (y[:5] * magnitude).astype(np.float32)
        np.testing.assert_allclose(distances.pairwise(a, b, "dot"),
                                   1.0 - np.float64(a) @ np.float64(b).T, rtol=1e-5)


def test_scaling_by_a_power_of_two_changes_no_bit_at_ordinary_magnitudes(gaussian):
    x, y, _ = gaussian
    for metric in ("euclidean", "sqeuclidean", "cosine", "minkowski"):
        exact = distances.pairwise(x, y, metric, p=3.0)
        degree = {"euclidean": 1, "sqeuclidean": 2, "cosine": 0, "minkowski": 1}[metric]
        scaled = distances.pairwise(x * 2.0**40, y * 2.0**40, metric, p=3.0)
        np.testing.assert_array_equal(scaled, exact * 2.0 ** (40 * degree), err_msg=metric)


@pytest.mark.parametrize("dtype,magnitude", [(jnp.float16, 300.0), (jnp.bfloat16, 1e30)])
def test_half_precision_inputs_are_computed_in_float32(gaussian, dtype, magnitude):
    x, y, _ = gaussian
    a, b = jnp.asarray(x[:6] * magnitude, dtype), jnp.asarray(y[:5] * magnitude, dtype)
    reference = _cdist(np.asarray(a, np.float32), np.asarray(b, np.float32), "euclidean")
    ours = distances.pairwise(a, b)
    assert ours.dtype == jnp.float32
    np.testing.assert_allclose(ours, reference, rtol=1e-5)
    index, dist = distances.nearest(a, b)
    np.testing.assert_array_equal(index, reference.argmin(1))
    np.testing.assert_allclose(dist, reference.min(1), rtol=1e-5)


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "manhattan", "minkowski",
                                    "dot", "cosine"])
def test_a_nan_row_raises_eagerly_and_gives_nan_under_jit_and_vmap(gaussian, metric):
    x, y, _ = gaussian
    bad = np.array(x[:6]).copy()
    bad[2, 0] = np.nan
    for function in (distances.pairwise, lambda a, b, m: distances.nearest(a, b, m)[1],
                     lambda a, b, m: distances.k_nearest(a, b, 2, m)[1]):
        with pytest.raises(ValueError, match="NaN"):
            function(bad, y, metric)
        compiled = jax.jit(function, static_argnums=2)(bad, y, metric)
        assert np.all(np.isnan(compiled)), metric  # never a finite, plausible distance
        batched = jax.vmap(function, in_axes=(0, None, None))(np.stack([x[:6], bad]), y, metric)
        assert np.all(np.isfinite(batched[0])) and np.all(np.isnan(batched[1])), metric


def test_a_traced_minkowski_p_that_is_not_positive_gives_nan(gaussian):
    x, y, _ = gaussian
    with pytest.raises(ValueError, match="p must be > 0"):
        distances.pairwise(x, y, "minkowski", p=-1.0)
    for p in (-1.0, 0.0, np.nan):
        assert np.all(np.isnan(jax.jit(lambda q: distances.pairwise(x, y, "minkowski", p=q))(p)))
        assert np.all(np.isnan(jax.jit(
            lambda q: distances.nearest(x, y, "minkowski", p=q)[1])(p)))
    swept = jax.vmap(lambda q: distances.pairwise(x, y, "minkowski", p=q))(jnp.array([3.0, -1.0]))
    np.testing.assert_allclose(swept[0], _cdist(x, y, "minkowski", p=3.0), rtol=1e-5)
    assert np.all(np.isnan(swept[1]))


# Fixed shape buckets bound the compilations; magnitudes span float32's range for
# float32/bfloat16 and float16's for float16.
_HALF_EXPONENTS = {np.float32: (-30, 30), jnp.bfloat16: (-30, 30), np.float16: (-2, 3)}


@st.composite
def _problems(draw):
    dtype = draw(st.sampled_from(list(_HALF_EXPONENTS)))
    n, m, d = draw(st.sampled_from([(1, 1, 1), (3, 4, 5), (7, 2, 3)]))
    low, high = _HALF_EXPONENTS[dtype]
    magnitude = 10.0 ** draw(st.integers(low, high))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x, y = (rng.normal(size=(rows, d)) * magnitude for rows in (n, m))
    bad = draw(st.sampled_from([None, np.nan, np.inf]))
    if bad is not None:
        x[rng.integers(n), rng.integers(d)] = bad
    return jnp.asarray(x, dtype), jnp.asarray(y, dtype), bad


@hypothesis.settings(max_examples=30, deadline=None)
@hypothesis.given(problem=_problems(),
                  case=st.sampled_from(HOMOGENEOUS))
def test_public_entry_points_raise_or_match_scipy(problem, case):
    x, y, bad = problem
    metric, scipy_metric, kwargs = case
    if bad is not None:
        for call in (lambda: distances.pairwise(x, y, metric, **kwargs),
                     lambda: distances.nearest(x, y, metric, **kwargs),
                     lambda: distances.k_nearest(x, y, 1, metric, **kwargs)):
            with pytest.raises(ValueError, match="NaN or Inf"):
                call()
        return
    a, b = np.asarray(x, np.float64), np.asarray(y, np.float64)
    reference = cdist(a, b, scipy_metric, **kwargs)
    if metric == "cosine":
        reference = np.nan_to_num(reference, nan=1.0)  # a zero vector: 1 here, NaN in scipy
    # The matrix-product path's cancellation is relative to the data, not the distance.
    size = 1.0 if metric == "cosine" else np.abs(np.concatenate([a, b])).max() * a.shape[1]
    tolerance = {"rtol": 1e-4, "atol": 1e-5 * size}
    ours = np.asarray(distances.pairwise(x, y, metric, **kwargs), np.float64)
    assert np.all(np.isfinite(ours))
    np.testing.assert_allclose(ours, reference, **tolerance)
    index, dist = distances.nearest(x, y, metric, **kwargs)
    np.testing.assert_allclose(dist, reference.min(1), **tolerance)
    np.testing.assert_allclose(reference[np.arange(len(a)), index], reference.min(1), **tolerance)
    k = min(2, b.shape[0])
    _, k_dist = distances.k_nearest(x, y, k, metric, **kwargs)
    np.testing.assert_allclose(k_dist, np.sort(reference, axis=1)[:, :k], **tolerance)
