"""The deep-learning training core: Flax NNX networks ("roles") split into pure pytrees,
Optax optimizers with traced hyperparameters, single and alternating jitted steps,
frozen roles and partially frozen parameters, an epoch as one ``lax.scan`` over
on-device batches, Orbax checkpoints, ``metrics.jsonl`` and TensorBoard logs, and the
``fit`` loop that trains every one of these unchanged.

One network::

    optimizer = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)
    graphdef, state = train.create_state(model_fn, optimizer, key=key)  # model_fn(rngs)
    step = train.make_step(graphdef, loss_fn, optimizer)  # loss_fn(model, batch, key, hp)
    result = train.fit(step, state, data, batch_size=128, epochs=10,
                       checkpoint_dir=run_dir / "checkpoints", config=asdict(cfg),
                       metrics_path=run_dir / "train_metrics.jsonl")
    model = train.get_model(graphdef, result.state)  # train.model_of(graphdef, state, i): run i

Several networks (a GAN: the discriminator ``n_critic`` times, then the generator)::

    graphdefs, state = train.create_state({"generator": G, "discriminator": D},
                                          {"generator": adam, "discriminator": adam}, key=key)
    step = train.make_alternating_step(graphdefs, optimizers, [
        train.Phase("discriminator", d_loss, repeats=n_critic),
        train.Phase("generator", g_loss)])

A frozen role (a teacher) has the optimizer ``None``; ``train.partition`` trains
parts of one network at different rates, or not at all. A sweep:
``train.init_states(model_fn, optimizer, jax.random.split(key, 8), learning_rate=rates)``
gives states with a leading run axis, which ``fit`` trains vmapped in one program
(``run_epochs`` is the same as one pure function).
"""

from jaxselforg.train.checkpoint import (
    Checkpointer,
    CheckpointMismatchError,
    CorruptCheckpointError,
    CorruptCheckpointWarning,
    fingerprint,
)
from jaxselforg.train.loop import (
    EPOCH_DRIVERS,
    FitResult,
    NonFiniteLossError,
    RunOptions,
    fit,
    make_epoch,
    progress_enabled,
    run_epochs,
    run_options,
)
from jaxselforg.train.metrics import MetricsWriter, TensorBoardWriter, read_metrics
from jaxselforg.train.optimizers import (
    LEARNING_RATE_DECAYS,
    cosine_decay_adam,
    cosine_decay_adamw,
    decay_steps,
)
from jaxselforg.train.partition import parameter_labels, partition
from jaxselforg.train.results import TrainingResult, evaluate_runs, model_of, n_runs
from jaxselforg.train.state import (
    SINGLE_ROLE,
    TrainState,
    create_state,
    get_hyperparams,
    get_model,
    init_state,
    init_states,
    merge_model,
    select_run,
    set_hyperparams,
    split_model,
)
from jaxselforg.train.step import (
    LossFn,
    Phase,
    Step,
    StepFn,
    make_alternating_step,
    make_step,
    tree_all_finite,
)

__all__ = [
    "EPOCH_DRIVERS",
    "LEARNING_RATE_DECAYS",
    "SINGLE_ROLE",
    "CheckpointMismatchError",
    "Checkpointer",
    "CorruptCheckpointError",
    "CorruptCheckpointWarning",
    "FitResult",
    "LossFn",
    "MetricsWriter",
    "NonFiniteLossError",
    "Phase",
    "RunOptions",
    "Step",
    "StepFn",
    "TensorBoardWriter",
    "TrainState",
    "TrainingResult",
    "cosine_decay_adam",
    "cosine_decay_adamw",
    "create_state",
    "decay_steps",
    "evaluate_runs",
    "fingerprint",
    "fit",
    "get_hyperparams",
    "get_model",
    "init_state",
    "init_states",
    "make_alternating_step",
    "make_epoch",
    "make_step",
    "merge_model",
    "model_of",
    "n_runs",
    "parameter_labels",
    "partition",
    "progress_enabled",
    "read_metrics",
    "run_epochs",
    "run_options",
    "select_run",
    "set_hyperparams",
    "split_model",
    "tree_all_finite",
]
