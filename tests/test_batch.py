"""A folder of videos: one result folder each, an index, several at once, on Ray too."""

import importlib.util
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, run_script, write_video

from fakeblock.app.videos import INDEX_COLUMNS, analyze_videos
from fakeblock.core.errors import FakeBlockError

RAY_MISSING = importlib.util.find_spec("ray") is None


@pytest.fixture(scope="module")
def recordings(tmp_path_factory, astronaut_face):
    """Three short videos of a moving face and one broken file."""
    folder = tmp_path_factory.mktemp("recordings")
    for i in range(3):
        write_video(folder / f"session{i}.avi", 12 + 4 * i,
                    lambda k, i=i: [(astronaut_face, 40 + 6 * k + 40 * i, 60)], size=(480, 270))
    (folder / "broken.mp4").write_bytes(b"\x00" * 2000)
    return folder


def check_results(results, recordings):
    index = pd.read_csv(results / "index.csv")
    assert list(index.columns) == INDEX_COLUMNS and len(index) == 4
    broken = index[index["path"].str.endswith("broken.mp4")].iloc[0]
    assert broken["status"] == "failed" and "broken.mp4: not a readable video" in broken["error"]
    done = index[index["status"] == "done"]
    assert sorted(done["frames"]) == [12, 16, 20] and (done["faces_tracked"] == 1).all()
    assert np.allclose(done["duration_s"], done["frames"] / 30, atol=2e-3)  # the video's length, 30 fps
    assert sorted(p.name for p in results.iterdir()) == ["index.csv", "session0", "session1", "session2"]
    for video in sorted(recordings.glob("session*.avi")):
        assert {p.name for p in (results / video.stem).iterdir()} == {"timeline.csv", "timeline.png",
                                                                       "summary.json"}
    return index


@pytest.fixture(scope="module")
def single_runs(tmp_path_factory, recordings, trained_model):
    """Each video's timeline.csv from a plain one-video --summary run."""
    out = tmp_path_factory.mktemp("single")
    timelines = {}
    for video in sorted(recordings.glob("session*.avi")):
        result = run_script("WebCam.py", "--source", video, "--headless", "--summary", out / video.stem,
                            "--model", trained_model)
        assert result.returncode == 0, result.stderr
        timelines[video.stem] = (out / video.stem / "timeline.csv").read_text()
    return timelines


def test_a_folder_of_videos_on_two_cores_then_again(tmp_path, recordings, single_runs, trained_model):
    results = tmp_path / "results"
    command = ["WebCam.py", "--source", recordings, "--summary", results, "--jobs", 2, "--model", trained_model]
    result = run_script(*command)
    assert result.returncode == 1  # not every video succeeded
    assert "3 of 4 videos analysed" in result.stderr and "Traceback" not in result.stderr
    check_results(results, recordings)
    for name, timeline in single_runs.items():
        assert (results / name / "timeline.csv").read_text() == timeline

    written = {p: p.stat().st_mtime_ns for p in results.glob("session*/summary.json")}
    again = run_script(*command)  # finished videos are skipped, the broken one tried again
    assert again.returncode == 1
    assert "0 of 1 videos analysed, 3 already done, skipped (--redo analyses them again)" in again.stderr
    assert {p: p.stat().st_mtime_ns for p in results.glob("session*/summary.json")} == written
    check_results(results, recordings)

    redo = run_script(*command, "--redo")
    assert redo.returncode == 1 and "3 of 4 videos analysed;" in redo.stderr
    assert all(p.stat().st_mtime_ns != t for p, t in written.items())
    check_results(results, recordings)


@pytest.mark.skipif(RAY_MISSING, reason="Ray is not installed (pip install -r requirements-scale.txt)")
def test_the_same_on_a_local_ray_with_two_cpus(tmp_path, recordings, single_runs, trained_model):
    results = tmp_path / "results"
    result = run_script("WebCam.py", "--source", recordings, "--summary", results, "--ray", "local",
                        "--jobs", 2, "--model", trained_model)
    assert result.returncode == 1, result.stderr
    said = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("videos:")]
    assert said == [f"4 videos in {recordings} -> {results}",
                    f"error: {recordings / 'broken.mp4'}: not a readable video or image",
                    f"3 of 4 videos analysed; index: {results / 'index.csv'}"]  # no Ray log lines
    check_results(results, recordings)
    for name, timeline in single_runs.items():
        assert (results / name / "timeline.csv").read_text() == timeline


def test_from_python_the_index_is_a_dataframe(tmp_path, recordings, trained_model):
    index = analyze_videos(sorted(recordings.glob("session*.avi"))[:2], tmp_path / "out", jobs=1,
                           model=trained_model, progress=False)
    assert list(index.columns) == INDEX_COLUMNS
    assert list(index["status"]) == ["done", "done"] and list(index["frames"]) == [12, 16]
    assert pd.read_csv(tmp_path / "out" / "index.csv")["frames"].tolist() == [12, 16]
    again = analyze_videos(recordings, tmp_path / "out", jobs=1, model=trained_model, progress=False)
    assert len(again) == 4 and list(again["status"]).count("done") == 3  # the folder: all four


