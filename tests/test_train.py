"""Tests for the training core in jaxselforg.train: the pure step over a split NNX
model, the scanned epoch, fit's exact resume, NaN stop, config checks, vmapped runs
and progress output. (The Checkpointer and metrics writer: tests/test_checkpoint.py.)"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
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


def loss_fn(model, batch, key):
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
            lambda p: loss_fn(train.merge_model(graphdef, p), batch, loss_key)[0])(state.params)
        return loss, jax.tree.map(lambda p, g: p - 0.1 * g, state.params, grads)

    new, metrics = jax.jit(problem["step"])(state, batch)
    loss, params = by_hand(state, batch)
    assert int(new.step) == 1 and set(metrics) == {"loss", "grad_norm", "mae"}
    assert not np.array_equal(new.key, state.key)
    np.testing.assert_allclose(metrics["loss"], loss, rtol=1e-6)
    for a, e in zip(jax.tree.leaves(new.params), jax.tree.leaves(params), strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-7)
    # The input state is untouched (no hidden mutation through the NNX module).
    assert int(problem["state"].step) == 0


class NormNet(nnx.Module):
    def __init__(self, rngs):
        self.linear = nnx.Linear(4, 3, rngs=rngs)
        self.norm = nnx.BatchNorm(3, momentum=0.5, rngs=rngs)

    def __call__(self, x):
        return jnp.sum(self.norm(self.linear(x)), axis=1)


def test_step_carries_non_parameter_state():
    # Batch statistics (GAN discriminators, SimCLR encoders) live in model_state.
    graphdef, state = train.create_state(NormNet, OPTIMIZER, key=jax.random.key(0))
    assert set(state.model_state["norm"]) == {"mean", "var"}
    assert "mean" not in state.params["norm"]
    step = train.make_step(graphdef, lambda m, x, k: (jnp.mean(m(x) ** 2), {}), OPTIMIZER)
    x = 3.0 + np.random.default_rng(1).normal(size=(32, 4)).astype(np.float32)
    new, _ = jax.jit(step)(state, x)
    linear = x @ state.params["linear"]["kernel"] + state.params["linear"]["bias"]
    np.testing.assert_allclose(new.model_state["norm"]["mean"], 0.5 * jnp.mean(linear, 0),
                               rtol=1e-5)


def test_hyperparameters_are_traced_state(problem):
    state = train.set_hyperparams(problem["state"], learning_rate=0.25)
    assert float(train.get_hyperparams(state)["learning_rate"]) == 0.25
    assert float(train.get_hyperparams(problem["state"])["learning_rate"]) == pytest.approx(0.1)
    with pytest.raises(ValueError, match=r"Unknown hyperparameter\(s\) \['lr'\].*learning_rate"):
        train.set_hyperparams(state, lr=0.1)
    plain = problem["state"]._replace(opt_state=optax.sgd(0.1).init(problem["state"].params))
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
    with pytest.raises(ValueError, match="batch_size 65 exceeds the number of examples 64"):
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
