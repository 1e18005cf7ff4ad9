"""Many videos at once: a folder of recordings, one result folder per video,
run on every core of this machine or as tasks on a Ray cluster.

Each video is analysed headless as a single ``--summary`` run would be, into
``<out>/<video name>/`` (timeline.csv, timeline.png, summary.json), written
in a hidden folder first and renamed into place when complete: a finished
video's folder is always whole, and a later run skips it. ``index.csv`` has
one row per video, rewritten after each one, so Ctrl-C keeps every finished
video and its row.
"""

import logging
import multiprocessing
import os
import shutil
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

import pandas as pd

from ..core.atomic import write_text
from ..core.errors import FakeBlockError, first_line

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"}
INDEX_COLUMNS = ["path", "frames", "duration_s", "faces_tracked", "dominant_emotion", "status", "error"]
RAY_INSTALL = "python -m pip install -r requirements-scale.txt"


def video_files(folder) -> list:
    """The videos in ``folder`` (by suffix), sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)


def result_folder(out, video: Path) -> Path:
    """Where a video's results go: ``<out>/<video file name without suffix>``."""
    return Path(out) / video.stem


# ------------------------------------------------------------------ one video, in a worker

_pipelines = {}  # per worker process: one pipeline per set of options, its model loaded once


def _pipeline(options: dict):
    """This process's pipeline for ``options``, restarted (no faces followed yet)."""
    from .pipeline import build_pipeline

    key = repr(sorted(options.items()))
    if key not in _pipelines:
        _pipelines[key] = build_pipeline(**options)
    _pipelines[key].restart()
    return _pipelines[key]


def analyze_one(video, out, options: dict) -> dict:
    """Analyse one video into its result folder; returns its index row (never raises
    for a bad video: its error goes into the row)."""
    from .sources import VideoSource
    from .timeline import TimelineRecorder

    video, final = Path(video), result_folder(out, Path(video))
    partial = final.with_name(f".{final.name}.partial-{os.getpid()}")
    row = {"path": str(video), "frames": 0, "duration_s": None, "faces_tracked": 0,
           "dominant_emotion": None, "status": "failed", "error": None}
    try:
        pipeline = _pipeline(options)
        source = VideoSource(video)
        try:
            recorder = TimelineRecorder(partial, source.label, pipeline.classes, source.fps)
            for frame in source:
                recorder.add(frame, pipeline.process(frame.image, frame.index, frame.new_scene).faces)
        finally:
            source.close()
        if recorder.frames == 0:
            raise FakeBlockError(f"{video}: no frame could be read")
        recorder.save()
        if final.exists():  # --redo
            shutil.rmtree(final)
        partial.rename(final)
        row.update(_row_from_summary(final), status="done")
    except FakeBlockError as e:
        row["error"] = str(e)
    except Exception as e:  # noqa: BLE001 -- one broken video must not stop the others
        row["error"] = f"{video}: {first_line(e)}"
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return row


def _row_from_summary(folder: Path) -> dict:
    import json

    summary = json.loads((folder / "summary.json").read_text())
    return {"frames": summary["frames"], "duration_s": summary.get("duration_s"),
            "faces_tracked": len(summary["tracks"]), "dominant_emotion": summary["overall"]["dominant"]}


def _limit_threads():
    """Worker processes: one thread each (N workers share the cores)."""
    import cv2

    from . import engine
    cv2.setNumThreads(1)
    engine.use_threads(1)


def _analyze_in_worker(video, out, options):
    _limit_threads()
    return analyze_one(video, out, options)


# ------------------------------------------------------------------ many videos

