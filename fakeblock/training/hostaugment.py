"""The training augmentation done on the CPU with OpenCV (``--host-augmentation``).

Keras' augmentation layers run inside the model, on the accelerator; under JAX
on a GPU they are slow (keras-team/keras#23229; measured on an H200: 40 steps
of the default network with them did not finish in 45 s, 4.1 ms a step
without). Here the same kinds of change, with the same ranges
(:func:`fakeblock.core.networks.augmentation`, without ``camera``), are made to each
batch on the host while the GPU trains on the previous one.
"""

import math

import cv2
import numpy as np

from ..core.networks import BRIGHTNESS, CONTRAST, ROTATION, SHIFT, ZOOM
from ..core.preprocess import FACE_SIZE
from ..core.quiet_imports import import_keras

keras = import_keras()


def augment_faces(faces: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A changed copy of ``faces`` (``(n, 48, 48, 1)`` float32, 0-255): each one
    flipped (half of them), rotated, zoomed and shifted about its centre (the
    border reflected), and its contrast and brightness changed. The three
    geometric changes are one resampling, where the layers make three and blur
    the face more: on the default network a little better on FER2013 and worse
    on real photos (docs/models.md, "Training on a GPU")."""
    centre = (FACE_SIZE - 1) / 2
    changed = np.empty_like(faces)
    for i, face in enumerate(faces[..., 0]):
        if rng.random() < 0.5:
            face = face[:, ::-1]
        warp = cv2.getRotationMatrix2D((centre, centre), rng.uniform(-180, 180) * 2 * ROTATION,
                                       1 / rng.uniform(1 - ZOOM, 1 + ZOOM))
        warp[:, 2] += rng.uniform(-SHIFT, SHIFT, 2) * FACE_SIZE
        face = cv2.warpAffine(np.ascontiguousarray(face), warp, (FACE_SIZE, FACE_SIZE),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        mean = face.mean()
        face = (face - mean) * rng.uniform(1 - CONTRAST, 1 + CONTRAST) + mean
        changed[i, ..., 0] = np.clip(face + rng.uniform(-BRIGHTNESS, BRIGHTNESS) * 255, 0, 255)
    return changed


class AugmentedFaces(keras.utils.PyDataset):
    """Training batches for ``Model.fit``: shuffled every epoch and augmented by
    :func:`augment_faces` in worker threads, each batch from its own generator
    seeded by (seed, epoch, batch), so that a run is the same whatever the
    threads' order. Pass :meth:`follow_epochs` to ``fit`` with it: a resumed
    run then goes on with the epochs it had not trained."""

    def __init__(self, faces: np.ndarray, targets: np.ndarray, batch_size: int, seed: int, workers: int = 3):
        super().__init__(workers=workers, use_multiprocessing=False)
        self.faces, self.targets, self.batch_size, self.seed = faces, targets, batch_size, seed
        self.start_epoch(0)

    def start_epoch(self, epoch: int):
        """Serve ``epoch``'s batches (0 for the first)."""
        self.epoch = epoch
        self.order = np.random.default_rng([self.seed, epoch]).permutation(len(self.faces))

    def follow_epochs(self) -> keras.callbacks.Callback:
        """A callback that keeps these batches on ``fit``'s epoch."""
        return keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: self.start_epoch(epoch))

    def __len__(self):
        return math.ceil(len(self.faces) / self.batch_size)

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return augment_faces(self.faces[rows], rng), self.targets[rows]
