"""One evaluation toolkit for the features of every model: the linear probe and the
Fréchet distance (and, as the evaluation issue lands, kNN and retrieval)."""

from jaxselforg.evaluation.frechet import frechet_distance, gaussian_statistics
from jaxselforg.evaluation.probe import (
    LinearProbe,
    ProbeResult,
    fit_linear_probe,
    linear_probe,
    probe_predict_proba,
)

__all__ = ["LinearProbe", "ProbeResult", "fit_linear_probe", "frechet_distance",
           "gaussian_statistics", "linear_probe", "probe_predict_proba"]
