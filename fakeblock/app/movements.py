"""The face's movements: MediaPipe's Face Landmarker on the app's own face boxes.

Google's Face Landmarker bundle (``model/face_landmarker.task``, Apache-2.0,
see ``model/NOTICE-mediapipe.md``) holds the two models used here, run through
LiteRT as BlazeFace is: a mesh of 478 landmarks from a 256x256 crop of the face,
and 52 blendshape scores from 146 of those landmarks. The crop is MediaPipe's
framing, a square 1.5 times the detector's face box, turned upright by the
eyes' angle. The scores carry MediaPipe's names (``browDownLeft``,
``eyeWideRight``, ``jawOpen`` ...); ``_neutral`` is left out. Each is close to a
FACS action unit (docs/app.md, "The face's movements"), but none is an action
unit detector measured on AU-coded data.
"""

import math
import zipfile
from dataclasses import dataclass

import cv2
import numpy as np

from ..core.errors import ModelFileError
from ..core.modelfile import MODEL_DIR, file_sha256
from ..core.preprocess import square_crop, to_rgb
from ..core.quiet_imports import stderr_silenced
from .blazeface import HAAR_RAISE, HAAR_SCALE
from .engine import lite_interpreter

#: The bundle, and the SHA-256 of the bytes Google publishes (float16, version 1).
LANDMARKER = MODEL_DIR / "face_landmarker.task"
LANDMARKER_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"

#: MediaPipe's kBlendshapeNames (face_blendshapes_graph.cc), in the model's output order.
BLENDSHAPE_NAMES = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft",
    "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft",
    "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft",
    "jawOpen", "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper",
    "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft",
    "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight")
#: The 51 movements FakeBlock reports: every blendshape but ``_neutral``.
MOVEMENTS = BLENDSHAPE_NAMES[1:]

#: MediaPipe's kLandmarksSubsetIdxs: the landmarks the blendshape model reads.
BLENDSHAPE_LANDMARKS = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65, 66, 67, 70, 78,
    80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136, 144, 145, 146, 148, 149, 150,
    152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172, 173, 176, 178, 181, 185, 191, 195, 197, 234,
    246, 249, 251, 263, 267, 269, 270, 276, 282, 283, 284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311,
    312, 314, 317, 318, 321, 323, 324, 332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380,
    381, 382, 384, 385, 386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471,
    472, 473, 474, 475, 476, 477)

CROP = 256  # the landmark model's input side
ROI_SCALE = 1.5  # MediaPipe's crop: 1.5 times the detector's box
MIN_PRESENCE = 0.5  # MediaPipe's min_face_presence_confidence
#: Landmarks of the mesh the head's pose and the crop's angle are read from.
RIGHT_EYE_OUTER, LEFT_EYE_OUTER, FOREHEAD, CHIN = 33, 263, 10, 152
#: A crop whose face is turned by more than this (degrees) is cut again, upright.
REFRAME_DEGREES = 4.0


@dataclass
class FaceMesh:
    """One face's mesh: ``landmarks`` (478 x 3: x, y in the picture's pixels, z
    in the same scale, smaller nearer the camera), its ``movements`` (51 scores,
    0-1, by MediaPipe's names) and the head's pose (degrees)."""

    landmarks: np.ndarray
    movements: dict
    head_pose: dict


def read_bundle(path) -> dict:
    """The bundle's models by member name, once its SHA-256 is checked."""
    try:
        digest = file_sha256(path)
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read the face landmark model ({e.strerror})") from None
    if digest != LANDMARKER_SHA256:
        raise ModelFileError(f"{path}: not Google's Face Landmarker bundle (SHA-256 {digest[:12]}..., expected "
                             f"{LANDMARKER_SHA256[:12]}...); restore it with 'git checkout model/'")
    with zipfile.ZipFile(path) as bundle:
        return {name: bundle.read(name) for name in ("face_landmarks_detector.tflite", "face_blendshapes.tflite")}


def mediapipe_box(box) -> tuple:
    """The detector's own box behind one of the app's face boxes (which are in
    the Haar cascade's framing: :data:`~fakeblock.app.blazeface.HAAR_SCALE`)."""
    x, y, w, h = box
    w0, h0 = w / HAAR_SCALE, h / HAAR_SCALE
    return x + w / 2, y + h / 2 + HAAR_RAISE * h0, w0, h0


