"""Tests for the training core in jaxselforg.train: the pure step over a split NNX
model, the scanned epoch, fit's exact resume, NaN stop, config checks, vmapped runs
and progress output. (The Checkpointer and metrics writer: tests/test_checkpoint.py.)"""

from __future__ import annotations

import functools
import inspect
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from checkpoint_damage import damage_step_data
from flax import nnx

from jaxselforg import train

BATCH = 16
SPE = 4  # steps per epoch: 64 rows / 16


class Net(nnx.Module):
    """A tiny regressor 4 -> width -> 1."""

    def __init__(self, rngs: nnx.Rngs, width: int = 8):
        self.hidden = nnx.Linear(4, width, rngs=rngs)
        self.out = nnx.Linear(width, 1, rngs=rngs)

    def __call__(self, x):
        return self.out(jnp.tanh(self.hidden(x)))[:, 0]


def loss_fn(model, batch, key, hyperparams):
    x, y = batch
    # Random target noise: the step's key must be split and restored exactly on resume.
    err = model(x) - y - 0.01 * jax.random.normal(key, y.shape)
    return jnp.mean(err**2), {"mae": jnp.mean(jnp.abs(err))}


OPTIMIZER = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1, momentum=0.9)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)  # numpy data: no random-op compilations
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (np.sin(x @ np.array([1.0, -2.0, 0.5, 0.3])) + 0.1 * rng.normal(size=64)).astype(np.float32)
    graphdef, state = train.create_state(Net, OPTIMIZER, key=jax.random.key(1))
    step = train.make_step(graphdef, loss_fn, OPTIMIZER)
    return {"data": (x, y), "graphdef": graphdef, "state": state, "step": step}


def _fit(problem, state=None, **kwargs):
    kwargs.setdefault("progress", False)
    return train.fit(problem["step"], problem["state"] if state is None else state,
                     problem["data"], batch_size=BATCH, **kwargs)


def _assert_identical(actual, expected):
    assert jax.tree.structure(actual) == jax.tree.structure(expected)
    for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(e))


# ---------------------------------------------------------------------------
# Step and state.


def test_step_is_a_pure_update_of_the_split_model(problem):
    state, batch = problem["state"], jax.tree.map(lambda a: a[:BATCH], problem["data"])
    graphdef = problem["graphdef"]

    @jax.jit
    def by_hand(state, batch):
        # The loss is the model's loss at the old parameters, with the first split key;
        # plain SGD with momentum makes the first update -lr * gradient.
        _, loss_key = jax.random.split(jax.random.wrap_key_data(state.key))
        loss, grads = jax.value_and_grad(
            lambda p: loss_fn(train.merge_model(graphdef, p), batch, loss_key, {})[0])(
            state.params["model"])
        return loss, jax.tree.map(lambda p, g: p - 0.1 * g, state.params["model"], grads)

    new, metrics = jax.jit(problem["step"])(state, batch)
    loss, params = by_hand(state, batch)
    assert int(new.step) == 1 and set(metrics) == {"loss", "grad_norm", "mae"}
    assert not np.array_equal(new.key, state.key)
    np.testing.assert_allclose(metrics["loss"], loss, rtol=1e-6)
    for a, e in zip(jax.tree.leaves(new.params["model"]), jax.tree.leaves(params), strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-7)
    # The input state is untouched (no hidden mutation through the NNX module).
    assert int(problem["state"].step) == 0


def _squared_output(model, x, key, hyperparams):
    return jnp.mean(model(x) ** 2), {}


class NormNet(nnx.Module):
    def __init__(self, rngs):
        self.linear = nnx.Linear(4, 3, rngs=rngs)
        self.norm = nnx.BatchNorm(3, momentum=0.5, rngs=rngs)

    def __call__(self, x):
        return jnp.sum(self.norm(self.linear(x)), axis=1)


def test_step_carries_non_parameter_state():
    # Batch statistics (GAN discriminators, SimCLR encoders) live in model_state.
    graphdef, state = train.create_state(NormNet, OPTIMIZER, key=jax.random.key(0))
    assert set(state.model_state["model"]["norm"]) == {"mean", "var"}
    assert "mean" not in state.params["model"]["norm"]
    step = train.make_step(graphdef, _squared_output, OPTIMIZER)
    x = 3.0 + np.random.default_rng(1).normal(size=(32, 4)).astype(np.float32)
    new, _ = jax.jit(step)(state, x)
    linear = x @ state.params["model"]["linear"]["kernel"] + state.params["model"]["linear"]["bias"]
    np.testing.assert_allclose(new.model_state["model"]["norm"]["mean"], 0.5 * jnp.mean(linear, 0),
                               rtol=1e-5)


def test_hyperparameters_are_traced_state(problem):
    state = train.set_hyperparams(problem["state"], learning_rate=0.25)
    assert float(train.get_hyperparams(state)["learning_rate"]) == 0.25
    assert float(train.get_hyperparams(problem["state"])["learning_rate"]) == pytest.approx(0.1)
    with pytest.raises(ValueError, match=r"Unknown hyperparameter 'lr'.*learning_rate"):
        train.set_hyperparams(state, lr=0.1)
    plain = problem["state"]._replace(
        opt_state={"model": optax.sgd(0.1).init(problem["state"].params["model"])})
    with pytest.raises(ValueError, match="inject_hyperparams"):
        train.set_hyperparams(plain, learning_rate=0.1)
    with pytest.raises(ValueError, match="one value per run"):
        train.init_states(Net, OPTIMIZER, jax.random.split(jax.random.key(0), 3),
                          learning_rate=jnp.ones(2))


