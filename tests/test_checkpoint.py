"""Tests for jaxselforg.train: the Orbax Checkpointer (save policy, resume, config and
structure checks, NaN refusal) and the metrics.jsonl writer."""

from __future__ import annotations

import json
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from checkpoint_damage import damage_step_data

from jaxselforg.train import (
    Checkpointer,
    CheckpointMismatchError,
    CorruptCheckpointError,
    CorruptCheckpointWarning,
    MetricsWriter,
    read_metrics,
)

CONFIG = {"lr": 0.1, "k": 10, "grid": (4, 4), "epochs": 5}


def _state(scale: float = 1.0):
    """A pytree of dicts and tuples with leaves of several dtypes, including a PRNG key."""
    return {
        "params": {
            "w": jnp.arange(12, dtype=jnp.float32).reshape(3, 4) * scale + 0.125,
            "b": jnp.linspace(-1.0, 1.0, 4, dtype=jnp.bfloat16) * scale,
        },
        "opt": (jnp.asarray(7 * int(scale), dtype=jnp.int32),
                jnp.asarray([1, -2, 3], dtype=jnp.int8),
                jnp.asarray([True, False, True])),
        "half": jnp.asarray([0.5, 1.5], dtype=jnp.float16) * scale,
        "key": jax.random.key_data(jax.random.key(int(scale))),
    }


def _assert_trees_identical(actual, expected):
    assert jax.tree.structure(actual) == jax.tree.structure(expected)
    for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected)):
        assert np.asarray(a).dtype == np.asarray(e).dtype
        assert np.shape(a) == np.shape(e)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(e))


# ---------------------------------------------------------------------------
# Save policy.


def test_save_every_and_keep(tmp_path):
    with Checkpointer(tmp_path, config=CONFIG, save_every=3, keep=2) as ckpt:
        saved = [ckpt.save(step, _state(step + 1)) for step in range(11)]
    assert saved == [step in (0, 3, 6, 9) for step in range(11)]
    with Checkpointer(tmp_path, config=CONFIG, save_every=3, keep=2) as ckpt:
        assert ckpt.all_steps == [6, 9]
        assert ckpt.latest_step == 9
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.isdigit()) == ["6", "9"]


def test_all_due_steps_are_written_before_keep_prunes(tmp_path):
    with Checkpointer(tmp_path, config=CONFIG, save_every=3, keep=10) as ckpt:
        for step in range(11):
            ckpt.save(step, _state())
        ckpt.wait()
        assert ckpt.all_steps == [0, 3, 6, 9]


def test_force_saves_off_interval_step(tmp_path):
    with Checkpointer(tmp_path, config=CONFIG, save_every=5, keep=3) as ckpt:
        assert ckpt.save(0, _state(1))
        assert not ckpt.save(7, _state(2))
        assert ckpt.save(7, _state(2), force=True)
        ckpt.wait()
        assert ckpt.all_steps == [0, 7]
        assert ckpt.latest_step == 7
        _assert_trees_identical(ckpt.restore(_state()), _state(2))


@pytest.mark.parametrize("save_every, keep", [(0, 3), (2, 0), (-1, 1)])
def test_invalid_policy_raises(tmp_path, save_every, keep):
    with pytest.raises(ValueError, match="must be >= 1"):
        Checkpointer(tmp_path, config=CONFIG, save_every=save_every, keep=keep)


# ---------------------------------------------------------------------------
# Resume.


def test_restore_or_on_fresh_directory_returns_template(tmp_path):
    template = _state()
    with Checkpointer(tmp_path / "new" / "run", config=CONFIG) as ckpt:
        state, step = ckpt.restore_or(template)
        assert step == 0
        assert state is template
        assert ckpt.latest_step is None and ckpt.all_steps == []
        with pytest.raises(FileNotFoundError, match="No checkpoint"):
            ckpt.restore(template)


