"""One evaluation toolkit for the features of every model: the linear probe, the
k-NN classifier, retrieval metrics (precision@1, R-precision, MAP@R) and the Fréchet
distance, and the scores of generated samples (classifier score, class histogram,
precision and recall); the reference feature extractor follows."""

from jaxselforg.evaluation.frechet import frechet_distance, gaussian_statistics
from jaxselforg.evaluation.generative import (
    ClassHistogram,
    PrecisionRecall,
    class_histogram,
    classifier_score,
    precision_recall,
)
from jaxselforg.evaluation.knn import knn_accuracy, knn_predict
from jaxselforg.evaluation.probe import (
    LinearProbe,
    ProbeResult,
    fit_linear_probe,
    linear_probe,
    probe_predict_proba,
)
from jaxselforg.evaluation.retrieval import RetrievalMetrics, retrieval_metrics

__all__ = [
    "ClassHistogram",
    "LinearProbe",
    "PrecisionRecall",
    "ProbeResult",
    "RetrievalMetrics",
    "class_histogram",
    "classifier_score",
    "fit_linear_probe",
    "frechet_distance",
    "gaussian_statistics",
    "knn_accuracy",
    "knn_predict",
    "linear_probe",
    "precision_recall",
    "probe_predict_proba",
    "retrieval_metrics",
]
