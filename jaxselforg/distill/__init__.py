"""Knowledge distillation: a trained teacher's softened outputs (Hinton, Vinyals & Dean
2015) and hidden features (FitNets, Romero et al. 2015) as a student's targets.

    teacher = classify.train_classifier(x, y, key=key, architecture="mlp", hidden=(1200, 1200))
    result = distill.train_distilled(x, y, teacher, key=key, hidden=(800, 800), dropout=0.0,
                                     temperature=20.0, hard_weight=0.1, soft_weight=0.9)
    classify.accuracy(result.model, x_test, y_test)
"""

from jaxselforg.distill.losses import (
    check_weights,
    distillation_loss,
    hint_loss,
    soft_target_loss,
)
from jaxselforg.distill.training import (
    OPTIMIZER,
    DistillationObjective,
    DistillationTraining,
    HintedStudent,
    train_distilled,
)

__all__ = ["OPTIMIZER", "DistillationObjective", "DistillationTraining", "HintedStudent",
           "check_weights", "distillation_loss", "hint_loss", "soft_target_loss",
           "train_distilled"]
