"""Shared fixtures: small generated datasets, a tiny trained model, generated videos."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from filelock import FileLock

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(ROOT))
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    # started in the background by a shell (`... &`): every child would ignore the Ctrl-C the tests send
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run_script(script: str, *args, timeout=300, **kwargs) -> subprocess.CompletedProcess:
    """Run one of the project's scripts as a user would; returns the finished process."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return subprocess.run([sys.executable, str(ROOT / script), *map(str, args)],
                          check=False, capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=kwargs.get("cwd", ROOT))


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Converted models go to a folder of the test session's, not the user's cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


def synthetic_faces(n: int, seed: int = 0):
    """``n`` 48x48 faces whose label is learnable: a class-specific bright band."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 7
    images = rng.integers(0, 80, (n, 48, 48)).astype(np.uint8)
    for i, label in enumerate(labels):
        images[i, 6 * label:6 * label + 6, :] = 220
    return images, labels


def write_fer_csv(path: Path, images, labels, usage) -> Path:
    pd.DataFrame({"emotion": labels,
                  "pixels": [" ".join(map(str, im.ravel())) for im in images],
                  "Usage": usage}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def small_csv(tmp_path_factory) -> Path:
    """A FER2013-format CSV: 140 Training, 70 PublicTest, 70 PrivateTest faces."""
    images, labels = synthetic_faces(280)
    usage = ["Training"] * 140 + ["PublicTest"] * 70 + ["PrivateTest"] * 70
    return write_fer_csv(tmp_path_factory.mktemp("data") / "fer2013.csv", images, labels, usage)


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory, small_csv, worker_id) -> Path:
    """A model trained for one epoch by BuildTrainTestCNN.py on the small CSV.

    Trained once for all the test workers: the first to need it trains it in the folder that their
    temporary folders share, the others wait on the lock and read it (pytest-xdist's recipe).
    """
    base = tmp_path_factory.getbasetemp()
    out = (base if worker_id == "master" else base.parent) / "trained-model"
    with FileLock(f"{out}.lock"):
        if not (out / "fer2013.keras").exists():
            result = run_script("BuildTrainTestCNN.py", "--data", small_csv, "--epochs", 1,
                                "--out", out, "--work-dir", out / "runs", "--cache-dir", out / "cache")
            assert result.returncode == 0, result.stderr
    return out / "fer2013.keras"


@pytest.fixture(scope="session")
def astronaut_face() -> np.ndarray:
    """The real face in scikit-image's public-domain astronaut photo (BGR, 150x150)."""
    from skimage import data
    photo = data.astronaut()[:, :, ::-1]
    return np.ascontiguousarray(photo[40:190, 150:300])


@pytest.fixture(scope="session")
def people() -> dict:
    """Two real, public-domain faces (BGR, 190x200): "A", NASA's Eileen Collins
    (scikit-image's astronaut) and "B", the US Navy's Grace Hopper portrait
    (matplotlib's sample data)."""
    from matplotlib import cbook
    from skimage import data

    collins = np.ascontiguousarray(data.astronaut()[:, :, ::-1][20:220, 130:320])
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        hopper = cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_COLOR)
    return {"A": collins, "B": cv2.resize(hopper[20:420, 80:440], (190, 200))}


def write_video(path: Path, frames: int, faces_at, size=(640, 480), fps=30.0) -> Path:
    """A video of a plain background with ``faces_at(i) -> [(face_image, x, y), ...]`` pasted in."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for i in range(frames):
        frame = np.full((size[1], size[0], 3), 90, np.uint8)
        for face, x, y in faces_at(i):
            frame[y:y + face.shape[0], x:x + face.shape[1]] = face
        writer.write(frame)
    writer.release()
    return path
