"""Many videos at once: a folder of recordings, one result folder per video,
run on every core of this machine or as tasks on a Ray cluster.

Each video is analysed headless as a single ``--summary`` run would be, into
``<out>/<video name>/`` (timeline.csv, timeline.png, summary.json; the name
made safe and unique by :func:`result_names`), written
in a hidden folder first and renamed into place when complete: a finished
video's folder is always whole, and a later run skips it. ``index.csv`` has
one row per video, rewritten after each one, so Ctrl-C keeps every finished
video and its row.
"""

import functools
import glob
import hashlib
import logging
import multiprocessing
import os
import re
import shutil
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pandas as pd

from ..core.atomic import make_folder, write_text
from ..core.errors import FakeBlockError, MissingInstallError, first_line, install_hint
from ..core.images import is_regular_file, shown_path
from .pipeline import PipelineOptions

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"}
INDEX_COLUMNS = ["path", "frames", "duration_s", "faces_tracked", "dominant_emotion", "status", "error"]


def video_files(folder) -> list:
    """The videos in ``folder`` (by suffix), sorted by name; an entry named like a
    video that is not a regular file (a FIFO, a broken link) is skipped, saying so."""
    named = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    odd = [p for p in named if not is_regular_file(p)]
    for path in odd:
        log.warning(f"warning: {shown_path(path)}: not a regular file, skipped")
    return [p for p in named if p not in odd]


#: A result folder's name at most, in bytes (a file name may take 255; the
#: hidden partial folder adds a prefix and a suffix).
MAX_NAME_BYTES = 120
_RESERVED_NAMES = {"index.csv"}
_UNSAFE_CHARACTERS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|\udc80-\udcff]')


def _name_id(video: Path) -> str:
    return hashlib.sha1(os.fsencode(video.name)).hexdigest()[:8]


def result_names(videos) -> dict:
    """Each video's result folder name: its file name without the suffix, made
    safe (no path separators, no leading dots, no control characters, not
    ``index.csv``, at most :data:`MAX_NAME_BYTES`), with a short hash of the
    whole file name added where it had to be changed or where two videos
    would share it (``clip.mp4`` and ``clip.avi``). The same files always get
    the same names, so a second run finds its results."""
    cleaned = {}
    for video in videos:
        name = _UNSAFE_CHARACTERS.sub("_", video.stem).strip(" .")
        while len(name.encode()) > MAX_NAME_BYTES:
            name = name[:-1]
        changed = name != video.stem or not name or name.lower() in _RESERVED_NAMES
        cleaned[video] = (name or "video", changed)
    counts = Counter(name.lower() for name, _ in cleaned.values())
    return {video: f"{name}-{_name_id(video)}" if changed or counts[name.lower()] > 1 else name
            for video, (name, changed) in cleaned.items()}


# ------------------------------------------------------------------ one video, in a worker

_pipelines = {}  # per worker process: one pipeline per PipelineOptions, its model loaded once


def _pipeline(options):
    """This process's pipeline for ``options`` (a :class:`~fakeblock.app.pipeline.PipelineOptions`),
    restarted (no faces followed yet)."""
    if options not in _pipelines:
        _pipelines[options] = options.build()
    _pipelines[options].restart()
    return _pipelines[options]


def analyze_one(video, final, options, identities: bool = False) -> dict:
    """Analyse one video into its result folder ``final`` with ``options`` (a
    :class:`~fakeblock.app.pipeline.PipelineOptions`), telling people apart
    with ``identities``; returns its index row (never raises for a bad video:
    its error goes into the row)."""
    from .identities import IdentityRecorder, process_frame
    from .sources import VideoSource
    from .timeline import TimelineRecorder

    video, final = Path(video), Path(final)
    identities = IdentityRecorder(_embedder()) if identities else None
    partial = _partial_folder(final)
    row = {"path": shown_path(video), "frames": 0, "duration_s": None, "faces_tracked": 0,
           "dominant_emotion": None, "status": "failed", "error": None}
    try:
        pipeline = _pipeline(options)
        source = VideoSource(video)
        try:
            recorder = TimelineRecorder(partial, source.label, pipeline.classes, source.fps, identities)
            for frame in source:
                recorder.write(frame, process_frame(pipeline, frame, identities))
        finally:
            source.close()
        if recorder.frames == 0:
            raise FakeBlockError(f"{video}: no frame could be read")
        if identities:
            identities.assign()
        recorder.close()
        if final.is_symlink():  # never follow a link out of the results folder
            final.unlink()
        elif final.exists():  # --redo
            shutil.rmtree(final)
        partial.rename(final)
        row.update(_row_from_summary(final), status="done")
    except FakeBlockError as e:
        row["error"] = str(e)
    except Exception as e:  # noqa: BLE001 -- one broken video must not stop the others
        row["error"] = f"{shown_path(video)}: {first_line(e)}"
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return row


