"""Training losses beyond Keras' own (imported only where training runs: it imports Keras)."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="fakeblock")
class LogitAdjustedCrossentropy(keras.losses.Loss):
    """Cross-entropy on the scores reweighted by the training class shares to
    the power ``tau``, renormalised (Menon et al., 2021, "Long-tail learning via
    logit adjustment"): the network learns scores free of the training set's
    class imbalance, so rare classes (disgust, fear) are named more often."""

    def __init__(self, class_shares, tau: float = 1.0, label_smoothing: float = 0.0, name="logit_adjusted", **kwargs):
        super().__init__(name=name, **kwargs)
        self.class_shares, self.tau, self.label_smoothing = [float(s) for s in class_shares], tau, label_smoothing
        self.weights = np.asarray(self.class_shares, np.float32) ** tau
        self.crossentropy = keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing,
                                                                 reduction=None)

    def call(self, y_true, y_pred):
        weighted = y_pred * self.weights
        return self.crossentropy(y_true, weighted / ops.sum(weighted, axis=-1, keepdims=True))

    def get_config(self):
        return {**super().get_config(), "class_shares": self.class_shares, "tau": self.tau,
                "label_smoothing": self.label_smoothing}