def test_resume_in_new_checkpointer_is_bit_identical(tmp_path):
    with Checkpointer(tmp_path, config=CONFIG, save_every=2, keep=3) as ckpt:
        for step in range(0, 7, 2):
            assert ckpt.save(step, _state(step + 1))
    with Checkpointer(tmp_path, config=dict(CONFIG), save_every=2, keep=3) as ckpt:
        restored, step = ckpt.restore_or(_state())
        assert step == 6
        _assert_trees_identical(restored, _state(7))
        assert restored["key"].dtype == jnp.uint32
        # The restored key drives the same random stream as the saved one.
        np.testing.assert_array_equal(
            jax.random.normal(jax.random.wrap_key_data(restored["key"]), (3,)),
            jax.random.normal(jax.random.key(7), (3,)))
        # An older kept step is available too.
        _assert_trees_identical(ckpt.restore(_state(), step=2), _state(3))
        with pytest.raises(FileNotFoundError, match="step 3"):
            ckpt.restore(_state(), step=3)


def _init_loop_state():
    return {"x": jnp.zeros(5, jnp.float32), "count": jnp.asarray(0, jnp.int32),
            "key": jax.random.key_data(jax.random.key(42))}


@jax.jit
def _loop_step(state, step):
    key, sub = jax.random.split(jax.random.wrap_key_data(state["key"]))
    x = state["x"] * 0.9 + 0.01 * step + jax.random.normal(sub, state["x"].shape)
    return {"x": x, "count": state["count"] + step, "key": jax.random.key_data(key)}


def _run(directory, stop, n_steps=20):
    """Runs (or resumes) the loop up to ``stop`` steps, checkpointing every 4."""
    with Checkpointer(directory, config={"n_steps": n_steps}, save_every=4, keep=2) as ckpt:
        state, start = ckpt.restore_or(_init_loop_state())
        for step in range(start, stop):
            state = _loop_step(state, step)
            ckpt.save(step + 1, state)
    return state, start


def test_interrupted_run_resumes_bit_identical(tmp_path):
    straight = _init_loop_state()
    for step in range(20):
        straight = _loop_step(straight, step)

    # Interrupted after step 10: the latest checkpoint is step 8, so steps 9-10 are redone.
    _, start = _run(tmp_path, stop=10)
    assert start == 0
    resumed, start = _run(tmp_path, stop=20)
    assert start == 8
    for name in straight:
        np.testing.assert_array_equal(np.asarray(resumed[name]), np.asarray(straight[name]))
    # And the checkpoint on disk is the final state.
    with Checkpointer(tmp_path, config={"n_steps": 20}, save_every=4, keep=2) as ckpt:
        assert ckpt.all_steps == [16, 20]
        _assert_trees_identical(ckpt.restore(_init_loop_state()), straight)


class _TrainState(NamedTuple):
    params: dict
    step: jax.Array
    key: jax.Array


def test_namedtuple_state_resumes(tmp_path):
    # The house style keeps algorithm state in NamedTuples.
    state = _TrainState({"w": jnp.full((2, 3), 0.5)}, jnp.asarray(5, jnp.int32),
                        jax.random.key_data(jax.random.key(3)))
    with Checkpointer(tmp_path, config=CONFIG) as ckpt:
        ckpt.save(5, state)
    template = _TrainState({"w": jnp.zeros((2, 3))}, jnp.asarray(0, jnp.int32),
                           jax.random.key_data(jax.random.key(0)))
    with Checkpointer(tmp_path, config=CONFIG) as ckpt:
        restored, step = ckpt.restore_or(template)
    assert step == 5 and isinstance(restored, _TrainState)
    _assert_trees_identical(restored, state)


# ---------------------------------------------------------------------------
# Configuration check.


def test_different_config_raises_naming_key_and_values(tmp_path):
    with Checkpointer(tmp_path, config=CONFIG) as ckpt:
        ckpt.save(0, _state())
    with pytest.raises(CheckpointMismatchError) as info:
        Checkpointer(tmp_path, config={**CONFIG, "lr": 0.25})
    message = str(info.value)
    assert "lr" in message and "0.1" in message and "0.25" in message
    assert "epochs" not in message and "grid" not in message
    # It is a ValueError, for callers that catch those.
    assert isinstance(info.value, ValueError)


