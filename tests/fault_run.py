"""A tiny checkpointed training run for the SIGKILL fault test in test_train.py.

``python tests/fault_run.py CHECKPOINT_DIR OUT.npz [KILL_POINT EPOCH]`` trains (or
resumes) to the end, printing ``epoch N`` after every epoch, and writes the final
state's leaves to OUT.npz. With a kill point the run stops at a deliberate place, says
so on stdout, and waits there for the test's SIGKILL:

* ``between-saves EPOCH``: after epoch EPOCH's training steps and before its save
  (``held between-saves N``); the test kills once epoch EPOCH - 1 is on disk.
* ``mid-save EPOCH``: inside epoch EPOCH's asynchronous save, with its files written
  to Orbax's temporary directory and the commit (the rename to the step's folder) held
  (``held mid-save N``), while training goes on until the next save waits for it.
"""

import asyncio
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jaxselforg import train

EPOCHS = 12
STEPS_PER_EPOCH = 8  # 64 rows / batches of 8
HOLD_S = 120  # longer than the test waits: only the kill ends a held run


class Net(nnx.Module):
    def __init__(self, rngs):
        self.hidden = nnx.Linear(4, 16, rngs=rngs)
        self.out = nnx.Linear(16, 1, rngs=rngs)

    def __call__(self, x):
        return self.out(jnp.tanh(self.hidden(x)))[:, 0]


def loss_fn(model, batch, key, hyperparams):
    x, y = batch
    err = model(x) - y - 0.01 * jax.random.normal(key, y.shape)
    return jnp.mean(err**2), {}


def _hold_commit_of(step):
    """Holds Orbax's commit of checkpoint ``step`` (the atomic rename of its folder)."""
    from orbax.checkpoint._src.path import atomicity

    finalize = atomicity.AtomicRenameTemporaryPath.finalize

    async def held_finalize(self):
        if self._final_path.name == str(step):
            print(f"held mid-save {step // STEPS_PER_EPOCH}", flush=True)
            await asyncio.sleep(HOLD_S)
        return await finalize(self)

    atomicity.AtomicRenameTemporaryPath.finalize = held_finalize


def main(directory, out, kill_point=None, kill_epoch=None):
    kill_epoch = None if kill_epoch is None else int(kill_epoch)
    if kill_point == "mid-save":
        _hold_commit_of(kill_epoch * STEPS_PER_EPOCH)
    elif kill_point not in (None, "between-saves"):
        raise SystemExit(f"unknown kill point {kill_point!r}")

    def announce(state):
        epoch = int(state.step) // STEPS_PER_EPOCH
        print(f"epoch {epoch}", flush=True)
        if kill_point == "between-saves" and epoch == kill_epoch:
            print(f"held between-saves {epoch}", flush=True)
            time.sleep(HOLD_S)
        return {}

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = np.sin(x @ np.array([1.0, -2.0, 0.5, 0.3], np.float32)).astype(np.float32)
    optimizer = optax.adam(1e-2)
    graphdef, state = train.create_state(Net, optimizer, key=jax.random.key(0))
    step = train.make_step(graphdef, loss_fn, optimizer)
    result = train.fit(step, state, (x, y), batch_size=64 // STEPS_PER_EPOCH, epochs=EPOCHS,
                       progress=False, checkpoint_dir=directory if directory != "-" else None,
                       keep=2, eval_fn=announce)
    leaves = jax.tree_util.tree_leaves_with_path(result.state)
    np.savez(out, **{jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves})
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