# ---------------------------------------------------------------------------
# fit: resume, NaN stop, config checks.


def test_interrupted_run_resumes_bit_identical(problem, tmp_path):
    straight = _fit(problem, epochs=5)

    class Interrupt(Exception):
        pass

    def interrupt_at_epoch_4(state):
        if int(state.step) == 4 * SPE:
            raise Interrupt
        return {}

    ckpt, metrics = tmp_path / "ckpt", tmp_path / "metrics.jsonl"
    with pytest.raises(Interrupt):
        _fit(problem, epochs=5, checkpoint_dir=ckpt, config={"width": 8}, save_every=2, keep=2,
             metrics_path=metrics, eval_fn=interrupt_at_epoch_4)
    with train.Checkpointer(ckpt, config={}, ignore=_all_keys(ckpt)) as saved:
        assert saved.latest_step == 2 * SPE  # epoch 3 was not due, epoch 4 never saved
    resumed = _fit(problem, epochs=5, checkpoint_dir=ckpt, config={"width": 8}, save_every=2,
                   keep=2, metrics_path=metrics)
    assert resumed.start_epoch == 2
    _assert_identical(resumed.state, straight.state)
    # The log holds each epoch once (epoch 3 of the interrupted run was dropped), with
    # exactly the uninterrupted run's numbers.
    records = train.read_metrics(metrics)
    assert [r["epoch"] for r in records] == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(resumed.history["loss"], straight.history["loss"])
    np.testing.assert_array_equal(resumed.history["step"], SPE * np.arange(1, 6))
    # The final state is saved even though epoch 5 is not a multiple of save_every.
    with train.Checkpointer(ckpt, config={}, ignore=_all_keys(ckpt)) as saved:
        assert saved.all_steps == [4 * SPE, 5 * SPE]
    # Asking for more epochs continues from the end.
    longer = _fit(problem, epochs=6, checkpoint_dir=ckpt, config={"width": 8}, save_every=2)
    assert longer.start_epoch == 5 and int(longer.state.step) == 6 * SPE