def test_missing_and_extra_config_keys_are_differences(tmp_path):
    Checkpointer(tmp_path, config=CONFIG).close()
    without_k = {key: value for key, value in CONFIG.items() if key != "k"}
    with pytest.raises(CheckpointMismatchError, match=r"k: saved 10, now '<absent>'"):
        Checkpointer(tmp_path, config=without_k)
    with pytest.raises(CheckpointMismatchError, match=r"seed: saved '<absent>', now 3"):
        Checkpointer(tmp_path, config={**CONFIG, "seed": 3})


def test_ignored_config_keys_may_differ(tmp_path):
    with Checkpointer(tmp_path, config=CONFIG, save_every=1) as ckpt:
        ckpt.save(4, _state(2))
    # Key order and tuple/list spelling do not matter either.
    reordered = {"epochs": 50, "grid": [4, 4], "k": 10, "lr": 0.1}
    with Checkpointer(tmp_path, config=reordered, ignore=("epochs",)) as ckpt:
        state, step = ckpt.restore_or(_state())
        assert step == 4
        _assert_trees_identical(state, _state(2))
    with pytest.raises(CheckpointMismatchError, match="epochs"):
        Checkpointer(tmp_path, config=reordered)
    # Ignoring one key does not excuse another.
    with pytest.raises(CheckpointMismatchError, match=r"k: saved 10, now 11"):
        Checkpointer(tmp_path, config={**reordered, "k": 11}, ignore=("epochs",))


# ---------------------------------------------------------------------------
# Structure check.


@pytest.fixture
def saved_dir(tmp_path):
    with Checkpointer(tmp_path, config=CONFIG, save_every=1) as ckpt:
        ckpt.save(3, _state(2))
    return tmp_path


def _template_variants():
    base = _state
    missing = base()
    del missing["params"]["b"]
    extra = base()
    extra["params"]["gamma"] = jnp.ones(4)
    shape = base()
    shape["params"]["w"] = jnp.zeros((4, 3), jnp.float32)
    dtype = base()
    dtype["opt"] = (jnp.asarray(0.0, jnp.float32),) + dtype["opt"][1:]
    key_shape = base()
    key_shape["key"] = jnp.zeros(4, jnp.uint32)
    return [
        ("missing", missing, "['params']['b']: in the checkpoint but not in the state"),
        ("extra", extra, "['params']['gamma']: missing in the checkpoint"),
        ("shape", shape, "['params']['w']: saved shape/dtype ((3, 4), 'float32'), "
                         "expected ((4, 3), 'float32')"),
        ("dtype", dtype, "['opt'][0]: saved shape/dtype ((), 'int32'), expected ((), 'float32')"),
        ("key", key_shape, "['key']: saved shape/dtype ((2,), 'uint32')"),
    ]


@pytest.mark.parametrize("template, expected", [v[1:] for v in _template_variants()],
                         ids=[v[0] for v in _template_variants()])
def test_structure_mismatch_raises_naming_leaf(saved_dir, template, expected):
    before = jax.tree.map(np.array, template)
    with Checkpointer(saved_dir, config=CONFIG) as ckpt:
        with pytest.raises(CheckpointMismatchError) as info:
            ckpt.restore(template)
        assert expected in str(info.value)
        assert "Checkpoint 3" in str(info.value)
        with pytest.raises(CheckpointMismatchError):
            ckpt.restore_or(template)
        # Nothing was restored into the template, and the checkpoint is intact.
        _assert_trees_identical(template, before)
        assert ckpt.latest_step == 3
        _assert_trees_identical(ckpt.restore(_state()), _state(2))


def test_structure_mismatch_lists_every_problem(saved_dir):
    template = _state()
    del template["half"]
    template["params"]["w"] = jnp.zeros(3, jnp.float32)
    with Checkpointer(saved_dir, config=CONFIG) as ckpt:
        with pytest.raises(CheckpointMismatchError) as info:
            ckpt.restore(template)
    message = str(info.value)
    assert "['half']" in message and "['params']['w']" in message
    assert "['params']['b']" not in message


