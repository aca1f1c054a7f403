"""RBMs and Hopfield networks against scikit-learn, brute-force enumeration and theory."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import expit, logsumexp
from sklearn.neural_network import BernoulliRBM

from jaxselforg import data, rbm, schedules
from jaxselforg.rbm import hopfield, partition

KEY = jax.random.key(0)


# --------------------------------------------------------------------------------------
# Fixtures and brute force.


@pytest.fixture(scope="module")
def mnist():
    """1,000 training and 300 test rows of MNIST, binarized at 0.5."""
    def rows(split, n):
        images, _ = data.load("mnist", split)
        return np.asarray(data.binarize(data.flatten(data.to_unit_range(images[:n]))))

    return rows("train", 1000), rows("test", 300)


@pytest.fixture(scope="module")
def fixture_fit(mnist):
    """Static settings of the ``trained`` fit; other fits reuse its compiled program."""
    return dict(epochs=10, momentum_epochs=2, monitor_size=1000, validation=mnist[1][:100])


@pytest.fixture(scope="module")
def trained(mnist, fixture_fit):
    """A 784 x 16 RBM trained briefly by CD-1 (eta 0.1: only 100 updates on 1,000 rows)."""
    x, _ = mnist
    params, history = rbm.fit(x, 16, key=KEY, learning_rate=0.1, **fixture_fit)
    return params, history


def _random_params(key, n_visible, n_hidden, scale=1.0, cls=rbm.RBMParams):
    kw, ka, kb = jax.random.split(key, 3)
    return cls(scale * jax.random.normal(kw, (n_visible, n_hidden)),
               0.5 * jax.random.normal(ka, (n_visible,)),
               0.5 * jax.random.normal(kb, (n_hidden,)))


@pytest.fixture(scope="module")
def tiny():
    """An 8 x 6 Bernoulli RBM with strong weights (slow mixing) and 10 binary rows."""
    params = _random_params(jax.random.key(1), 8, 6)
    v = np.random.default_rng(0).integers(0, 2, (10, 8)).astype(np.float32)
    return params, v


def _states(m):
    return ((np.arange(2**m)[:, None] >> np.arange(m)) & 1).astype(np.float64)


def _brute_force(params):
    """Exact ln Z, p(v) over all visible states and <v h^T>, <v>, <h> under the model."""
    w, a, b = (np.asarray(leaf, np.float64) for leaf in params)
    v, h = _states(w.shape[0]), _states(w.shape[1])
    log_joint = (v @ a)[:, None] + (h @ b)[None, :] + v @ w @ h.T
    log_z = logsumexp(log_joint)
    p = np.exp(log_joint - log_z)
    return log_z, v, p.sum(1), (v.T @ p @ h, v.T @ p.sum(1), h.T @ p.sum(0))


# --------------------------------------------------------------------------------------
# Parity with scikit-learn's BernoulliRBM.


def _sklearn_rbm(params, random_state=0):
    w, a, b = (np.asarray(leaf, np.float64) for leaf in params)
    reference = BernoulliRBM(n_components=w.shape[1], random_state=random_state)
    reference.components_, reference.intercept_visible_, reference.intercept_hidden_ = w.T, a, b
    reference.n_features_in_ = w.shape[0]
    return reference


def test_free_energy_transform_and_one_bit_pll_match_sklearn(mnist, trained):
    _, x_test = mnist
    params, _ = trained
    reference = _sklearn_rbm(params, random_state=3)
    np.testing.assert_allclose(rbm.free_energy(params, x_test), reference._free_energy(x_test),
                               rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(rbm.hidden_given_visible(params, x_test),
                               reference.transform(x_test), atol=1e-5)
    index = np.random.RandomState(3).randint(0, x_test.shape[1], x_test.shape[0])
    np.testing.assert_allclose(rbm.pseudo_log_likelihood_one_bit(params, x_test, index=index),
                               reference.score_samples(x_test), rtol=1e-4, atol=1e-2)


def test_pcd_matches_sklearn_quality_with_its_settings(mnist):
    """Our PCD-1 with scikit-learn's rule (no momentum/decay, lr 0.05, batch 10) learns as well."""
    x, x_test = mnist
    settings = dict(batch_size=10, learning_rate=0.05, schedule="constant", momentum=0.0,
                    final_momentum=0.0, weight_decay=0.0)
    ours, _ = rbm.fit(x, 10, key=KEY, persistent=True, epochs=5, **settings)
    reference = BernoulliRBM(n_components=10, learning_rate=0.05, batch_size=10, n_iter=5,
                             random_state=0).fit(x)
    theirs = rbm.RBMParams(reference.components_.T.astype(np.float32),
                           reference.intercept_visible_.astype(np.float32),
                           reference.intercept_hidden_.astype(np.float32))

    def mean_test_ll(params):
        return float(rbm.log_likelihood(params, x_test,
                                        log_z=rbm.log_partition_exact(params)).mean())

    initial = rbm.init_params(KEY, 784, 10, data=x)
    assert mean_test_ll(ours) > mean_test_ll(theirs) - 2.0
    assert mean_test_ll(ours) > mean_test_ll(initial) + 15.0


