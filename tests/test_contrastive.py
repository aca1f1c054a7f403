"""Tests for jaxselforg.contrastive: NT-Xent against a float64 reference of the paper's
formula and against optax, the metric losses and miners against brute force (and
semi-hard against a transliteration of TF-Addons), class-balanced batches, SimCLR and
triplet training on real Fashion-MNIST rows (loss falls, sweep = single runs, exact
resume, eval-mode embeddings), and bad input refused clearly."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxselforg import contrastive, data, evaluation, train

# --------------------------------------------------------------------------- references


def _unit64(z):
    z = np.asarray(z, np.float64)
    norm = np.linalg.norm(z, axis=1, keepdims=True)
    return np.where(norm > 0, z / np.where(norm > 0, norm, 1.0), 0.0)


def ntxent_reference(z_a, z_b, tau):
    """The paper's l(i, j), mean over the 2N anchors, in float64 with explicit loops."""
    z = _unit64(np.concatenate([z_a, z_b]))
    n2 = z.shape[0]
    n = n2 // 2
    total = 0.0
    for i in range(n2):
        j = (i + n) % n2
        denominator = sum(np.exp(z[i] @ z[k] / tau) for k in range(n2) if k != i)
        total += -np.log(np.exp(z[i] @ z[j] / tau) / denominator)
    return total / n2


def _distance(u, v, metric):
    diff = np.asarray(u, np.float64) - np.asarray(v, np.float64)
    if metric == "sqeuclidean":
        return float(diff @ diff)
    if metric == "euclidean":
        return float(np.sqrt(diff @ diff))
    u, v = _unit64(u[None])[0], _unit64(v[None])[0]
    return float(1.0 - u @ v)


def semi_hard_reference(e, y, margin, metric):
    """Brute force over every (anchor, positive) pair: the nearest negative farther
    than the positive, else the farthest negative; mean over pairs with a negative."""
    n = len(y)
    d = np.array([[_distance(e[i], e[j], metric) for j in range(n)] for i in range(n)])
    terms = []
    for a, p in itertools.permutations(range(n), 2):
        if y[a] != y[p]:
            continue
        negatives = [k for k in range(n) if y[k] != y[a]]
        if not negatives:
            continue
        farther = [d[a, k] for k in negatives if d[a, k] > d[a, p]]
        chosen = min(farther) if farther else max(d[a, k] for k in negatives)
        terms.append(max(0.0, d[a, p] - chosen + margin))
    return float(np.mean(terms)) if terms else 0.0


def batch_hard_reference(e, y, margin, metric):
    n = len(y)
    d = np.array([[_distance(e[i], e[j], metric) for j in range(n)] for i in range(n)])
    terms = []
    for a in range(n):
        positives = [d[a, p] for p in range(n) if p != a and y[p] == y[a]]
        negatives = [d[a, k] for k in range(n) if y[k] != y[a]]
        if positives and negatives:
            terms.append(max(0.0, max(positives) - min(negatives) + margin))
    return float(np.mean(terms)) if terms else 0.0


def tfa_semihard(e, y, margin):
    """TF-Addons' triplet_semihard_loss (distance_metric="L_2": squared distances),
    transliterated to numpy with its tiling and masked min/max tricks."""
    e = np.asarray(e, np.float64)
    sq = np.sum(e**2, 1)
    pdist = np.maximum(sq[:, None] + sq[None, :] - 2 * e @ e.T, 0.0)
    pdist = pdist * (1 - np.eye(len(y)))
    y = np.asarray(y).reshape(-1, 1)
    adjacency = y == y.T
    adjacency_not = ~adjacency
    b = len(y)
    tile = np.tile(pdist, [b, 1])
    mask = np.tile(adjacency_not, [b, 1]) & (tile > pdist.T.reshape(-1, 1))
    mask_final = (mask.sum(1, keepdims=True) > 0).reshape(b, b).T
    maxs = tile.max(1, keepdims=True)
    outside = ((tile - maxs) * mask).min(1, keepdims=True) + maxs
    outside = outside.reshape(b, b).T
    mins = pdist.min(1, keepdims=True)
    inside = np.tile(((pdist - mins) * adjacency_not).max(1, keepdims=True) + mins, [1, b])
    chosen = np.where(mask_final, outside, inside)
    loss = margin + pdist - chosen
    positives = adjacency.astype(float) - np.eye(b)
    return np.sum(np.maximum(loss * positives, 0.0)) / positives.sum()