# ---------------------------------------------------------------------------
# Non-finite states are refused.


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_saving_non_finite_state_keeps_last_good_checkpoint(tmp_path, bad):
    with Checkpointer(tmp_path, config=CONFIG, save_every=2) as ckpt:
        assert ckpt.save(2, _state(1))
        broken = _state(2)
        broken["params"]["w"] = broken["params"]["w"].at[1, 2].set(bad)
        with pytest.raises(ValueError, match=r"step 4: \['params'\]\['w'\] holds NaN or Inf"):
            ckpt.save(4, broken)
        ckpt.wait()
        assert ckpt.latest_step == 2 and ckpt.all_steps == [2]
        # A step that is not due is not inspected (nothing would be written anyway).
        assert ckpt.save(5, broken) is False
    with Checkpointer(tmp_path, config=CONFIG, save_every=2) as ckpt:
        state, step = ckpt.restore_or(_state())
        assert step == 2
        _assert_trees_identical(state, _state(1))


# ---------------------------------------------------------------------------
# Metrics log.


def test_metrics_round_trip(tmp_path):
    path = tmp_path / "deep" / "run" / "metrics.jsonl"
    writer = MetricsWriter(path)
    writer.write({"step": 1, "loss": jnp.float32(0.25)}, acc=np.float64(0.5),
                 counts=np.array([1, 2, 3]), matrix=jnp.eye(2, dtype=jnp.int32),
                 n=np.int64(7), ok=np.bool_(True), name="som")
    writer.write(step=2, loss=jnp.asarray(jnp.nan), inf=np.float32(np.inf),
                 nested={"qe": jnp.asarray([0.5]), "values": (jnp.float32(1.5), np.nan)})
    # A second writer on the same file appends.
    MetricsWriter(path).write(step=3, loss=jnp.asarray(0.125, jnp.bfloat16))

    records = read_metrics(path)
    assert records == [
        {"step": 1, "loss": 0.25, "acc": 0.5, "counts": [1, 2, 3], "matrix": [[1, 0], [0, 1]],
         "n": 7, "ok": True, "name": "som"},
        {"step": 2, "loss": None, "inf": None, "nested": {"qe": 0.5, "values": [1.5, None]}},
        {"step": 3, "loss": 0.125},
    ]
    # Every line is strict JSON (no NaN/Infinity tokens).
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    for line in lines:
        json.loads(line, parse_constant=lambda token: pytest.fail(f"non-JSON token {token}"))


def test_metrics_nan_inside_arrays_becomes_null(tmp_path):
    path = tmp_path / "metrics.jsonl"
    MetricsWriter(path).write(history=np.array([0.5, np.nan, np.inf]),
                              grid=jnp.asarray([[1.0, jnp.nan]]))
    line = path.read_text().strip()
    assert "NaN" not in line and "Infinity" not in line
    assert read_metrics(path) == [{"history": [0.5, None, None], "grid": [[1.0, None]]}]


def test_read_metrics_skips_blank_lines(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2}\n')
    assert read_metrics(path) == [{"a": 1}, {"a": 2}]


# ---------------------------------------------------------------------------
# Damaged checkpoints, odd directories and configs.


def _garbage(path):
    path.write_bytes(b"\x00not what orbax wrote{")


def _delete(path):
    path.unlink()


DAMAGE = [
    ("truncated data files", lambda d: d, damage_step_data),
    ("flipped byte in the data files", lambda d: d, lambda d: damage_step_data(d, "flip")),
    ("garbage array metadata", lambda d: d / "state" / "_METADATA", _garbage),
    ("deleted manifest", lambda d: d / "state" / "manifest.ocdbt", _delete),
    ("deleted process manifest", lambda d: d / "state" / "ocdbt.process_0" / "manifest.ocdbt",
     _delete),
    ("garbage per-process metadata",
     lambda d: d / "state" / "array_metadatas" / "process_0", _garbage),
    ("garbage sharding file", lambda d: d / "state" / "_sharding", _garbage),
    ("garbage digest", lambda d: d / "digest" / "metadata", _garbage),
    ("garbage step metadata", lambda d: d / "_CHECKPOINT_METADATA", _garbage),
    ("deleted state folder", lambda d: d / "state", lambda p: __import__("shutil").rmtree(p)),
]


