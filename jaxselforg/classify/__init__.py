"""Supervised classifiers on ``nn`` blocks (the yardstick of the generative models, the
teacher of distillation, the baselines of transfer learning): models, training,
prediction.

    result = classify.train_classifier(x, y, key=key, architecture="cnn", epochs=15)
    probabilities = classify.predict(result.model, x_test)
"""

from jaxselforg.classify.model import ARCHITECTURES, CNN, MLPClassifier, make_classifier
from jaxselforg.classify.training import (
    OPTIMIZER,
    ClassifierObjective,
    ClassifierTraining,
    accuracy,
    features,
    predict,
    train_classifier,
)

__all__ = ["ARCHITECTURES", "CNN", "OPTIMIZER", "ClassifierObjective", "ClassifierTraining",
           "MLPClassifier", "accuracy", "features", "make_classifier", "predict",
           "train_classifier"]
