"""Following faces from frame to frame, and smoothing each face's scores."""

from dataclasses import dataclass

import numpy as np

from .detection import iou


@dataclass
class Track:
    """One face followed across frames."""

    id: int
    box: tuple
    scores: np.ndarray
    last_seen: int


class FaceTracker:
    """Follows faces by box overlap and smooths each face's scores over time.

    ``smooth``: frames to average over (an exponential moving average); 0 or 1
    turns smoothing off, but faces are still followed, so track ids exist.
    A face unseen for ``patience`` frames ends its track; a new face gets a new id.
    """

    def __init__(self, smooth: int = 5, patience: int = 10, min_iou: float = 0.3):
        self.alpha = 1.0 if smooth <= 1 else 2.0 / (smooth + 1)
        self.patience, self.min_iou = patience, min_iou
        self.tracks: list[Track] = []
        self.next_id = 1

    def update(self, frame_index: int, boxes, scores) -> list:
        """Match this frame's faces to tracks; returns one Track per box, in box order,
        with the smoothed scores."""
        self.tracks = [t for t in self.tracks if frame_index - t.last_seen <= self.patience]
        pairs = sorted(((iou(box, t.box), i, j) for i, box in enumerate(boxes)
                        for j, t in enumerate(self.tracks)), reverse=True)
        matched, used = {}, set()
        for overlap, i, j in pairs:
            if overlap < self.min_iou:
                break
            if i not in matched and j not in used:
                matched[i] = self.tracks[j]
                used.add(j)
        result = []
        for i, box in enumerate(boxes):
            track = matched.get(i)
            if track is None:
                track = Track(self.next_id, tuple(box), np.asarray(scores[i], np.float32), frame_index)
                self.next_id += 1
                self.tracks.append(track)
            else:
                track.scores = self.alpha * np.asarray(scores[i]) + (1 - self.alpha) * track.scores
                track.box, track.last_seen = tuple(box), frame_index
            result.append(track)
        return result

    def reset(self):
        """Forget all faces (between unrelated images)."""
        self.tracks = []
