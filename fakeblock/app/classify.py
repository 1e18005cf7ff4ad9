"""The emotion classifier the app runs: a trained model plus its class names."""

import numpy as np

from ..core.calibration import calibrate, card_curve, reweigh
from ..core.errors import ModelFileError
from ..core.modelfile import DEFAULT_MODEL, check_model_file, model_classes, read_card
from ..core.preprocess import faces_to_batch


class EmotionClassifier:
    """Classifies face boxes of a gray frame in one batched model call.

    ``tta``: also classify the mirrored faces and average (about twice the cost).
    ``engine``: ``lite`` (TensorFlow Lite, faster) or ``keras`` (see :mod:`fakeblock.app.engine`).
    ``photos``: the faces come from still photos, each classified once: where the
    model card has a ``photo_rule``, it applies (the mirrored face too, and
    class weights chosen on real photos; docs/models.md, "The photo rule").
    Scores are calibrated with the curve the model card records for the mode
    (:mod:`fakeblock.core.calibration`).
    """

    def __init__(self, model_path=DEFAULT_MODEL, tta: bool = False, engine: str = "lite", photos: bool = False):
        from .engine import make_engine

        self.path = check_model_file(model_path)
        card = read_card(self.path)
        self.engine = make_engine(self.path, card, engine)
        self.card = card
        if self.engine.input_shape != (48, 48, 1):
            raise ModelFileError(f"{self.path}: expects input {self.engine.input_shape}, not 48x48x1 gray faces")
        self.classes = model_classes(self.path, self.engine.outputs, card)
        rule = (card or {}).get("photo_rule") if photos else None
        self.tta = tta or bool(rule)
        self.class_weights = np.asarray(rule["class_weights"], np.float32) if rule else None
        self.calibration = card_curve(card, self.tta, photo=bool(rule))
        # Get the engine ready now, not on the first frames: Keras traces its graph
        # once per batch size until a second size makes it shape-generic, and TF
        # Lite sizes its buffers, left at the app's most frequent batch (one face).
        for faces in (2, 1):
            self.classify_batch(np.zeros((faces, 48, 48, 1), np.float32))

    @property
    def flatbuffer(self) -> bytes:
        """The model as TF Lite (what :class:`~fakeblock.app.profiles.FaceFeatures` reads its features from)."""
        from .engine import lite_flatbuffer

        return lite_flatbuffer(self.path, self.card)

    def classify_batch(self, batch: np.ndarray) -> np.ndarray:
        """``(n, 48, 48, 1)`` model inputs -> ``(n, classes)`` probabilities."""
        if self.tta:
            batch = np.concatenate([batch, batch[:, :, ::-1]])
        scores = self.engine(batch)
        if self.tta:
            scores = (scores[: len(scores) // 2] + scores[len(scores) // 2:]) / 2
        if self.class_weights is not None:
            scores = reweigh(scores, self.class_weights)
        return calibrate(scores, self.calibration)

    def classify(self, gray: np.ndarray, boxes) -> np.ndarray:
        """Scores for each face box in a gray frame; ``(0, classes)`` when there are none."""
        if not boxes:
            return np.zeros((0, len(self.classes)), np.float32)
        return self.classify_batch(faces_to_batch(gray, boxes))