@pytest.mark.parametrize("name, target, damage", DAMAGE, ids=[d[0] for d in DAMAGE])
def test_damaged_latest_step_falls_back_to_the_newest_readable(tmp_path, name, target, damage):
    with Checkpointer(tmp_path, config=CONFIG, keep=3) as ckpt:
        for step in (1, 2, 3):
            ckpt.save(step, _state(step))
    damage(target(tmp_path / "3"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Checkpointer(tmp_path, config=CONFIG, keep=3) as ckpt:
            restored, step = ckpt.restore_or(_state())
            if step == 3:
                # The damaged file was not needed: the bytes are step 3's, digest-checked.
                _assert_trees_identical(restored, _state(3))
            else:
                assert step == 2
                _assert_trees_identical(restored, _state(2))
                (warning,) = [w for w in caught if issubclass(w.category,
                                                              CorruptCheckpointWarning)]
                message = str(warning.message)
                assert "step 3" in message and str(tmp_path / "3") in message
                assert "resuming from step 2" in message
                assert (tmp_path / "corrupt" / "3").is_dir() and not (tmp_path / "3").exists()
                # Training goes on: step 3 can be saved again.
                assert ckpt.save(3, _state(3))
    if step == 3:
        # Files Orbax does not need to read the arrays back.
        assert name in ("garbage sharding file", "garbage step metadata",
                        "deleted process manifest")
    with Checkpointer(tmp_path, config=CONFIG, keep=3) as ckpt:
        _assert_trees_identical(ckpt.restore_or(_state())[0], _state(3))


def test_every_step_damaged_is_a_clear_error(tmp_path):
    with Checkpointer(tmp_path, config=CONFIG, keep=2) as ckpt:
        for step in (1, 2):
            ckpt.save(step, _state(step))
    for step in (1, 2):
        damage_step_data(tmp_path / str(step), "flip")
    with Checkpointer(tmp_path, config=CONFIG, keep=2) as ckpt, warnings.catch_warnings():
        warnings.simplefilter("ignore", CorruptCheckpointWarning)
        with pytest.raises(CorruptCheckpointError, match=r"No checkpoint in .* could be read"
                           r"(.|\n)*step 2(.|\n)*step 1"):
            ckpt.restore_or(_state())


def test_directory_that_is_a_file_is_a_clear_error(tmp_path):
    path = tmp_path / "ckpt"
    path.write_text("not a folder")
    with pytest.raises(ValueError, match="exists and is not a directory"):
        Checkpointer(path, config=CONFIG)


def test_config_json_cannot_hold_is_refused_naming_the_key(tmp_path):
    with pytest.raises(ValueError, match=r"config\['model\.activation'\] is a callable"):
        Checkpointer(tmp_path, config={"model": {"activation": jnp.tanh}, "lr": 0.1})
    assert not (tmp_path / "config.json").exists()
    # Paths and numpy values are plain data, and compare equal on the next open.
    config = {"out": tmp_path / "run", "lr": np.float32(0.5), "grid": np.array([4, 4])}
    Checkpointer(tmp_path, config=config).close()
    Checkpointer(tmp_path, config=config).close()


def test_a_prng_key_in_the_config_is_saved_as_its_key_data(tmp_path):
    keys = jax.random.split(jax.random.key(3), 2)
    Checkpointer(tmp_path, config={"key": keys}).close()
    saved = json.loads((tmp_path / "config.json").read_text())["key"]
    assert saved == np.asarray(jax.random.key_data(keys)).tolist()
    Checkpointer(tmp_path, config={"key": keys}).close()  # equal on the next open
    with pytest.raises(CheckpointMismatchError, match="key"):
        Checkpointer(tmp_path, config={"key": jax.random.split(jax.random.key(4), 2)})


def test_unreadable_config_file_is_a_clear_error(tmp_path):
    Checkpointer(tmp_path, config=CONFIG).close()
    (tmp_path / "config.json").write_text("{broken")
    with pytest.raises(CheckpointMismatchError, match="cannot be read as the run's config"):
        Checkpointer(tmp_path, config=CONFIG)