def _all_keys(directory):
    """Every config key saved in ``directory``: ignoring them all opens it read-only."""
    return tuple(json.loads((directory / "config.json").read_text()))


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(problem, tmp_path):
    diverging = train.set_hyperparams(problem["state"], learning_rate=2.0)
    metrics = tmp_path / "metrics.jsonl"
    with pytest.raises(train.NonFiniteLossError) as info:
        _fit(problem, diverging, epochs=20, checkpoint_dir=tmp_path / "ckpt", save_every=1,
             keep=2, metrics_path=metrics)
    error = info.value
    assert isinstance(error, FloatingPointError)
    message = str(error)
    assert f"step {error.step}" in message and "the loss is" in message
    assert f"last good checkpoint, step {error.last_checkpoint}, is kept" in message
    # The failing epoch was not saved: the newest checkpoint is the epoch before it.
    failing_epoch = -(-error.step // SPE)
    assert failing_epoch > 1 and error.last_checkpoint == (failing_epoch - 1) * SPE
    with train.Checkpointer(tmp_path / "ckpt", config={}, ignore=_all_keys(tmp_path / "ckpt")) \
            as ckpt:
        assert ckpt.latest_step == error.last_checkpoint
        restored = ckpt.restore(problem["state"])
    assert all(np.all(np.isfinite(leaf)) for leaf in jax.tree.leaves(restored.params))
    assert int(restored.step) == error.last_checkpoint
    records = train.read_metrics(metrics)
    assert records[-1]["epoch"] == failing_epoch and records[-1]["step"] == error.step
    assert records[-1]["error"].startswith("the loss is")
    assert all(np.isfinite(r["loss"]) for r in records[:-1])


def test_checkpoint_of_another_config_is_an_error(problem, tmp_path):
    ckpt = tmp_path / "ckpt"
    _fit(problem, epochs=1, checkpoint_dir=ckpt, config={"width": 8})
    with pytest.raises(train.CheckpointMismatchError, match=r"width: saved 8, now 16"):
        _fit(problem, epochs=2, checkpoint_dir=ckpt, config={"width": 16})
    # Hyperparameters and batch size are part of the configuration automatically.
    faster = train.set_hyperparams(problem["state"], learning_rate=0.5)
    with pytest.raises(train.CheckpointMismatchError, match=r"fit\.hyperparams\.learning_rate"):
        _fit(problem, faster, epochs=2, checkpoint_dir=ckpt, config={"width": 8})
    with pytest.raises(train.CheckpointMismatchError, match=r"fit\.batch_size: saved 16, now 32"):
        train.fit(problem["step"], problem["state"], problem["data"], batch_size=32, epochs=2,
                  checkpoint_dir=ckpt, config={"width": 8}, progress=False)
    # A model of another shape under the same config: refused before restoring anything.
    graphdef, wide = train.create_state(lambda rngs: Net(rngs, width=16), OPTIMIZER,
                                        key=jax.random.key(1))
    wide_step = train.make_step(graphdef, loss_fn, OPTIMIZER)
    with pytest.raises(train.CheckpointMismatchError, match=r"\['hidden'\]\['kernel'\]"):
        train.fit(wide_step, wide, problem["data"], batch_size=BATCH, epochs=2,
                  checkpoint_dir=ckpt, config={"width": 8}, progress=False)
    with train.Checkpointer(ckpt, config={}, ignore=_all_keys(ckpt)) as saved:
        assert saved.all_steps == [SPE]


def test_fit_rejects_bad_settings(problem):
    with pytest.raises(ValueError, match="batch_size must be <= the number of examples 64; got batch_size=65"):
        train.fit(problem["step"], problem["state"], problem["data"], batch_size=65, epochs=1)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        _fit(problem, epochs=0)
    with pytest.raises(ValueError, match="first dimension"):
        train.fit(problem["step"], problem["state"], (problem["data"][0], jnp.ones(3)),
                  batch_size=BATCH, epochs=1)


# ---------------------------------------------------------------------------
# Runs vmapped over seeds and learning rates.


def test_vmapped_runs_equal_individual_runs(problem):
    keys = jax.random.split(jax.random.key(7), 3)
    rates = jnp.array([0.02, 0.05, 0.1])
    graphdef, states = train.init_states(Net, OPTIMIZER, keys, learning_rate=rates)
    assert graphdef == problem["graphdef"]
    np.testing.assert_array_equal(train.get_hyperparams(states)["learning_rate"], rates)
    together = _fit(problem, states, epochs=2)
    assert together.history["loss"].shape == (2, 3)

    # The whole run as one pure function, vmapped.
    epoch = train.make_epoch(problem["step"], BATCH)
    pure, pure_metrics = jax.jit(jax.vmap(
        lambda s: train.run_epochs(epoch, s, problem["data"], 2)))(states)
    assert pure_metrics["loss"].shape == (3, 2, SPE)

    for i in range(3):
        _, alone = train.create_state(Net, OPTIMIZER, key=keys[i], learning_rate=rates[i])
        _assert_identical(alone, train.select_run(states, i))
        single = _fit(problem, alone, epochs=2)
        for batched in (together.state, pure):
            run = train.select_run(batched, i)
            assert int(run.step) == int(single.state.step) == 2 * SPE
            np.testing.assert_array_equal(run.key, single.state.key)
            # vmapped matrix products may round differently: float32 tolerance.
            for a, e in zip(jax.tree.leaves(run.params), jax.tree.leaves(single.state.params),
                            strict=True):
                np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(together.history["loss"][:, i], single.history["loss"],
                                   rtol=1e-5)
    # Different learning rates really gave different runs.
    assert not np.allclose(together.history["loss"][:, 0], together.history["loss"][:, 2])


def test_runs_with_their_own_data_equal_individual_runs_on_it(problem):
    """data_per_run: run i trains on data[i] (one model per class in one program)."""
    keys = jax.random.split(jax.random.key(3), 2)
    _, states = train.init_states(Net, OPTIMIZER, keys, learning_rate=0.05)
    x, y = problem["data"]
    own = (jnp.stack([x, x[::-1] * 2.0]), jnp.stack([y, -y[::-1]]))
    together = train.fit(problem["step"], states, own, batch_size=BATCH, epochs=2,
                         progress=False, data_per_run=True)
    for i in range(2):
        single = train.fit(problem["step"], train.select_run(states, i),
                           jax.tree.map(lambda leaf, i=i: leaf[i], own), batch_size=BATCH,
                           epochs=2, progress=False)
        for a, e in zip(jax.tree.leaves(train.select_run(together.state, i).params),
                        jax.tree.leaves(single.state.params), strict=True):
            np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)
    assert not np.allclose(together.history["loss"][:, 0], together.history["loss"][:, 1])
    with pytest.raises(ValueError, match="every data leaf must have 2 runs first"):
        train.fit(problem["step"], states, problem["data"], batch_size=BATCH, epochs=1,
                  progress=False, data_per_run=True)
    with pytest.raises(ValueError, match="needs a state with a run axis"):
        train.fit(problem["step"], train.select_run(states, 0), own, batch_size=BATCH,
                  epochs=1, progress=False, data_per_run=True)


def test_loop_driver_takes_the_scans_batches_and_steps(problem):
    keys = jax.random.split(jax.random.key(5), 2)
    _, states = train.init_states(Net, OPTIMIZER, keys)
    for state in (problem["state"], states):  # one run, and a vmapped sweep
        scanned = _fit(problem, state, epochs=2)
        looped = _fit(problem, state, epochs=2, epoch_driver="loop")
        np.testing.assert_array_equal(looped.state.key, scanned.state.key)
        np.testing.assert_array_equal(looped.state.step, scanned.state.step)
        assert looped.history["loss"].shape == scanned.history["loss"].shape
        # Same batches in the same order; only XLA's fusion differs (float32 rounding).
        np.testing.assert_allclose(looped.history["loss"], scanned.history["loss"], rtol=1e-5)
        for a, e in zip(jax.tree.leaves(looped.state.params),
                        jax.tree.leaves(scanned.state.params), strict=True):
            np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="epoch_driver"):
        _fit(problem, epochs=1, epoch_driver="unrolled")


