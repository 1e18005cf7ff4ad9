"""--summary: face tracks, timeline CSV, plot and summary; analyze_video; Ctrl-C."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, run_script, write_video

FER2013_NAMES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


@pytest.fixture(scope="module")
def two_face_video(tmp_path_factory, astronaut_face):
    """300 frames at 30 fps: face A on frames 0-199 (left), face B on frames 100-299 (right)."""
    def faces_at(i):
        faces = []
        if i < 200:
            faces.append((astronaut_face, 40 + i // 10, 160))
        if i >= 100:
            faces.append((astronaut_face[:, ::-1].copy(), 430, 140 + (i - 100) // 20))
        return faces
    return write_video(tmp_path_factory.mktemp("tracks") / "two.avi", 300, faces_at)


def test_two_faces_give_two_tracks_with_their_spans(tmp_path, two_face_video, trained_model):
    summary_dir = tmp_path / "summary"
    result = run_script("WebCam.py", "--source", two_face_video, "--headless", "--summary",
                        summary_dir, "--model", trained_model, "--json", tmp_path / "f.jsonl")
    assert result.returncode == 0, result.stderr
    timeline = pd.read_csv(summary_dir / "timeline.csv")
    assert list(timeline.columns) == ["frame", "time_s", "track", "x", "y", "w", "h", "emotion",
                                      "confidence", "uncertain", *FER2013_NAMES]
    spans = timeline.groupby("track")["frame"].agg(["min", "max", "count"])
    assert len(spans) == 2
    first, second = spans.sort_values("min").itertuples()
    assert first.min <= 3 and abs(first.max - 199) <= 3
    assert abs(second.min - 100) <= 3 and second.max >= 296
    assert len(timeline) == first.count + second.count
    assert timeline["time_s"].iloc[-1] == pytest.approx(timeline["frame"].iloc[-1] / 30, abs=1e-3)

    summary = json.loads((summary_dir / "summary.json").read_text())
    assert summary["frames"] == 300 and summary["face_rows"] == len(timeline)
    assert summary["duration_s"] == pytest.approx(10.0)  # 300 frames at 30 fps, faces or not
    for track in summary["tracks"]:
        rows = timeline[timeline["track"] == track["track"]]
        assert track["frames"] == len(rows)
        assert track["first_frame"] == rows["frame"].min() and track["last_frame"] == rows["frame"].max()
        assert sum(track["share"].values()) == pytest.approx(1, abs=1e-3)
        assert track["dominant"] == rows["emotion"].value_counts().idxmax()
        assert track["uncertain_share"] == pytest.approx(rows["uncertain"].mean(), abs=1e-4)
    assert (summary_dir / "timeline.png").stat().st_size > 5000
    tracks_in_json = {face["track"] for line in (tmp_path / "f.jsonl").read_text().splitlines()
                      for face in json.loads(line)["faces"]}
    assert tracks_in_json == set(spans.index)


def test_analyze_video_returns_the_same_table(two_face_video, trained_model):
    import fakeblock
    timeline = fakeblock.analyze_video(two_face_video, model=trained_model)
    assert list(timeline.columns)[:10] == ["frame", "time_s", "track", "x", "y", "w", "h",
                                           "emotion", "confidence", "uncertain"]
    assert timeline["track"].nunique() == 2 and len(timeline) >= 390


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT (POSIX)")
def test_ctrl_c_still_writes_the_files_for_the_frames_done(tmp_path, trained_model, astronaut_face):
    summary_dir, jsonl = tmp_path / "summary", tmp_path / "f.jsonl"
    # far more frames than can pass between seeing the 20th line and the signal landing
    long_video = write_video(tmp_path / "long.avi", 1000, lambda i: [(astronaut_face, 40, 20)],
                             size=(240, 200))
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "WebCam.py"), "--source", long_video, "--headless", "--summary",
         str(summary_dir), "--json", str(jsonl), "--model", str(trained_model)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (jsonl.exists() and len(jsonl.read_text().splitlines()) >= 20):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert "Traceback" not in stderr and "interrupted" in stderr
    done = len(jsonl.read_text().splitlines())
    assert 20 <= done < 1000
    timeline = pd.read_csv(summary_dir / "timeline.csv")
    assert timeline["frame"].max() == done - 1
    assert json.loads((summary_dir / "summary.json").read_text())["frames"] == done
    assert (summary_dir / "timeline.png").stat().st_size > 0


def test_image_folder_summary_has_no_times_and_no_shared_tracks(tmp_path, astronaut_face,
                                                                trained_model):
    import cv2
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        frame = np.full((300, 300, 3), 80, np.uint8)
        frame[70:220, 70:220] = astronaut_face
        cv2.imwrite(str(photos / name), frame)
    result = run_script("WebCam.py", "--source", photos, "--headless", "--summary", tmp_path / "s",
                        "--model", trained_model)
    assert result.returncode == 0, result.stderr
    timeline = pd.read_csv(tmp_path / "s" / "timeline.csv")
    assert len(timeline) == 3 and timeline["track"].nunique() == 3
    assert timeline["time_s"].isna().all()


def test_eight_class_model_gives_eight_score_columns(tmp_path):
    from fakeblock.core.atomic import save_model
    from fakeblock.core.networks import build_model
    model_path = tmp_path / "ferplus.keras"
    save_model(build_model("original", 8, augment=False), model_path)
    result = run_script("WebCam.py", "--source", "demo", "--headless", "--summary", tmp_path / "s",
                        "--model", model_path)
    assert result.returncode == 0, result.stderr
    columns = pd.read_csv(tmp_path / "s" / "timeline.csv").columns
    assert list(columns)[-8:] == FER2013_NAMES + ["contempt"]
