"""Many videos at once: a folder of recordings (on this machine or in object
storage), one result folder per video, run on every core of this machine or
as tasks on a Ray cluster.

Each video is analysed headless as a single ``--summary`` run would be, into
``<out>/<video name>/`` (timeline.csv, timeline.png, summary.json; the name
made safe and unique by :func:`result_names`), written aside first and put
into place when complete (:mod:`fakeblock.app.results`): a finished video's
folder is whole, and a later run skips it. ``index.csv`` has one row per
video, rewritten after each one, so Ctrl-C keeps every finished video and its
row. On Ray, a task whose worker or node dies is run again once; a video lost
twice is an error row.
"""

import contextlib
import functools
import hashlib
import io
import json
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

from ..core.errors import FakeBlockError, MissingInstallError, first_line, install_hint
from ..core.images import is_regular_file, shown_path
from ..core.quiet_imports import stderr_silenced
from .pipeline import PipelineOptions
from .results import INDEX_COLUMNS, open_results, row_from_summary
from .storage import SUMMARY, entries, is_url, local_copy, upload_folder, url_name

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"}


def video_files(folder) -> list:
    """The videos in ``folder`` (by suffix), sorted by name: paths, or for a
    folder in object storage, URLs; an entry named like a video that is not a
    regular file (a FIFO, a broken link) is skipped, saying so."""
    if is_url(str(folder)):
        _, files = entries(str(folder))
        return [f for f in files if url_name(f).suffix.lower() in VIDEO_SUFFIXES]
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


def _name_id(video) -> str:
    return hashlib.sha1(os.fsencode(video.name)).hexdigest()[:8]


def _as_path(video):
    """A video's path (for a URL, the path part), whose name and stem are the file's."""
    return url_name(video) if is_url(video) else Path(video)


def _shown(video) -> str:
    """A video as the index and the messages name it: its URL, or its path."""
    return video if is_url(video) else shown_path(video)


