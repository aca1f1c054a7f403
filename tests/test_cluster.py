"""k-means, k-medians, mini-batch k-means and winner-take-all against references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans

from jaxselforg import cluster, criteria, data, schedules
from jaxselforg.cluster import _seeding

KEY = jax.random.key(0)


@pytest.fixture(scope="module")
def fashion():
    images, labels = data.load("fashion_mnist", "train")
    return np.asarray(data.flatten(data.to_unit_range(images[:1000]))), labels[:1000]


@pytest.fixture(scope="module")
def initial(fashion):
    x, _ = fashion
    return x[np.random.default_rng(0).choice(len(x), 10, replace=False)]


# --------------------------------------------------------------------------------------
# k-means


@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
def test_kmeans_matches_sklearn_from_the_same_centres(fashion, initial, algorithm):
    x, _ = fashion
    ours = cluster.kmeans(x, 10, key=KEY, init=initial, tol=0.0, max_iter=300)
    reference = KMeans(10, init=initial, n_init=1, algorithm=algorithm, tol=0.0,
                       max_iter=300).fit(x)
    assert float(criteria.adjusted_rand_index(ours.labels, reference.labels_)) >= 0.99
    np.testing.assert_allclose(float(ours.inertia), reference.inertia_, rtol=1e-3)
    np.testing.assert_allclose(ours.centers, reference.cluster_centers_, atol=1e-3)
    assert bool(ours.converged)


def test_kmeans_history_is_monotone_and_padded(fashion, initial):
    x, _ = fashion
    result = cluster.kmeans(x, 10, key=KEY, init=initial, tol=0.0)
    n = int(result.n_iter)
    inertia = np.asarray(result.inertia_history)
    assert 1 < n < 300
    assert np.all(np.diff(inertia[:n]) <= 1e-3 * inertia[0])  # Lloyd never increases it
    assert np.all(inertia[n:] == -1) and np.all(np.asarray(result.shift_history)[n:] == -1)
    assert float(result.shift_history[n - 1]) == 0.0  # tol = 0: stopped when nothing moved
    # The final labels are the nearest centres of the final centres.
    np.testing.assert_array_equal(result.labels, cdist(x, result.centers).argmin(1))


def test_kmeans_tolerance_is_an_absolute_centre_shift(fashion, initial):
    x, _ = fashion
    one_step = cluster.kmeans(x, 10, key=KEY, init=initial, tol=1e9)
    assert int(one_step.n_iter) == 1 and bool(one_step.converged)
    capped = cluster.kmeans(x, 10, key=KEY, init=initial, tol=0.0, max_iter=2)
    assert int(capped.n_iter) == 2 and not bool(capped.converged)
    loose = cluster.kmeans(x, 10, key=KEY, init=initial, tol=0.05)
    n = int(loose.n_iter)
    assert float(loose.shift_history[n - 1]) <= 0.05 < float(loose.shift_history[n - 2])


def test_kmeans_tolerance_is_traced_for_sweeps(fashion, initial):
    x, _ = fashion
    sweep = jax.jit(jax.vmap(lambda tol: cluster.kmeans(
        x, 10, key=KEY, init=initial, tol=tol).n_iter))
    n_iter = np.asarray(sweep(jnp.array([1.0, 0.1, 0.01, 0.0])))
    assert np.all(np.diff(n_iter) >= 0) and n_iter[0] < n_iter[-1]
    assert n_iter[-1] == int(cluster.kmeans(x, 10, key=KEY, init=initial, tol=0.0).n_iter)


@pytest.mark.parametrize("init", cluster.INITS)
def test_every_init_gives_a_converged_finite_clustering(fashion, init):
    x, labels = fashion
    result = cluster.kmeans(x, 10, key=KEY, init=init)
    assert bool(result.converged) and np.all(np.isfinite(result.centers))
    assert len(np.unique(result.labels)) == 10
    assert float(criteria.normalized_mutual_info(labels, result.labels)) > 0.4


def test_random_partition_starts_near_the_data_mean(fashion):
    # The lecture's init: centres are means of random halves-of-tenths of the data.
    x, _ = fashion
    centers = _seeding.random_partition(KEY, jnp.asarray(x), 10, jnp.ones(len(x)))
    spread = np.abs(np.asarray(centers) - x.mean(0)).max()
    assert spread < 6 * x.std(0).max() / np.sqrt(len(x) / 10)


def test_kmeans_plus_plus_seeds_better_than_random_samples(fashion):
    x, _ = fashion
    first_inertia = {}
    for init in ("k-means++", "random"):
        first_inertia[init] = np.mean([float(cluster.kmeans(
            x, 10, key=jax.random.key(s), init=init, max_iter=1).inertia_history[0])
            for s in range(4)])
    assert first_inertia["k-means++"] < first_inertia["random"]


def test_restarts_are_the_best_of_single_fits_with_the_split_keys(fashion):
    x, _ = fashion
    best = cluster.kmeans(x, 10, key=KEY, init="random", n_init=3)
    singles = [cluster.kmeans(x, 10, key=k, init="random") for k in jax.random.split(KEY, 3)]
    np.testing.assert_allclose(best.restart_inertia, [float(s.inertia) for s in singles],
                               rtol=1e-5)
    # Batched restarts sum with products, single fits with a scatter (on CPU): the
    # same numbers in another order.
    np.testing.assert_allclose(float(best.inertia), min(float(s.inertia) for s in singles),
                               rtol=1e-6)


def test_empty_clusters_are_reseeded_never_nan():
    x = np.concatenate([np.zeros((20, 2)), np.ones((20, 2)), [[10.0, 10.0]]]).astype(np.float32)
    # Two identical starting centres: the second gets no points in the first assignment.
    init = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]], np.float32)
    result = cluster.kmeans(x, 3, key=KEY, init=init, tol=0.0)
    assert np.all(np.isfinite(result.centers))
    assert sorted(np.bincount(result.labels, minlength=3).tolist()) == [1, 20, 20]
    every_point = cluster.kmeans(x[:5] + np.arange(5)[:, None], 5, key=KEY)  # k == n
    assert float(every_point.inertia) == 0.0


def test_kmedians_centres_are_the_medians_of_their_clusters(fashion):
    x, _ = fashion
    x = x[:300]
    result = cluster.kmeans(x, 4, key=KEY, metric="manhattan", update="median", tol=0.0)
    labels = np.asarray(result.labels)
    np.testing.assert_array_equal(labels, cdist(x, result.centers, "cityblock").argmin(1))
    for j in range(4):
        np.testing.assert_allclose(result.centers[j], np.median(x[labels == j], axis=0),
                                   atol=1e-6)


def test_median_update_resists_an_outlier():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.1, (50, 2)), rng.normal(5, 0.1, (50, 2)),
                        [[1000.0, 1000.0]]]).astype(np.float32)
    init = np.array([[0.0, 0.0], [5.0, 5.0]], np.float32)
    mean = cluster.kmeans(x, 2, key=KEY, init=init, max_iter=1)
    median = cluster.kmeans(x, 2, key=KEY, init=init, max_iter=1, update="median")
    assert np.abs(np.asarray(mean.centers)[1]).max() > 20  # dragged towards 1000
    np.testing.assert_allclose(median.centers, [[0, 0], [5, 5]], atol=0.1)


@pytest.mark.parametrize("metric,scipy_metric", [("manhattan", "cityblock"),
                                                 ("chebyshev", "chebyshev"),
                                                 ("cosine", "cosine")])
def test_assignment_uses_the_requested_metric(fashion, metric, scipy_metric):
    x, _ = fashion
    result = cluster.kmeans(x[:400], 5, key=KEY, metric=metric)
    np.testing.assert_array_equal(result.labels,
                                  cdist(x[:400], result.centers, scipy_metric).argmin(1))
    np.testing.assert_allclose(float(result.inertia),
                               (cdist(x[:400], result.centers, scipy_metric).min(1) ** 2).sum(),
                               rtol=1e-4)


def test_sample_weight_two_equals_a_duplicate_and_zero_a_removal(fashion, initial):
    x, _ = fashion
    x = x[:200]
    init = initial[:4]
    doubled = cluster.kmeans(np.concatenate([x, x[:50]]), 4, key=KEY, init=init, tol=0.0)
    weighted = cluster.kmeans(x, 4, key=KEY, init=init, tol=0.0,
                              sample_weight=np.r_[np.full(50, 2.0), np.ones(150)])
    np.testing.assert_allclose(weighted.centers, doubled.centers, atol=1e-5)
    np.testing.assert_allclose(float(weighted.inertia), float(doubled.inertia), rtol=1e-5)
    removed = cluster.kmeans(x[:150], 4, key=KEY, init=init, tol=0.0)
    zeroed = cluster.kmeans(x, 4, key=KEY, init=init, tol=0.0,
                            sample_weight=np.r_[np.ones(150), np.zeros(50)])
    np.testing.assert_allclose(zeroed.centers, removed.centers, atol=1e-5)


def test_predict_and_transform_match_cdist(fashion, initial):
    x, _ = fashion
    # Rows that are not themselves centres: at distance ~0 the matrix-product form has
    # an absolute error of ~1e-3 (documented in distances.pairwise), not 1e-5 relative.
    queries = x[~(cdist(x, initial).min(1) == 0)][:50]
    np.testing.assert_allclose(cluster.transform(queries, initial), cdist(queries, initial),
                               rtol=1e-5)
    np.testing.assert_array_equal(cluster.predict(x, initial), cdist(x, initial).argmin(1))


# Elkan's and Hamerly's bounds: the plain loop's fit, fewer distances.

def _same_fit(bounded, lloyd, rtol=1e-6, atol=1e-7):
    np.testing.assert_array_equal(bounded.labels, lloyd.labels)
    assert int(bounded.n_iter) == int(lloyd.n_iter)
    assert bool(bounded.converged) == bool(lloyd.converged)
    np.testing.assert_allclose(bounded.centers, lloyd.centers, rtol=rtol, atol=atol)
    np.testing.assert_allclose(bounded.inertia, lloyd.inertia, rtol=1e-6)
    np.testing.assert_allclose(bounded.restart_inertia, lloyd.restart_inertia, rtol=1e-6)
    # The bounded history comes from the cluster sums, not a pass over x.
    np.testing.assert_allclose(bounded.inertia_history, lloyd.inertia_history, rtol=1e-5)
    np.testing.assert_allclose(bounded.shift_history, lloyd.shift_history, rtol=1e-4,
                               atol=1e-6)


@pytest.fixture(scope="module")
def fashion_3000():
    images, _ = data.load("fashion_mnist", "train")
    return np.asarray(data.flatten(data.to_unit_range(images[:3000])))


@pytest.mark.parametrize("algorithm", ["elkan", "hamerly"])
@pytest.mark.parametrize("k", [8, 40])
def test_bounded_kmeans_is_lloyds_fit_on_fashion(fashion_3000, algorithm, k):
    x = fashion_3000
    lloyd = cluster.kmeans(x, k, key=KEY, algorithm="lloyd")
    bounded = cluster.kmeans(x, k, key=KEY, algorithm=algorithm)
    assert int(lloyd.n_iter) > 10  # enough iterations for the bounds to matter
    _same_fit(bounded, lloyd)


@pytest.mark.parametrize("capacity", [1, 64, 3000])
def test_bounded_kmeans_any_buffer_size_falls_back_and_never_drops_points(fashion_3000,
                                                                          capacity):
    # capacity 1: nearly every iteration overflows its buffer and is a full pass.
    x = fashion_3000
    lloyd = cluster.kmeans(x, 10, key=KEY, algorithm="lloyd")
    _same_fit(cluster.kmeans(x, 10, key=KEY, algorithm="elkan", capacity=capacity), lloyd)


def test_bounded_kmeans_restarts_weights_and_vmap_are_lloyds(fashion_3000):
    x = fashion_3000[:1500]
    # Lloyd's vmapped restarts sum by a product, the bounded ones (lax.map) by a
    # scatter: the same sums up to float32 rounding (1e-6 on pixels in [0, 1]).
    _same_fit(cluster.kmeans(x, 6, key=KEY, n_init=3, algorithm="elkan"),
              cluster.kmeans(x, 6, key=KEY, n_init=3, algorithm="lloyd"), rtol=1e-5, atol=1e-5)
    for weights in (np.arange(1500) % 3 == 0, np.random.default_rng(0).uniform(0, 2, 1500)):
        _same_fit(cluster.kmeans(x, 6, key=KEY, sample_weight=weights, algorithm="hamerly"),
                  cluster.kmeans(x, 6, key=KEY, sample_weight=weights, algorithm="lloyd"))
    # A vmap turns the branches into selects: slower, the same fit.
    batch = np.stack([x[:700], x[700:1400]])
    fits = {a: jax.vmap(lambda rows, a=a: cluster.kmeans(rows, 5, key=KEY, algorithm=a))(batch)
            for a in ("lloyd", "elkan")}
    for i in range(2):
        _same_fit(jax.tree.map(lambda leaf, i=i: leaf[i], fits["elkan"]),
                  jax.tree.map(lambda leaf, i=i: leaf[i], fits["lloyd"]), rtol=1e-5,
                  atol=1e-5)


def test_bounded_kmeans_reseeds_an_emptied_cluster_as_lloyd(fashion_3000):
    x = fashion_3000[:1000]
    start = x[:5].copy()
    start[4] = start[3]  # a duplicate centre: its cluster is empty after one step
    lloyd = cluster.kmeans(x, 5, key=KEY, init=start, algorithm="lloyd")
    for algorithm in ("elkan", "hamerly"):
        _same_fit(cluster.kmeans(x, 5, key=KEY, init=start, algorithm=algorithm), lloyd)
    assert np.all(np.isfinite(lloyd.centers))


@pytest.mark.parametrize("algorithm", ["elkan", "hamerly"])
def test_bounded_kmeans_with_a_traced_nan_is_nan_not_a_plausible_fit(fashion_3000, algorithm):
    x = fashion_3000[:500].copy()
    x[7, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cluster.kmeans(x, 4, key=KEY, algorithm=algorithm)
    fit = jax.jit(lambda rows: cluster.kmeans(rows, 4, key=KEY, algorithm=algorithm))(x)
    assert np.all(np.isnan(fit.centers)) and np.isnan(float(fit.inertia))


def test_auto_picks_bounds_only_where_the_triangle_inequality_holds(fashion_3000):
    x = fashion_3000[:800]
    fits = {a: cluster.kmeans(x, 4, key=KEY, metric="manhattan", algorithm=a)
            for a in ("auto", "lloyd")}
    _same_fit(fits["auto"], fits["lloyd"])


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"k": 0}, "positive integer"),
        ({"k": 11}, "k must be <="),
        ({"x": np.full((10, 2), np.nan)}, "NaN"),
        ({"x": np.ones((0, 2))}, "must not be empty"),
        ({"init": np.ones((3, 2))}, "init array must have shape"),
        ({"init": "farthest"}, "Unknown init"),
        ({"metric": "hamming"}, "Unknown metric"),
        ({"update": "mode"}, "Unknown update"),
        ({"tol": -1.0}, "tol must be >= 0"),
        ({"init": np.ones((2, 2)), "n_init": 3}, "n_init=1"),
        ({"sample_weight": -np.ones(10)}, "non-negative"),
        ({"algorithm": "hartigan"}, "Unknown algorithm"),
        ({"algorithm": "elkan", "metric": "manhattan"}, "triangle inequality"),
        ({"algorithm": "hamerly", "update": "median"}, "update='mean'"),
        ({"algorithm": "elkan", "k": 1}, "k >= 2"),
        ({"capacity": 0}, "capacity must be a positive integer"),
        ({"capacity": 11}, "capacity must be <="),
    ],
)
def test_kmeans_bad_input(kwargs, message):
    args = {"x": np.arange(20, dtype=np.float32).reshape(10, 2), "k": 2, **kwargs}
    with pytest.raises(ValueError) as err:
        cluster.kmeans(args.pop("x"), args.pop("k"), key=KEY, **args)
    assert message in str(err.value), str(err.value)


# --------------------------------------------------------------------------------------
# Mini-batch k-means


def test_minibatch_step_is_a_per_centre_running_mean():
    centers = jnp.array([[0.0, 0.0], [10.0, 10.0]])
    state = cluster.minibatch_init(centers)
    batches = [np.array([[1.0, 1.0], [9.0, 9.0]]), np.array([[3.0, 3.0], [2.0, 2.0]])]
    for batch in batches:
        state, _ = cluster.minibatch_step(state, jnp.asarray(batch, jnp.float32))
    # Centre 0 absorbed (1,1), (3,3), (2,2): starting from 0, its running mean is 2.
    np.testing.assert_allclose(state.centers, [[2.0, 2.0], [9.0, 9.0]], atol=1e-6)
    np.testing.assert_array_equal(state.counts, [3, 1])


def test_minibatch_host_and_device_paths_agree_and_approach_full_kmeans(fashion):
    x, _ = fashion
    host = cluster.minibatch_kmeans(x, 10, key=KEY, batch_size=100, epochs=4)
    device = cluster.minibatch_kmeans(jnp.asarray(x), 10, key=KEY, batch_size=100, epochs=4)
    np.testing.assert_allclose(host.centers, device.centers, atol=1e-5)
    np.testing.assert_array_equal(host.labels, device.labels)
    full = cluster.kmeans(x, 10, key=KEY, n_init=3)
    assert float(host.inertia) < 1.1 * float(full.inertia)
    assert host.inertia_history.shape == (4,) and host.n_iter == 40


# --------------------------------------------------------------------------------------
# Winner-take-all


def test_online_wta_is_the_lecture_rule_step_by_step():
    rng = np.random.default_rng(0)
    prototypes = rng.normal(size=(3, 2)).astype(np.float32)
    samples = rng.normal(size=(5, 2)).astype(np.float32)
    learner = cluster.winner_take_all()
    state = learner.init(jnp.asarray(prototypes))
    expected = prototypes.copy()
    for sample in samples:
        state, winners = learner.update(state, jnp.asarray(sample[None]), 0.3)
        j = np.argmin(((expected - sample) ** 2).sum(1))
        expected[j] += 0.3 * (sample - expected[j])  # only the winner learns
        assert int(winners[0]) == j
    np.testing.assert_allclose(state.prototypes, expected, rtol=1e-6, atol=1e-6)


def test_minibatch_wta_moves_winners_towards_the_mean_of_their_samples():
    learner = cluster.winner_take_all("manhattan")
    state = learner.init(jnp.array([[0.0, 0.0], [10.0, 10.0], [50.0, 50.0]]))
    batch = jnp.array([[1.0, 0.0], [3.0, 2.0], [9.0, 9.0]])
    state, winners = learner.update(state, batch, 0.5)
    np.testing.assert_array_equal(winners, [0, 0, 1])
    np.testing.assert_allclose(state.prototypes, [[1.0, 0.5], [9.5, 9.5], [50.0, 50.0]])


def test_conscience_revives_a_dead_unit():
    x = np.random.default_rng(0).uniform(size=(400, 2)).astype(np.float32)
    init = np.array([[0.25, 0.5], [0.75, 0.5], [5.0, 5.0]], np.float32)  # the third is far
    plain = cluster.competitive_learning(x, 3, key=KEY, init=init, epochs=3)
    assert np.all(np.asarray(plain.history["dead_units"]) == 1)
    fair = cluster.competitive_learning(x, 3, key=KEY, init=init, epochs=3, conscience=20.0,
                                        conscience_rate=0.01)
    assert int(fair.history["dead_units"][-1]) == 0
    assert float(fair.quantization_error) < float(plain.quantization_error)


def test_competitive_learning_reduces_quantization_error(fashion):
    x, _ = fashion
    result = cluster.competitive_learning(x, 10, key=KEY, epochs=4, batch_size=10)
    qe = np.asarray(result.history["quantization_error"])
    start = float(criteria.quantization_error(x, x[np.asarray(jax.random.choice(
        jax.random.split(KEY)[0], len(x), (10,), replace=False))]))
    assert qe[-1] < start and qe[-1] <= qe[0] + 1e-6
    np.testing.assert_allclose(float(result.quantization_error), qe[-1], rtol=1e-6)
    np.testing.assert_allclose(float(result.quantization_error),
                               float(criteria.quantization_error(x, result.prototypes)), rtol=1e-5)


@pytest.mark.parametrize("schedule", ["exponential",
                                      lambda eta0, t, total: eta0 * (1.0 - t / total)])
def test_wta_rate_is_a_schedule_of_the_update_index_logged_at_each_epochs_last_update(schedule):
    # 40 points in batches of 10, 3 epochs: updates t = 0 .. 11, the last of each epoch
    # 3, 7 and 11 (the log once used t = 12 / 11 of the way, past the final rate).
    x = np.random.default_rng(1).uniform(size=(40, 2)).astype(np.float32)
    result = cluster.competitive_learning(x, 3, key=KEY, epochs=3, batch_size=10,
                                          learning_rate=0.1, final_learning_rate=0.01,
                                          schedule=schedule)
    expected = schedules.schedule(schedule, 0.1, 0.01, total=12)(np.array([3, 7, 11]))
    np.testing.assert_allclose(result.history["learning_rate"], expected, rtol=1e-6)
    if schedule == "exponential":
        np.testing.assert_allclose(result.history["learning_rate"][-1], 0.01, rtol=1e-5)
    with pytest.raises(ValueError, match="accepted: 'exponential'"):
        cluster.competitive_learning(x, 3, key=KEY, schedule="cosine")


@pytest.mark.parametrize("magnitude", [2.0**-66, 2.0**66, 1e-20, 1e20])
def test_kmeans_on_fashion_rows_scaled_to_extreme_magnitudes(fashion, magnitude):
    x, _ = fashion
    x = x[:300]
    plain = cluster.kmeans(x, 5, key=jax.random.key(0))
    # tol is in data units: scaled with the data, the fit is the same fit.
    scaled = cluster.kmeans(x * np.float32(magnitude), 5, key=jax.random.key(0),
                            tol=1e-4 * magnitude)
    np.testing.assert_array_equal(scaled.labels, plain.labels)
    np.testing.assert_allclose(scaled.centers / magnitude, plain.centers, rtol=1e-5, atol=1e-5)
    expected = float(plain.inertia) * magnitude**2  # beyond float32 at 1e20: inf, never NaN
    if expected < 3e38:
        np.testing.assert_allclose(scaled.inertia, expected, rtol=1e-4)
    else:
        assert np.isposinf(scaled.inertia)


def test_kmeans_with_nan_data_raises_eagerly_and_is_nan_under_jit_and_vmap(fashion):
    x, _ = fashion
    x = x[:200]
    bad = x.copy()
    bad[7, 3] = np.nan
    fit = lambda a: cluster.kmeans(a, 4, key=jax.random.key(0))
    with pytest.raises(ValueError, match="NaN"):
        fit(bad)
    compiled = jax.jit(fit)(bad)
    assert np.isnan(compiled.inertia) and np.all(np.isnan(compiled.centers))
    batched = jax.vmap(fit)(np.stack([x, bad]))
    assert np.isfinite(batched.inertia[0]) and np.isnan(batched.inertia[1])
    assert np.all(np.isnan(batched.centers[1])) and np.all(np.isfinite(batched.centers[0]))


@pytest.mark.parametrize("tol", [-1e-3, np.nan])
def test_kmeans_and_minibatch_kmeans_refuse_a_negative_or_nan_tol(fashion, tol):
    x, _ = fashion
    with pytest.raises(ValueError, match=r"tol (must be >= 0|contains 1 NaN)"):
        cluster.kmeans(x[:50], 3, key=jax.random.key(0), tol=tol)
    with pytest.raises(ValueError, match=r"tol (must be >= 0|contains 1 NaN)"):
        cluster.minibatch_kmeans(x[:50], 3, key=jax.random.key(0), batch_size=16, tol=tol)
