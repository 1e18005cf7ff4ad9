"""WebCam.py end to end on generated videos, images and the demo; every error path."""

import json
import sys

import cv2
import numpy as np
import pytest
from conftest import ROOT, run_script, write_video

FER2013_NAMES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
#: What OpenCV's, FFmpeg's and TensorFlow's own log lines look like.
LIBRARY_LOG_TEXT = ("[ WARN", "[ERROR", "OpenCV(", "VIDEOIO", "@ 0x", "moov atom", "tensorflow", "I0000")


def read_json_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def face_video(tmp_path_factory, astronaut_face):
    """60 frames: the face on frames 10-39 only, moving slowly."""
    return write_video(tmp_path_factory.mktemp("video") / "clip.avi", 60,
                       lambda i: [(astronaut_face, 200 + 2 * i, 150)] if 10 <= i < 40 else [])


def test_video_headless_json_and_output(tmp_path, face_video, trained_model):
    jsonl, out = tmp_path / "faces.jsonl", tmp_path / "labelled.avi"
    result = run_script("WebCam.py", "--source", face_video, "--headless", "--model", trained_model,
                        "--json", jsonl, "--output", out)
    assert result.returncode == 0, result.stderr
    lines = read_json_lines(jsonl)
    assert [line["frame"] for line in lines] == list(range(60))
    with_faces = [line["frame"] for line in lines if line["faces"]]
    assert with_faces == list(range(10, 40))
    face = lines[20]["faces"][0]
    assert set(face) == {"box", "emotion", "confidence", "uncertain", "scores", "track"}
    assert list(face["scores"]) == FER2013_NAMES and face["emotion"] in FER2013_NAMES
    assert face["confidence"] == max(face["scores"].values())
    assert lines[20]["source"] == "clip.avi" and lines[20]["ms"] > 0
    x, y, w, h = face["box"]
    assert abs(x + w / 2 - (200 + 40 + 75)) < 30 and abs(y + h / 2 - 225) < 30
    assert len({line["faces"][0]["track"] for line in lines if line["faces"]}) == 1
    written = cv2.VideoCapture(str(out))
    assert int(written.get(cv2.CAP_PROP_FRAME_COUNT)) == 60
    written.release()


def test_demo_runs_headless_and_labels_the_face_on_every_frame(tmp_path, trained_model):
    jsonl = tmp_path / "demo.jsonl"
    result = run_script("WebCam.py", "--source", "demo", "--headless", "--json", jsonl,
                        "--model", trained_model)
    assert result.returncode == 0, result.stderr
    lines = read_json_lines(jsonl)
    assert len(lines) == 120 and all(len(line["faces"]) == 1 for line in lines)


def test_demo_files_are_shipped_and_small():
    demo = ROOT / "fakeblock" / "demo"
    assert 0 < sum(f.stat().st_size for f in demo.iterdir()) < 1_000_000


def test_image_folder_gives_one_line_per_image_and_annotated_copies(tmp_path, astronaut_face,
                                                                   trained_model):
    photos = tmp_path / "photos"
    photos.mkdir()
    frame = np.full((300, 400, 3), 90, np.uint8)
    frame[60:210, 100:250] = astronaut_face
    cv2.imwrite(str(photos / "a.png"), frame)
    cv2.imwrite(str(photos / "b_gray.png"), cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(photos / "c_empty.jpg"), np.full((200, 200, 3), 40, np.uint8))
    cv2.imwrite(str(photos / "d_alpha.png"), cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA))
    jsonl = tmp_path / "faces.jsonl"
    result = run_script("WebCam.py", "--source", photos, "--headless", "--json", jsonl,
                        "--output", tmp_path / "out", "--model", trained_model)
    assert result.returncode == 0, result.stderr
    lines = read_json_lines(jsonl)
    assert [line["source"] for line in lines] == ["a.png", "b_gray.png", "c_empty.jpg", "d_alpha.png"]
    assert [len(line["faces"]) for line in lines] == [1, 1, 0, 1]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in photos.iterdir())


def test_faces_at_the_edge_and_tiny_frames_do_not_crash(tmp_path, astronaut_face, trained_model):
    edge = np.full((240, 320, 3), 90, np.uint8)
    edge[0:110, 0:110] = astronaut_face[40:150, 40:150]
    cv2.imwrite(str(tmp_path / "edge.png"), edge)
    cv2.imwrite(str(tmp_path / "tiny.png"), np.full((5, 7, 3), 200, np.uint8))
    result = run_script("WebCam.py", "--source", tmp_path, "--headless", "--json", "-",
                        "--model", trained_model)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    """A folder of broken inputs: a model, a video, an image, an empty folder, a cascade."""
    folder = tmp_path_factory.mktemp("bad")
    (folder / "corrupt.keras").write_bytes(b"not a model")
    (folder / "corrupt.mp4").write_bytes(b"\x00" * 1000)
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8 broken")
    (folder / "empty").mkdir()
    (folder / "cascade.xml").write_text("<opencv_storage></opencv_storage>")
    return folder