def test_pcd_learner_hands_the_pcd_gradient_to_the_optax_chain(mnist):
    x, _ = mnist
    tx = rbm.optimizer(0.05, momentum=0.5, weight_decay=0.01)
    learner = rbm.contrastive_divergence(1, optimizer=tx, persistent=True, n_chains=7)
    state = learner.init(rbm.init_params(KEY, 784, 10, data=x), KEY)
    assert state.chains.shape == (7, 784) and state.chain_hidden.shape == (7, 10)
    batch, step_key = jnp.asarray(x[:20]), jax.random.key(1)
    new = jax.jit(learner.update)(state, batch, step_key)
    grad, chains = rbm.cd_gradient(state.params, batch, key=step_key, k=1, chains=state.chains)
    np.testing.assert_array_equal(new.chains, chains)  # the chains moved on, from themselves
    assert not np.array_equal(new.chains, state.chains)
    # From rest, Delta = eta (g - lambda W): the decay reaches W, not the biases.
    np.testing.assert_allclose(new.params.w - state.params.w,
                               0.05 * (grad.w - 0.01 * state.params.w), atol=1e-7)
    np.testing.assert_allclose(new.params.b, state.params.b + 0.05 * grad.b, atol=1e-7)
    assert rbm.contrastive_divergence(2, optimizer=tx).init(state.params, KEY).chains.shape \
        == (0, 784)


def test_momentum_is_hintons_with_a_scheduled_switch(mnist):
    # Delta_t = mu(t) Delta_{t-1} + eta (g_t - lambda W_t), mu switching 0.5 -> 0.9 at t = 1.
    x, _ = mnist
    momentum = schedules.piecewise_constant((0.5, 0.9), (1,))
    learner = rbm.contrastive_divergence(1, optimizer=rbm.optimizer(0.05, momentum, 0.01))
    batch, keys = jnp.asarray(x[:20]), jax.random.split(jax.random.key(2), 2)
    states = [learner.init(rbm.init_params(KEY, 784, 10, data=x), KEY)]
    update = jax.jit(learner.update)
    for step_key in keys:
        states.append(update(states[-1], batch, step_key))
    delta = 0.0
    for t, step_key in enumerate(keys):
        w = states[t].params.w
        grad, _ = rbm.cd_gradient(states[t].params, batch, key=step_key)
        delta = float(momentum(t)) * delta + 0.05 * (grad.w - 0.01 * w)
        np.testing.assert_allclose(states[t + 1].params.w - w, delta, atol=1e-7)
    assert float(momentum(0)) == 0.5 and float(momentum(1)) == pytest.approx(0.9)


# --------------------------------------------------------------------------------------
# Energy, partition function and gradient by enumeration.


