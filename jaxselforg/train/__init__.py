"""Training machinery: checkpoints and metric logs (the Flax training core builds on these)."""

from jaxselforg.train.checkpoint import CheckpointMismatchError, Checkpointer
from jaxselforg.train.metrics import MetricsWriter, read_metrics

__all__ = ["CheckpointMismatchError", "Checkpointer", "MetricsWriter", "read_metrics"]