def _partial_folder(final: Path) -> Path:
    return final.with_name(f".{final.name}.partial-{os.getpid()}")


def _remove_partial_folders(finals):
    """Remove what workers that were stopped (or killed earlier) left half-written;
    not what a worker still running writes (another run's, into the same results)."""
    for final in finals:
        for partial in final.parent.glob(f".{glob.escape(final.name)}.partial-*"):
            pid = partial.name.rsplit("-", 1)[-1]
            if not (pid.isdigit() and int(pid) != os.getpid() and _running(int(pid))):
                shutil.rmtree(partial, ignore_errors=True)


def _running(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists (another user's), or this system cannot tell: leave its folder
    return True


@functools.lru_cache(maxsize=1)
def _embedder():
    """This process's face embedder (``--identities``), loaded once."""
    from .identities import FaceEmbedder

    return FaceEmbedder()


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


def _analyze_in_worker(video, final, options, identities):  # a Ray task
    _limit_threads()
    return analyze_one(video, final, options, identities)


# ------------------------------------------------------------------ many videos

def analyze_videos(paths, out="results", *, jobs: int | None = None, ray_address: str | None = None,
                   redo: bool = False, progress: bool = True, identities: bool = False,
                   options: PipelineOptions | None = None, **flags) -> pd.DataFrame:
    """Analyse every video of ``paths`` (video files, or a folder of them) into
    ``out/<video name>/`` and return the index (also written to
    ``out/index.csv``) as a DataFrame, one row per video.

    ``jobs``: videos at once on this machine (default: the number of cores).
    ``ray_address``: run each video as a task on the Ray cluster at this address
    (``"local"``: start one on this machine, with ``jobs`` CPUs). ``redo``: analyse again videos
    whose result folder exists (by default they are skipped, their row kept).
    ``identities``: tell people apart in each video (``--identities``; needs
    requirements-identity.txt).
    ``options``: a :class:`~fakeblock.app.pipeline.PipelineOptions`, or its
    fields as keyword arguments (``model``, ``smooth``, ``detector``...). The index's ``attrs["skipped"]`` lists the
    videos skipped as already done.
    """
    options = options or PipelineOptions(**flags)
    if identities:
        from .identities import check_installed
        check_installed()
    if isinstance(paths, (str, os.PathLike)):
        paths = video_files(paths) if Path(paths).is_dir() else [paths]
    out = Path(out)
    make_folder(out, "results folder")
    videos = list(dict.fromkeys(Path(p) for p in paths))
    folders = {video: out / name for video, name in result_names(videos).items()}
    rows, todo = {}, []
    for video in videos:
        if (folders[video] / "summary.json").is_file() and not redo:
            rows[video] = {"path": shown_path(video), **_row_from_summary(folders[video]), "status": "done",
                           "error": None}
        else:
            todo.append(video)
    run = _run_on_ray if ray_address else _run_on_cores
    bar = _progress(len(videos), len(videos) - len(todo)) if progress else None
    started, frames = time.perf_counter(), 0
    try:
        for video, row in run(todo, folders, options, identities, jobs=jobs, ray_address=ray_address):
            rows[video] = row
            frames += row["frames"]
            _write_index(out, videos, rows)
            if bar:
                bar.set_postfix_str(f"{frames / (time.perf_counter() - started):.0f} frames/s overall")
                bar.update(1)
    finally:
        if bar:
            bar.close()
        _remove_partial_folders([folders[v] for v in todo])
        _write_index(out, videos, rows)
    index = _index(videos, rows)
    index.attrs["skipped"] = [str(v) for v in videos if v not in todo]
    return index


def _index(videos, rows) -> pd.DataFrame:
    return pd.DataFrame([rows[v] for v in videos if v in rows], columns=INDEX_COLUMNS)


def _write_index(out: Path, videos, rows):
    """Write ``index.csv``: this run's rows merged into what is there, under a
    lock, so that runs into the same results at once keep each other's rows."""
    from filelock import FileLock

    ours = _index(videos, rows)
    # the lock lives outside the results, which then hold only what they should
    key = hashlib.sha1(os.fsencode(out.resolve())).hexdigest()[:16]
    with FileLock(Path(tempfile.gettempdir()) / f"fakeblock-index-{key}.lock"):
        try:
            theirs = pd.read_csv(out / "index.csv", dtype=str, keep_default_na=False)
        except (OSError, ValueError, pd.errors.ParserError):
            theirs = pd.DataFrame(columns=INDEX_COLUMNS)
        if list(theirs.columns) != INDEX_COLUMNS:
            theirs = pd.DataFrame(columns=INDEX_COLUMNS)
        kept = theirs[~theirs["path"].isin(ours["path"])]
        merged = pd.concat([kept, ours.astype(object)], ignore_index=True) if len(kept) else ours
        write_text(out / "index.csv", merged.to_csv(index=False))


def _progress(total: int, done: int):
    from tqdm import tqdm
    return tqdm(total=total, initial=done, unit=" videos", desc="videos", file=sys.stderr)


def _run_on_cores(videos, folders, options, identities, jobs=None, **_):
    """Yield ``(video, row)`` as each finishes, ``jobs`` at a time in worker processes.

    Workers end with the run: on Ctrl-C, SIGTERM or any error they are
    terminated, and each exits by itself if this process is killed."""
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(videos) or 1))
    if jobs == 1:
        for video in videos:
            yield video, analyze_one(video, folders[video], options, identities)
        return
    # spawned, not forked: a fork of a process whose interpreter threads already
    # run (the model loaded by an earlier call) can hang
    pool = multiprocessing.get_context("spawn").Pool(jobs, initializer=_start_worker, initargs=(os.getpid(),))
    try:
        tasks = [(i, str(v), str(folders[v]), options, identities) for i, v in enumerate(videos)]
        for i, row in pool.imap_unordered(_analyze_task, tasks):
            yield videos[i], row
    finally:
        pool.terminate()
        pool.join()