@pytest.mark.parametrize("cls", [rbm.RBMParams, rbm.GaussianRBMParams])
def test_free_energy_is_minus_log_sum_over_hidden_of_exp_minus_energy(cls):
    params = _random_params(jax.random.key(2), 5, 4, cls=cls)
    rng = np.random.default_rng(1)
    v = (rng.integers(0, 2, (3, 5)) if cls is rbm.RBMParams else rng.normal(size=(3, 5)))
    v = v.astype(np.float32)
    h = _states(4).astype(np.float32)
    energies = np.stack([rbm.energy(params, np.repeat(row[None], len(h), 0), h) for row in v])
    np.testing.assert_allclose(rbm.free_energy(params, v), -logsumexp(-energies, axis=1),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(8, 6), (5, 9)])  # enumerates the hidden / visible layer
def test_log_partition_exact_equals_brute_force(shape):
    params = _random_params(jax.random.key(3), *shape)
    log_z, *_ = _brute_force(params)
    np.testing.assert_allclose(float(rbm.log_partition_exact(params)), log_z, rtol=1e-6)


def test_log_partition_exact_is_chunked(monkeypatch):
    params = _random_params(jax.random.key(4), 11, 7)  # a shape compiled nowhere else
    monkeypatch.setattr(partition, "_BLOCK_BITS", 3)  # 16 blocks of 8 hidden states
    np.testing.assert_allclose(float(rbm.log_partition_exact(params)),
                               _brute_force(params)[0], rtol=1e-6)


def test_gaussian_log_partition_matches_numerical_integration():
    params = _random_params(jax.random.key(5), 2, 3, scale=0.7, cls=rbm.GaussianRBMParams)
    grid = np.linspace(-12, 12, 801)
    v = np.stack(np.meshgrid(grid, grid), -1).reshape(-1, 2).astype(np.float32)
    log_density = -np.asarray(rbm.free_energy(params, v), np.float64)
    cell = (grid[1] - grid[0]) ** 2
    np.testing.assert_allclose(float(rbm.log_partition_exact(params)),
                               logsumexp(log_density) + np.log(cell), atol=1e-4)


def test_exact_gradient_equals_data_minus_model_statistics(tiny):
    params, v = tiny
    mean_ll = lambda p: jnp.mean(rbm.log_likelihood(p, v, log_z=rbm.log_partition_exact(p)))
    grad = jax.grad(mean_ll)(params)
    _, _, _, (model_vh, model_v, model_h) = _brute_force(params)
    hidden_p = expit(np.asarray(params.b, np.float64) + v @ np.asarray(params.w, np.float64))
    np.testing.assert_allclose(grad.w, v.T @ hidden_p / len(v) - model_vh, atol=2e-5)
    np.testing.assert_allclose(grad.a, v.mean(0) - model_v, atol=2e-5)
    np.testing.assert_allclose(grad.b, hidden_p.mean(0) - model_h, atol=2e-5)


def test_cd_direction_approaches_the_exact_gradient_as_k_grows(tiny):
    params, v = tiny
    exact = jax.grad(lambda p: jnp.mean(
        rbm.log_likelihood(p, v, log_z=rbm.log_partition_exact(p))))(params)
    exact = np.concatenate([np.ravel(leaf) for leaf in exact])
    copies = np.tile(v, (4000, 1))  # the batch mean averages 4,000 chains per data row
    errors = []
    for k in (1, 3, 30):
        estimate, _ = rbm.cd_gradient(params, copies, key=jax.random.key(k), k=k)
        estimate = np.concatenate([np.ravel(leaf) for leaf in estimate])
        errors.append(np.linalg.norm(estimate - exact) / np.linalg.norm(exact))
    assert errors[0] > errors[1] > errors[2], errors
    assert errors[0] > 0.1 and errors[2] < 0.03, errors


