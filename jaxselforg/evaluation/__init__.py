"""One evaluation toolkit for the features of every model: the linear probe (and, as
the evaluation issue lands, kNN, retrieval and Fréchet distances)."""

from jaxselforg.evaluation.probe import (
    LinearProbe,
    ProbeResult,
    fit_linear_probe,
    linear_probe,
    probe_predict_proba,
)

__all__ = ["LinearProbe", "ProbeResult", "fit_linear_probe", "linear_probe",
           "probe_predict_proba"]
