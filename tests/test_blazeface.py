"""BlazeFace, the default face finder: its decoder, its framing, and the app's --detector."""

import json

import numpy as np
import pytest
from conftest import run_script, write_video

from fakeblock.app.blazeface import FULL_RANGE, SHORT_RANGE, BlazeFaceDetector, anchor_centres
from fakeblock.app.detection import iou
from fakeblock.app.haar import HaarFaceDetector
from fakeblock.core.preprocess import to_gray


def on_background(face, size=(480, 640), at=(200, 150)):
    frame = np.full((*size, 3), 90, np.uint8)
    x, y = at
    frame[y:y + face.shape[0], x:x + face.shape[1]] = face
    return to_gray(frame)


def test_anchors_match_the_models_outputs():
    # MediaPipe's anchor counts: 16x16x2 + 8x8x6 (short range), 48x48 (full range)
    assert anchor_centres(SHORT_RANGE).shape == (896, 2)
    assert anchor_centres(FULL_RANGE).shape == (2304, 2)
    centres = anchor_centres(SHORT_RANGE)
    assert centres.min() > 0 and centres.max() < 1


def test_finds_the_real_face_where_the_cascade_does_in_the_cascades_framing(astronaut_face):
    gray = on_background(astronaut_face)
    blaze, haar = BlazeFaceDetector().detect(gray), HaarFaceDetector().detect(gray)
    assert len(blaze) == 1 and len(haar) == 1
    assert iou(blaze[0], haar[0]) > 0.6
    x, y, w, h = blaze[0]
    assert 200 <= x + w / 2 <= 350 and 150 <= y + h / 2 <= 300  # on the pasted face


def test_no_face_in_an_empty_frame_or_a_noise_frame():
    detector = BlazeFaceDetector()
    assert detector.detect(np.full((480, 640), 90, np.uint8)) == []
    noise = np.random.default_rng(0).integers(0, 255, (480, 640), dtype=np.uint8)
    assert detector.detect(noise) == []


def test_a_face_cut_by_the_photos_edge_is_found_with_the_photo_border(astronaut_face):
    gray = to_gray(astronaut_face)[25:, 20:]  # the top and left of the face cut off
    (x, y, w, h), = BlazeFaceDetector(pad=0.15).detect(gray)
    assert x == 0 or y == 0  # reaches the edge, clipped to the photo
    assert w >= 60 and h >= 60


def test_min_size_drops_smaller_faces(astronaut_face):
    gray = on_background(astronaut_face)
    (box,) = BlazeFaceDetector().detect(gray)
    assert BlazeFaceDetector(min_size=min(box[2:]) + 1).detect(gray) == []


def test_a_small_face_is_found_by_the_full_range_model(astronaut_face):
    import cv2
    small = cv2.resize(astronaut_face, (100, 100), interpolation=cv2.INTER_AREA)
    gray = on_background(small, at=(400, 300))
    detector = BlazeFaceDetector()
    (box,) = detector.detect(gray)
    assert detector.full_range is not None  # the short-range model alone did not find it
    assert iou(box, (400, 300, 100, 100)) > 0.3
    assert len(BlazeFaceDetector(pad=0.15).detect(gray)) == 1  # a photo too


@pytest.mark.parametrize("detector", ["blazeface", "haar"])
def test_the_app_finds_the_face_with_either_detector(tmp_path, astronaut_face, trained_model, detector):
    video = write_video(tmp_path / "face.avi", 6, lambda i: [(astronaut_face, 200 + 4 * i, 150)])
    result = run_script("WebCam.py", "--source", video, "--headless", "--json", "-", "--detector", detector,
                        "--model", trained_model)
    assert result.returncode == 0, result.stderr
    frames = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(frames) == 6 and all(len(f["faces"]) == 1 for f in frames)
    assert result.stderr.count("XNNPACK") == 0


def test_bad_detector_flags_are_one_line_errors(tmp_path):
    for args, message in [(["--detector", "mtcnn"], "invalid choice: 'mtcnn'"),
                          (["--min-size", "4"], "--min-size must be from 8 to 10000 pixels")]:
        result = run_script("WebCam.py", "--source", "demo", "--headless", *args, cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
