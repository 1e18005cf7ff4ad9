"""Tracks: a cut ends every track, a fast move does not, a face lost for a
moment keeps its track; on videos made from real public-domain faces."""

import json

import cv2
import numpy as np
import pandas as pd
import pytest
from conftest import run_script, write_video

from fakeblock.app.cuts import SceneCuts, face_picture, same_face
from fakeblock.app.tracking import FaceTracker

SHOT = 60  # frames: 2 s at 30 fps


def tracks_of(video, trained_model, tmp_path, *flags) -> pd.DataFrame:
    summary = tmp_path / f"summary{len(flags)}"
    result = run_script("WebCam.py", "--source", video, "--headless", "--summary", summary, *flags,
                        "--model", trained_model)
    assert result.returncode == 0, result.stderr
    timeline = pd.read_csv(summary / "timeline.csv")
    report = json.loads((summary / "summary.json").read_text())
    assert sorted(t["track"] for t in report["tracks"]) == sorted(timeline["track"].unique())
    return timeline


def commonest_share(tracks: pd.Series) -> float:
    return tracks.value_counts(normalize=True).iloc[0]


@pytest.fixture(scope="module")
def cuts_and_jumps(tmp_path_factory, people):
    """A B A B, 2 s each, at the same place; the face jumps 19 px every 20 frames."""
    def faces(i):
        return [(people["ABAB"[i // SHOT]], 200 + 19 * ((i % SHOT) // 20), 140)]
    return write_video(tmp_path_factory.mktemp("cuts") / "abab.avi", 4 * SHOT, faces)


def test_a_cut_to_another_person_ends_the_track_and_a_jump_does_not(cuts_and_jumps, trained_model, tmp_path):
    timeline = tracks_of(cuts_and_jumps, trained_model, tmp_path)
    shot = timeline["frame"] // SHOT
    assert timeline.groupby("track")["frame"].agg(lambda f: (f // SHOT).nunique()).max() == 1  # no two people
    assert timeline.groupby(shot)["track"].agg(commonest_share).min() >= 0.9


def test_a_face_swept_fast_keeps_one_track(tmp_path, people, trained_model):
    """Side to side at up to 16 px a frame for 5 s."""
    video = write_video(tmp_path / "sweep.avi", 150,
                        lambda i: [(people["A"], int(225 + 200 * np.sin(i * 16 / 200)), 140)])
    timeline = tracks_of(video, trained_model, tmp_path)
    assert len(timeline) >= 140 and commonest_share(timeline["track"]) >= 0.9


def test_two_faces_crossing_keep_their_tracks(tmp_path, people, trained_model):
    def faces(i):
        return [(people["A"], 20 + 5 * i, 20), (people["B"], 430 - 5 * i, 260)]
    timeline = tracks_of(write_video(tmp_path / "crossing.avi", 80, faces, size=(640, 480)),
                         trained_model, tmp_path)
    person = np.where(timeline["y"] < 200, "A", "B")
    assert timeline.groupby("track").apply(lambda rows: len(set(person[rows.index]))).max() == 1
    assert timeline.groupby(person)["track"].agg(commonest_share).min() >= 0.9


def test_a_face_lost_for_a_few_frames_keeps_its_track_where_it_could_have_got_to(people):
    tracker = FaceTracker()
    frame = np.full((480, 640, 3), 90, np.uint8)

    def seen(x):
        image = frame.copy()
        image[140:340, x:x + 190] = people["A"]
        return [face_picture(image, (x, 140, 190, 200))], [(x, 140, 190, 200)]
    first = tracker.update(0, seen(100)[1], [np.ones(7)], seen(100)[0])[0].id
    pictures, boxes = seen(220)  # 4 frames unseen, 120 px on: within reach
    assert tracker.update(5, boxes, [np.ones(7)], pictures)[0].id == first
    pictures, boxes = seen(440)  # the next frame, 220 px on: too far for one frame
    assert tracker.update(6, boxes, [np.ones(7)], pictures)[0].id != first


def test_a_face_is_its_own_picture_after_a_move_and_not_another(people):
    def picture(person, x, box_x):
        image = np.full((480, 640, 3), 90, np.uint8)
        image[140:340, x:x + 190] = people[person]
        return face_picture(image, (box_x, 140, 190, 200))
    assert same_face(picture("A", 100, 100), picture("A", 116, 116))
    assert same_face(picture("A", 100, 100), picture("A", 116, 100))  # the box lags the face by 16 px
    assert not same_face(picture("A", 100, 100), picture("B", 100, 100))


def test_a_cut_of_the_whole_picture_is_found_and_a_jump_of_it_is_not():
    from skimage import data

    shots = [cv2.resize(np.ascontiguousarray(data.astronaut()[:, :, ::-1]), (640, 480)),
             cv2.resize(np.ascontiguousarray(data.coffee()[:, :, ::-1]), (640, 480))]

    def frame(i):  # each shot 60 frames, the picture jumping 19 px every 20
        jumped = np.full_like(shots[0], 90)
        shift = 19 * ((i % 60) // 20)
        jumped[:, shift:] = shots[i // 60 % 2][:, :640 - shift]
        return jumped
    cuts = SceneCuts()
    assert [i for i in range(240) if cuts.is_cut(frame(i))] == [60, 120, 180]