def test_ais_is_within_half_a_nat_of_exact_on_a_trained_mnist_rbm(mnist, trained):
    x, _ = mnist
    params, _ = trained
    exact = float(rbm.log_partition_exact(params))
    log_z, log_z_std = rbm.log_partition_ais(params, key=KEY, data=x, n_chains=100,
                                             n_betas=1000)
    assert abs(float(log_z) - exact) < 0.5
    assert 0 < float(log_z_std) < 0.5
    # Without data the base uses the model's own visible biases: still consistent.
    log_z_own, _ = rbm.log_partition_ais(params, key=KEY, n_chains=100, n_betas=1000)
    assert abs(float(log_z_own) - exact) < 0.5


def test_ais_schedule_is_linear_then_denser():
    betas = rbm.ais_betas(14_500)
    assert betas[0] == 0.0 and betas[-1] == 1.0 and np.all(np.diff(betas) > 0)
    np.testing.assert_allclose(np.diff(betas)[[0, 600, -1]], [1e-3, 1e-4, 1e-5], rtol=1e-3)
    assert len(rbm.ais_betas(10)) == 10


# --------------------------------------------------------------------------------------
# Monitoring.


def test_exact_pseudo_log_likelihood_is_the_mean_of_one_bit_estimates(tiny):
    params, v = tiny
    pll = np.asarray(rbm.pseudo_log_likelihood(params, v))
    # Brute force: ln P(v_i | v_-i) from free energies of v and v with bit i flipped.
    f = np.asarray(rbm.free_energy(params, v), np.float64)
    reference = np.zeros(len(v))
    one_bit = np.zeros(len(v))
    for i in range(v.shape[1]):
        flipped = v.copy()
        flipped[:, i] = 1 - flipped[:, i]
        reference += np.log(expit(np.asarray(rbm.free_energy(params, flipped)) - f))
        one_bit += rbm.pseudo_log_likelihood_one_bit(params, v, index=np.full(len(v), i))
    np.testing.assert_allclose(pll, reference, rtol=1e-5)
    np.testing.assert_allclose(one_bit / v.shape[1], pll, rtol=1e-5)


def test_training_history_and_free_energy_gap(mnist, trained, fixture_fit):
    x, x_test = mnist
    params, history = trained
    assert history["reconstruction_error"][-1] < history["reconstruction_error"][0]
    assert history["pseudo_log_likelihood"][-1] > history["pseudo_log_likelihood"][0]
    np.testing.assert_allclose(history["momentum"], [0.5] * 2 + [0.9] * 8)
    assert float(history["learning_rate"][-1]) == 0.0  # linear decay to 0
    # monitor_size = n: the monitored rows are all of x.
    np.testing.assert_allclose(history["pseudo_log_likelihood"][-1],
                               rbm.pseudo_log_likelihood(params, x).mean(), rtol=1e-5)
    np.testing.assert_allclose(history["reconstruction_error"][-1],
                               rbm.reconstruction_error(params, x).mean(), rtol=1e-5)
    gap = rbm.free_energy_gap(params, x, fixture_fit["validation"])
    np.testing.assert_allclose(history["free_energy_gap"][-1], gap, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        float(gap),
        float(rbm.free_energy(params, fixture_fit["validation"]).mean()
              - rbm.free_energy(params, x).mean()),
        rtol=1e-5)
    np.testing.assert_allclose(
        rbm.reconstruction_error(params, x),
        np.sum((x - rbm.visible_given_hidden(params, rbm.hidden_given_visible(params, x))) ** 2,
               axis=1), rtol=1e-5)


# --------------------------------------------------------------------------------------
# Training: transformations, PCD, sparsity.


