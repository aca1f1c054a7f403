"""Clustering: k-means (+ k-medians, mini-batch) and winner-take-all competitive learning."""

from jaxselforg.cluster._seeding import INITS
from jaxselforg.cluster.competitive import (
    SCHEDULES,
    CompetitiveLearner,
    CompetitiveResult,
    CompetitiveState,
    competitive_learning,
    learning_rate_schedule,
    winner_take_all,
)
from jaxselforg.cluster.minibatch import (
    MiniBatchState,
    minibatch_init,
    minibatch_kmeans,
    minibatch_step,
)
from jaxselforg.cluster.kmeans import (
    UPDATES,
    KMeansResult,
    KMeansState,
    init_state,
    kmeans,
    predict,
    step,
    transform,
)

__all__ = [
    "SCHEDULES",
    "CompetitiveLearner",
    "CompetitiveResult",
    "CompetitiveState",
    "competitive_learning",
    "learning_rate_schedule",
    "winner_take_all",
    "INITS",
    "UPDATES",
    "KMeansResult",
    "KMeansState",
    "init_state",
    "kmeans",
    "predict",
    "step",
    "transform",
    "MiniBatchState",
    "minibatch_init",
    "minibatch_kmeans",
    "minibatch_step",
]
