"""Training callbacks: the atomic best-epoch checkpoint, BatchNorm recalibration
and the epoch timer."""

import json
import time
from pathlib import Path

import numpy as np

from ..core.atomic import save_model, write_text
from ..core.networks import recalibrate_batchnorm
from ..core.quiet_imports import import_keras

keras = import_keras()


class AtomicBestCheckpoint(keras.callbacks.Callback):
    """Keep the epoch with the best validation accuracy, written atomically.

    (Keras' ModelCheckpoint writes in place: a kill during its save would leave
    a broken best model.) The saved model carries no optimizer state.
    """

    def __init__(self, path: Path, record: Path, monitor: str = "val_accuracy"):
        super().__init__()
        self.path, self.record, self.monitor = Path(path), Path(record), monitor
        self.best = -np.inf

    def on_train_begin(self, logs=None):
        if self.path.exists() and self.record.exists():  # a resumed run
            self.best = json.loads(self.record.read_text())[self.monitor]

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or value <= self.best:
            return
        self.best = value
        inference = keras.models.clone_model(self.model)
        inference.set_weights(self.model.get_weights())
        save_model(inference, self.path)
        write_text(self.record, json.dumps({"epoch": epoch + 1, self.monitor: float(value)}))


class BatchNormRecalibration(keras.callbacks.Callback):
    """Before each validation, measure the BatchNorm statistics on ``faces``
    without augmentation (:func:`~fakeblock.core.networks.recalibrate_batchnorm`), so
    that validation, the best-epoch checkpoint and the saved model all use them.
    Place it after SwapEMAWeights: with ``--ema`` it measures the averaged weights.
    """

    def __init__(self, faces: np.ndarray):
        super().__init__()
        self.faces = faces

    def on_test_begin(self, logs=None):
        recalibrate_batchnorm(self.model, self.faces)


class EpochTimer(keras.callbacks.Callback):
    """Adds each epoch's wall-clock seconds to the logs (so to history.csv)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["seconds"] = round(time.time() - self.started, 1)
