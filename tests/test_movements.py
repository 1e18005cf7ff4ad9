"""The face's movements, landmarks and head pose: equal to MediaPipe's own Face
Landmarker on public-domain photos (its outputs recorded once in
fixtures/mediapipe_reference.json by fixtures/record_mediapipe.py), and in
every output of the app."""

import json
import math
import shutil

import numpy as np
import pytest
from conftest import ROOT, run_script, write_video
from fixtures.reference_photos import reference_photos

import fakeblock
from fakeblock.app import movements
from fakeblock.app.blazeface import BlazeFaceDetector
from fakeblock.app.detection import PHOTO_PAD
from fakeblock.app.movements import LANDMARKER, MOVEMENTS, MovementReader, read_bundle

REFERENCE = json.loads((ROOT / "tests" / "fixtures" / "mediapipe_reference.json").read_text())["photos"]


def mediapipe_pose(matrix) -> dict:
    """Yaw, pitch and roll, as FakeBlock reports them, of MediaPipe's facial transformation matrix."""
    rotation = np.asarray(matrix)[:3, :3]
    return {"yaw": math.degrees(math.atan2(rotation[0, 2], rotation[2, 2])),
            "roll": math.degrees(math.atan2(rotation[1, 0], rotation[0, 0]))}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_movements_landmarks_and_pose_equal_mediapipes_own(name, trained_model):
    photo = reference_photos()[name]
    theirs = REFERENCE[name][0]
    ours = fakeblock.analyze_image(photo, model=trained_model, landmarks=True)[0]
    assert list(ours["movements"]) == list(MOVEMENTS) and len(MOVEMENTS) == 51
    differences = [abs(ours["movements"][m] - theirs["blendshapes"][m]) for m in MOVEMENTS]
    assert np.mean(differences) <= 0.03 and max(differences) <= 0.3, sorted(zip(differences, MOVEMENTS))[-3:]
    landmarks, reference = np.asarray(ours["landmarks"]), np.asarray(theirs["landmarks"])
    assert landmarks.shape == (478, 3)
    face_width = np.ptp(reference[:, 0])
    assert np.abs(landmarks[:, :2] - reference[:, :2]).mean() < 0.01 * face_width
    for angle, degrees in mediapipe_pose(theirs["matrix"]).items():
        assert abs(ours["head_pose"][angle] - degrees) < 3.0, (angle, ours["head_pose"], degrees)


def test_a_tilted_face_is_cut_upright():
    """The crop turns with the face: the tilted photo's movements stay those of the upright one."""
    photos, reader, detector = reference_photos(), MovementReader(), BlazeFaceDetector(pad=PHOTO_PAD)
    upright, tilted = (reader.read(photos[n], detector.detect(photos[n])[0])
                       for n in ("astronaut.png", "astronaut-tilted.png"))
    assert abs(tilted.head_pose["roll"] - upright.head_pose["roll"] - 20) < 3
    assert np.mean([abs(upright.movements[m] - tilted.movements[m]) for m in MOVEMENTS]) < 0.03


def test_no_face_in_the_crop_gives_no_movements():
    assert MovementReader().read(np.full((300, 300, 3), 90, np.uint8), (100, 100, 100, 100)) is None


@pytest.mark.parametrize("damage, says", [(lambda b: b.write_bytes(b.read_bytes()[:-10]), "not Google's Face"),
                                          (lambda b: b.unlink(), "cannot read the face landmark model")])
def test_a_damaged_or_missing_bundle_is_one_line(tmp_path, monkeypatch, damage, says, trained_model):
    bundle = tmp_path / "face_landmarker.task"
    shutil.copy(LANDMARKER, bundle)
    damage(bundle)
    with pytest.raises(fakeblock.ModelFileError, match=says) as raised:
        read_bundle(bundle)
    assert "\n" not in str(raised.value)
    monkeypatch.setattr(movements, "LANDMARKER", bundle)
    with pytest.raises(fakeblock.ModelFileError, match=says):
        fakeblock.Recognizer(trained_model, movements=True)


def test_movements_reach_the_json_the_timeline_and_the_summary(tmp_path, astronaut_face, trained_model):
    video = write_video(tmp_path / "clip.avi", 40, lambda i: [(astronaut_face, 150 + 3 * i, 120)])
    jsonl, summary = tmp_path / "faces.jsonl", tmp_path / "summary"
    result = run_script("WebCam.py", "--source", video, "--headless", "--movements", "--json", jsonl,
                        "--summary", summary, "--model", trained_model)
    assert result.returncode == 0, result.stderr
    faces = [face for line in jsonl.read_text().splitlines() for face in json.loads(line)["faces"]]
    assert len(faces) == 40 and all(list(f["movements"]) == list(MOVEMENTS) for f in faces)
    assert all(set(f["head_pose"]) == {"yaw", "pitch", "roll"} and "landmarks" not in f for f in faces)
    header = (summary / "timeline.csv").read_text().splitlines()[0].split(",")
    assert header[-54:] == ["yaw", "pitch", "roll", *MOVEMENTS]
    track = json.loads((summary / "summary.json").read_text())["tracks"][0]
    assert list(track["movements"]) == list(MOVEMENTS) and 0 <= track["movements"]["jawOpen"] <= 1
    assert (summary / "movements.png").stat().st_size > 10_000


def test_landmarks_in_json_and_nothing_new_without_the_flags(tmp_path, astronaut_face, trained_model):
    video = write_video(tmp_path / "clip.avi", 3, lambda i: [(astronaut_face, 150, 120)])
    with_points, plain = tmp_path / "points.jsonl", tmp_path / "plain.jsonl"
    for flags, out in ((["--landmarks"], with_points), ([], plain)):
        result = run_script("WebCam.py", "--source", video, "--headless", *flags, "--json", out,
                            "--model", trained_model)
        assert result.returncode == 0, result.stderr
    face = json.loads(with_points.read_text().splitlines()[0])["faces"][0]
    x, y, w, h = face["box"]
    points = np.asarray(face["landmarks"])
    assert points.shape == (478, 3) and len(face["movements"]) == 51
    assert x - w / 2 < np.median(points[:, 0]) < x + 1.5 * w and y - h / 2 < np.median(points[:, 1]) < y + 1.5 * h
    assert set(json.loads(plain.read_text().splitlines()[0])["faces"][0]) == {
        "box", "emotion", "confidence", "uncertain", "scores", "track"}


def test_the_mesh_is_drawn_with_the_strongest_movements():
    from fakeblock.app.overlay import render

    frame = np.full((480, 640, 3), 90, np.uint8)
    face = {"box": [200, 100, 200, 200], "emotion": "happy", "confidence": 0.9, "uncertain": False,
            "scores": {"happy": 0.9}, "track": 1, "movements": {"jawOpen": 0.8, "browInnerUp": 0.1}}
    landmarks = np.column_stack([np.linspace(220, 380, 478), np.linspace(120, 280, 478), np.zeros(478)])
    plain = render(frame, [face], ("happy",))
    meshed = render(frame, [face], ("happy",), meshes={1: landmarks})
    assert (meshed[200, 300] != plain[200, 300]).any()  # a landmark on the diagonal
    assert (meshed[330:345, 200:300] != plain[330:345, 200:300]).any()  # "jawOpen 0.80" under the box
