"""A tiny checkpointed training run for the SIGKILL fault test in test_train.py.

``python tests/fault_run.py CHECKPOINT_DIR OUT.npz`` trains (or resumes) to the end,
printing ``epoch N`` after every epoch so that the test can kill it at chosen points,
and writes the final state's leaves to OUT.npz.
"""

import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jaxselforg import train

EPOCHS = 12


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


def announce(state):
    # Slow each epoch down a little, so that kills land inside training and saves.
    print(f"epoch {int(state.step) // 8}", flush=True)
    time.sleep(0.05)
    return {}


def main(directory, out):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = np.sin(x @ np.array([1.0, -2.0, 0.5, 0.3], np.float32)).astype(np.float32)
    optimizer = optax.adam(1e-2)
    graphdef, state = train.create_state(Net, optimizer, key=jax.random.key(0))
    step = train.make_step(graphdef, loss_fn, optimizer)
    result = train.fit(step, state, (x, y), batch_size=8, epochs=EPOCHS, progress=False,
                       checkpoint_dir=directory if directory != "-" else None, keep=2,
                       eval_fn=announce)
    leaves = jax.tree_util.tree_leaves_with_path(result.state)
    np.savez(out, **{jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves})
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