def test_ray_not_installed_says_how_to_install(tmp_path, recordings, trained_model, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails
    with pytest.raises(FakeBlockError, match="requirements-scale.txt"):
        analyze_videos(recordings, tmp_path / "out", ray_address="local", model=trained_model, progress=False)


def test_a_folder_of_videos_needs_a_results_folder(recordings, trained_model):
    result = run_script("WebCam.py", "--source", recordings, "--headless", "--model", trained_model)
    assert result.returncode == 2 and "add --summary RESULTS" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    bad_jobs = run_script("WebCam.py", "--source", recordings, "--summary", "x", "--jobs", 0)
    assert bad_jobs.returncode == 2 and "--jobs must be from 1 to 1024" in bad_jobs.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT (POSIX)")
def test_ctrl_c_keeps_every_finished_video(tmp_path, astronaut_face, trained_model):
    folder = tmp_path / "long"
    folder.mkdir()
    for i in range(3):  # far more frames than can pass between seeing the first row and the signal
        write_video(folder / f"take{i}.avi", 2 if i == 0 else 1500, lambda k: [(astronaut_face, 40, 20)],
                    size=(240, 200))
    results = tmp_path / "results"
    process = subprocess.Popen([sys.executable, str(ROOT / "WebCam.py"), "--source", str(folder), "--summary",
                                str(results), "--jobs", "1", "--model", str(trained_model)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (results / "take0" / "summary.json").exists():
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in stderr and "interrupted" in stderr
    assert sorted(p.name for p in results.iterdir()) == ["index.csv", "take0"]  # no half-written folder
    index = pd.read_csv(results / "index.csv")
    assert list(index["status"]) == ["done"] and index["frames"][0] == 2


@pytest.mark.parametrize("overlap", ["different videos", "the same videos"])
def test_two_runs_at_once_into_one_results_folder_lose_nothing(tmp_path, recordings, trained_model, overlap):
    """Two people (or a cron job and a person) run into the same results at once:
    index.csv holds every video's row once when both have ended."""
    videos = sorted(recordings.glob("session*.avi"))
    if overlap == "different videos":
        sources = [tmp_path / "first", tmp_path / "second"]
        for source, share in zip(sources, [videos[:2], videos[2:]]):
            source.mkdir()
            for video in share:
                (source / video.name).symlink_to(video)
    else:
        sources = [tmp_path / "both"] * 2
        sources[0].mkdir()
        for video in videos:
            (sources[0] / video.name).symlink_to(video)
    results = tmp_path / "results"
    runs = [subprocess.Popen([sys.executable, str(ROOT / "WebCam.py"), "--source", str(source), "--summary",
                              str(results), "--jobs", "1", "--model", str(trained_model)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for source in sources]
    for run in runs:
        _, stderr = run.communicate(timeout=240)
        assert run.returncode == 0, stderr
    index = pd.read_csv(results / "index.csv")
    assert sorted(index["path"].map(lambda p: p.rsplit("/", 1)[-1])) == [v.name for v in videos]
    assert (index["status"] == "done").all() and sorted(index["frames"]) == [12, 16, 20]
    assert sorted(p.name for p in results.iterdir()) == ["index.csv", "session0", "session1", "session2"]


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGKILL (POSIX)")
def test_a_worker_killed_mid_video_costs_a_retry_not_the_run(tmp_path, astronaut_face, trained_model):
    """The OOM killer (here SIGKILL) takes a worker process: its video runs again."""
    folder = tmp_path / "long"
    folder.mkdir()
    for i in range(2):
        write_video(folder / f"take{i}.avi", 600, lambda k: [(astronaut_face, 40, 20)], size=(240, 200))
    results = tmp_path / "results"
    process = subprocess.Popen([sys.executable, str(ROOT / "WebCam.py"), "--source", str(folder), "--summary",
                                str(results), "--jobs", "2", "--model", str(trained_model)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline, partial = time.time() + 120, []
    while not partial and time.time() < deadline:  # a worker's half-written folder names its pid
        partial = list(results.glob(".take*.partial-*")) if results.is_dir() else []
        time.sleep(0.02)
    os.kill(int(partial[0].name.rsplit("-", 1)[1]), signal.SIGKILL)
    _, stderr = process.communicate(timeout=180)
    assert process.returncode == 0, stderr
    assert "note: a worker process was lost mid-video; running its video again" in stderr
    index = pd.read_csv(results / "index.csv")
    assert len(index) == 2 and (index["status"] == "done").all() and (index["frames"] == 600).all()
    assert sorted(p.name for p in results.iterdir()) == ["index.csv", "take0", "take1"]
