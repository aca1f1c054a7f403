"""The deep-learning training core: Flax NNX models split into pure pytrees, Optax
optimizers with traced hyperparameters, a jitted step and epoch (``lax.scan`` over
on-device batches), Orbax checkpoints, ``metrics.jsonl`` logs and the ``fit`` loop.

    optimizer = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)
    graphdef, state = train.create_state(model_fn, optimizer, key=key)  # model_fn(rngs)
    step = train.make_step(graphdef, loss_fn, optimizer)   # loss_fn(model, batch, key)
    result = train.fit(step, state, data, batch_size=128, epochs=10,
                       checkpoint_dir=run_dir / "checkpoints", config=asdict(cfg),
                       metrics_path=run_dir / "train_metrics.jsonl")
    model = train.merge_model(graphdef, result.state.params, result.state.model_state)

A sweep: ``train.init_states(model_fn, optimizer, jax.random.split(key, 8),
learning_rate=rates)`` gives states with a leading run axis, which ``fit`` trains
vmapped in one program (``run_epochs`` is the same as one pure function).
"""

from jaxselforg.train.checkpoint import Checkpointer, CheckpointMismatchError
from jaxselforg.train.loop import (
    FitResult,
    NonFiniteLossError,
    fit,
    make_epoch,
    progress_enabled,
    run_epochs,
)
from jaxselforg.train.metrics import MetricsWriter, read_metrics
from jaxselforg.train.optimizers import cosine_decay_adam
from jaxselforg.train.state import (
    TrainState,
    create_state,
    get_hyperparams,
    init_state,
    init_states,
    merge_model,
    select_run,
    set_hyperparams,
    split_model,
)
from jaxselforg.train.step import LossFn, StepFn, make_step, tree_all_finite

__all__ = [
    "CheckpointMismatchError",
    "Checkpointer",
    "FitResult",
    "LossFn",
    "MetricsWriter",
    "NonFiniteLossError",
    "StepFn",
    "TrainState",
    "cosine_decay_adam",
    "create_state",
    "fit",
    "get_hyperparams",
    "init_state",
    "init_states",
    "make_epoch",
    "make_step",
    "merge_model",
    "progress_enabled",
    "read_metrics",
    "run_epochs",
    "select_run",
    "set_hyperparams",
    "split_model",
    "tree_all_finite",
]
