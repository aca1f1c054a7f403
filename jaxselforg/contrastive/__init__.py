"""Embeddings learned from similarity: SimCLR (NT-Xent on augmented views) and metric
learning (the contrastive loss, the triplet loss with semi-hard or batch-hard mining
on class-balanced batches), their network, training and diagnostics.

    result = contrastive.train_simclr(x, key=key, temperature=0.5, epochs=10,
                                      augmentation=contrastive.simclr_augmentation(flip=True))
    h = contrastive.embed(result.model, x_test)                    # encoder features
    metric = contrastive.train_metric(x, y, key=key, miner="semi_hard", margin=0.2)
    e = contrastive.embed(metric.model, x_test, projection=True)   # unit embeddings
    loss = contrastive.ntxent(z_a, z_b, temperature=0.1)
"""

from jaxselforg.contrastive.diagnostics import alignment, embedding_std, uniformity
from jaxselforg.contrastive.losses import (
    MINERS,
    batch_contrastive_loss,
    contrastive_loss,
    ntxent,
    triplet_loss,
)
from jaxselforg.contrastive.model import EmbeddingNet
from jaxselforg.contrastive.sampling import (
    ClassRows,
    class_balanced_batch,
    class_rows,
    select_classes,
)
from jaxselforg.contrastive.training import (
    METRIC_LOSSES,
    OPTIMIZERS,
    ContrastiveTraining,
    MetricObjective,
    SimCLRObjective,
    embed,
    simclr_augmentation,
    train_metric,
    train_simclr,
)

__all__ = [
    "METRIC_LOSSES",
    "MINERS",
    "OPTIMIZERS",
    "ClassRows",
    "ContrastiveTraining",
    "EmbeddingNet",
    "MetricObjective",
    "SimCLRObjective",
    "alignment",
    "batch_contrastive_loss",
    "class_balanced_batch",
    "class_rows",
    "contrastive_loss",
    "embed",
    "embedding_std",
    "ntxent",
    "select_classes",
    "simclr_augmentation",
    "train_metric",
    "train_simclr",
    "triplet_loss",
    "uniformity",
]