def test_fit_sweeps_learning_rates_and_seeds_in_one_vmapped_program(mnist, trained,
                                                                    fixture_fit,
                                                                    compilations):
    x, _ = mnist
    rates = jnp.array([0.02, 0.1])
    keys = jnp.stack([KEY, jax.random.key(1)])
    swept = jax.jit(jax.vmap(lambda lr, key: rbm.fit(x, 16, key=key, learning_rate=lr,
                                                      **fixture_fit)))(rates, keys)
    singles = []
    with compilations() as compiled:
        for i in range(2):  # same shapes as the fixture: no new compilation of the fit
            singles.append(rbm.fit(x, 16, key=keys[i], learning_rate=rates[i], **fixture_fit))
    assert "jit(_fit)" not in compiled, compiled
    for i, single in enumerate(singles):
        np.testing.assert_allclose(swept.params.w[i], single.params.w, atol=1e-4)
        np.testing.assert_allclose(swept.history["pseudo_log_likelihood"][i],
                                   single.history["pseudo_log_likelihood"], rtol=1e-4)
    assert not np.allclose(swept.params.w[0], swept.params.w[1])


def test_sparsity_target_lowers_hidden_activity(mnist, trained, fixture_fit):
    x, _ = mnist
    sparse, _ = rbm.fit(x, 16, key=KEY, learning_rate=0.1, sparsity_target=0.02,
                        sparsity_cost=0.5, **fixture_fit)
    activity = lambda p: float(rbm.hidden_given_visible(p, x).mean())
    assert activity(sparse) < 0.5 * activity(trained[0])


def test_gaussian_rbm_trains_on_standardized_data():
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(3, 6)) * 3
    x = (centres[rng.integers(0, 3, 600)] + rng.normal(size=(600, 6))).astype(np.float32)
    x = (x - x.mean(0)) / x.std(0)
    params, history = rbm.fit(x, 4, key=KEY, visible="gaussian", epochs=10, batch_size=20,
                              learning_rate=0.05)
    assert isinstance(params, rbm.GaussianRBMParams)
    assert np.all(np.isnan(history["pseudo_log_likelihood"]))
    log_z = rbm.log_partition_exact(params)
    untrained = rbm.init_params(KEY, 6, 4, visible="gaussian", data=x)
    ll = lambda p, lz: float(rbm.log_likelihood(p, x, log_z=lz).mean())
    assert ll(params, log_z) > ll(untrained, rbm.log_partition_exact(untrained)) + 0.5
    log_z_ais, _ = rbm.log_partition_ais(params, key=KEY, data=x, n_chains=50, n_betas=500)
    assert abs(float(log_z_ais) - float(log_z)) < 0.05


# --------------------------------------------------------------------------------------
# Sampling and associative memory.


def test_gibbs_chains_sample_the_model_distribution(tiny):
    params, _ = tiny
    _, states, p_v, _ = _brute_force(params)
    chain = rbm.sample(params, 8000, key=KEY, n_steps=60, n_snapshots=3)
    assert chain.means.shape == (3, 8000, 8) and list(chain.steps) == [20, 40, 60]
    codes = np.asarray(chain.states).astype(int) @ (1 << np.arange(8))
    empirical = np.bincount(codes, minlength=256) / len(codes)
    assert 0.5 * np.abs(empirical - p_v).sum() < 0.05  # total variation


def test_snapshots_at_uneven_steps_continue_one_chain(tiny):
    params, _ = tiny
    snaps = rbm.sample_snapshots(params, 5, key=KEY, steps=(2, 7))
    assert snaps.means.shape == (2, 5, 8) and list(snaps.steps) == [2, 7]
    # The same chains by hand: noise, then 2 and 5 more steps from fold_in(key, i).
    noise_key, key = jax.random.split(KEY)
    v0 = jax.random.bernoulli(noise_key, 0.5, (5, 8)).astype(np.float32)
    first = rbm.gibbs_chain(params, v0, key=jax.random.fold_in(key, 0), n_steps=2)
    second = rbm.gibbs_chain(params, first.states, key=jax.random.fold_in(key, 1), n_steps=5)
    np.testing.assert_array_equal(snaps.means[0], first.means[-1])
    np.testing.assert_array_equal(snaps.means[1], second.means[-1])
    np.testing.assert_array_equal(snaps.states, second.states)
    with pytest.raises(ValueError, match="strictly increasing positive"):
        rbm.sample_snapshots(params, 5, key=KEY, steps=(3, 3))