# --------------------------------------------------------------------------- NT-Xent


def test_ntxent_equals_the_papers_formula_and_optax():
    z_a = jax.random.normal(jax.random.key(0), (5, 3))
    z_b = z_a + 0.5 * jax.random.normal(jax.random.key(1), (5, 3))
    for tau in (0.1, 0.5, 2.0):
        expected = ntxent_reference(z_a, z_b, tau)
        assert float(contrastive.ntxent(z_a, z_b, tau)) == pytest.approx(expected, rel=1e-5)
        # optax's: one view per row, the positive pairs named by equal labels.
        labels = jnp.concatenate([jnp.arange(5), jnp.arange(5)])
        theirs = optax.losses.ntxent(jnp.concatenate([z_a, z_b]), labels, temperature=tau)
        assert float(theirs) == pytest.approx(expected, rel=1e-5)
    # Traced temperature: one program for a sweep; equals the single values.
    taus = jnp.array([0.1, 0.5])
    swept = jax.jit(jax.vmap(lambda t: contrastive.ntxent(z_a, z_b, t)))(taus)
    np.testing.assert_allclose(swept, [ntxent_reference(z_a, z_b, 0.1),
                                       ntxent_reference(z_a, z_b, 0.5)], rtol=1e-5)


def test_collapsed_embeddings_give_log_2n_minus_1():
    loss = jax.jit(contrastive.ntxent)
    for n in (2, 16):
        z = jnp.tile(jnp.array([[0.3, -1.2, 2.0]]), (n, 1))
        for tau in (0.01, 0.5):
            # Each similarity is a float32 cosine (rounded by eps) divided by tau, so
            # the loss carries a few eps / tau (XLA's default optimization: 3.7e-6).
            ulp = float(np.finfo(np.float32).eps) / tau
            assert float(loss(z, z, tau)) == pytest.approx(np.log(2 * n - 1), rel=1e-6,
                                                           abs=4 * ulp)
        zeros = jnp.zeros((n, 3))  # zero embeddings: similarity 0 to all, the same value
        assert float(loss(zeros, zeros, 0.5)) == pytest.approx(np.log(2 * n - 1), rel=1e-6)


def test_ntxent_gradients_are_finite_for_zero_embeddings_and_small_tau():
    @jax.jit
    def check(zeros, z):
        zero_grads = jax.grad(lambda a, b: contrastive.ntxent(a, b, 0.01), argnums=(0, 1))(
            zeros, zeros)
        value, grad = jax.value_and_grad(lambda a: contrastive.ntxent(a, -a, 0.01))(z)
        # The temperature's own gradient (for a learned tau) is finite too.
        tau_grad = jax.grad(lambda t: contrastive.ntxent(z, z, t))(0.01)
        return zero_grads, value, grad, tau_grad

    zero_grads, value, grad, tau_grad = check(jnp.zeros((4, 3)),
                                              30.0 * jax.random.normal(jax.random.key(2), (8, 16)))
    assert all(np.all(np.isfinite(g)) for g in zero_grads)
    assert np.isfinite(float(value)) and float(value) > 10  # opposite views: a large loss
    assert np.all(np.isfinite(grad)) and np.isfinite(float(tau_grad))


# --------------------------------------------------------------------------- metric losses


def _batch(seed, n=10, d=3, n_classes=3):
    rng = np.random.default_rng(seed)
    e = rng.normal(size=(n, d)).astype(np.float32)
    y = rng.integers(0, n_classes, size=n).astype(np.int32)
    return e, y


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine"])
def test_triplet_miners_equal_brute_force(metric):
    for seed in range(4):
        e, y = _batch(seed)
        for margin in (0.0, 0.3, 2.0):
            ours = contrastive.triplet_loss(e, y, margin=margin, miner="semi_hard",
                                            metric=metric)
            assert float(ours) == pytest.approx(semi_hard_reference(e, y, margin, metric),
                                                rel=1e-4, abs=1e-5)
            ours = contrastive.triplet_loss(e, y, margin=margin, miner="batch_hard",
                                            metric=metric)
            assert float(ours) == pytest.approx(batch_hard_reference(e, y, margin, metric),
                                                rel=1e-4, abs=1e-5)


