"""A profile: what FakeBlock learns of one person's expressions from a few
labelled pictures of them, to name that person's expressions better.

A face is described by what the app computes of it, never by its pixels: the
emotion network's last convolutional features (its ``flatten`` layer, 2,304
numbers), the face and its mirror image averaged and, for a photo, over nine
crops a little apart. A profile keeps these for each labelled face, and names a
new face's expression by its nearest example (each number scaled by its spread
among the examples). Measured on posed-dev, one performer at a time with two
photos of each expression to make the profile: 80 % right against 60 % without
(docs/app.md, "Profiles"). Emotions the profile has no example of are left to
the network.
"""

import json
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ..core.atomic import write_json
from ..core.errors import InputError, ModelFileError
from ..core.modelfile import file_sha256
from ..core.preprocess import faces_to_batch, to_gray

PROFILE_VERSION = 2
#: The layer a profile reads, by the name Keras gives it in the default network, and its size.
FEATURE_LAYER, FEATURE_SIZE = "flatten", 2304
#: A photo's crops whose features are averaged: the face box, then the box moved
#: by 6 % of its side diagonally each way at 92 % and 108 % of its size, as
#: (right, down, size) in face sides. A video's frames take the box alone (the
#: smoothing over frames averages instead).
PHOTO_CROPS = ((0.0, 0.0, 1.0),) + tuple((dx, dy, size) for dx in (-0.06, 0.06) for dy in (-0.06, 0.06)
                                         for size in (0.92, 1.08))
#: How sharply the distances to each emotion's nearest example become scores:
#: chosen on posed-dev for the confidence's calibration (docs/app.md, "Profiles").
TEMPERATURE = 0.1


def crop_boxes(box, crops) -> list:
    """The face box ``(x, y, w, h)`` moved and resized by each of ``crops``."""
    x, y, w, h = box
    boxes = []
    for right, down, size in crops:
        cx, cy = x + w * (0.5 + right), y + h * (0.5 + down)
        boxes.append((round(cx - w * size / 2), round(cy - h * size / 2), round(w * size), round(h * size)))
    return boxes


class FaceFeatures:
    """The emotion network's last convolutional features for face boxes, run by
    TF Lite with every tensor kept (no XNNPACK: it would fuse the layer away)."""

    def __init__(self, flatbuffer: bytes, where):
        from .engine import lite_interpreter

        self.interpreter = lite_interpreter(flatbuffer, keep_tensors=True)
        self.interpreter.allocate_tensors()
        layer = [d for d in self.interpreter.get_tensor_details()
                 if FEATURE_LAYER in d["name"] and tuple(d["shape"])[1:] == (FEATURE_SIZE,)]
        if not layer:
            raise ModelFileError(f"{where}: profiles need a model of the default network (no {FEATURE_LAYER} layer "
                                 f"of {FEATURE_SIZE})")
        self.layer = layer[-1]["index"]
        self.input = self.interpreter.get_input_details()[0]["index"]

    def __call__(self, image: np.ndarray, box, photo: bool = True) -> np.ndarray:
        """The face's features: the box and its mirror image averaged, and for a
        ``photo`` over :data:`PHOTO_CROPS` too."""
        faces = faces_to_batch(to_gray(image), crop_boxes(box, PHOTO_CROPS) if photo else [box])
        batch = np.ascontiguousarray(np.concatenate([faces, faces[:, :, ::-1]]))
        if self.interpreter.get_input_details()[0]["shape"][0] != len(batch):
            self.interpreter.resize_tensor_input(self.input, batch.shape)
            self.interpreter.allocate_tensors()
        self.interpreter.set_tensor(self.input, batch)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.layer).mean(axis=0)


@dataclass
class Profile:
    """One person's labelled faces, as numbers (``examples``, one row each, and
    their ``labels``), made with the model whose SHA-256 is ``model_sha256``."""

    examples: np.ndarray
    labels: list
    model: str
    model_sha256: str

    @classmethod
    def made_with(cls, examples: list, labels: list, model_path) -> "Profile":
        """A profile of ``examples`` made with the model at ``model_path``."""
        return cls(np.asarray(examples), list(labels), Path(model_path).name, file_sha256(model_path))

    @cached_property
    def scale(self) -> np.ndarray:
        """Each number's spread among the examples, what distances are measured
        in (at least a tenth of the mean spread: a number that hardly varies
        among the examples is not blown up)."""
        spread = self.examples.std(axis=0)
        return spread + 0.1 * spread.mean() + 1e-6

    @property
    def emotions(self) -> list:
        """The emotions the profile has examples of."""
        return sorted(set(self.labels), key=self.labels.index)

    def scores(self, features: np.ndarray, network: dict) -> dict:
        """A face's scores with the profile: among the emotions it has examples
        of, the nearest examples decide; the network's share of the others is kept."""
        distances = np.sqrt((((self.examples - features) / self.scale) ** 2).mean(axis=1))
        nearest = {e: min(d for d, label in zip(distances, self.labels) if label == e) for e in self.emotions}
        best = min(nearest.values())
        weights = {e: math.exp(-(d - best) / TEMPERATURE) for e, d in nearest.items()}
        known = sum(network[e] for e in self.emotions if e in network)
        total = sum(weights.values())
        return {e: (known * weights[e] / total if e in weights else s) for e, s in network.items()}

    def save(self, path):
        """Write the profile as versioned JSON on one line, atomically (numbers only, no picture)."""
        examples = self.examples.astype(float).round(3).tolist()  # float: 0.356, not 0.35600000619888306
        write_json({"fakeblock_profile": PROFILE_VERSION, "model": self.model, "model_sha256": self.model_sha256,
                    "labels": self.labels, "examples": examples}, Path(path), indent=None)


