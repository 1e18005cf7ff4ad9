"""Hostile and unlucky input: names that look like paths, outputs over inputs,
links, full disks, huge pictures, odd arrays, tampered model cards, killed runs.
Each ends in a clear one-line error or a correct result, with nothing lost and
nothing written where it was not asked."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import ROOT, run_script, write_video

import fakeblock
from fakeblock.core.errors import FakeBlockError

LINUX = sys.platform.startswith("linux")


def one_line_error(result, *expected):
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:") or ".py: error:" in line]
    assert len(errors) == 1, result.stderr
    for text in expected:
        assert text in errors[0], result.stderr


def huge_png(width: int, height: int) -> bytes:
    """A valid black PNG of ``width`` x ``height`` pixels, 1 bit each: a few hundred
    kilobytes on disk, gigabytes once decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    rows = zlib.compress(bytes(height * (1 + (width + 7) // 8)), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


@pytest.fixture
def photo(tmp_path, astronaut_face):
    frame = np.full((300, 400, 3), 90, np.uint8)
    frame[60:210, 100:250] = astronaut_face
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), frame)
    return path


# ------------------------------------------------------------------ training names

@pytest.mark.parametrize("name", ["../victim", "/", "a/b", ".hidden", ""])
def test_a_training_name_that_is_a_path_is_refused_and_nothing_is_touched(tmp_path, small_csv, name):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    result = run_script("BuildTrainTestCNN.py", "--data", small_csv, "--name", name,
                        "--out", tmp_path / "out", "--work-dir", tmp_path / "runs", cwd=tmp_path)
    one_line_error(result, "--name", "a plain file name")
    assert (victim / "keep.txt").read_text() == "mine"


def test_a_work_folder_that_is_not_a_run_is_never_removed(tmp_path, small_csv):
    mine = tmp_path / "runs" / "mine"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("mine")
    result = run_script("BuildTrainTestCNN.py", "--data", small_csv, "--name", "mine", "--epochs", 1,
                        "--out", tmp_path / "out", "--work-dir", tmp_path / "runs")
    one_line_error(result, "is not a training run's folder")
    assert (mine / "notes.txt").read_text() == "mine"


# ------------------------------------------------------------------ many videos, hostile names

def test_video_names_never_leave_the_results_folder_and_never_share_one(tmp_path, astronaut_face, trained_model):
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    names = ["..mp4", "...mp4", "clip.mp4", "clip.avi", "index.csv.mp4", "x" * 240 + ".avi"]
    for name in names:
        write_video(recordings / name, 4, lambda i: [(astronaut_face, 100, 100)], size=(320, 320))
    undecodable = os.fsencode(recordings) + b"/caf\xe9.avi"
    shutil.copy(recordings / "clip.avi", undecodable)
    results = tmp_path / "results"
    results.mkdir()
    (results / "mine.txt").write_text("mine")
    (tmp_path / "outside.txt").write_text("outside")

    result = run_script("WebCam.py", "--source", recordings, "--summary", results, "--jobs", 1,
                        "--model", trained_model)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "7 of 7 videos analysed" in result.stderr  # caf\xe9.avi too: OpenCV reads it through a link
    assert (results / "mine.txt").read_text() == "mine" and (tmp_path / "outside.txt").exists()
    assert {p.name for p in recordings.iterdir() if p.name.isascii()} == set(names)  # sources untouched
    folders = [p for p in results.iterdir() if p.is_dir()]
    assert len(folders) == 7 and not [p for p in results.iterdir() if p.name.startswith(".")]
    for folder in folders:
        assert (folder / "summary.json").is_file() and len(folder.name.encode()) <= 130
    index = (results / "index.csv").read_text(encoding="utf-8")
    assert index.count(",done,") == 7 and "caf\ufffd.avi" in index

    again = run_script("WebCam.py", "--source", recordings, "--summary", results, "--jobs", 1,
                       "--model", trained_model)
    assert "7 already done, skipped" in again.stderr, again.stderr


# ------------------------------------------------------------------ where the app writes

def test_an_output_over_the_source_is_refused(tmp_path, photo, trained_model):
    before = photo.read_bytes()
    for flag in ("--output", "--json"):
        result = run_script("WebCam.py", "--source", photo, "--headless", flag, photo, "--model", trained_model)
        one_line_error(result, "is the source itself")
    assert photo.read_bytes() == before


def test_a_link_in_the_output_folder_is_replaced_not_followed(tmp_path, photo, trained_model):
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    out.mkdir()
    shutil.copy(photo, photos / "a.png")
    elsewhere = tmp_path / "elsewhere.png"
    elsewhere.write_bytes(b"precious")
    (out / "a.png").symlink_to(elsewhere)
    result = run_script("WebCam.py", "--source", photos, "--headless", "--output", out, "--model", trained_model)
    assert result.returncode == 0, result.stderr
    assert elsewhere.read_bytes() == b"precious"
    assert not (out / "a.png").is_symlink() and cv2.imread(str(out / "a.png")) is not None


@pytest.mark.parametrize("name, message", [("out.xyz", "an image is written as"),
                                           ("out.gif", "an image is written as")])
def test_an_output_named_for_no_format_the_app_writes_is_refused_first(tmp_path, photo, trained_model,
                                                                         name, message):
    result = run_script("WebCam.py", "--source", photo, "--headless", "--output", tmp_path / name,
                        "--model", trained_model)
    one_line_error(result, name, message)
    assert not (tmp_path / name).exists()


def test_a_video_is_never_written_under_an_image_name(tmp_path, astronaut_face, trained_model):
    video = write_video(tmp_path / "clip.avi", 3, lambda i: [(astronaut_face, 10, 10)], size=(320, 240))
    result = run_script("WebCam.py", "--source", video, "--headless", "--output", tmp_path / "out.png",
                        "--model", trained_model)
    one_line_error(result, "out.png: a video is written as")
    assert not (tmp_path / "out.png").exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_disk_is_one_line_and_the_timeline_is_still_saved(tmp_path, photo, trained_model):
    result = run_script("WebCam.py", "--source", photo, "--headless", "--json", "/dev/full",
                        "--summary", tmp_path / "summary", "--model", trained_model)
    one_line_error(result, "/dev/full: cannot write")
    assert json.loads((tmp_path / "summary" / "summary.json").read_text())["frames"] == 1
    assert not [p for p in (tmp_path / "summary").iterdir() if p.name.startswith(".")]  # no partial files


def test_an_output_folder_that_cannot_be_made_fails_before_the_analysis(tmp_path, photo, trained_model):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for flag in ("--summary", "--output"):
        result = run_script("WebCam.py", "--source", tmp_path, "--headless", flag, blocker / "sub",
                            "--model", trained_model)
        one_line_error(result, str(blocker / "sub"))
        assert "Loading the emotion model" not in result.stderr


def test_json_to_a_reader_that_leaves_early_ends_quietly(tmp_path, trained_model):
    process = subprocess.Popen([sys.executable, str(ROOT / "WebCam.py"), "--source", "demo", "--headless",
                                "--json", "-", "--model", str(trained_model)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert json.loads(process.stdout.readline())["frame"] == 0
    process.stdout.close()  # as `| head -1` does
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) != 0 and "Traceback" not in stderr and "Exception" not in stderr


# ------------------------------------------------------------------ pictures

def test_a_picture_too_large_is_refused_before_it_is_decoded(tmp_path, trained_model):
    huge = tmp_path / "huge.png"
    huge.write_bytes(huge_png(30000, 30000))
    result = run_script("WebCam.py", "--source", huge, "--headless", "--model", trained_model)
    one_line_error(result, "huge.png: 30000x30000 pixels is over the 50 million pixels")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
def test_a_fifo_in_a_photo_folder_is_skipped_not_waited_on(tmp_path, photo, trained_model):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(photo, photos / "a.png")
    os.mkfifo(photos / "b.jpg")
    result = run_script("WebCam.py", "--source", photos, "--headless", "--json", tmp_path / "out.jsonl",
                        "--model", trained_model, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "b.jpg: not a regular file, skipped" in result.stderr
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 1


def test_a_float_picture_with_nan_is_drawn_as_a_picture_a_person_can_see(tmp_path, photo, trained_model):
    image = cv2.imread(str(photo)).astype(np.float32) / 255
    image[:5, :5] = np.nan
    image[5:10, :5] = np.inf
    tiff = tmp_path / "float.tiff"
    cv2.imwrite(str(tiff), image)
    out = tmp_path / "out.png"
    result = run_script("WebCam.py", "--source", tiff, "--headless", "--output", out, "--model", trained_model)
    assert result.returncode == 0, result.stderr
    drawn = cv2.imread(str(out))
    assert drawn.dtype == np.uint8 and 60 < drawn[100:, :].mean() < 200  # not almost black


@pytest.mark.parametrize("array, message", [
    (np.zeros((50, 50, 2), np.uint8), "not shape (50, 50, 2)"),
    (np.zeros((50, 50, 5), np.uint8), "not shape (50, 50, 5)"),
    (np.zeros((50, 50, 3), bool), "not bool values"),
    (np.zeros((50, 50, 3), np.int64), "not int64 values"),
    (np.full((50, 50, 3), np.nan, np.float32), "no pixel has a finite value"),
    (np.zeros((0, 50, 3), np.uint8), "an empty picture"),
    ("not an image", "not str"),
])
def test_the_api_refuses_arrays_it_cannot_read_saying_what_it_takes(trained_model, array, message):
    with pytest.raises(FakeBlockError, match="expected a numpy array|empty picture|finite") as error:
        fakeblock.analyze_image(array, model=trained_model) if not isinstance(array, str) else \
            fakeblock.Recognizer(trained_model)(array)
    assert message in str(error.value)


def test_the_api_takes_float_and_16_bit_pictures(photo, trained_model):
    image = cv2.imread(str(photo))
    expected = fakeblock.analyze_image(image, model=trained_model)
    for variant in (image.astype(np.float32) / 255, image.astype(np.uint16) * 257, image[:, :, :1]):
        faces = fakeblock.analyze_image(variant, model=trained_model)
        assert len(faces) == len(expected)


# ------------------------------------------------------------------ flags

@pytest.mark.parametrize("args, message", [
    (["--scale-factor", "nan"], "--scale-factor must be greater than 1 and at most 3"),
    (["--scale-factor", "inf"], "--scale-factor must be greater than 1 and at most 3"),
    (["--min-neighbors", "100000"], "--min-neighbors must be from 0 to 100"),
    (["--min-size", "99999999"], "--min-size must be from 8 to 10000 pixels"),
    (["--min-confidence", "nan"], "--min-confidence must be between 0 and 1"),
    (["--smooth", "100000"], "--smooth must be from 0 to 1000"),
])
def test_numeric_flags_out_of_range_are_refused(args, message):
    result = run_script("WebCam.py", "--source", "demo", "--headless", *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("flag", ["--source", "--model"])
def test_a_name_too_long_for_the_file_system_is_one_line(flag):
    result = run_script("WebCam.py", "--headless", *(["--source", "demo"] if flag == "--model" else []),
                        flag, "x" * 300)
    one_line_error(result, "x" * 50)


def test_ray_that_cannot_be_reached_gives_up_at_once(tmp_path, astronaut_face, trained_model):
    pytest.importorskip("ray", reason="Ray is not installed (pip install -r requirements-scale.txt)")
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    write_video(recordings / "a.avi", 2, lambda i: [], size=(64, 64))
    started = time.monotonic()
    result = run_script("WebCam.py", "--source", recordings, "--summary", tmp_path / "out", "--ray", "127.0.0.1:9",
                        "--model", trained_model, timeout=60)
    one_line_error(result, "--ray 127.0.0.1:9: cannot connect")
    assert time.monotonic() - started < 30


# ------------------------------------------------------------------ tampered model cards

def _card_variants():
    def nan_curve(card):
        card["calibration"]["plain"]["calibrated"][1] = float("nan")

    def uneven_curve(card):
        card["calibration"]["plain"]["top_score"].append(1.0)

    def same_names(card):
        card["classes"] = ["happy"] * len(card["classes"])

    return [(nan_curve, "calibration curve must rise"), (uneven_curve, "lists differ in length"),
            (same_names, "a class is named twice")]


@pytest.mark.parametrize("tamper, message", _card_variants(), ids=["nan", "uneven", "same-names"])
def test_a_tampered_model_card_is_refused_in_one_line(tmp_path, trained_model, tamper, message):
    for suffix in (".keras", ".tflite"):
        shutil.copy(trained_model.with_suffix(suffix), tmp_path / f"m{suffix}")
    card = json.loads(trained_model.with_suffix(".json").read_text())
    tamper(card)
    (tmp_path / "m.json").write_text(json.dumps(card))
    result = run_script("WebCam.py", "--source", "demo", "--headless", "--model", tmp_path / "m.keras")
    one_line_error(result, "m.json", message)


def test_a_model_card_nested_too_deep_is_refused_in_one_line(tmp_path, trained_model):
    shutil.copy(trained_model, tmp_path / "m.keras")
    (tmp_path / "m.json").write_text("[" * 200_000 + "]" * 200_000)
    result = run_script("WebCam.py", "--source", "demo", "--headless", "--model", tmp_path / "m.keras")
    one_line_error(result, "m.json: not a valid model card")


# ------------------------------------------------------------------ killed runs

def _start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "WebCam.py"), *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, text=True)


def _wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.skipif(not LINUX, reason="SIGTERM as a service manager sends it (Linux)")
def test_sigterm_keeps_the_summary_like_ctrl_c(tmp_path, astronaut_face, trained_model):
    video = write_video(tmp_path / "long.avi", 1500, lambda i: [(astronaut_face, 50, 50)], size=(320, 240))
    jsonl, summary = tmp_path / "faces.jsonl", tmp_path / "summary"
    app = _start("--source", video, "--headless", "--json", jsonl, "--summary", summary, "--model", trained_model)
    _wait_for(lambda: jsonl.exists() and jsonl.stat().st_size > 0)
    app.send_signal(signal.SIGTERM)
    stderr = app.communicate(timeout=60)[1]
    assert app.returncode == 143 and "Traceback" not in stderr, stderr
    assert 0 < json.loads((summary / "summary.json").read_text())["frames"] < 1500


@pytest.mark.skipif(not LINUX, reason="reads the process table in /proc (Linux)")
def test_workers_end_with_a_killed_many_videos_run(tmp_path, astronaut_face, trained_model):
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    for name in ("a", "b", "c"):
        write_video(recordings / f"{name}.avi", 600, lambda i: [(astronaut_face, 50, 50)], size=(320, 240))
    results = tmp_path / "results"
    app = _start("--source", recordings, "--summary", results, "--jobs", 2, "--model", trained_model)
    _wait_for(lambda: results.exists() and any(p.name.startswith(".") for p in results.iterdir()), 120)
    workers = _children(app.pid)
    assert workers
    app.send_signal(signal.SIGTERM)
    stderr = app.communicate(timeout=60)[1]
    assert app.returncode == 143 and "Traceback" not in stderr, stderr
    _wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), 10)
    assert not [p for p in results.iterdir() if p.name.startswith(".")]  # no partial folders left