def test_semi_hard_matches_tf_addons_where_every_anchor_has_a_negative():
    for seed in range(4):
        e, y = _batch(seed + 10, n=12, d=4, n_classes=4)
        e = np.asarray(_unit64(e), np.float32)  # TF-Addons expects unit embeddings
        for margin in (0.2, 1.0):
            ours = contrastive.triplet_loss(e, y, margin=margin, metric="sqeuclidean")
            assert float(ours) == pytest.approx(tfa_semihard(e, y, margin), rel=1e-4, abs=1e-6)


def test_triplet_loss_without_positives_or_negatives_is_zero_not_nan():
    @jax.jit
    def values_and_grads(e):
        out = []
        for miner in contrastive.MINERS:
            for labels in (jnp.arange(5), jnp.zeros(5, jnp.int32)):  # no positives; negatives
                out.append(jax.value_and_grad(
                    lambda x, lab=labels, m=miner: contrastive.triplet_loss(x, lab, miner=m))(e))
        # Duplicate embeddings (distance 0) keep a finite gradient.
        out.append(jax.value_and_grad(
            lambda x: contrastive.triplet_loss(x, jnp.array([0, 0, 1, 1, 1])))(jnp.zeros_like(e)))
        return out

    results = values_and_grads(jax.random.normal(jax.random.key(0), (5, 3)))
    for value, grad in results[:-1]:
        assert float(value) == 0.0
        assert np.all(np.isfinite(grad))
    value, grad = results[-1]
    assert float(value) == pytest.approx(1.0)  # D_ap = D_an = 0: the (default) margin
    assert np.all(np.isfinite(grad))


def test_contrastive_losses_equal_the_hadsell_formula():
    e, y = _batch(3, n=8, d=4)
    margin = 1.5
    d = np.array([[_distance(e[i], e[j], "euclidean") for j in range(8)] for i in range(8)])
    terms = [0.5 * d[i, j] ** 2 if y[i] == y[j] else 0.5 * max(0.0, margin - d[i, j]) ** 2
             for i, j in itertools.combinations(range(8), 2)]
    ours = contrastive.batch_contrastive_loss(e, y, margin=margin)
    assert float(ours) == pytest.approx(np.mean(terms), rel=1e-5)
    similar = y[:4] == y[4:]
    pairs = [0.5 * d[i, i + 4] ** 2 if similar[i] else 0.5 * max(0, margin - d[i, i + 4]) ** 2
             for i in range(4)]
    ours = contrastive.contrastive_loss(e[:4], e[4:], similar, margin=margin)
    assert float(ours) == pytest.approx(np.mean(pairs), rel=1e-5)
    grad = jax.jit(jax.grad(lambda a: contrastive.contrastive_loss(a, a, jnp.ones(4, bool))))(
        e[:4])
    assert np.all(np.isfinite(grad))  # D = 0 for every pair


def test_bad_loss_input_is_refused():
    z = jnp.ones((4, 3))
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        contrastive.ntxent(z, z, 0.0)
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        contrastive.ntxent(z, z, -0.5)
    with pytest.raises(ValueError, match="N >= 2"):
        contrastive.ntxent(z[:1], z[:1], 0.5)
    with pytest.raises(ValueError, match="same shape"):  # an odd number of views
        contrastive.ntxent(jnp.ones((5, 3)), z, 0.5)
    with pytest.raises(ValueError, match=r"shape \[n, d\]"):
        contrastive.ntxent(jnp.ones((4, 3, 2)), jnp.ones((4, 3, 2)), 0.5)
    with pytest.raises(ValueError, match=r"shape \[n, d\]"):
        contrastive.triplet_loss(jnp.ones(4), jnp.arange(4))
    with pytest.raises(ValueError, match="margin must be a finite number >= 0"):
        contrastive.triplet_loss(z, jnp.arange(4), margin=-0.1)
    with pytest.raises(ValueError, match="margin must be a finite number >= 0"):
        contrastive.contrastive_loss(z, z, jnp.ones(4), margin=-1.0)
    with pytest.raises(ValueError, match="Unknown miner"):
        contrastive.triplet_loss(z, jnp.arange(4), miner="hardest")
    with pytest.raises(ValueError, match="labels must have shape"):
        contrastive.triplet_loss(z, jnp.arange(3))
    with pytest.raises(ValueError, match="at least 2 embeddings"):
        contrastive.batch_contrastive_loss(z[:1], jnp.arange(1))
    # Traced bad values cannot raise: the loss is NaN (train.fit stops on it).
    assert np.isnan(float(jax.jit(lambda t: contrastive.ntxent(z, z, t))(-1.0)))
    assert np.isnan(float(jax.jit(lambda m: contrastive.triplet_loss(
        z, jnp.array([0, 0, 1, 1]), margin=m))(-1.0)))


