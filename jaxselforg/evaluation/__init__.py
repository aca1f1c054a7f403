"""One evaluation toolkit for the features of every model: the linear probe, the
k-NN classifier and the Fréchet distance (retrieval metrics and the reference
feature extractor follow)."""

from jaxselforg.evaluation.frechet import frechet_distance, gaussian_statistics
from jaxselforg.evaluation.knn import knn_accuracy, knn_predict
from jaxselforg.evaluation.probe import (
    LinearProbe,
    ProbeResult,
    fit_linear_probe,
    linear_probe,
    probe_predict_proba,
)

__all__ = ["LinearProbe", "ProbeResult", "fit_linear_probe", "frechet_distance",
           "gaussian_statistics", "knn_accuracy", "knn_predict", "linear_probe",
           "probe_predict_proba"]
