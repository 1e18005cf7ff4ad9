"""What the network learns to output for each training face: its label, or the annotators'
votes, blended with teachers' scores and the FER+ votes."""

import logging

import numpy as np

from .data import FaceDataset
from .references import load_votes

log = logging.getLogger(__name__)


def targets(dataset: FaceDataset, label_mode: str) -> np.ndarray:
    """Training targets: one-hot labels, or the annotators' vote distribution."""
    if label_mode == "probability":
        return dataset.votes.astype(np.float32)
    return np.eye(len(dataset.classes), dtype=np.float32)[dataset.labels]


def distilled_targets(targets_: np.ndarray, images: np.ndarray, teachers: list, weight: float,
                      classes: tuple) -> np.ndarray:
    """Blend the training targets with the teachers' mean scores on the same
    faces (knowledge distillation): ``(1 - weight) * targets + weight * teachers``.
    A teacher of other classes is matched by class name: a class it lacks
    scores 0, one the student lacks is dropped, and its scores sum to one again."""
    from ..core.networks import load_model
    from .evaluate import predict_scores

    def on_student_classes(teacher):
        scores = predict_scores(load_model(teacher["path"]), images)
        own = list(teacher.get("classes") or classes)
        mapped = np.stack([scores[:, own.index(c)] if c in own else np.zeros(len(scores)) for c in classes], 1)
        return mapped / np.maximum(mapped.sum(axis=1, keepdims=True), 1e-12)

    scores = np.mean([on_student_classes(t) for t in teachers], axis=0)
    return ((1 - weight) * targets_ + weight * scores).astype(np.float32)


def voted_targets(targets_: np.ndarray, train: FaceDataset, votes: dict) -> np.ndarray:
    """Blend FER2013's single labels with the FER+ annotators' votes on the same
    faces (``votes["path"]``, a FER+ folder): ``(1 - weight) * labels + weight * votes``
    where FER+ has the face, the label alone elsewhere."""
    from .data import ferplus_votes_for

    joined = ferplus_votes_for(train, load_votes(votes))
    found = ~np.isnan(joined).any(axis=1)
    log.info(f"FER+ votes found for {found.sum()} of {len(train)} training faces")
    blended = targets_.copy()
    blended[found] = (1 - votes["weight"]) * targets_[found] + votes["weight"] * joined[found]
    return blended