def test_decay_steps_span_the_run_for_a_cosine_and_none_for_a_constant_rate():
    assert train.decay_steps("cosine", 3, 7) == 21
    assert train.decay_steps("constant", 3, 7) == 0
    with pytest.raises(ValueError, match="learning_rate_decay"):
        train.decay_steps("linear", 3, 7)


def test_a_one_run_sweep_resumes_with_its_history_shaped_as_a_sweep(problem, tmp_path):
    # metrics.jsonl writes a one-run sweep's [1] values as numbers; the epochs read back
    # on resume must join this call's [1] arrays (they once raised "inhomogeneous shape").
    _, states = train.init_states(Net, OPTIMIZER, jax.random.split(jax.random.key(5), 1))
    step = train.make_step(problem["graphdef"], loss_fn, OPTIMIZER)
    settings = {"batch_size": BATCH, "checkpoint_dir": tmp_path / "ckpt",
                "metrics_path": tmp_path / "metrics.jsonl", "progress": False}
    train.fit(step, states, problem["data"], epochs=1, **settings)
    resumed = train.fit(step, states, problem["data"], epochs=2, **settings)
    assert resumed.start_epoch == 1 and resumed.history["loss"].shape == (2, 1)
    straight = train.fit(step, states, problem["data"], batch_size=BATCH, epochs=2,
                         progress=False)
    np.testing.assert_allclose(resumed.history["loss"], straight.history["loss"], rtol=1e-6)


def test_model_of_names_the_run_of_a_sweep_and_evaluates_every_run(problem):
    graphdef, single = problem["graphdef"], problem["state"]
    _, states = train.init_states(Net, OPTIMIZER, jax.random.split(jax.random.key(5), 3))
    assert train.n_runs(single) is None and train.n_runs(states) == 3
    x = problem["data"][0][:4]
    np.testing.assert_array_equal(train.model_of(graphdef, single)(x),
                                  train.get_model(graphdef, single)(x))
    second = train.get_model(graphdef, train.select_run(states, 1))
    np.testing.assert_array_equal(train.model_of(graphdef, states, 1)(x), second(x))
    with pytest.raises(ValueError, match=r"sweep of 3 runs: generator_of\(i\)"):
        train.model_of(graphdef, states, accessor="generator_of")
    with pytest.raises(ValueError, match="single run"):
        train.model_of(graphdef, single, 0)
    mean = lambda model: {"mean": jnp.mean(model(x))}
    assert train.evaluate_runs(mean, graphdef, single) == mean(train.get_model(graphdef, single))
    per_run = train.evaluate_runs(mean, graphdef, states)["mean"]
    assert len(per_run) == 3 and per_run[1] == pytest.approx(float(jnp.mean(second(x))))
    assert len(set(per_run)) == 3


# ---------------------------------------------------------------------------
# Progress bar.


def test_progress_bar_shows_loss_and_is_silenced_by_env(problem, capsys, monkeypatch):
    monkeypatch.setenv("JAXSELFORG_PROGRESS", "1")
    assert train.progress_enabled()
    train.fit(problem["step"], problem["state"], problem["data"], batch_size=BATCH, epochs=2,
              desc="toy")
    shown = capsys.readouterr().err
    assert "toy" in shown and "loss=" in shown and f"{2 * SPE}/{2 * SPE}" in shown
    monkeypatch.setenv("JAXSELFORG_PROGRESS", "0")
    assert not train.progress_enabled()
    train.fit(problem["step"], problem["state"], problem["data"], batch_size=BATCH, epochs=2)
    assert capsys.readouterr().err == ""


def test_cosine_decay_adam_equals_optax_adam_on_a_cosine_schedule():
    params = {"w": jnp.array([1.0, -2.0, 0.5])}
    grads = [{"w": jnp.array([0.3, -1.0, 2.0]) * (i + 1)} for i in range(7)]
    # Optax's own way to a scheduled Adam; inject_hyperparams in both (it stores Adam's
    # constants as float32, which moves the updates by ~1e-5 relative).
    adam = optax.inject_hyperparams(optax.adam)
    for decay_steps, reference in [
            (4, adam(learning_rate=optax.cosine_decay_schedule(0.1, 4))),
            (0, adam(learning_rate=0.1))]:
        ours = optax.inject_hyperparams(train.cosine_decay_adam)(learning_rate=0.1,
                                                                  decay_steps=decay_steps)
        states = ours.init(params), reference.init(params)
        for g in grads:
            (u, s_ours), (e, s_ref) = ours.update(g, states[0]), reference.update(g, states[1])
            states = s_ours, s_ref
            np.testing.assert_allclose(u["w"], e["w"], rtol=1e-6, atol=1e-9)
        # Past the decay the step size is 0 (or, constant, still 0.1).
        assert np.any(u["w"] != 0) == (decay_steps == 0)


# ---------------------------------------------------------------------------
# Several roles: an alternating game, frozen roles, partial freezing.


class Generator(nnx.Module):
    """G(z) = mean + exp(log_scale) z: a 1-D generator."""

    def __init__(self, rngs):
        self.mean = nnx.Param(jnp.zeros(()))
        self.log_scale = nnx.Param(jnp.zeros(()))

    def __call__(self, z):
        return self.mean[...] + jnp.exp(self.log_scale[...]) * z