#: What a user gets wrong, and the one line that tells them (``bad``: the bad files' folder).
ERRORS = {
    "missing video": (lambda bad: ["--source", "missing.mp4"], "missing.mp4: no such file or folder"),
    "corrupt video": (lambda bad: ["--source", bad / "corrupt.mp4"], "corrupt.mp4: not a readable video or image"),
    "corrupt image": (lambda bad: ["--source", bad / "corrupt.jpg"], "corrupt.jpg: not a readable image"),
    "empty folder": (lambda bad: ["--source", bad / "empty"], "empty: no images in the folder"),
    "missing model": (lambda bad: ["--source", "demo", "--model", bad / "none.keras"],
                      "none.keras: no such model; the shipped ones are fer2013-joint, "),
    "corrupt model": (lambda bad: ["--source", "demo", "--model", bad / "corrupt.keras"],
                      "corrupt.keras: cannot load the model"),
    "missing cascade": (lambda bad: ["--source", "demo", "--cascade", bad / "none.xml"],
                        "none.xml: no such cascade file"),
    "bad cascade": (lambda bad: ["--source", "demo", "--cascade", bad / "cascade.xml"],
                    "cascade.xml: not a valid Haar cascade"),
    "missing camera": (lambda bad: ["--source", "7"], "camera 7 did not open"),
    "no display": (lambda bad: ["--source", "demo", "--window"],
                   "no display available to open a window; run with --headless"),
    "scale factor": (lambda bad: ["--scale-factor", "1.0"], "--scale-factor must be greater than 1"),
    "detect every": (lambda bad: ["--detect-every", "0"], "--detect-every must be from 1 to 1000"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_every_error_is_one_line_with_exit_code_2(case, bad_files, trained_model):
    arguments, message = ERRORS[case]
    args = [str(a) for a in arguments(bad_files)]
    if "--window" in args:  # no --headless: the app wants a window
        args.remove("--window")
    else:
        args.append("--headless")
    if "--model" not in args:
        args += ["--model", str(trained_model)]
    result = run_script("WebCam.py", *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    if not message.startswith("--"):  # (flag errors come with argparse's usage lines)
        assert len(result.stderr.splitlines()) <= 3, result.stderr
    assert not any(noise in result.stderr for noise in LIBRARY_LOG_TEXT), result.stderr


def test_no_camera_and_no_source_falls_back_to_the_demo(tmp_path, trained_model):
    jsonl = tmp_path / "fallback.jsonl"
    result = run_script("WebCam.py", "--headless", "--json", jsonl, "--model", trained_model)
    assert result.returncode == 0, result.stderr
    assert "No camera found" in result.stderr and "demo" in result.stderr
    assert not any(noise in result.stderr for noise in LIBRARY_LOG_TEXT), result.stderr
    assert len(read_json_lines(jsonl)) == 120


def test_missing_shipped_cascade_falls_back_to_opencvs(tmp_path, monkeypatch):
    from fakeblock.app import haar
    monkeypatch.setattr(haar, "DEFAULT_CASCADE", tmp_path / "gone.xml")
    assert haar.cascade_path().name == "haarcascade_frontalface_default.xml"
    assert haar.cascade_path().parent != ROOT


def test_eight_class_model_shows_eight_emotions(tmp_path, trained_model):
    from fakeblock.core.atomic import save_model
    from fakeblock.core.networks import build_model
    model_path = tmp_path / "ferplus.keras"
    save_model(build_model("original", 8, augment=False), model_path)
    jsonl = tmp_path / "eight.jsonl"
    result = run_script("WebCam.py", "--source", "demo", "--headless", "--json", jsonl,
                        "--model", model_path)
    assert result.returncode == 0, result.stderr
    assert list(read_json_lines(jsonl)[0]["faces"][0]["scores"]) == FER2013_NAMES + ["contempt"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status (Linux)")
def test_soak_memory_stays_flat(trained_model):
    """700 frames through the pipeline: RSS grows by under a few MB after warm-up."""
    from fakeblock.app.classify import EmotionClassifier
    from fakeblock.app.haar import HaarFaceDetector
    from fakeblock.app.overlay import render
    from fakeblock.app.pipeline import EmotionPipeline
    from fakeblock.app.sources import DemoSource

    def rss_mb():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

    pipeline = EmotionPipeline(HaarFaceDetector(), EmotionClassifier(trained_model))
    demo = DemoSource()
    frames = [demo.render(i) for i in range(0, 120, 8)]
    for i in range(700):
        result = pipeline.process(frames[i % len(frames)], i)
        render(frames[i % len(frames)], result.faces, pipeline.classes, fps=30.0)
        if i == 150:
            warm = rss_mb()
    assert rss_mb() - warm < 8
