"""One evaluation toolkit for the features of every model: the linear probe, the
k-NN classifier, retrieval metrics (precision@1, R-precision, MAP@R) and the Fréchet
distance, and the scores of generated samples (classifier score, class histogram,
precision and recall) in the feature space of the reference CNN
(``feature_extractor``, trained once and cached)."""

# Each submodule's __all__ is its public API; the package re-exports them all.
from jaxselforg.evaluation import features, frechet, generative, knn, probe, retrieval
from jaxselforg.evaluation.features import *
from jaxselforg.evaluation.frechet import *
from jaxselforg.evaluation.generative import *
from jaxselforg.evaluation.knn import *
from jaxselforg.evaluation.probe import *
from jaxselforg.evaluation.retrieval import *

__all__ = [*probe.__all__, *knn.__all__, *retrieval.__all__,  # noqa: PLE0604
           *frechet.__all__, *generative.__all__, *features.__all__]