class Discriminator(nnx.Module):
    """Logistic regression on (x, x^2 / 4), with an optional BatchNorm on the features."""

    def __init__(self, rngs, norm: bool = False):
        self.linear = nnx.Linear(2, 1, rngs=rngs)
        self.norm = nnx.BatchNorm(2, momentum=0.5, rngs=rngs) if norm else None

    def __call__(self, x, *, train: bool = True):
        h = jnp.stack([x, x**2 / 4], -1)
        if self.norm is not None:
            h = self.norm(h, use_running_average=not train)
        return self.linear(h)[:, 0]


class NormDiscriminator(Discriminator):
    def __init__(self, rngs):
        super().__init__(rngs, norm=True)


def d_loss(models, x, key, hyperparams):
    fake = models["generator"](jax.random.normal(key, x.shape))
    d = models["discriminator"]
    loss = (jnp.mean(optax.sigmoid_binary_cross_entropy(d(x), 1.0))
            + jnp.mean(optax.sigmoid_binary_cross_entropy(d(fake), 0.0)))
    return loss, {"d_real": jnp.mean(jax.nn.sigmoid(d(x)))}


def g_loss(models, x, key, hyperparams):
    # The discriminator runs in train mode on purpose: its statistics must still not move.
    fake = models["generator"](jax.random.normal(key, x.shape))
    return jnp.mean(optax.sigmoid_binary_cross_entropy(models["discriminator"](fake), 1.0)), {}


ADAM = optax.adam(0.05, b1=0.5)
GAN_OPTIMIZERS = {"generator": ADAM, "discriminator": ADAM}
GAN_DATA = (2.0 + 0.5 * np.random.default_rng(0).normal(size=512)).astype(np.float32)


def _gan(discriminator=Discriminator, repeats=2):
    graphdefs, state = train.create_state(
        {"generator": Generator, "discriminator": discriminator}, GAN_OPTIMIZERS,
        key=jax.random.key(0))
    step = train.make_alternating_step(graphdefs, GAN_OPTIMIZERS, [
        train.Phase("discriminator", d_loss, repeats=repeats), train.Phase("generator", g_loss)])
    return graphdefs, state, step


def test_alternating_game_moves_the_generator_to_the_data_mean():
    _, state, step = _gan()
    result = train.fit(step, state, GAN_DATA, batch_size=64, epochs=20, progress=False)
    assert {"discriminator/loss", "discriminator/d_real", "generator/loss",
            "generator/grad_norm"} <= set(result.history)
    # From 0 to the data mean 2.0; the discriminator's loss at the game's equilibrium
    # (D = 1/2 everywhere) is 2 ln 2.
    assert abs(float(result.state.params["generator"]["mean"]) - 2.0) < 0.15
    assert abs(result.history["discriminator/loss"][-1] - 2 * np.log(2)) < 0.05


def test_alternating_step_is_the_phases_in_order():
    graphdefs, state, step = _gan(NormDiscriminator, repeats=2)
    batch = GAN_DATA[:64]
    new, metrics = jax.jit(step)(state, batch)

    @functools.partial(jax.jit, static_argnames="generator_first")
    def by_hand(state, generator_first=False):
        key, k1, k2, k3 = jax.random.split(jax.random.wrap_key_data(state.key), 4)
        params, stats, opt = dict(state.params), dict(state.model_state), dict(state.opt_state)

        def update(role, loss, key):
            def objective(p):
                models = {r: train.merge_model(graphdefs[r], p if r == role else params[r],
                                               stats[r]) for r in graphdefs}
                value = loss(models, batch, key, {})[0]
                return value, nnx.to_pure_dict(nnx.split(models[role], nnx.Param, ...)[2])
            (value, new_stats), grads = jax.value_and_grad(objective, has_aux=True)(
                params[role])
            updates, opt[role] = GAN_OPTIMIZERS[role].update(grads, opt[role], params[role])
            params[role] = optax.apply_updates(params[role], updates)
            stats[role] = new_stats
            return value

        if generator_first:
            update("generator", g_loss, k3)
        d_losses = [update("discriminator", d_loss, k) for k in (k1, k2)]
        if not generator_first:
            update("generator", g_loss, k3)
        return params, stats, jnp.mean(jnp.stack(d_losses)), jax.random.key_data(key)

    def gap(actual, expected):
        return max(float(np.max(np.abs(np.asarray(a) - np.asarray(e))))
                   for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True))

    params, stats, d_mean, key = by_hand(state)
    np.testing.assert_array_equal(new.key, key)
    np.testing.assert_allclose(metrics["discriminator/loss"], d_mean, rtol=1e-5)
    # Two compiled programs fuse differently: Adam (lr 0.05) turns float32 roundoff into
    # ~1e-6 lr differences, while the phases in the wrong order move parameters by ~lr.
    assert gap(new.params, params) < 1e-5 and gap(new.model_state, stats) < 1e-5
    wrong_params, _, _, _ = by_hand(state, generator_first=True)
    assert gap(new.params, wrong_params) > 1e-3
    assert int(new.step) == 1


