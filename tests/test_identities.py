"""--identities: one person, one identity, across cuts and exits, on real
public-domain faces (NASA's Eileen Collins in scikit-image, the US Navy's
Grace Hopper portrait in matplotlib's sample data)."""

import json
import sys

import cv2
import numpy as np
import pandas as pd
import pytest
from conftest import run_script, write_video

import fakeblock

pytest.importorskip("dlib", reason="--identities' optional install is missing: "
                                   "pip install -r requirements-identity.txt")
SHOT = 60  # frames: 2 s at 30 fps


def cut_between(path, people, shots: str):
    """Hard cuts between shots of one person each, the face where the last one's was."""
    return write_video(path, SHOT * len(shots),
                       lambda i: [(people[shots[i // SHOT]], 220, 140 + (i % SHOT) // 10)])


@pytest.fixture(scope="module")
def abab(tmp_path_factory, people):
    return cut_between(tmp_path_factory.mktemp("abab") / "abab.avi", people, "ABAB")


def test_two_people_cut_back_and_forth_are_two_identities(tmp_path, abab, trained_model):
    summary, jsonl = tmp_path / "summary", tmp_path / "faces.jsonl"
    result = run_script("WebCam.py", "--source", abab, "--headless", "--identities", "--summary", summary,
                        "--json", jsonl, "--model", trained_model)
    assert result.returncode == 0, result.stderr
    timeline = pd.read_csv(summary / "timeline.csv")
    shot_person = timeline["frame"] // SHOT % 2  # 0: A, 1: B
    assert timeline.groupby("track")["frame"].agg(lambda f: (f // SHOT).nunique()).max() == 1  # no track spans a cut
    assert timeline.groupby("identity").apply(lambda rows: shot_person[rows.index].nunique()).max() == 1
    assert timeline["identity"].nunique() == 2
    report = json.loads((summary / "summary.json").read_text())
    assert [person["tracks"] for person in report["identities"]] == [[1, 3], [2, 4]]
    assert all(person["on_screen_s"] == 4.0 for person in report["identities"])
    for person in report["identities"]:
        assert cv2.imread(str(summary / person["thumbnail"])) is not None
    faces = [face for line in jsonl.read_text().splitlines() for face in json.loads(line)["faces"]]
    assert {face["identity"] for face in faces} == {1, 2} and len(faces) == 4 * SHOT


def test_one_person_then_another_is_never_merged(tmp_path, people, trained_model):
    video = cut_between(tmp_path / "ab.avi", people, "AB")
    timeline = fakeblock.analyze_video(video, model=trained_model, identities=True)
    assert timeline.groupby(timeline["frame"] // SHOT)["identity"].unique().map(list).tolist() == [[1], [2]]


def test_close_tracks_are_joined_closest_first_never_two_on_screen_at_once():
    from fakeblock.app.identities import IdentityRecorder

    recorder = IdentityRecorder(embedder=lambda crop, box: np.array([crop.mean() / 100, 0.0]))
    shows = {1: (50, range(0, 10)), 2: (60, range(20, 30)), 3: (50, range(20, 30)), 4: (200, range(40, 50))}
    for track, (gray, frames) in shows.items():  # the embedding is the picture's gray level / 100
        for index in frames:
            recorder.add(index, np.full((100, 100, 3), gray, np.uint8), [{"track": track, "box": (30, 30, 40, 40)}])
    # 1 and 3 are the same face (0 apart); 2 is 0.1 from both but on screen with 3; 4 is far from all
    assert recorder.assign() == {1: 1, 2: 2, 3: 1, 4: 3}
    assert sorted(recorder.thumbnails) == [1, 2, 3]


def test_without_identities_the_output_is_as_before(tmp_path, abab, trained_model):
    result = run_script("WebCam.py", "--source", abab, "--headless", "--summary", tmp_path, "--model", trained_model)
    assert result.returncode == 0, result.stderr
    timeline = pd.read_csv(tmp_path / "timeline.csv")
    assert "identity" not in timeline and "identities" not in json.loads((tmp_path / "summary.json").read_text())
    assert not list(tmp_path.glob("identity-*.jpg"))


def test_a_folder_of_videos_with_identities(tmp_path, abab, trained_model):
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    (recordings / "abab.avi").symlink_to(abab)
    result = run_script("WebCam.py", "--source", recordings, "--summary", tmp_path / "results", "--identities",
                        "--jobs", 1, "--model", trained_model)
    assert result.returncode == 0, result.stderr
    assert len(json.loads((tmp_path / "results" / "abab" / "summary.json").read_text())["identities"]) == 2


def test_without_dlib_identities_is_one_line_naming_the_install(monkeypatch, capsys, abab, tmp_path):
    from fakeblock.app import cli
    monkeypatch.setitem(sys.modules, "dlib", None)  # as if it were not installed
    assert cli.main(["--source", str(abab), "--headless", "--summary", str(tmp_path), "--identities"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == ["error: --identities needs dlib, its face models and SciPy, an optional install: "
                     "python -m pip install -r requirements-identity.txt"]
    assert not (tmp_path / "summary.json").exists()