# --------------------------------------------------------------------------- sampling


def test_class_balanced_batches():
    labels = np.array([0] * 5 + [1] * 3 + [2] * 7 + [4] * 4, np.int32)
    images = np.arange(labels.size, dtype=np.float32)  # an example is its own index
    table = contrastive.class_rows(images, labels, key=jax.random.key(0))
    assert table.n_rows == 3 and table.images.shape == (3, 4)
    np.testing.assert_array_equal(table.classes, [0, 1, 2, 4])
    cells = np.asarray(table.images).astype(int)
    np.testing.assert_array_equal(labels[cells], np.tile([0, 1, 2, 4], (3, 1)))
    assert len(set(cells.ravel())) == cells.size
    other = contrastive.class_rows(images, labels, key=jax.random.key(1))
    assert not np.array_equal(other.images, table.images)  # the order comes from the key

    draw = jax.jit(lambda k: contrastive.class_balanced_batch(k, table, n_classes=3,
                                                              n_per_class=2))
    seen = set()
    for seed in range(20):
        batch, batch_labels = draw(jax.random.key(seed))
        batch, batch_labels = np.asarray(batch).astype(int), np.asarray(batch_labels)
        np.testing.assert_array_equal(labels[batch], batch_labels)
        classes, counts = np.unique(batch_labels, return_counts=True)
        assert len(classes) == 3 and np.all(counts == 2)  # P classes x K images
        assert len(set(batch)) == 6  # distinct images
        seen.add(tuple(classes))
    assert len(seen) > 1  # the classes are drawn
    with pytest.raises(ValueError, match="n_per_class K = 4 exceeds"):
        contrastive.class_balanced_batch(jax.random.key(0), table, n_per_class=4)
    with pytest.raises(ValueError, match=r"n_classes P must be in \[2, 4\]"):
        contrastive.class_balanced_batch(jax.random.key(0), table, n_classes=5, n_per_class=2)
    with pytest.raises(ValueError, match="at least 2 classes"):
        contrastive.class_rows(images[:5], labels[:5], key=jax.random.key(0))


# --------------------------------------------------------------------------- training

TINY = {"channels": (4, 8), "features": 16}


@pytest.fixture(scope="module")
def fashion():
    x, y = data.load("fashion_mnist", "train")
    xt, yt = data.load("fashion_mnist", "test")
    # 8 x 8 thumbnails: the same code paths as 28 x 28, a fraction of the compile time.
    def small(a):
        a = jnp.asarray(a, jnp.float32) / 255.0
        return np.clip(np.asarray(jax.image.resize(a, (a.shape[0], 8, 8), "linear")), 0, 1)

    return small(x[:256]), np.asarray(y[:256]), small(xt[:200]), np.asarray(yt[:200])


def test_simclr_augmentation_is_crop_flip_and_brightness_contrast():
    steps = contrastive.simclr_augmentation((0.3, 1.0), flip=True).steps
    assert [(type(t).__name__, p) for t, p in steps] == [
        ("RandomResizedCrop", 1.0), ("HorizontalFlip", 0.5), ("BrightnessContrast", 0.8)]
    assert steps[0][0].scale == (0.3, 1.0) and steps[2][0].contrast == 0.4
    plain = contrastive.simclr_augmentation(jitter=0.0).steps
    assert [type(t).__name__ for t, _ in plain] == ["RandomResizedCrop"]
    with pytest.raises(ValueError, match=r"brightness must be in \[0, 1\]"):
        contrastive.simclr_augmentation(jitter=1.5)


def _simclr(x, **kwargs):
    settings = {"epochs": 2, "batch_size": 32, "learning_rate": 3e-3, "head": (16, 8),
                "progress": False, **TINY}
    return contrastive.train_simclr(x, **{**settings, **kwargs})