def test_role_held_fixed_keeps_parameters_and_statistics_bit_identical():
    graphdefs, state = train.create_state(
        {"generator": Generator, "discriminator": NormDiscriminator}, GAN_OPTIMIZERS,
        key=jax.random.key(3))
    # Only the generator's phase; the loss runs the discriminator's BatchNorm in train mode.
    step = train.make_step(graphdefs, g_loss, GAN_OPTIMIZERS, role="generator")
    result = train.fit(step, state, GAN_DATA, batch_size=64, epochs=2, progress=False)
    _assert_identical(result.state.params["discriminator"], state.params["discriminator"])
    _assert_identical(result.state.model_state["discriminator"],
                      state.model_state["discriminator"])
    _assert_identical(result.state.opt_state["discriminator"], state.opt_state["discriminator"])
    assert not np.array_equal(result.state.params["generator"]["mean"],
                              state.params["generator"]["mean"])
    # ... while the discriminator's own phase does update its statistics.
    own = train.make_step(graphdefs, d_loss, GAN_OPTIMIZERS, role="discriminator")
    new, _ = jax.jit(own)(state, GAN_DATA[:64])
    assert not np.array_equal(new.model_state["discriminator"]["norm"]["mean"],
                              state.model_state["discriminator"]["norm"]["mean"])


def distill_loss(models, batch, key, hyperparams):
    x, _ = batch
    # A teacher in train mode by mistake: the frozen role must stay untouched anyway.
    target = models["teacher"](x, train=True)
    return jnp.mean((models["student"](x) - target) ** 2), {}


class Teacher(nnx.Module):
    def __init__(self, rngs):
        self.net = Net(rngs)
        self.norm = nnx.BatchNorm(4, momentum=0.5, rngs=rngs)

    def __call__(self, x, *, train: bool = False):
        return self.net(self.norm(x, use_running_average=not train))


def test_frozen_role_is_bit_identical_after_training(problem):
    teacher = Teacher(nnx.Rngs(5))
    graphdefs, state = train.init_state({"student": Net(nnx.Rngs(6)), "teacher": teacher},
                                        {"student": OPTIMIZER, "teacher": None},
                                        key=jax.random.key(2))
    assert set(state.opt_state) == {"student"}  # no optimizer state for a frozen role
    step = train.make_step(graphdefs, distill_loss, {"student": OPTIMIZER, "teacher": None})
    result = train.fit(step, state, problem["data"], batch_size=BATCH, epochs=3,
                       progress=False)
    _assert_identical(result.state.params["teacher"], state.params["teacher"])
    _assert_identical(result.state.model_state["teacher"], state.model_state["teacher"])
    assert result.history["loss"][-1] < result.history["loss"][0]
    trained = train.get_model(graphdefs, result.state, "teacher")
    _assert_identical(nnx.to_pure_dict(nnx.state(trained)), nnx.to_pure_dict(nnx.state(teacher)))


class Encoded(nnx.Module):
    def __init__(self, rngs):
        self.encoder = nnx.Linear(4, 8, rngs=rngs)
        self.head = nnx.Linear(8, 1, rngs=rngs)

    def __call__(self, x):
        return self.head(jnp.tanh(self.encoder(x)))[:, 0]


def test_partition_trains_the_head_only_or_at_two_rates(problem):
    head_only = train.partition({"head": optax.sgd(0.1), "frozen": None},
                                {"head": "head", "": "frozen"})
    graphdef, state = train.create_state(Encoded, head_only, key=jax.random.key(4))
    step = train.make_step(graphdef, loss_fn, head_only)
    result = train.fit(step, state, problem["data"], batch_size=BATCH, epochs=2, progress=False)
    _assert_identical(result.state.params["model"]["encoder"], state.params["model"]["encoder"])
    assert not np.array_equal(result.state.params["model"]["head"]["kernel"],
                              state.params["model"]["head"]["kernel"])

    # Two rates, both traced and named by their label.
    sgd = optax.inject_hyperparams(optax.sgd)
    two = train.partition({"encoder": sgd(learning_rate=0.0), "head": sgd(learning_rate=0.1)},
                          {"encoder": "encoder", "head": "head"})
    _, state = train.create_state(Encoded, two, key=jax.random.key(4))
    assert set(train.get_hyperparams(state)) == {"encoder.learning_rate", "head.learning_rate"}
    state = train.set_hyperparams(state, {"head.learning_rate": 0.2})
    assert float(train.get_hyperparams(state)["head.learning_rate"]) == pytest.approx(0.2)
    assert float(train.get_hyperparams(state)["encoder.learning_rate"]) == 0.0

    with pytest.raises(ValueError, match=r"label\(s\) \['decoder'\] match no parameter"):
        train.create_state(Encoded, train.partition(
            {"head": optax.sgd(0.1), "decoder": None, "rest": None},
            {"head": "head", "": "rest", "decoder": "decoder"}), key=jax.random.key(0))
    with pytest.raises(ValueError, match="Parameter 'encoder/bias' matches no label prefix"):
        train.create_state(Encoded, train.partition({"head": optax.sgd(0.1)}, {"head": "head"}),
                           key=jax.random.key(0))


def test_two_optimizer_state_resumes_bit_identical(tmp_path):
    _, state, step = _gan(NormDiscriminator)
    straight = train.fit(step, state, GAN_DATA, batch_size=64, epochs=4, progress=False)

    class Interrupt(Exception):
        pass

    def stop_after_epoch_3(state):
        if int(state.step) == 3 * 8:
            raise Interrupt
        return {}

    with pytest.raises(Interrupt):
        train.fit(step, state, GAN_DATA, batch_size=64, epochs=4, checkpoint_dir=tmp_path,
                  eval_fn=stop_after_epoch_3, progress=False)
    resumed = train.fit(step, state, GAN_DATA, batch_size=64, epochs=4,
                        checkpoint_dir=tmp_path, progress=False)
    assert resumed.start_epoch == 2
    _assert_identical(resumed.state, straight.state)