def test_restoration_errors_by_hand():
    original = np.array([[1, 0, 1, 0], [1, 1, 0, 0]], np.float32)
    restored = np.array([[0.9, 0.6, 1.0, 0.0], [1.0, 1.0, 0.0, 0.2]], np.float32)
    scored = np.array([False, True, True, True])
    errors = rbm.restoration_errors(restored, original, scored)
    assert errors.mean_abs_error == pytest.approx((0.6 + 0.2) / 6)
    assert errors.pixel_error_pct == pytest.approx(100 / 6)  # one wrong among 6 scored
    assert errors.pixel_error_pct_whole == pytest.approx(100 / 8)
    assert errors.n_distinct == 2
    assert rbm.restoration_errors(original, original).pixel_error_pct == 0.0
    with pytest.raises(ValueError, match="selects no unit"):
        rbm.restoration_errors(restored, original, np.zeros(4, bool))


def test_clamped_completion_samples_the_conditional(tiny):
    params, _ = tiny
    _, states, p_v, _ = _brute_force(params)
    observed = np.arange(8) < 4
    v = np.array([[1, 0, 1, 1, 0, 0, 0, 0]], np.float32)
    match = np.all(states[:, :4] == v[0, :4], axis=1)
    conditional = (p_v[match, None] * states[match]).sum(0) / p_v[match].sum()
    completed = rbm.complete(params, np.repeat(v, 2000, 0), observed, key=KEY, n_steps=40)
    np.testing.assert_array_equal(completed[:, :4], np.repeat(v[:, :4], 2000, 0))
    np.testing.assert_allclose(np.mean(completed, 0)[4:], conditional[4:], atol=0.02)


def test_completion_and_denoising_on_mnist(mnist, trained):
    x, x_test = mnist
    params, _ = trained
    observed = np.arange(784) < 392  # top half known
    completed = rbm.complete(params, x_test, observed, key=KEY, n_steps=50)
    np.testing.assert_array_equal(completed[:, :392], x_test[:, :392])
    # The clamped top half informs the bottom: better than the model's own marginal.
    unconditional = rbm.complete(params, x_test, np.zeros(784, bool), key=KEY, n_steps=50)
    error = np.mean((completed[:, 392:] - x_test[:, 392:]) ** 2)
    assert error < 0.9 * np.mean((unconditional[:, 392:] - x_test[:, 392:]) ** 2)

    noisy = rbm.salt_and_pepper(KEY, x_test, 0.2)
    assert 0.07 < np.mean(noisy != x_test) < 0.13  # half the hits change a pixel
    denoised = rbm.denoise(params, noisy, key=KEY, n_steps=5)
    assert np.mean((denoised - x_test) ** 2) < 0.85 * np.mean((noisy - x_test) ** 2)


# --------------------------------------------------------------------------------------
# Hopfield network.


@pytest.fixture(scope="module")
def patterns():
    return np.where(np.random.default_rng(3).random((30, 100)) < 0.5, -1.0, 1.0).astype(
        np.float32)


def test_hebbian_storage_and_energy(patterns):
    network = hopfield.store(patterns[:5])
    w = patterns[:5].T @ patterns[:5] / 100
    np.fill_diagonal(w, 0)
    np.testing.assert_allclose(network.weights, w, atol=1e-6)
    s = patterns[:3]
    np.testing.assert_allclose(hopfield.energy(network, s),
                               -0.5 * np.einsum("ni,ij,nj->n", s, w, s), rtol=1e-5)
    np.testing.assert_array_equal(hopfield.to_spins(np.array([[0.0, 1.0]])), [[-1.0, 1.0]])


def _probes(patterns, n_stored, flip_rate, seed):
    """30 probes: the first n_stored patterns, cycled, each with a fraction of spins flipped."""
    targets = patterns[np.arange(30) % n_stored]
    flips = np.random.default_rng(seed).random(targets.shape) < flip_rate
    return targets, np.where(flips, -targets, targets)


