"""Profiles: made from a folder per emotion or the window's guided capture,
used in every mode; bad folders and bad profile files are one line."""

import json

import cv2
import numpy as np
import pytest
from conftest import run_script
from fixtures.reference_photos import reference_photos
from test_window import FakeScreen, draw, scripted_keys

import fakeblock
from fakeblock.app import sinks
from fakeblock.app.profiles import ProfileCapture


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for name, picture in reference_photos().items():
        cv2.imwrite(str(folder / name), picture)
    return folder


@pytest.fixture(scope="module")
def profile(tmp_path_factory, photos):
    """A profile that calls Eileen Collins' smile sad, and Grace Hopper happy."""
    made = tmp_path_factory.mktemp("made")
    for emotion, names in {"sad": ["astronaut.png", "astronaut-tilted.png"],
                           "happy": ["hopper.png", "hopper-small.png"]}.items():
        (made / emotion).mkdir()
        for name in names:
            (made / emotion / name).symlink_to(photos / name)
    path = made / "me.json"
    result = run_script("WebCam.py", "--make-profile", path, "--source", made)
    assert result.returncode == 0, result.stderr
    assert "happy: 2 faces from 2 pictures" in result.stderr and "sad: 2 faces from 2 pictures" in result.stderr
    return path


def test_a_profile_holds_numbers_not_pictures(profile):
    data = json.loads(profile.read_text())
    assert data["fakeblock_profile"] == 2 and sorted(data["labels"]) == ["happy", "happy", "sad", "sad"]
    assert np.asarray(data["examples"]).shape == (4, 2304) and profile.stat().st_size < 100_000


def test_the_profile_names_that_persons_expressions_and_without_it_nothing_changes(tmp_path, photos, profile):
    face = {}
    for flags in ([], ["--profile", profile]):
        out = tmp_path / f"{len(flags)}.jsonl"
        result = run_script("WebCam.py", "--source", photos / "astronaut.png", "--headless", "--json", out, *flags)
        assert result.returncode == 0, result.stderr
        face[bool(flags)] = json.loads(out.read_text())["faces"][0]
    assert face[False]["emotion"] == "happy" and "movements" not in face[False]
    assert face[True]["emotion"] == "sad"
    assert sum(face[True]["scores"].values()) == pytest.approx(1, abs=1e-3)
    for emotion in ("angry", "fear", "surprise"):  # emotions the profile has no example of: the network's
        assert face[True]["scores"][emotion] == pytest.approx(face[False]["scores"][emotion], abs=1e-3)


def test_the_api_takes_a_profile(photos, profile):
    assert fakeblock.analyze_image(photos / "astronaut.png", profile=profile)[0]["emotion"] == "sad"
    recognize = fakeblock.Recognizer(profile=profile)  # frames of a video: no photo rule
    frame = cv2.imread(str(photos / "astronaut.png"))
    assert [recognize(frame)[0]["emotion"] for _ in range(3)] == ["sad"] * 3


@pytest.mark.parametrize("layout, says", [
    ({"joy": ["astronaut.png"]}, "'joy' is not an emotion of the model"),
    ({"sad": ["blank.png"]}, "sad: no face found in its 1 pictures"),
    ({"sad": ["two.png"]}, "two.png: 2 faces; a profile is of one person"),
    ({}, "no sub-folders"),
])
def test_a_folder_that_cannot_make_a_profile_is_one_line(tmp_path, photos, layout, says):
    cv2.imwrite(str(tmp_path / "blank.png"), np.full((300, 300, 3), 90, np.uint8))
    two = np.full((300, 640, 3), 90, np.uint8)
    face = cv2.resize(reference_photos()["hopper.png"][40:400, 80:440], (250, 250))
    two[25:275, 40:290], two[25:275, 350:600] = face, face
    cv2.imwrite(str(tmp_path / "two.png"), two)
    made = tmp_path / "made"
    made.mkdir()
    for emotion, names in layout.items():
        (made / emotion).mkdir()
        for name in names:
            (made / emotion / name).symlink_to(photos / name if (photos / name).exists() else tmp_path / name)
    result = run_script("WebCam.py", "--make-profile", tmp_path / "p.json", "--source", made)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert [line for line in result.stderr.splitlines() if "error:" in line] == [
        next(line for line in result.stderr.splitlines() if says in line)]
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize("damage, says", [
    (lambda data: "", "not a FakeBlock profile (not JSON)"),
    (lambda data: json.dumps({**data, "fakeblock_profile": 1}), "a version 1 profile"),
    (lambda data: json.dumps({**data, "examples": [["x"] * 2304] * 4}), "its examples are not numbers"),
    (lambda data: json.dumps({**data, "examples": [], "labels": []}), "a damaged or empty profile"),
    (lambda data: json.dumps({**data, "model_sha256": "0" * 64}), "made with another model"),
])
def test_a_bad_profile_file_is_one_line_and_exit_2(tmp_path, photos, profile, damage, says):
    bad = tmp_path / "bad.json"
    bad.write_text(damage(json.loads(profile.read_text())))
    result = run_script("WebCam.py", "--source", photos / "astronaut.png", "--headless", "--profile", bad,
                        "--json", tmp_path / "out.jsonl")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and says in errors[0] and "bad.json" in errors[0]


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_the_guided_capture_shows_each_emotion_keeps_its_faces_and_skips(photos):
    pipeline = fakeblock.Recognizer(still=True).pipeline
    image = cv2.imread(str(photos / "astronaut.png"))
    faces = pipeline.process(image, 0, new_scene=True).faces
    clock = Clock()
    capture = ProfileCapture(["happy", "sad", "neutral"], seconds=2, ready=1, every=0.5, clock=clock)
    assert capture.prompt() == "Show: happy  3  (space skips)"
    capture.add(pipeline, image, faces)  # getting ready: not kept
    for clock.now in (1.2, 1.4, 2.5):  # 1.4: too soon after the last face kept
        capture.add(pipeline, image, faces)
    clock.now = 3.1
    assert capture.prompt().startswith("Show: sad")
    capture.skip()
    assert capture.prompt().startswith("Show: neutral")
    clock.now = 4.5
    capture.add(pipeline, image, faces + faces)  # two faces: passed over
    clock.now = 6.2
    assert capture.prompt() is None and capture.done
    profile = capture.profile(pipeline.classifier.path)
    assert profile.labels == ["happy", "happy"] and profile.examples.shape == (2, 2304)


def test_the_p_key_asks_for_a_capture_and_space_then_skips(monkeypatch):
    FakeScreen(monkeypatch)
    window = sinks.Window(False, wait_key=scripted_keys("p"))
    assert window.show(draw) and window.capture_asked
    window.capturing, window.wait_key = True, scripted_keys(" ")
    assert window.show(draw) and window.skip_asked  # skips, does not pause
