"""Knowledge distillation: a trained teacher's softened outputs (Hinton, Vinyals & Dean
2015) and hidden features (FitNets, Romero et al. 2015) as a student's targets.

    teacher = classify.train_classifier(x, y, key=key, architecture="mlp", hidden=(1200, 1200))
    result = distill.train_distilled(x, y, teacher, key=key, hidden=(800, 800), dropout=0.0,
                                     temperature=20.0, hard_weight=0.1, soft_weight=0.9)
    classify.accuracy(result.model, x_test, y_test)
    left_out = distill.distill_without_class(x, y, teacher, left_out=3, key=key, bias_shift=3.5,
                                             hidden=(800, 800), dropout=0.0, temperature=20.0)
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
from jaxselforg.distill.transfer_set import (
    LeftOutDistillation,
    choose_bias_shift,
    distill_without_class,
    shift_class_bias,
    without_class,
)

__all__ = ["OPTIMIZER", "DistillationObjective", "DistillationTraining", "HintedStudent",
           "LeftOutDistillation", "check_weights", "choose_bias_shift", "distill_without_class",
           "distillation_loss", "hint_loss", "shift_class_bias", "soft_target_loss",
           "train_distilled", "without_class"]