def _children(pid: int) -> list:
    return [int(p) for task in Path(f"/proc/{pid}/task").iterdir()
            for p in (task / "children").read_text().split()]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
def test_a_fifo_given_as_the_source_is_refused_not_waited_on(tmp_path, trained_model):
    os.mkfifo(tmp_path / "stream.mp4")
    result = run_script("WebCam.py", "--source", tmp_path / "stream.mp4", "--headless", "--model", trained_model,
                        timeout=60)
    one_line_error(result, "stream.mp4: not a regular file")


@pytest.mark.skipif(not LINUX, reason="SIGTERM as a service manager sends it (Linux)")
def test_sigterm_stops_training_as_ctrl_c_does(tmp_path, small_csv):
    training = subprocess.Popen([sys.executable, str(ROOT / "BuildTrainTestCNN.py"), "--data", str(small_csv),
                                 "--arch", "original", "--epochs", "200", "--out", str(tmp_path / "out"),
                                 "--work-dir", str(tmp_path / "runs")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    for line in training.stdout:
        if line.startswith("Training the"):
            break
    time.sleep(1)
    training.send_signal(signal.SIGTERM)
    stderr = training.communicate(timeout=120)[1]
    assert training.returncode == 143 and "Traceback" not in stderr, stderr
    assert "interrupted: the last finished epoch is kept; run again with --resume" in stderr


def test_a_device_or_folder_named_as_an_output_file_is_never_replaced(tmp_path, photo, trained_model):
    folder = tmp_path / "taken.png"
    folder.mkdir()
    (folder / "mine.txt").write_text("mine")
    result = run_script("WebCam.py", "--source", photo, "--headless", "--output", folder, "--model", trained_model)
    one_line_error(result, "taken.png: not a regular file")
    assert "Loading the emotion model" not in result.stderr  # refused before the analysis
    assert (folder / "mine.txt").read_text() == "mine"
    from fakeblock.core.atomic import write_json
    if os.path.exists("/dev/null"):
        with pytest.raises(FakeBlockError, match="not a regular file"):
            write_json({"a": 1}, "/dev/null")
        assert not Path("/dev/null").is_file()


@pytest.mark.skipif(not LINUX, reason="reads the process table in /proc (Linux)")
def test_workers_exit_by_themselves_when_a_many_videos_run_is_killed(tmp_path, astronaut_face, trained_model):
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    for name in ("a", "b"):
        write_video(recordings / f"{name}.avi", 900, lambda i: [(astronaut_face, 50, 50)], size=(320, 240))
    results = tmp_path / "results"
    app = _start("--source", recordings, "--summary", results, "--jobs", 2, "--model", trained_model)
    _wait_for(lambda: results.exists() and any(p.name.startswith(".") for p in results.iterdir()), 120)
    workers = _children(app.pid)
    app.kill()  # SIGKILL: no handler runs
    app.wait(timeout=30)
    _wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), 10)
    again = run_script("WebCam.py", "--source", recordings, "--summary", results, "--jobs", 1, "--model", trained_model)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in results.iterdir()) == ["a", "b", "index.csv"]  # the half-written folders gone
