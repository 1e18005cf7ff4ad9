"""The per-frame pipeline: whole-frame searches and searches around known faces."""

import numpy as np
import pytest

from fakeblock.app.classify import EmotionClassifier
from fakeblock.app.detection import iou
from fakeblock.app.haar import HaarFaceDetector
from fakeblock.app.pipeline import EmotionPipeline


def frame_with(faces, size=(480, 640)):
    frame = np.full((*size, 3), 90, np.uint8)
    for face, x, y in faces:
        frame[y:y + face.shape[0], x:x + face.shape[1]] = face
    return frame


@pytest.fixture(scope="module")
def classifier(trained_model):
    return EmotionClassifier(trained_model)


class CountingDetector(HaarFaceDetector):
    """The real detector, counting its whole-frame searches."""

    whole_frame_searches = 0

    def detect(self, gray):
        self.whole_frame_searches += 1
        return super().detect(gray)


def test_a_moving_face_is_followed_between_whole_frame_searches(astronaut_face, classifier):
    frames = [frame_with([(astronaut_face, 100 + 7 * i, 120 + 3 * i)]) for i in range(12)]
    detector = CountingDetector()
    every_frame = EmotionPipeline(HaarFaceDetector(), classifier, detect_every=1)
    between = EmotionPipeline(detector, classifier, detect_every=5)
    for i, frame in enumerate(frames):
        reference = every_frame.process(frame, i).faces
        faces = between.process(frame, i).faces
        assert len(faces) == len(reference) == 1, i
        assert iou(faces[0]["box"], reference[0]["box"]) > 0.6, i
        assert faces[0]["track"] == 1
    assert detector.whole_frame_searches == 3  # frames 0, 5 and 10


def test_a_face_that_walks_in_is_found_at_the_next_whole_frame_search(astronaut_face, classifier):
    pipeline = EmotionPipeline(HaarFaceDetector(), classifier, detect_every=5)
    counts = []
    for i in range(10):
        faces = [(astronaut_face, 60, 100)] + ([(astronaut_face, 420, 200)] if i >= 2 else [])
        counts.append(len(pipeline.process(frame_with(faces), i).faces))
    assert counts == [1, 1, 1, 1, 1, 2, 2, 2, 2, 2]


def test_a_face_lost_near_its_place_is_searched_for_in_the_whole_frame(astronaut_face, classifier):
    detector = CountingDetector()
    pipeline = EmotionPipeline(detector, classifier, detect_every=30)
    pipeline.process(frame_with([(astronaut_face, 60, 100)]), 0)
    assert len(pipeline.process(frame_with([(astronaut_face, 420, 300)]), 1).faces) == 1
    assert len(pipeline.process(frame_with([(astronaut_face, 425, 300)]), 2).faces) == 1
    assert detector.whole_frame_searches == 2
