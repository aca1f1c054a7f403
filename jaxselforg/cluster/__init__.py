"""Clustering: k-means (+ k-medians, mini-batch) and winner-take-all competitive learning."""

from jaxselforg.cluster._seeding import INITS
from jaxselforg.cluster.competitive import (
    CompetitiveLearner,
    CompetitiveResult,
    CompetitiveState,
    competitive_learning,
    winner_take_all,
)
from jaxselforg.cluster.kmeans import (
    ALGORITHMS,
    UPDATES,
    KMeansResult,
    KMeansState,
    init_state,
    kmeans,
    predict,
    step,
    transform,
)
from jaxselforg.cluster.minibatch import (
    MiniBatchState,
    minibatch_init,
    minibatch_kmeans,
    minibatch_step,
)

__all__ = [
    "ALGORITHMS",
    "INITS",
    "UPDATES",
    "CompetitiveLearner",
    "CompetitiveResult",
    "CompetitiveState",
    "KMeansResult",
    "KMeansState",
    "MiniBatchState",
    "competitive_learning",
    "init_state",
    "kmeans",
    "minibatch_init",
    "minibatch_kmeans",
    "minibatch_step",
    "predict",
    "step",
    "transform",
    "winner_take_all",
]