@pytest.mark.parametrize("mode", hopfield.MODES)
def test_hopfield_recalls_below_capacity_and_fails_above(patterns, mode):
    def recall(n_stored):
        targets, probes = _probes(patterns, n_stored, 0.1, n_stored)
        result = hopfield.recall(hopfield.store(patterns[:n_stored]), probes, key=KEY, mode=mode)
        return np.sum(np.asarray(result.states) * targets, axis=1) / 100, result

    low, result = recall(5)  # P / N = 0.05
    np.testing.assert_array_equal(low, 1.0)
    assert np.all(result.converged) and np.all(result.n_sweeps >= 2)
    final_energy = hopfield.energy(hopfield.store(patterns[:5]), result.states)
    np.testing.assert_allclose(result.energies[-1], final_energy, rtol=1e-5)
    high, _ = recall(30)  # P / N = 0.3, far beyond 0.138
    assert np.mean(high) < 0.9
    np.testing.assert_allclose(hopfield.overlap(patterns[:2], patterns[:3]),
                               patterns[:2] @ patterns[:3].T / 100, rtol=1e-6)


def test_asynchronous_recall_never_raises_the_energy(patterns):
    _, probes = _probes(patterns, 20, 0.3, 0)
    result = hopfield.recall(hopfield.store(patterns[:20]), probes, key=KEY)
    steps = np.diff(np.asarray(result.energies), axis=0)
    assert np.all(steps <= 1e-5) and np.any(steps < 0)


# --------------------------------------------------------------------------------------
# Bad input.


@pytest.mark.parametrize("call, match", [
    (lambda x, p: rbm.fit(x, 0, key=KEY), "n_hidden"),
    (lambda x, p: rbm.fit(x, 4, key=KEY, k=0), "k must"),
    (lambda x, p: rbm.fit(x * 2.0, 4, key=KEY), r"\[0, 1\]"),
    (lambda x, p: rbm.fit(np.where(x > 0, np.nan, x), 4, key=KEY), "NaN"),
    (lambda x, p: rbm.fit(x[0], 4, key=KEY), "shape"),
    (lambda x, p: rbm.fit(x, 4, key=KEY, visible="poisson"), "visible"),
    (lambda x, p: rbm.fit(x, 4, key=KEY, momentum=1.0), "momentum"),
    (lambda x, p: rbm.fit(x, 4, key=KEY, learning_rate=-0.1), "learning_rate"),
    (lambda x, p: rbm.fit(x, 4, key=KEY, batch_size=10_000), "batch_size"),
    (lambda x, p: rbm.free_energy(p, x[:, :100]), "features"),
    (lambda x, p: rbm.log_likelihood(p, x * 0.5, log_z=0.0), "binary"),
    (lambda x, p: rbm.pseudo_log_likelihood(p, x * 0.5), "binary"),
    (lambda x, p: rbm.pseudo_log_likelihood(rbm.GaussianRBMParams(*p), x), "Gaussian"),
    (lambda x, p: rbm.log_partition_exact(rbm.init_params(KEY, 784, 30)), "log_partition_ais"),
    (lambda x, p: rbm.log_partition_ais(p, key=KEY, n_betas=2), "n_betas"),
    (lambda x, p: rbm.complete(p, x, np.ones(5, bool), key=KEY), "observed"),
    (lambda x, p: rbm.sample(p, 4, key=KEY, n_steps=10, n_snapshots=3), "multiple"),
    (lambda x, p: rbm.free_energy((p.w, p.a, p.b), x), "RBMParams"),
    (lambda x, p: hopfield.store(x), "spins"),
    (lambda x, p: hopfield.recall(hopfield.store(2 * x - 1), 2 * x - 1), "key"),
])
def test_bad_input_raises_a_helpful_value_error(mnist, trained, call, match):
    x = mnist[0][:100]
    with pytest.raises(ValueError, match=match):
        call(x, trained[0])