def result_names(videos) -> dict:
    """Each video's result folder name: its file name without the suffix, made
    safe (no path separators, no leading dots, no control characters, not
    ``index.csv``, at most :data:`MAX_NAME_BYTES`), with a short hash of the
    whole file name added where it had to be changed or where two videos
    would share it (``clip.mp4`` and ``clip.avi``). The same files always get
    the same names, so a second run finds its results."""
    cleaned = {}
    for video in videos:
        path = _as_path(video)
        name = _UNSAFE_CHARACTERS.sub("_", path.stem).strip(" .")
        while len(name.encode()) > MAX_NAME_BYTES:
            name = name[:-1]
        changed = name != path.stem or not name or name.lower() in _RESERVED_NAMES
        cleaned[video] = (name or "video", changed)
    counts = Counter(name.lower() for name, _ in cleaned.values())
    return {video: f"{name}-{_name_id(_as_path(video))}" if changed or counts[name.lower()] > 1 else name
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


def analyze_one(video, final, staging: str | None = None, *, options, identities: bool = False) -> dict:
    """Analyse one video (a path, or a URL: copied here for the while) into its
    result folder ``final`` with ``options`` (a
    :class:`~fakeblock.app.pipeline.PipelineOptions`), telling people apart
    with ``identities``; returns its index row (never raises for a bad video:
    its error goes into the row). A ``final`` URL is written through
    ``staging`` (:func:`~fakeblock.app.storage.upload_folder`); a local one is
    renamed into place."""
    from .identities import IdentityRecorder, process_frame
    from .sources import VideoSource
    from .timeline import TimelineRecorder

    video = str(video) if is_url(str(video)) else Path(video)
    identities = IdentityRecorder(_embedder()) if identities else None
    partial = Path(tempfile.mkdtemp(prefix="fakeblock-")) / "result" if staging else _partial_folder(Path(final))
    row = _failed_row(video)
    try:
        pipeline = _pipeline(options)
        with local_copy(video) as local:
            source = VideoSource(local)
            try:
                recorder = TimelineRecorder(partial, source.label, pipeline.classes, source.fps, identities)
                for frame in source:
                    recorder.write(frame, process_frame(pipeline, frame, identities))
            finally:
                source.close()
        if recorder.frames == 0:
            raise FakeBlockError(f"{_shown(video)}: no frame could be read")
        if identities:
            identities.assign()
        recorder.close()
        summary = json.loads((partial / SUMMARY).read_text())
        if staging:
            upload_folder(partial, final, staging)
        else:
            _put_in_place(partial, Path(final))
        row.update(row_from_summary(summary), status="done")
    except FakeBlockError as e:
        row["error"] = str(e)
    except Exception as e:  # noqa: BLE001 -- one broken video must not stop the others
        row["error"] = f"{_shown(video)}: {first_line(e)}"
    finally:
        shutil.rmtree(partial.parent if staging else partial, ignore_errors=True)
    return row


#: How many more times a video runs whose worker process (Ray's or this machine's) or node died.
RETRIES = 1


def _lost_twice(video, why: str) -> str:
    return f"{_shown(video)}: its worker was lost {RETRIES + 1} times ({why})"


def _failed_row(video, error: str | None = None) -> dict:
    """A video's index row before it is done (or when it failed with ``error``)."""
    return {"path": _shown(video), "frames": 0, "duration_s": None, "faces_tracked": 0,
            "dominant_emotion": None, "status": "failed", "error": error}


def _partial_folder(final: Path) -> Path:
    return final.with_name(f".{final.name}.partial-{os.getpid()}")


def _put_in_place(partial: Path, final: Path):
    """Rename a finished result folder into place, replacing an older one (--redo)."""
    if final.is_symlink():  # never follow a link out of the results folder
        final.unlink()
    elif final.exists():
        shutil.rmtree(final)
    partial.rename(final)


@functools.lru_cache(maxsize=1)
def _embedder():
    """This process's face embedder (``--identities``), loaded once."""
    from .identities import FaceEmbedder

    return FaceEmbedder()


def _limit_threads():
    """Worker processes: one thread each (N workers share the cores)."""
    import cv2

    from . import engine
    cv2.setNumThreads(1)
    engine.use_threads(1)


def _analyze_in_worker(video, final, staging, options, identities):  # a Ray task
    _limit_threads()
    return analyze_one(video, final, staging, options=options, identities=identities)


# ------------------------------------------------------------------ many videos

def analyze_videos(paths, out="results", *, jobs: int | None = None, ray_address: str | None = None,
                   redo: bool = False, progress: bool = True, identities: bool = False,
                   options: PipelineOptions | None = None, **flags) -> pd.DataFrame:
    """Analyse every video of ``paths`` (video files or URLs, or a folder of
    them, local or in object storage) into ``out/<video name>/`` (``out`` a
    folder or a URL) and return the index (also written to ``out/index.csv``)
    as a DataFrame, one row per video.

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
        paths = video_files(paths) if is_url(str(paths)) or Path(paths).is_dir() else [paths]
    videos = list(dict.fromkeys(str(p) if is_url(str(p)) else Path(p) for p in paths))
    joined_ray = _connect_ray(ray_address, jobs) if ray_address else False
    with contextlib.redirect_stdout(_RayNotices()) if ray_address else contextlib.nullcontext():
        try:
            run = _run_on_ray if ray_address else functools.partial(_run_on_cores, jobs=jobs)
            return _analyze_into(open_results(out), videos, run, options, identities, redo, progress)
        finally:
            if joined_ray:
                import ray
                ray.shutdown()


def _analyze_into(results, videos, run, options, identities, redo, progress) -> pd.DataFrame:
    """Analyse ``videos`` into ``results`` with the runner ``run``; the index."""
    names = result_names(videos)
    finished = set() if redo else results.finished(names.values())
    rows, todo = {}, []
    for video in videos:
        if names[video] in finished:
            rows[video] = {"path": _shown(video), **row_from_summary(results.summary(names[video])),
                           "status": "done", "error": None}
        else:
            todo.append(video)
    places = {video: (results.folder(names[video]), results.staging(names[video])) for video in todo}
    bar = _progress(len(videos), len(videos) - len(todo)) if progress else None
    started, seconds = time.perf_counter(), 0.0
    try:
        for video, row in run(todo, places, options, identities):
            rows[video] = row
            seconds += float(row["duration_s"] or 0)
            results.write_index(_index(videos, rows))
            if bar:
                bar.set_postfix_str(f"{_hours(seconds)} of video, "
                                    f"{seconds / (time.perf_counter() - started):.1f}x real time")
                bar.update(1)
    finally:
        if bar:
            bar.close()
        results.close([names[v] for v in todo])
        results.write_index(_index(videos, rows))
    index = _index(videos, rows)
    index.attrs["skipped"] = [str(v) for v in videos if v not in todo]
    index.attrs["index"] = results.index_path
    return index


def _hours(seconds: float) -> str:
    """``3725.4``: ``"1:02:05"``."""
    return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"


def _index(videos, rows) -> pd.DataFrame:
    return pd.DataFrame([rows[v] for v in videos if v in rows], columns=INDEX_COLUMNS)


def _progress(total: int, done: int):
    from tqdm import tqdm
    return tqdm(total=total, initial=done, unit=" videos", desc="videos", file=sys.stderr)


def _run_on_cores(videos, places, options, identities, jobs=None):
    """Yield ``(video, row)`` as each finishes, ``jobs`` at a time in worker
    processes; ``places``: each video's result folder and staging folder. A
    video whose worker process dies (killed, out of memory) runs again
    (:data:`RETRIES`); lost once more, it is an error row.

    Workers end with the run: on Ctrl-C, SIGTERM or any error they are
    terminated, and each exits by itself if this process is killed."""
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(videos) or 1))
    if jobs == 1:
        for video in videos:
            yield video, analyze_one(video, *places[video], options=options, identities=identities)
        return
    # spawned, not forked: a fork of a process whose interpreter threads already
    # run (the model loaded by an earlier call) can hang
    context = multiprocessing.get_context("spawn")
    started = context.SimpleQueue()  # (video number, worker's pid) as each worker takes one
    pool = context.Pool(jobs, initializer=_start_worker, initargs=(os.getpid(), started))
    try:
        def submit(i):
            return pool.apply_async(_analyze_task, ((i, str(videos[i]), *places[videos[i]], options, identities),))
        pending, running, lost = {i: submit(i) for i in range(len(videos))}, {}, Counter()
        while pending:
            while not started.empty():
                i, pid = started.get()
                running[i] = pid
            for i in [i for i, result in pending.items() if result.ready()]:
                yield videos[i], pending.pop(i).get()
            alive = {process.pid for process in multiprocessing.active_children()}
            for i in [i for i in pending if i in running and running[i] not in alive]:
                del running[i]
                lost[i] += 1
                if lost[i] <= RETRIES:
                    log.warning("note: a worker process was lost mid-video; running its video again")
                    pending[i] = submit(i)
                else:
                    del pending[i]
                    yield videos[i], _failed_row(videos[i], _lost_twice(videos[i], "killed, or out of memory"))
            time.sleep(0.05)
    finally:
        pool.terminate()
        pool.join()


_started = None  # in a worker process: where it says which video it takes


def _start_worker(parent: int, started):
    """A worker process: one thread for the model, says which video it takes,
    and is gone when its parent is."""
    import threading

    global _started
    _started = started

    def follow_parent():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)
    threading.Thread(target=follow_parent, daemon=True).start()
    _limit_threads()


def _analyze_task(task):
    i, video, final, staging, options, identities = task
    _started.put((i, os.getpid()))
    return analyze_one(video, final, staging, options=options, identities=identities)


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


#: The driver's variables that its Ray tasks get too: where object storage is and its keys.
FORWARDED_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                       "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
                       "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE")


def _connect_ray(ray_address: str, jobs: int | None) -> bool:
    """Join the Ray cluster at ``ray_address`` (``"local"``: start one here with
    ``jobs`` CPUs) unless this process already has; True where it joined now
    (it leaves again when the run ends)."""
    if ray_address != "local":
        _check_reachable(ray_address)
        _use_ray_token()  # before Ray is imported: it reads the mode then
    try:
        import ray
    except ImportError:
        raise MissingInstallError(f"--ray needs Ray, an optional install: {install_hint('scale')}") from None
    if ray.is_initialized():
        return False
    logging.getLogger("ray").setLevel(logging.ERROR)  # its start-up notices; our errors say enough
    # workers import fakeblock from where this one does, and reach the same storage
    variables = {name: os.environ[name] for name in FORWARDED_VARIABLES if name in os.environ}
    runtime_env = {"env_vars": {"PYTHONPATH": str(Path(__file__).resolve().parents[2]), **variables}}
    try:
        if ray_address == "local":
            ray.init(address="local", num_cpus=jobs, include_dashboard=False, log_to_driver=False,
                     configure_logging=False, runtime_env=runtime_env)
        else:
            with stderr_silenced():  # its C++ client logs each failed try
                ray.init(address=ray_address, log_to_driver=False, configure_logging=False, runtime_env=runtime_env)
    except Exception as e:  # noqa: BLE001 -- Ray raises many types for an unreachable cluster
        raise FakeBlockError(f"--ray {ray_address}: cannot connect ({first_line(e)})") from None
    return True


def _run_on_ray(videos, places, options, identities):
    """Yield ``(video, row)`` as each finishes, each video a task on the Ray
    cluster this process has joined; every worker process loads the model
    once (it keeps it between tasks). A task whose worker dies is run again
    (:data:`RETRIES`); lost once more, it is an error row. Stopping the
    run (Ctrl-C) cancels the tasks still running on the cluster."""
    import ray

    task = ray.remote(num_cpus=1, max_retries=RETRIES)(_analyze_in_worker)
    pending = {task.remote(str(v), *places[v], options, identities): v for v in videos}
    try:
        while pending:
            finished, _ = ray.wait(list(pending), num_returns=1)
            for ref in finished:
                video = pending.pop(ref)
                yield video, _ray_row(ray, ref, video)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)


class _RayNotices(io.TextIOBase):
    """Standard output while on Ray, where its driver prints each lost worker (a
    screen of text, from its own thread): one line of ours instead."""

    def write(self, text: str) -> int:
        if "will be retried" in text:
            log.warning("note: a Ray worker was lost mid-video; Ray runs its video again")
        return len(text)


def _use_ray_token():
    """Send the cluster token where this machine has one: ``ray start`` makes one
    (``~/.ray/auth_token``) and requires it, but a driver connecting to an
    address sends it only with ``RAY_AUTH_MODE=token``; a cluster without
    authentication ignores it."""
    if "RAY_AUTH_MODE" not in os.environ and (
            os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")
            or Path("~/.ray/auth_token").expanduser().is_file()):
        os.environ["RAY_AUTH_MODE"] = "token"


def _ray_row(ray, ref, video) -> dict:
    """A finished task's row; a task lost with its worker every time it ran: an error row."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as e:
        return _failed_row(video, _lost_twice(video, first_line(e)))