def test_hyperparameter_names_across_roles_and_the_loss():
    sgd = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1)
    _, state = train.create_state({"generator": Generator, "discriminator": Discriminator},
                                  {"generator": sgd, "discriminator": sgd},
                                  key=jax.random.key(0), hyperparams={"gp_weight": 10.0},
                                  **{"generator.learning_rate": 0.5})
    found = train.get_hyperparams(state)
    assert set(found) == {"gp_weight", "generator.learning_rate", "discriminator.learning_rate"}
    assert float(found["generator.learning_rate"]) == 0.5
    assert float(found["discriminator.learning_rate"]) == pytest.approx(0.1)
    both = train.set_hyperparams(state, learning_rate=0.01, gp_weight=5.0)
    assert all(float(v) == 5.0 or float(v) == pytest.approx(0.01)
               for v in train.get_hyperparams(both).values())


def _weighted(model, batch, key, hyperparams):
    x, y = batch
    loss = hyperparams["weight"] * jnp.mean((model(x) - y) ** 2)
    return loss, {"weight": hyperparams["weight"]}


def test_loss_hyperparameters_are_traced_per_run(problem):
    keys = jax.random.split(jax.random.key(0), 2)
    graphdef, states = train.init_states(Net, OPTIMIZER, keys,
                                         hyperparams={"weight": jnp.array([0.5, 2.0])})
    step = train.make_step(graphdef, _weighted, OPTIMIZER)
    result = train.fit(step, states, problem["data"], batch_size=BATCH, epochs=1,
                       progress=False)
    np.testing.assert_allclose(result.history["weight"][0], [0.5, 2.0])
    # A rebuilt step is the same step: fit reuses its compiled epoch.
    again = train.make_step(graphdef, _weighted, OPTIMIZER)
    assert again == step and hash(again) == hash(step)


def test_role_and_phase_errors_name_the_role():
    graphdefs, state, _ = _gan()
    with pytest.raises(ValueError, match=r"needs repeats \(n_critic\) >= 1; got 0"):
        train.make_alternating_step(graphdefs, GAN_OPTIMIZERS,
                                    [train.Phase("discriminator", d_loss, repeats=0)])
    with pytest.raises(ValueError, match="Phase role 'critic' is not a role"):
        train.make_alternating_step(graphdefs, GAN_OPTIMIZERS, [train.Phase("critic", d_loss)])
    frozen = {"generator": ADAM, "discriminator": None}
    with pytest.raises(ValueError, match="Role 'discriminator' is frozen"):
        train.make_step(graphdefs, d_loss, frozen, role="discriminator")
    # A state made with the discriminator frozen, handed a step that trains it.
    _, frozen_state = train.create_state({"generator": Generator,
                                          "discriminator": Discriminator}, frozen,
                                         key=jax.random.key(0))
    step = train.make_step(graphdefs, d_loss, GAN_OPTIMIZERS, role="discriminator")
    with pytest.raises(ValueError, match="Role 'discriminator' is frozen in the state"):
        step(frozen_state, GAN_DATA[:8])
    with pytest.raises(ValueError, match="name the role"):
        train.make_step(graphdefs, d_loss, GAN_OPTIMIZERS)

    def unknown_role(models, x, key, hyperparams):
        return jnp.mean(models["critic"](x)), {}

    step = train.make_step(graphdefs, unknown_role, GAN_OPTIMIZERS, role="discriminator")
    with pytest.raises(KeyError, match=r"No role 'critic'.*\['generator', 'discriminator'\]"):
        step(state, GAN_DATA[:8])


def test_tensorboard_events_hold_the_epoch_records(problem, tmp_path):
    from tensorboardX.proto import event_pb2

    result = _fit(problem, epochs=2, tensorboard_dir=tmp_path / "tb")
    (events,) = (tmp_path / "tb").glob("events.out.tfevents.*")
    scalars = {}
    data = events.read_bytes()
    offset = 0
    while offset < len(data):  # TFRecord framing: length, crc, payload, crc
        length = int(np.frombuffer(data[offset:offset + 8], np.uint64)[0])
        event = event_pb2.Event.FromString(data[offset + 12:offset + 12 + length])
        offset += 16 + length
        for value in event.summary.value:
            scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    assert [step for step, _ in scalars["loss"]] == [SPE, 2 * SPE]
    np.testing.assert_allclose([v for _, v in scalars["loss"]], result.history["loss"],
                               rtol=1e-6)
    assert "grad_norm" in scalars and "mae" in scalars