def test_simclr_learns_and_a_temperature_sweep_is_the_single_runs(fashion):
    x, _, xt, _ = fashion
    key = jax.random.key(0)
    # Without BatchNorm: the bias before a BatchNorm has a gradient of pure roundoff,
    # which Adam scales up to a full step, so vmapped and single runs would part there.
    sweep = _simclr(x, key=key, temperature=jnp.array([0.2, 0.5]), batch_norm=False)
    assert sweep.n_runs == 2 and sweep.history["loss"].shape == (2, 2)
    loss = sweep.history["loss"]
    assert np.all(loss[-1] < loss[0])
    assert np.all(sweep.history["embedding_std"] > 0.05)  # not collapsed (1/sqrt(8) = 0.35)
    for run, tau in enumerate((0.2, 0.5)):
        single = _simclr(x, key=key, temperature=tau, batch_norm=False)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6),
                     train.select_run(sweep.state.params, run), single.state.params)
        np.testing.assert_allclose(sweep.history["loss"][:, run], single.history["loss"],
                                   rtol=2e-5)
    # Evaluation uses the encoder (features), in eval mode and in blocks.
    model = single.model
    h = contrastive.embed(model, xt)
    assert h.shape == (200, 16)
    np.testing.assert_allclose(contrastive.embed(model, xt, block_rows=64), h, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(h[:10], model.features(xt[:10]), rtol=1e-5, atol=1e-6)
    assert contrastive.embed(model, xt[:10], projection=True).shape == (10, 8)
    with pytest.raises(ValueError, match="Name the run of a sweep"):
        sweep.model  # noqa: B018


def test_simclr_resumes_exactly(fashion, tmp_path):
    x = fashion[0]
    # The settings of the sweep test's single runs: its compiled epoch is reused.
    settings = {"key": jax.random.key(1), "temperature": 0.5, "batch_norm": False,
                "learning_rate_decay": "constant", "epochs": 2}
    straight = _simclr(x, **settings)
    _simclr(x, **{**settings, "epochs": 1}, checkpoint_dir=tmp_path / "ckpt")
    resumed = _simclr(x, **settings, checkpoint_dir=tmp_path / "ckpt")
    jax.tree.map(np.testing.assert_array_equal, straight.state.params, resumed.state.params)
    np.testing.assert_array_equal(straight.history["loss"][1], resumed.history["loss"][-1])


def test_triplet_training_on_class_balanced_batches(fashion):
    x, y, xt, yt = fashion
    result = contrastive.train_metric(x, y, key=jax.random.key(0), miner="semi_hard",
                                      margin=0.2, n_classes=5, n_per_class=4, epochs=4,
                                      learning_rate=3e-3, embedding_dim=8, progress=False,
                                      **TINY)
    loss = result.history["loss"]
    assert loss[-1] < loss[0]
    assert np.all(result.history["embedding_std"] > 0.05)
    e = np.asarray(contrastive.embed(result.model, xt, projection=True))
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, rtol=1e-5)
    assert evaluation.retrieval_metrics(e, yt).precision_at_1 > 0.4  # chance: about 0.1
    # The contrastive loss, every class in each batch, with LARS (the miners are tested
    # above against brute force).
    other = contrastive.train_metric(x, y, key=jax.random.key(0), loss="contrastive",
                                     margin=1.0, n_per_class=4, epochs=1, embedding_dim=8,
                                     optimizer="lars", progress=False, **TINY)
    assert np.all(np.isfinite(other.history["loss"]))


def test_bad_training_input_is_refused(fashion):
    x, y, _, _ = fashion
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        _simclr(x, key=key, temperature=jnp.array([0.5, 0.0]))
    with pytest.raises(ValueError, match="batch_size >= 2"):
        _simclr(x, key=key, batch_size=1)
    with pytest.raises(ValueError, match="images must be"):
        _simclr(x[:, :, :, None], key=key)
    with pytest.raises(ValueError, match="Unknown optimizer"):
        _simclr(x, key=key, optimizer="sgd")
    with pytest.raises(ValueError, match="2 keys but"):
        _simclr(x, key=jax.random.split(key, 2), temperature=jnp.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="n_per_class K = 1000 exceeds"):
        contrastive.train_metric(x, y, key=key, n_per_class=1000, progress=False, **TINY)
    with pytest.raises(ValueError, match="margin must be >= 0"):
        contrastive.train_metric(x, y, key=key, margin=-0.5, progress=False, **TINY)
    with pytest.raises(ValueError, match="Unknown loss"):
        contrastive.train_metric(x, y, key=key, loss="arcface", progress=False, **TINY)