def head_pose(landmarks: np.ndarray) -> dict:
    """Yaw (turned to the picture's right: positive), pitch (up: positive) and
    roll (tilted counter-clockwise in the picture: positive), in degrees, from
    the axes of the mesh: eye to eye, and chin to forehead. Yaw and roll agree
    with MediaPipe's own transformation matrix within a few degrees; pitch reads
    the forehead-to-chin line, which differs from it by a few degrees more
    (docs/app.md, "The face's movements")."""
    points = landmarks * np.array([1.0, -1.0, -1.0])  # y up, z towards the camera
    across = points[LEFT_EYE_OUTER] - points[RIGHT_EYE_OUTER]
    across /= np.linalg.norm(across) or 1.0
    up = points[FOREHEAD] - points[CHIN]
    up -= up.dot(across) * across
    up /= np.linalg.norm(up) or 1.0
    forward = np.cross(across, up)
    yaw = math.degrees(math.atan2(forward[0], forward[2]))
    pitch = math.degrees(math.atan2(forward[1], math.hypot(forward[0], forward[2])))
    roll = math.degrees(math.atan2(across[1], across[0]))
    return {"yaw": round(yaw, 1), "pitch": round(pitch, 1), "roll": round(roll, 1)}


def eye_angle(landmarks: np.ndarray) -> float:
    """The eye line's angle in the picture (radians, clockwise positive, as y points down)."""
    dx, dy = landmarks[LEFT_EYE_OUTER, :2] - landmarks[RIGHT_EYE_OUTER, :2]
    return math.atan2(dy, dx)


class MovementReader:
    """Reads each face's mesh, movements and head pose from a frame: the face
    crop (MediaPipe's framing, upright) through the landmark model, 146 of the
    landmarks through the blendshape model."""

    def __init__(self, bundle=None):
        models = read_bundle(bundle or LANDMARKER)
        self.mesh = self._interpreter(models["face_landmarks_detector.tflite"])
        self.blendshapes = self._interpreter(models["face_blendshapes.tflite"])
        # outputs: the 478 points (1x1x1x1434), the face's presence as a logit (1x1x1x1), and a 1x1
        outputs = {tuple(d["shape"]): d["index"] for d in self.mesh.get_output_details()}
        self.points_out, self.presence_out = outputs[(1, 1, 1, 478 * 3)], outputs[(1, 1, 1, 1)]

    @staticmethod
    def _interpreter(flatbuffer: bytes):
        interpreter = lite_interpreter(flatbuffer)
        with stderr_silenced():  # the XNNPACK delegate announces itself here
            interpreter.allocate_tensors()
        return interpreter

    def read(self, image: np.ndarray, box, angle: float | None = None) -> FaceMesh | None:
        """The mesh of the face in ``box`` (one of the app's boxes), or None where
        the landmark model sees no face there. ``angle``: the face's eye-line
        angle where it is known (the frame before); otherwise it is measured
        on a first crop, and the face cut again upright if it is tilted."""
        cx, cy, w, h = mediapipe_box(box)
        side = ROI_SCALE * max(w, h)
        landmarks = self._landmarks(image, (cx, cy), side, angle or 0.0)
        if landmarks is not None and angle is None and abs(math.degrees(eye_angle(landmarks))) > REFRAME_DEGREES:
            landmarks = self._landmarks(image, (cx, cy), side, eye_angle(landmarks))
        if landmarks is None:
            return None
        return FaceMesh(landmarks, self._movements(landmarks), head_pose(landmarks))

    def _landmarks(self, image, centre, side: float, angle: float) -> np.ndarray | None:
        """478 landmarks in the picture's pixels, from the square crop of ``side``
        pixels around ``centre`` turned by ``angle``; None where no face is seen."""
        crop, to_crop = square_crop(to_rgb(image), centre, side, CROP, angle)
        self.mesh.set_tensor(self.mesh.get_input_details()[0]["index"],
                             (crop.astype(np.float32) / 255.0)[np.newaxis])
        self.mesh.invoke()
        presence = float(self.mesh.get_tensor(self.presence_out).ravel()[0])
        if 1.0 / (1.0 + math.exp(-max(-80.0, min(80.0, presence)))) < MIN_PRESENCE:
            return None
        points = self.mesh.get_tensor(self.points_out).reshape(478, 3).astype(np.float64)
        to_picture = cv2.invertAffineTransform(to_crop)
        landmarks = np.empty_like(points)
        landmarks[:, :2] = points[:, :2] @ to_picture[:, :2].T + to_picture[:, 2]
        landmarks[:, 2] = points[:, 2] * side / CROP
        return landmarks

    def _movements(self, landmarks: np.ndarray) -> dict:
        subset = landmarks[BLENDSHAPE_LANDMARKS, :2].astype(np.float32)[np.newaxis]
        self.blendshapes.set_tensor(self.blendshapes.get_input_details()[0]["index"], subset)
        self.blendshapes.invoke()
        scores = self.blendshapes.get_tensor(self.blendshapes.get_output_details()[0]["index"]).ravel()
        return {name: round(float(s), 4) for name, s in zip(BLENDSHAPE_NAMES[1:], scores[1:])}