def analyze_videos(paths, out="results", *, jobs: int | None = None, ray_address: str | None = None,
                   redo: bool = False, progress: bool = True, **options) -> pd.DataFrame:
    """Analyse every video of ``paths`` (video files, or a folder of them) into
    ``out/<video name>/`` and return the index (also written to
    ``out/index.csv``) as a DataFrame, one row per video.

    ``jobs``: videos at once on this machine (default: the number of cores).
    ``ray_address``: run each video as a task on the Ray cluster at this address
    (``"local"``: start one on this machine, with ``jobs`` CPUs). ``redo``: analyse again videos
    whose result folder exists (by default they are skipped, their row kept).
    ``options``: :func:`~fakeblock.app.pipeline.build_pipeline`'s (``model``,
    ``smooth``, ``detector``...).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = video_files(paths) if Path(paths).is_dir() else [paths]
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FakeBlockError(f"{out}: cannot create the results folder ({e.strerror})") from None
    videos = [Path(p) for p in paths]
    rows, todo = {}, []
    for video in videos:
        folder = result_folder(out, video)
        if (folder / "summary.json").is_file() and not redo:
            rows[video] = {"path": str(video), **_row_from_summary(folder), "status": "done", "error": None}
        else:
            todo.append(video)
    run = _run_on_ray if ray_address else _run_on_cores
    bar = _progress(len(videos), len(videos) - len(todo)) if progress else None
    started, frames = time.perf_counter(), 0
    try:
        for video, row in run(todo, out, options, jobs=jobs, ray_address=ray_address):
            rows[video] = row
            frames += row["frames"]
            _write_index(out, videos, rows)
            if bar:
                bar.set_postfix_str(f"{frames / (time.perf_counter() - started):.0f} frames/s overall")
                bar.update(1)
    finally:
        if bar:
            bar.close()
        _write_index(out, videos, rows)
    return _index(videos, rows)


def _index(videos, rows) -> pd.DataFrame:
    return pd.DataFrame([rows[v] for v in videos if v in rows], columns=INDEX_COLUMNS)


def _write_index(out: Path, videos, rows):
    write_text(out / "index.csv", _index(videos, rows).to_csv(index=False))


def _progress(total: int, done: int):
    from tqdm import tqdm
    return tqdm(total=total, initial=done, unit=" videos", desc="videos", file=sys.stderr)


def _run_on_cores(videos, out, options, jobs=None, **_):
    """Yield ``(video, row)`` as each finishes, ``jobs`` at a time in worker processes."""
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(videos) or 1))
    if jobs == 1:
        for video in videos:
            yield video, analyze_one(video, out, options)
        return
    # spawned, not forked: a fork of a process whose interpreter threads already
    # run (the model loaded by an earlier call) can hang
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending = {pool.submit(_analyze_in_worker, str(v), str(out), options): v for v in videos}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield pending.pop(future), future.result()
        finally:  # Ctrl-C: drop the videos not started; those running are abandoned
            for future in pending:
                future.cancel()


def _run_on_ray(videos, out, options, ray_address=None, jobs=None):
    """Yield ``(video, row)`` as each finishes, each video a Ray task; every worker
    process loads the model once (it keeps it between tasks). A local Ray gets
    ``jobs`` CPUs (default: all)."""
    try:
        import ray
    except ImportError:
        raise FakeBlockError(f"--ray needs Ray, an optional install: {RAY_INSTALL}") from None
    started_here = not ray.is_initialized()
    logging.getLogger("ray").setLevel(logging.ERROR)  # its start-up notices; our errors say enough
    if started_here:
        try:
            if ray_address == "local":  # workers import fakeblock from where this one does
                package_root = str(Path(__file__).resolve().parents[2])
                ray.init(num_cpus=jobs, include_dashboard=False, log_to_driver=False, configure_logging=False,
                         runtime_env={"env_vars": {"PYTHONPATH": package_root}})
            else:
                ray.init(address=ray_address, log_to_driver=False, configure_logging=False)
        except Exception as e:  # noqa: BLE001 -- Ray raises many types for an unreachable cluster
            raise FakeBlockError(f"--ray {ray_address}: cannot connect ({first_line(e)})") from None
    task = ray.remote(num_cpus=1)(_analyze_in_worker)
    pending = {task.remote(str(v), str(out), options): v for v in videos}
    try:
        while pending:
            finished, _ = ray.wait(list(pending), num_returns=1)
            for ref in finished:
                yield pending.pop(ref), ray.get(ref)
    finally:
        for ref in pending:
            ray.cancel(ref)
        if started_here:
            ray.shutdown()