def load_profile(path, model_path) -> Profile:
    """The profile at ``path``, checked: one line naming the file for one that
    is empty, tampered with, of another version or made with another model."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(f"{path}: cannot read the profile ({e.strerror})") from None
    except (ValueError, RecursionError):
        raise InputError(f"{path}: not a FakeBlock profile (not JSON)") from None
    if not isinstance(data, dict) or "fakeblock_profile" not in data:
        raise InputError(f"{path}: not a FakeBlock profile")
    if data["fakeblock_profile"] != PROFILE_VERSION:
        raise InputError(f"{path}: a version {data['fakeblock_profile']!r} profile; this FakeBlock reads version "
                         f"{PROFILE_VERSION}: make it again with --make-profile")
    try:
        examples = np.asarray(data["examples"], dtype=np.float32)
        labels = [str(label) for label in data["labels"]]
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{path}: a damaged profile (its examples are not numbers)") from None
    if examples.ndim != 2 or examples.shape != (len(labels), FEATURE_SIZE) or not len(labels):
        raise InputError(f"{path}: a damaged or empty profile (no examples of the expected size)")
    if not np.isfinite(examples).all():
        raise InputError(f"{path}: a damaged profile (a number that is not finite)")
    if data.get("model_sha256") != file_sha256(model_path):
        raise InputError(f"{path}: made with another model ({data.get('model')}); make it again with --model "
                         f"{Path(model_path).stem}, or run with the model it was made with")
    return Profile(examples, labels, str(data.get("model")), data["model_sha256"])


#: A video's frames a profile takes: one in this many (about six a second at 30 fps).
VIDEO_FRAME_STEP = 5


def make_profile(folder, pipeline) -> tuple:
    """A profile from ``folder``: one sub-folder per emotion (FER2013's names,
    as the model has them), holding photos or videos of one person; ``pipeline``
    an :class:`~fakeblock.app.pipeline.EmotionPipeline` of the model to use.
    Returns the profile and, per emotion, ``(faces, pictures)`` used. One line
    for a folder with no face, a picture of two people, or an unknown emotion."""
    from .sources import VideoSource, open_source

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: a profile is made from a folder with a sub-folder per emotion")
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subfolders:
        raise InputError(f"{folder}: no sub-folders; put each expression's pictures in one named after it "
                         f"({', '.join(pipeline.classes)})")
    for sub in subfolders:
        if sub.name not in pipeline.classes:
            raise InputError(f"{sub}: '{sub.name}' is not an emotion of the model ({', '.join(pipeline.classes)})")
    examples, labels, counts = [], [], {}
    for sub in subfolders:
        pictures = faces = 0
        for file in sorted(p for p in sub.iterdir() if p.is_file() and not p.name.startswith(".")):
            source = open_source(str(file))
            try:
                step = VIDEO_FRAME_STEP if isinstance(source, VideoSource) else 1
                for frame in source:
                    if frame.index % step:
                        continue
                    pictures += 1
                    found = pipeline.process(frame.image, frame.index, new_scene=True).faces
                    where = file if source.is_still else f"{file}, frame {frame.index}"
                    if len(found) > 1:
                        raise InputError(f"{where}: {len(found)} faces; a profile is of one person, alone "
                                         "in each picture")
                    if found:
                        examples.append(pipeline.describe(frame.image, found[0], photo=True))
                        labels.append(sub.name)
                        faces += 1
            finally:
                source.close()
        if not faces:
            raise InputError(f"{sub}: no face found in its {pictures} pictures")
        counts[sub.name] = (faces, pictures)
    return Profile.made_with(examples, labels, pipeline.classifier.path), counts


class ProfileCapture:
    """The window's guided capture (the p key): each emotion in turn, a moment
    to get ready, then ``seconds`` of the face showing it, a face kept every
    ``every`` seconds; the user may skip one (space). ``clock``: seconds,
    monotonic (a test passes its own)."""

    def __init__(self, emotions, seconds: float = 3.0, ready: float = 1.5, every: float = 0.25, clock=None):
        import time

        self.emotions, self.seconds, self.ready, self.every = list(emotions), seconds, ready, every
        self.clock = clock or time.monotonic
        self.current, self.started, self.kept_at = 0, self.clock(), -math.inf
        self.examples, self.labels = [], []

    @property
    def done(self) -> bool:
        return self.current >= len(self.emotions)

    def _advance(self):
        if not self.done and self.clock() - self.started >= self.ready + self.seconds:
            self.current, self.started = self.current + 1, self.clock()

    def prompt(self) -> str | None:
        """What the window shows now ("Show: angry  2"), or None once done."""
        self._advance()
        if self.done:
            return None
        left = self.ready + self.seconds - (self.clock() - self.started)
        return f"Show: {self.emotions[self.current]}  {math.ceil(left)}  (space skips)"

    def skip(self):
        """Leave out the emotion shown now (the network keeps it)."""
        if not self.done:
            self.current, self.started = self.current + 1, self.clock()

    def add(self, pipeline, image: np.ndarray, faces: list):
        """Keep this frame's face while an emotion is being shown (after the
        moment to get ready); frames with no face, or several, are passed over."""
        self._advance()
        now = self.clock()
        if self.done or now - self.started < self.ready or now - self.kept_at < self.every or len(faces) != 1:
            return
        self.examples.append(pipeline.describe(image, faces[0], photo=True))
        self.labels.append(self.emotions[self.current])
        self.kept_at = now

    def profile(self, model_path) -> Profile:
        """The profile captured; one line where no face was seen at all."""
        if not self.labels:
            raise InputError("the capture saw no face: nothing to make a profile of")
        return Profile.made_with(self.examples, self.labels, model_path)
