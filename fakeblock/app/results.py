"""Where a many-videos run keeps its results: a folder on this machine or in
object storage, one result folder per video and ``index.csv`` beside them.

Several runs may write into the same results at once (two people, a cron job,
two machines): each keeps the others' rows. A local folder merges its rows
into ``index.csv`` under a lock; a bucket has no lock, so each run keeps its
own rows in ``.runs/<run>.csv`` and rewrites ``index.csv`` from all the runs'
parts until no part changed while it wrote (the last run to write has read
every other run's last rows).
"""

import glob
import hashlib
import io
import json
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd

from ..core.atomic import make_folder, write_text
from .storage import SUMMARY, check_writable, filesystem, is_url, join, remove, store_errors

INDEX_COLUMNS = ["path", "frames", "duration_s", "faces_tracked", "dominant_emotion", "status", "error"]

#: How many times a run rewrites a bucket's index.csv while other runs' parts change under it.
MERGE_ROUNDS = 10


def open_results(out):
    """The results at ``out``: a local folder (created) or a URL (checked writable)."""
    return BucketResults(out) if is_url(str(out)) else LocalResults(out)


def row_from_summary(summary: dict) -> dict:
    """A video's index columns, from its ``summary.json``."""
    return {"frames": summary["frames"], "duration_s": summary.get("duration_s"),
            "faces_tracked": len(summary["tracks"]), "dominant_emotion": summary["overall"]["dominant"]}


def _merged(frames) -> pd.DataFrame:
    """One row per video, in the order videos first appear: where several frames
    have one, the last frame's "done" row (a result folder is only ever
    replaced by a whole one, so a later failure leaves it done), else its last."""
    frames = [f.astype(object) for f in frames if len(f) and list(f.columns) == INDEX_COLUMNS]
    if not frames:
        return pd.DataFrame(columns=INDEX_COLUMNS)
    rows = pd.concat(frames, ignore_index=True)
    done_last = rows.assign(done=rows["status"] == "done").sort_values("done", kind="stable")
    best = done_last.drop_duplicates("path", keep="last").set_index("path")[INDEX_COLUMNS[1:]]
    return best.loc[rows["path"].drop_duplicates()].reset_index()


def _read_index(data) -> pd.DataFrame:
    try:
        return pd.read_csv(data, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError):
        return pd.DataFrame(columns=INDEX_COLUMNS)


class LocalResults:
    """Results in a folder of this machine; a video's folder is written hidden
    and renamed into place whole."""

    def __init__(self, folder):
        self.root = Path(folder)
        make_folder(self.root, "results folder")
        self.index_path = str(self.root / "index.csv")

    def folder(self, name: str) -> str:
        return str(self.root / name)

    def staging(self, name: str) -> None:
        """None: a local result folder is written hidden beside its place and renamed."""

    def finished(self, names) -> set:
        """The ``names`` whose result folder is whole."""
        return {name for name in names if (self.root / name / SUMMARY).is_file()}

    def summary(self, name: str) -> dict:
        return json.loads((self.root / name / SUMMARY).read_text())

    def write_index(self, index: pd.DataFrame):
        """Merge this run's rows into ``index.csv`` under a lock."""
        from filelock import FileLock

        # the lock lives outside the results, which then hold only what they should
        key = hashlib.sha1(os.fsencode(self.root.resolve())).hexdigest()[:16]
        with FileLock(Path(tempfile.gettempdir()) / f"fakeblock-index-{key}.lock"):
            theirs = _read_index(self.index_path)
            write_text(self.index_path, _merged([theirs, index]).to_csv(index=False))

    def close(self, names):
        """Remove what workers that were stopped (or killed earlier) left
        half-written; not what a worker still running writes (another run's)."""
        for name in names:
            for partial in self.root.glob(f".{glob.escape(name)}.partial-*"):
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


class BucketResults:
    """Results in object storage: a video's files are staged under
    ``.partial-<run>/`` and copied into place with the summary last."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.fs, self.root = filesystem(self.url)
        self.run = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self.part = f"{self.root}/.runs/{self.run}.csv"
        check_writable(url, f".runs/{self.run}.csv")  # this run's part, empty for now
        self.index_path = join(self.url, "index.csv")

    def folder(self, name: str) -> str:
        return join(self.url, name)

    def staging(self, name: str) -> str:
        """Where a worker stages ``name``'s files before they go into place."""
        return join(self.url, f".partial-{self.run}", name)

    def finished(self, names) -> set:
        with store_errors(self.url):
            self.fs.invalidate_cache()
            whole = {Path(p).parent.name for p in self.fs.glob(f"{self.root}/*/{SUMMARY}")}
        return whole & set(names)

    def summary(self, name: str) -> dict:
        with store_errors(self.folder(name)):
            return json.loads(self.fs.cat_file(f"{self.root}/{name}/{SUMMARY}"))

    def write_index(self, index: pd.DataFrame):
        """Write this run's part, then ``index.csv`` from every run's part (the
        oldest first) until no part changes while it is written."""
        with store_errors(self.url, "cannot write there"):
            self.fs.pipe_file(self.part, index.to_csv(index=False).encode())
            for _ in range(MERGE_ROUNDS):
                parts = self._parts()
                frames = [_read_index(io.BytesIO(self.fs.cat_file(p))) for p, _ in parts]
                self.fs.pipe_file(f"{self.root}/index.csv", _merged(frames).to_csv(index=False).encode())
                if self._parts() == parts:
                    return

    def _parts(self) -> list:
        """Every run's part and its version, oldest first."""
        self.fs.invalidate_cache()
        listed = self.fs.ls(f"{self.root}/.runs", detail=True)
        parts = [(f["name"], str(f.get("LastModified") or f.get("mtime")), f.get("ETag"), f["size"])
                 for f in listed if f["type"] == "file" and f["size"]]
        return [(name, version) for name, *version in sorted(parts, key=lambda p: (p[1], p[0]))]

    def close(self, names):
        """Remove what this run's workers staged and did not finish; an empty part (no video done)."""
        remove(join(self.url, f".partial-{self.run}"))
        with store_errors(self.url, "cannot write there"):
            self.fs.invalidate_cache()
            if self.fs.exists(self.part) and not self.fs.info(self.part)["size"]:
                self.fs.rm_file(self.part)
