"""Kohonen maps against MiniSom on Fashion-MNIST, and the maps' defining properties."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from minisom import MiniSom, _build_iteration_indexes

from jaxselforg import data, schedules, som

KEY = jax.random.key(0)
PARITY_SHAPE = (6, 6)
PARITY_STEPS = 1000  # two passes over the 500 rows, in MiniSom's shuffled order
PARITY_SEED = 7


@pytest.fixture(scope="module")
def fashion():
    images, labels = data.load("fashion_mnist", "train")
    return np.asarray(data.flatten(data.to_unit_range(images[:500]))), np.asarray(labels[:500])


@pytest.fixture(scope="module")
def square():
    return np.asarray(data.uniform_square(jax.random.key(1), 600))


def _minisom(shape, d, topology, weights=None, sigma=2.0, learning_rate=0.5, **kwargs):
    reference = MiniSom(*shape, d, sigma=sigma, learning_rate=learning_rate,
                        neighborhood_function="gaussian", topology=topology,
                        decay_function="asymptotic_decay",
                        sigma_decay_function="asymptotic_decay", random_seed=PARITY_SEED,
                        **kwargs)
    if weights is not None:
        reference._weights = np.array(weights, dtype=np.float64)
    return reference


@pytest.fixture(scope="module")
def parity(fashion):
    """MiniSom and our online training from the same start, in the same sample order."""
    x, _ = fashion
    initial = x[np.random.default_rng(0).choice(len(x), 36, replace=False)].reshape(6, 6, -1)
    # MiniSom shuffles arange(steps) % n with its RandomState; the same draw replays it.
    order = _build_iteration_indexes(len(x), PARITY_STEPS,
                                     random_generator=np.random.RandomState(PARITY_SEED))
    maps = {}
    for topology in ("rectangular", "hexagonal"):
        reference = _minisom(PARITY_SHAPE, x.shape[1], topology, initial)
        reference._random_generator = np.random.RandomState(PARITY_SEED)
        reference.train(x.astype(np.float64), PARITY_STEPS, random_order=True)
        ours = som.train(x, PARITY_SHAPE, key=KEY, mode="online", epochs=1, topology=topology,
                         sigma=2.0, learning_rate=0.5, sigma_schedule="asymptotic",
                         learning_rate_schedule="asymptotic", init=initial, order=order)
        maps[topology] = (reference, ours)
    return initial, maps


# --------------------------------------------------------------------------------------
# Parity with MiniSom


@pytest.mark.parametrize("topology", ["rectangular", "hexagonal"])
def test_online_training_reproduces_minisom(parity, topology):
    initial, maps = parity
    reference, ours = maps[topology]
    expected = reference.get_weights()
    moved = np.abs(expected - initial).max()
    difference = np.abs(np.asarray(ours.weights, np.float64) - expected).max()
    print(f"{topology}: max |ours - MiniSom| = {difference:.2e} (weights moved {moved:.2f})")
    assert moved > 0.1  # training did something worth comparing
    assert difference <= 1e-5
    # The history's sigma and alpha of the last update are MiniSom's asymptotic decay.
    last = PARITY_STEPS - 1
    np.testing.assert_allclose(ours.history["sigma"][-1],
                               reference._asymptotic_decay(2.0, last, PARITY_STEPS), rtol=1e-6)
    np.testing.assert_allclose(ours.history["learning_rate"][-1],
                               reference._asymptotic_decay(0.5, last, PARITY_STEPS), rtol=1e-6)


@pytest.mark.parametrize("topology", ["rectangular", "hexagonal"])
def test_measures_equal_minisom_on_the_same_weights(fashion, parity, topology):
    x, _ = fashion
    x64 = x.astype(np.float64)
    reference, _ = parity[1][topology]
    weights = reference.get_weights()
    n = len(x)
    np.testing.assert_allclose(float(som.quantization_error(x, weights)),
                               reference.quantization_error(x64), rtol=1e-5)
    te = float(som.topographic_error(weights, x, topology=topology))
    te_reference = reference.topographic_error(x64)
    assert 0 < te_reference < 1  # a count that could disagree
    assert round(te * n) == round(te_reference * n)
    expected_winners = [np.ravel_multi_index(reference.winner(v), PARITY_SHAPE) for v in x64]
    np.testing.assert_array_equal(som.winners(weights, x), expected_winners)
    np.testing.assert_array_equal(som.hit_map(weights, x), reference.activation_response(x64))
    # MiniSom's distortion_measure sums unsquared distances with its initial sigma.
    np.testing.assert_allclose(
        float(som.distortion(weights, x, sigma=reference._sigma, topology=topology,
                             squared=False)),
        reference.distortion_measure(x64), rtol=1e-5)


def test_u_matrix_equals_minisoms_distance_map(parity):
    reference, _ = parity[1]["rectangular"]
    weights = reference.get_weights()
    for reduce in ("mean", "sum"):
        ours = np.asarray(som.u_matrix(weights, reduce=reduce))
        np.testing.assert_allclose(ours / ours.max(), reference.distance_map(scaling=reduce),
                                   rtol=1e-5)
    # Hexagonal: the mean distance to the six (fewer at the border) units 1 away.
    hexagonal = np.asarray(som.u_matrix(weights, topology="hexagonal")).ravel()
    flat = weights.reshape(36, -1)
    neighbours = np.isclose(np.asarray(som.lateral_distances(PARITY_SHAPE, "hexagonal")), 1.0)
    expected = [np.linalg.norm(flat[row] - flat[j], axis=1).mean()
                for j, row in enumerate(neighbours)]
    np.testing.assert_allclose(hexagonal, expected, rtol=1e-5)
    # With an odd number of columns MiniSom's hexagonal neighbour lists match its own
    # coordinates (with an even number they do not), and its distance map is ours.
    odd = np.random.default_rng(1).normal(size=(6, 5, 3))
    reference_odd = MiniSom(6, 5, 3, topology="hexagonal")
    reference_odd._weights = odd
    ours_odd = np.asarray(som.u_matrix(odd, topology="hexagonal"))
    np.testing.assert_allclose(ours_odd / ours_odd.max(), reference_odd.distance_map("mean"),
                               rtol=1e-5)
    planes = som.component_planes(weights)
    assert planes.shape == (784, 6, 6)
    np.testing.assert_allclose(planes[300], weights[..., 300], rtol=1e-6)


def test_chebyshev_competition_uses_absolute_differences():
    # x = 0: unit 0 is 0.5 away, unit 1 is 0.1 away. MiniSom's max(x - w) (no abs)
    # scores them -0.5 and 0 and picks unit 0.
    weights = np.array([[[0.5, 0.5], [0.1, 0.0]]], np.float32)
    x = np.zeros((2, 2), np.float32)
    reference = MiniSom(1, 2, 2, activation_distance="chebyshev")
    reference._weights = weights.astype(np.float64)
    assert reference.winner(x[0]) == (0, 0)
    np.testing.assert_array_equal(som.winners(weights, x, metric="chebyshev"), [1, 1])
    np.testing.assert_allclose(som.quantization_error(x, weights, metric="chebyshev"), 0.1)
    # Training moves the true winner; sigma 0.5 with a bubble keeps its neighbour still.
    common = dict(key=KEY, epochs=1, init=weights, metric="chebyshev", neighborhood="bubble",
                  sigma=0.5)
    online = som.train(x, (2,), mode="online", learning_rate=0.5,
                       learning_rate_schedule="constant", order=[0], **common)
    np.testing.assert_allclose(online.weights, [[[0.5, 0.5], [0.05, 0.0]]], atol=1e-7)
    batch = som.train(x, (2,), **common)
    np.testing.assert_allclose(batch.weights, [[[0.5, 0.5], [0.0, 0.0]]], atol=1e-7)


# --------------------------------------------------------------------------------------
# Grids, neighbourhoods, schedules


@pytest.mark.parametrize("shape", [(5, 6), (6, 5)])
def test_hexagonal_layout_is_minisoms_with_neighbours_exactly_one_apart(shape):
    xx, yy = MiniSom(*shape, 1, topology="hexagonal").get_euclidean_coordinates()
    np.testing.assert_allclose(som.grid_positions(shape, "hexagonal"), np.stack([xx, yy], -1),
                               atol=1e-6)
    distances = np.asarray(som.lateral_distances(shape, "hexagonal"))
    adjacent = np.asarray(som.adjacency(shape, "hexagonal"))
    np.testing.assert_allclose(distances[adjacent], 1.0, atol=1e-6)
    others = ~adjacent & ~np.eye(len(distances), dtype=bool)
    assert distances[others].min() >= math.sqrt(3) - 1e-6  # the next shell of the lattice
    degree = adjacent.sum(1).reshape(shape)
    assert degree.max() == 6 and np.all(degree[1:-1, 1:-1] == 6) and degree.min() in (2, 3)


def test_toroidal_distances_wrap_around():
    flat = np.asarray(som.lateral_distances((4, 6))).reshape(4, 6, 4, 6)
    torus = np.asarray(som.lateral_distances((4, 6), toroidal=True)).reshape(4, 6, 4, 6)
    assert flat[0, 0, 3, 5] == pytest.approx(math.hypot(3, 5))
    assert torus[0, 0, 3, 5] == pytest.approx(math.sqrt(2))
    assert torus[0, 0, 0, 5] == pytest.approx(1) and torus[0, 0, 3, 0] == pytest.approx(1)
    assert torus[0, 0, 2, 3] == pytest.approx(math.hypot(2, 3))  # halfway: no shortcut
    assert np.all(np.asarray(som.adjacency((4, 6), toroidal=True)).sum(1) == 8)
    hexagonal = som.adjacency((4, 6), "hexagonal", toroidal=True)
    assert np.all(np.asarray(hexagonal).sum(1) == 6)
    ring = np.asarray(som.lateral_distances((10,), toroidal=True))
    assert ring[0, 9] == pytest.approx(1) and ring[0, 5] == pytest.approx(5)
    # A sample whose two best units are the chain's two ends: an error unless it is a ring.
    weights = np.array([0.0, 10.0, 20.0, 30.0, 1.0], np.float32).reshape(1, 5, 1)
    sample = np.array([[0.4]], np.float32)
    assert float(som.topographic_error(weights, sample, topology="chain")) == 1.0
    assert float(som.topographic_error(weights, sample, topology="chain", toroidal=True)) == 0.0


def test_neighbourhoods_match_minisom_and_their_definitions():
    sigma = 1.3
    for topology in ("rectangular", "hexagonal"):
        reference = MiniSom(5, 4, 1, sigma=sigma, topology=topology)
        lateral = np.asarray(som.lateral_distances((5, 4), topology)).reshape(5, 4, 5, 4)
        for c in [(0, 0), (2, 1), (4, 3)]:
            np.testing.assert_allclose(som.neighborhood(lateral[c], sigma),
                                       reference._gaussian(c, sigma), rtol=1e-5, atol=1e-12)
            np.testing.assert_allclose(som.neighborhood(lateral[c], sigma, "mexican_hat"),
                                       reference._mexican_hat(c, sigma), rtol=1e-5, atol=1e-7)
    d = jnp.array([0.0, 1.0, 1.3, 2.0, 3.0])
    np.testing.assert_allclose(som.neighborhood(d, 1.3, "bubble"), [1, 1, 1, 0, 0])
    np.testing.assert_allclose(som.neighborhood(d, 2.0, "triangle"), [1, 0.5, 0.35, 0, 0],
                               atol=1e-6)
    np.testing.assert_allclose(som.neighborhood(d, 1.3, "mexican_hat")[2], 0.0, atol=1e-7)


def test_schedules_reach_their_ends_and_asymptotic_is_minisoms():
    total, t = 11, np.arange(11)
    exponential = np.asarray(schedules.schedule("exponential", 2.0, 0.02, total=total)(t))
    assert exponential[0] == pytest.approx(2.0) and exponential[-1] == pytest.approx(0.02)
    np.testing.assert_allclose(exponential[1:] / exponential[:-1], 0.01 ** 0.1, rtol=1e-5)
    np.testing.assert_allclose(schedules.schedule("linear", 2.0, 1.0, total=total)(t),
                               2.0 - t / 10, rtol=1e-6)
    inverse = np.asarray(schedules.schedule("inverse_time", 2.0, 0.5, total=total)(t))
    np.testing.assert_allclose(inverse, 2.0 / (1 + 3 * t / 10), rtol=1e-6)
    reference = MiniSom(2, 2, 1)
    np.testing.assert_allclose(schedules.schedule("asymptotic", 2.0, total=total)(t),
                               [reference._asymptotic_decay(2.0, i, total) for i in t], rtol=1e-6)
    custom = schedules.schedule(lambda a0, step, steps: a0 * (1 - step / steps), 3.0, total=10)
    assert float(custom(5)) == pytest.approx(1.5)


def _towards_zero(initial, t, total):
    """A user's decay, MiniSom's signature: fn(initial, t, total)."""
    return initial * (1.0 - t / total)


@pytest.mark.parametrize("mode", ["batch", "online"])
def test_history_logs_the_schedules_at_each_epochs_last_update(mode):
    # 6 samples, 3 epochs: t counts epochs (0 .. 2) in batch mode, samples (0 .. 17) online.
    x = np.random.default_rng(0).uniform(size=(6, 2)).astype(np.float32)
    result = som.train(x, (2, 2), key=KEY, mode=mode, epochs=3, sigma=2.0, sigma_final=0.5,
                       learning_rate=0.5, learning_rate_schedule=_towards_zero)
    total, last = (3, np.arange(3)) if mode == "batch" else (18, np.array([5, 11, 17]))
    np.testing.assert_allclose(result.history["sigma"],
                               schedules.schedule("exponential", 2.0, 0.5, total=total)(last),
                               rtol=1e-6)
    np.testing.assert_allclose(result.history["learning_rate"], 0.5 * (1.0 - last / total),
                               rtol=1e-6)


# --------------------------------------------------------------------------------------
# Training


@pytest.mark.parametrize("mode", ["batch", "online"])
def test_map_unfolds_over_a_uniform_square(square, mode):
    # From random prototypes (a crumpled map, QE ~0.33) to an ordered grid over the square.
    result = som.train(square, (6, 6), key=KEY, mode=mode, epochs=12, init="random",
                       record_weights=True)
    snapshots = np.asarray(result.history["weights"])  # the map after every epoch
    assert snapshots.shape == (12, 6, 6, 2)
    np.testing.assert_array_equal(snapshots[-1], result.weights)
    qe = np.asarray(result.history["quantization_error"])
    te = np.asarray(result.history["topographic_error"])
    assert np.all(np.diff(qe[-6:]) <= 1e-6) and (mode == "online" or np.all(np.diff(qe) <= 1e-6))
    # A perfect 6 x 6 lattice quantizer has E_q = 0.383 / 6 = 0.064; sigma ending at 1
    # pulls the border units in (Kohonen's border effect), so allow 1.6 times that.
    assert qe[-1] < 0.1 and te[-1] <= 0.05
    corners = np.asarray(result.weights)[[0, 0, -1, -1], [0, -1, 0, -1]]
    nearest_corner = np.round(corners)  # the square's corner each corner unit sits by
    assert len({tuple(c) for c in nearest_corner}) == 4  # unfolded: one unit per corner
    assert np.abs(corners - nearest_corner).max() < 0.3
    np.testing.assert_allclose(result.quantization_error,
                               som.quantization_error(square, result.weights), rtol=1e-5)
    np.testing.assert_allclose(result.topographic_error,
                               som.topographic_error(result.weights, square), atol=1e-7)
    sigma = np.asarray(result.history["sigma"])  # from max(6, 6) / 2 down to 1
    assert sigma[0] <= 3.0 + 1e-6 and sigma[-1] == pytest.approx(1.0) and np.all(np.diff(sigma) < 0)


def test_sweep_equals_individual_runs_in_one_program(square, compilations):
    x = square[:300]
    options = dict(epochs=5, init="random")
    table = som.sweep(x, (5, 5), key=KEY, sigma=[1.5, 2.5], learning_rate=[0.5, 1.0],
                      n_seeds=2, **options)
    np.testing.assert_allclose(table.sigma, [1.5] * 4 + [2.5] * 4)
    np.testing.assert_allclose(table.learning_rate, [0.5, 0.5, 1.0, 1.0] * 2)
    np.testing.assert_array_equal(table.seed, [0, 1] * 4)
    assert table.maps.weights.shape == (8, 5, 5, 2)
    keys = jax.random.split(KEY, 2)
    runs = [(i, keys[int(table.seed[i])], float(table.sigma[i]),
             float(table.learning_rate[i])) for i in (0, 3, 6)]
    singles = [som.train(x, (5, 5), key=key, sigma=sigma, learning_rate=rate, **options)
               for _, key, sigma, rate in runs[:1]]
    with compilations() as compiled:  # new sigmas, rates and seeds: the same program
        singles += [som.train(x, (5, 5), key=key, sigma=sigma, learning_rate=rate, **options)
                    for _, key, sigma, rate in runs[1:]]
    assert "jit(_train)" not in compiled, compiled
    for (i, *_), single in zip(runs, singles, strict=True):
        np.testing.assert_allclose(table.maps.weights[i], single.weights, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(table.quantization_error[i], single.quantization_error,
                                   rtol=1e-5)
        np.testing.assert_allclose(table.topographic_error[i], single.topographic_error,
                                   atol=1e-7)
    assert not np.allclose(table.maps.weights[0], table.maps.weights[1])  # seeds differ
    # train itself is vmappable over its traced hyperparameters.
    vmapped = jax.vmap(lambda s: som.train(x, (5, 5), key=keys[0], sigma=s, learning_rate=0.5,
                                           **options).quantization_error)
    np.testing.assert_allclose(vmapped(jnp.array([1.5, 2.5])),
                               np.asarray(table.quantization_error)[[0, 4]],
                               rtol=1e-5)


def test_default_batch_map_classifies_fashion(fashion):
    x, labels = fashion
    train_x, test_x, train_labels, test_labels = x[:400], x[400:], labels[:400], labels[400:]
    result = som.train(train_x, (6, 6), key=KEY, epochs=10)
    assert float(result.topographic_error) < 0.1
    unit_labels = som.winner_labels_classifier(result.weights, train_x, train_labels)
    accuracy = np.mean(np.asarray(som.predict_labels(result.weights, unit_labels, test_x))
                       == test_labels)
    assert accuracy > 0.4  # 36 units, 400 training rows: 0.48 measured; chance is 0.1
    # The label map is the majority class of each unit's samples; a unit that wins
    # nothing is -1 there and takes its nearest labelled prototype's label in the classifier.
    weights = np.array(result.weights)
    weights[0, 0] = 100.0
    won = np.asarray(som.winners(weights, train_x))
    majority = np.asarray(som.label_map(weights, train_x, train_labels)).ravel()
    for unit in range(36):
        classes = train_labels[won == unit]
        expected = np.argmax(np.bincount(classes, minlength=10)) if classes.size else -1
        assert majority[unit] == expected
    assert majority[0] == -1
    filled = np.asarray(som.winner_labels_classifier(weights, train_x, train_labels)).ravel()
    nearest = np.argmin(np.where(majority >= 0, np.linalg.norm(
        weights.reshape(36, -1) - weights[0, 0], axis=1), np.inf))
    assert filled[0] == majority[nearest] and np.all(filled[1:] == majority[1:])
    counts = som.class_counts(weights, train_x, train_labels)
    np.testing.assert_array_equal(np.asarray(counts).sum((0, 1)), np.bincount(train_labels))


def test_initialisations(fashion):
    x = fashion[0][:300, ::4]  # 196 features: a small eigenproblem
    d = x.shape[1]
    plane = np.asarray(som.initial_weights(x, (4, 6), key=KEY)).reshape(-1, d)
    fitted = data.pca(x, 2)
    centred = plane - np.asarray(fitted.mean)
    components = np.asarray(fitted.components)
    coords = (centred @ components.T).reshape(4, 6, 2)
    assert np.abs(centred - (centred @ components.T) @ components).max() < 1e-4  # on the plane
    # The longer side (6 columns) runs along the first component, over +-sqrt(3 lambda_1).
    half_width = np.sqrt(3 * np.asarray(fitted.explained_variance) * (len(x) - 1) / len(x))
    np.testing.assert_allclose(np.abs(coords[:, [0, -1], 0]), half_width[0], rtol=1e-3)
    np.testing.assert_allclose(np.abs(coords[[0, -1], :, 1]), half_width[1], rtol=1e-3)
    # Padding rows with weight 0 change nothing (a sharded dataset's padding).
    padded = np.concatenate([x, np.full((5, d), 9.0, np.float32)])
    mask = np.arange(len(padded)) < len(x)
    np.testing.assert_allclose(som.initial_weights(padded, (4, 6), key=KEY, sample_weight=mask)
                               .reshape(-1, d), plane, atol=1e-5)
    samples = np.asarray(som.initial_weights(x, (4, 6), key=KEY, init="random")).reshape(-1, d)
    assert all(np.any(np.all(x == row, axis=1)) for row in samples)
    assert len({row.tobytes() for row in samples}) == 24
    uniform = np.asarray(som.initial_weights(x, (4, 6), key=KEY, init="uniform"))
    assert np.all(uniform >= x.min(0)) and np.all(uniform <= x.max(0))
    assert uniform.std() > 0.1


# --------------------------------------------------------------------------------------
# Bad input

_X = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
_NAN = np.where(np.arange(80).reshape(20, 4) == 7, np.nan, _X)
_INF = np.where(np.arange(80).reshape(20, 4) == 7, np.inf, _X)
_WEIGHTS5 = np.zeros((3, 3, 5), np.float32)

BAD_INPUTS = {
    "grid side 0": (lambda: som.train(_X, (0, 3), key=KEY), "grid side"),
    "negative grid side": (lambda: som.train(_X, (3, -2), key=KEY), "grid side"),
    "grid of three sides": (lambda: som.train(_X, (2, 2, 2), key=KEY), "grid must be"),
    "one unit": (lambda: som.train(_X, (1, 1), key=KEY), "at least 2 units"),
    "topology": (lambda: som.train(_X, (3, 3), key=KEY, topology="triangular"), "topology"),
    "chain on 2-D grid": (lambda: som.train(_X, (3, 3), key=KEY, topology="chain"), "chain"),
    "hexagonal 1-D grid": (lambda: som.train(_X, (5,), key=KEY, topology="hexagonal"), "chain"),
    "hexagonal torus, odd columns": (
        lambda: som.lateral_distances((4, 5), "hexagonal", toroidal=True), "even number"),
    "neighborhood": (lambda: som.train(_X, (3, 3), key=KEY, neighborhood="cone"),
                     "neighborhood"),
    "sigma schedule": (lambda: som.train(_X, (3, 3), key=KEY, sigma_schedule="cosine"),
                       "sigma_schedule"),
    "learning rate schedule": (
        lambda: som.train(_X, (3, 3), key=KEY, learning_rate_schedule="step"),
        "learning_rate_schedule"),
    "init": (lambda: som.train(_X, (3, 3), key=KEY, init="kmeans"), "init"),
    "init array shape": (lambda: som.train(_X, (3, 3), key=KEY, init=_WEIGHTS5), "init array"),
    "mode": (lambda: som.train(_X, (3, 3), key=KEY, mode="minibatch"), "mode"),
    "metric": (lambda: som.train(_X, (3, 3), key=KEY, metric="hamming"), "metric"),
    "sigma 0": (lambda: som.train(_X, (3, 3), key=KEY, sigma=0.0), "sigma"),
    "sigma < 0": (lambda: som.train(_X, (3, 3), key=KEY, sigma=-1.0), "sigma"),
    "final sigma 0": (lambda: som.train(_X, (3, 3), key=KEY, sigma_final=0.0), "sigma_final"),
    "alpha 0": (lambda: som.train(_X, (3, 3), key=KEY, learning_rate=0.0), "learning_rate"),
    "alpha < 0 online": (
        lambda: som.train(_X, (3, 3), key=KEY, mode="online", learning_rate=-0.1),
        "learning_rate"),
    "final alpha 0": (lambda: som.train(_X, (3, 3), key=KEY, learning_rate_final=0.0),
                      "learning_rate_final"),
    "sweep sigma 0": (lambda: som.sweep(_X, (3, 3), key=KEY, sigma=[1.0, 0.0]), "sigma"),
    "neighbourhood sigma 0": (lambda: som.neighborhood(1.0, 0.0), "sigma"),
    "distortion sigma 0": (lambda: som.distortion(np.zeros((3, 3, 4)), _X, sigma=0.0),
                           "sigma"),
    "epochs 0": (lambda: som.train(_X, (3, 3), key=KEY, epochs=0), "epochs"),
    "NaN data": (lambda: som.train(_NAN, (3, 3), key=KEY), "NaN or Inf"),
    "Inf data": (lambda: som.train(_INF, (3, 3), key=KEY, mode="online"), "NaN or Inf"),
    "NaN data, measure": (lambda: som.quantization_error(_NAN, np.zeros((3, 3, 4))),
                          "NaN or Inf"),
    "NaN weights": (lambda: som.winners(np.full((3, 3, 4), np.nan), _X), "NaN or Inf"),
    "dimension, QE": (lambda: som.quantization_error(_X, _WEIGHTS5), "features"),
    "dimension, TE": (lambda: som.topographic_error(_WEIGHTS5, _X), "features"),
    "dimension, hit map": (lambda: som.hit_map(_WEIGHTS5, _X), "features"),
    "dimension, distortion": (lambda: som.distortion(_WEIGHTS5, _X, sigma=1.0), "features"),
    "weights rank": (lambda: som.quantization_error(_X, np.zeros((1, 3, 3, 4))), "rows, cols, d"),
    "order outside the data": (
        lambda: som.train(_X, (3, 3), key=KEY, mode="online", order=[0, 20]), "order"),
    "order in batch mode": (lambda: som.train(_X, (3, 3), key=KEY, order=[0, 1]), "online"),
    "labels size": (lambda: som.label_map(np.zeros((3, 3, 4)), _X, [0] * 19), "labels"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_raises_value_error_with_the_reason(case):
    call, reason = BAD_INPUTS[case]
    with pytest.raises(ValueError, match=reason):
        call()


def test_training_on_rows_scaled_to_extreme_magnitudes_is_the_same_map(fashion):
    x = fashion[0][:200]
    plain = som.train(x, (3, 3), key=jax.random.key(0), epochs=2)
    for magnitude in (1e-20, 1e20):
        scaled = som.train(x * np.float32(magnitude), (3, 3), key=jax.random.key(0), epochs=2)
        np.testing.assert_allclose(scaled.weights / magnitude, plain.weights, rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(scaled.quantization_error / magnitude,
                                   plain.quantization_error, rtol=1e-5)


def test_training_with_nan_data_raises_eagerly_and_is_nan_under_jit_and_vmap(fashion):
    x = fashion[0][:100]
    bad = x.copy()
    bad[5, 2] = np.nan
    train = lambda a: som.train(a, (3, 3), key=jax.random.key(0), epochs=2)
    with pytest.raises(ValueError, match="NaN"):
        train(bad)
    compiled = jax.jit(train)(bad)
    assert np.all(np.isnan(compiled.weights)) and np.isnan(compiled.quantization_error)
    batched = jax.vmap(train)(np.stack([x, bad]))
    assert np.all(np.isfinite(batched.weights[0])) and np.all(np.isnan(batched.weights[1]))
