"""Supervised classifiers on ``nn`` blocks (the yardstick of the generative models, the
teacher of distillation, the baselines of transfer learning): models, training,
prediction; and the generative classifiers (naive Bayes, a mixture per class) of
:mod:`~jaxselforg.classify.generative`.

    result = classify.train_classifier(x, y, key=key, architecture="cnn", epochs=15)
    probabilities = classify.predict(result.model, x_test)
    naive_bayes = classify.fit_generative_classifier(x_binary, y, family="bernoulli")
    labels = classify.generative.predict(naive_bayes, x_binary_test)
"""

from jaxselforg.classify import generative
from jaxselforg.classify.generative import GenerativeClassifier, fit_generative_classifier
from jaxselforg.classify.model import ARCHITECTURES, CNN, MLPClassifier, make_classifier
from jaxselforg.classify.training import (
    OPTIMIZER,
    ClassifierObjective,
    ClassifierOptions,
    ClassifierTraining,
    accuracy,
    features,
    predict,
    test_accuracy_fn,
    train_classifier,
)

__all__ = ["ARCHITECTURES", "CNN", "OPTIMIZER", "ClassifierObjective", "ClassifierOptions",
           "ClassifierTraining",
           "GenerativeClassifier", "MLPClassifier", "accuracy", "features",
           "fit_generative_classifier", "generative", "make_classifier", "predict",
           "test_accuracy_fn", "train_classifier"]