def test_vmapped_alternating_runs_equal_individual_runs():
    keys = jax.random.split(jax.random.key(11), 2)
    roles = {"generator": Generator, "discriminator": NormDiscriminator}
    graphdefs, states = train.init_states(roles, GAN_OPTIMIZERS, keys)
    step = train.make_alternating_step(graphdefs, GAN_OPTIMIZERS, [
        train.Phase("discriminator", d_loss, repeats=2), train.Phase("generator", g_loss)])
    together = train.fit(step, states, GAN_DATA, batch_size=64, epochs=1, progress=False)
    assert together.history["generator/loss"].shape == (1, 2)
    for i in range(2):
        _, alone = train.create_state(roles, GAN_OPTIMIZERS, key=keys[i])
        single = train.fit(step, alone, GAN_DATA, batch_size=64, epochs=1, progress=False)
        run = train.select_run(together.state, i)
        # vmapped products round differently, and a game amplifies it: one epoch, and
        # float32 tolerances on values of order 1.
        for a, e in zip(jax.tree.leaves(run), jax.tree.leaves(single.state), strict=True):
            np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------
# Faults: damaged checkpoints and SIGKILL.


def test_damaged_latest_checkpoint_resumes_from_the_one_before(problem, tmp_path):
    straight = _fit(problem, epochs=4)
    ckpt = tmp_path / "ckpt"
    _fit(problem, epochs=3, checkpoint_dir=ckpt, keep=3)
    damage_step_data(ckpt / str(3 * SPE))
    with pytest.warns(train.CorruptCheckpointWarning, match=f"step {3 * SPE}"):
        resumed = _fit(problem, epochs=4, checkpoint_dir=ckpt, keep=3)
    assert resumed.start_epoch == 2
    _assert_identical(resumed.state, straight.state)


def test_runs_killed_between_saves_and_mid_save_resume_bit_identical(tmp_path):
    import os
    import pathlib
    import signal
    import subprocess
    import sys
    import time

    script = pathlib.Path(__file__).with_name("fault_run.py")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(pathlib.Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    spe = 8  # fault_run.py's steps per epoch
    ckpt = tmp_path / "ckpt"

    def start(directory, out, *kill_point):
        return subprocess.Popen([sys.executable, str(script), str(directory), str(out),
                                 *map(str, kill_point)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                env=env)

    def wait_for(path):
        deadline = time.monotonic() + 60
        while not path.exists():
            assert time.monotonic() < deadline, f"{path} never appeared"
            time.sleep(0.01)

    def kill_at(kill_point, epoch):
        """Runs (resuming) to the kill point, kills; the first epoch this run trained."""
        child = start(ckpt, tmp_path / "never.npz", kill_point, epoch)
        epochs = []
        for line in child.stdout:
            if line.startswith("epoch "):
                epochs.append(int(line.split()[1]))
            if line.strip() == f"held {kill_point} {epoch}":
                if kill_point == "between-saves":
                    # Training stopped after epoch `epoch`'s steps, before its save;
                    # every earlier save is on disk.
                    wait_for(ckpt / str((epoch - 1) * spe))
                else:
                    # Epoch `epoch`'s files are written, not committed.
                    assert any(p.name.startswith(f"{epoch * spe}.") for p in ckpt.iterdir())
                assert not (ckpt / str(epoch * spe)).exists()
                child.send_signal(signal.SIGKILL)
                break
        child.communicate(timeout=120)
        assert child.returncode == -signal.SIGKILL  # killed at the point, not finished
        return epochs[0]

    straight = start("-", tmp_path / "straight.npz")  # alongside the first killed run
    assert kill_at("between-saves", 4) == 1
    assert kill_at("mid-save", 8) == 4  # resumed after epoch 3, the newest on disk
    resumed = start(ckpt, tmp_path / "resumed.npz")
    first_epoch = int(resumed.stdout.readline().split()[1])
    resumed.communicate(timeout=120)
    straight.communicate(timeout=120)
    assert straight.returncode == 0 and resumed.returncode == 0
    assert first_epoch == 8  # after epoch 7: the half-saved epoch 8 was not taken
    straight, resumed = np.load(tmp_path / "straight.npz"), np.load(tmp_path / "resumed.npz")
    assert sorted(straight) == sorted(resumed)
    for name in straight:
        np.testing.assert_array_equal(resumed[name], straight[name], err_msg=name)


def test_an_int_seed_for_a_key_is_a_clear_error():
    with pytest.raises(ValueError, match=r"jax.random.key\(0\)"):
        train.create_state(Net, OPTIMIZER, key=0)
    with pytest.raises(ValueError, match="single PRNG key"):
        train.create_state(Net, OPTIMIZER, key=jax.random.split(jax.random.key(0), 2))


def test_run_options_split_a_trainers_keywords():
    run, settings = train.run_options("train_classifier", {"hidden": (8,), "keep": 1},
                                      others=("hidden", "dropout"))
    assert run == {"desc": "train_classifier", "keep": 1} and settings == {"hidden": (8,)}
    run, _ = train.run_options("train_gan", {"desc": "mine", "mesh": None})
    assert run == {"desc": "mine", "mesh": None}
    assert set(train.RunOptions.__annotations__) <= set(inspect.signature(train.fit).parameters)
    with pytest.raises(TypeError, match=r"train_gan\(\) got an unexpected keyword argument "
                                        r"'hidden'; it takes the run options \['checkpoint_dir'"):
        train.run_options("train_gan", {"hidden": (8,)})
    with pytest.raises(TypeError, match=r"'chekpoint_dir'; it takes \['dropout', 'hidden'\] and"):
        train.run_options("train_classifier", {"chekpoint_dir": "runs"},
                          others=("hidden", "dropout"))