def _start_worker(parent: int):
    """A worker process: one thread for the model, and gone when its parent is."""
    import threading

    def follow_parent():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)
    threading.Thread(target=follow_parent, daemon=True).start()
    _limit_threads()


def _analyze_task(task):
    i, video, final, options, identities = task
    return i, analyze_one(video, final, options, identities)


#: How long to wait for a Ray cluster's head to answer before giving up.
RAY_CONNECT_TIMEOUT_S = 10


def _check_reachable(address: str):
    """Fail fast, in one line, where a ``host:port`` (or ``ray://host:port``)
    Ray address does not answer: Ray itself retries for minutes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms: Ray finds the cluster itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=RAY_CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise FakeBlockError(f"--ray {address}: cannot connect ({e.strerror or 'no answer'})") from None


def _run_on_ray(videos, folders, options, identities, ray_address=None, jobs=None):
    """Yield ``(video, row)`` as each finishes, each video a Ray task; every worker
    process loads the model once (it keeps it between tasks). A local Ray gets
    ``jobs`` CPUs (default: all)."""
    try:
        import ray
    except ImportError:
        raise MissingInstallError(f"--ray needs Ray, an optional install: {install_hint('scale')}") from None
    started_here = not ray.is_initialized()
    logging.getLogger("ray").setLevel(logging.ERROR)  # its start-up notices; our errors say enough
    if started_here:
        try:
            if ray_address == "local":  # workers import fakeblock from where this one does
                package_root = str(Path(__file__).resolve().parents[2])
                ray.init(num_cpus=jobs, include_dashboard=False, log_to_driver=False, configure_logging=False,
                         runtime_env={"env_vars": {"PYTHONPATH": package_root}})
            else:
                _check_reachable(ray_address)
                ray.init(address=ray_address, log_to_driver=False, configure_logging=False)
        except Exception as e:  # noqa: BLE001 -- Ray raises many types for an unreachable cluster
            raise FakeBlockError(f"--ray {ray_address}: cannot connect ({first_line(e)})") from None
    task = ray.remote(num_cpus=1)(_analyze_in_worker)
    pending = {task.remote(str(v), str(folders[v]), options, identities): v for v in videos}
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
