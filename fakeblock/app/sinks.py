"""Where results go: the window, an annotated video or images, and JSON lines."""

import json
import logging
import os
import sys
import time
from pathlib import Path

import cv2

from ..core.atomic import check_replaceable, check_writable_folder, make_folder, replacing
from ..core.errors import FakeBlockError, InputError
from .overlay import render

log = logging.getLogger(__name__)

WINDOW_TITLE = "FakeBlock - emotions"


def display_available() -> bool:
    """False where a window cannot open (a Linux session with no X or Wayland display)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


#: Keys of the window and what they do.
KEYS = {ord("q"): "quit", 27: "quit", ord("s"): "snapshot", ord(" "): "pause", ord("m"): "mirror",
        ord("f"): "mesh", ord("p"): "profile"}
PAUSED_POLL_MS = 50


def opencv_has_gui() -> bool:
    """False for OpenCV builds without a window backend (opencv-python-headless)."""
    build = cv2.getBuildInformation()
    gui = next((line.split(":", 1)[1].strip() for line in build.splitlines()
                if line.strip().startswith("GUI:")), "")
    return gui.upper() not in ("", "NONE")


class Window:
    """The live window and its keys: q/Esc quit, s snapshot, space pause, m mirror,
    f the face's mesh and strongest movements, p a profile's guided capture
    (``capture_asked``; while ``capturing``, space skips an emotion: ``skip_asked``).

    The window opens at the size of the first frame it shows (and stays
    resizable). ``wait_key`` is OpenCV's ``waitKey`` unless a test drives the keys.
    """

    def __init__(self, mirrored: bool, wait_key=cv2.waitKey, snapshot_folder: Path = Path(".")):
        if not display_available():
            raise FakeBlockError("no display available to open a window; run with --headless "
                                 "(add --output PATH, --json PATH or --summary FOLDER to keep the results)")
        if not opencv_has_gui():
            raise FakeBlockError("this OpenCV build cannot open windows (opencv-python-headless?); "
                                 "install opencv-python, or run with --headless")
        self.mirrored, self.wait_key, self.snapshot_folder = mirrored, wait_key, snapshot_folder
        self.mesh = False  # the f key: each face's mesh and strongest movements
        self.capturing = self.capture_asked = self.skip_asked = False
        self.opened = False

    def _display(self, canvas):
        if not self.opened:
            cv2.namedWindow(WINDOW_TITLE, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
            height, width = canvas.shape[:2]
            cv2.resizeWindow(WINDOW_TITLE, width, height)
            self.opened = True
        cv2.imshow(WINDOW_TITLE, canvas)

    def _closed(self) -> bool:
        return cv2.getWindowProperty(WINDOW_TITLE, cv2.WND_PROP_VISIBLE) < 1

    def show(self, draw, wait_ms: int = 1) -> bool:
        """Show ``draw(mirrored, mesh)`` and handle the keys for up to ``wait_ms``;
        while paused, wait here (snapshot, mirror and mesh still work). Returns
        False when the user quits (a quit key, or the window closed with the mouse)."""
        canvas = draw(self.mirrored, self.mesh)
        self._display(canvas)
        paused = False
        while True:
            key = self.wait_key(PAUSED_POLL_MS if paused else max(1, wait_ms)) & 0xFF
            action = KEYS.get(key)
            if action == "quit" or self._closed():
                return False
            if action == "snapshot":
                try:
                    log.info(f"Saved snapshot {save_snapshot(canvas, self.snapshot_folder)}")
                except FakeBlockError as e:  # a snapshot that cannot be saved must not end the session
                    log.warning(f"error: {e}")
            elif action in ("mirror", "mesh"):
                self.mirrored ^= action == "mirror"
                self.mesh ^= action == "mesh"
                canvas = draw(self.mirrored, self.mesh)
                self._display(canvas)
            elif action == "profile" and not self.capturing:
                self.capture_asked = True
            elif action == "pause" and self.capturing:
                self.skip_asked = True
            elif action == "pause":
                paused = not paused
            if not paused:
                return True

    def close(self):
        if self.opened:
            cv2.destroyWindow(WINDOW_TITLE)


def save_snapshot(canvas, folder: Path = Path(".")) -> Path:
    """Write the shown frame as ``fakeblock-<time>.png``; returns its path."""
    path = folder / time.strftime("fakeblock-%Y%m%d-%H%M%S.png")
    n = 1
    while path.exists():
        path = folder / time.strftime(f"fakeblock-%Y%m%d-%H%M%S-{n}.png")
        n += 1
    write_image(path, canvas)
    return path


class Sink:
    """Where a run's results go, frame by frame: ``write(frame, result)`` each (a
    :class:`~fakeblock.app.sources.Frame` and its
    :class:`~fakeblock.app.pipeline.FrameResult`), ``close`` once (which
    finishes the file). A context manager, so a ``with`` closes it."""

    def write(self, frame, result):
        raise NotImplementedError

    def close(self):
        """Finish the output; safe to call twice."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


#: What ``--output`` may be called, by the kind of source.
VIDEO_OUTPUT_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".m4v"}
IMAGE_OUTPUT_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def write_image(path: Path, image):
    """Write ``image`` in the format its name says, atomically (a link at
    ``path`` is replaced, never followed); one-line errors."""
    try:
        ok, encoded = cv2.imencode(path.suffix or ".png", image)
    except cv2.error:
        ok = False
    if not ok:
        raise InputError(f"{path}: cannot write an image of this kind (use .png or .jpg)")
    with replacing(path) as partial:
        encoded.tofile(str(partial))


class VideoSink(Sink):
    """Annotated frames into a video file (.mp4, .avi, .mkv...), written beside it
    under a hidden name and renamed into place on ``close`` (also after Ctrl-C:
    the frames done so far)."""

    def __init__(self, path: Path, fps: float | None):
        if path.suffix.lower() not in VIDEO_OUTPUT_SUFFIXES:
            raise InputError(f"{path}: a video is written as {', '.join(sorted(VIDEO_OUTPUT_SUFFIXES))}")
        check_replaceable(path)
        check_writable_folder(path.parent)
        self.path, self.fps, self.writer = path, fps or 30.0, None
        self.file = replacing(path)

    def write(self, frame, result):
        canvas = render(frame.image, result.faces, result.classes)  # no live FPS in a saved video
        if self.writer is None:
            partial = self.file.__enter__()
            fourcc = cv2.VideoWriter_fourcc(*("MJPG" if self.path.suffix.lower() == ".avi" else "mp4v"))
            height, width = canvas.shape[:2]
            self.writer = cv2.VideoWriter(str(partial), fourcc, self.fps, (width, height))
            if not self.writer.isOpened():
                self.writer = None
                self.file.__exit__(None, None, None)
                raise InputError(f"{self.path}: cannot write a video there")
        self.writer.write(canvas)

    def close(self):
        if self.writer is not None:
            self.writer.release()
            self.writer = None
            self.file.__exit__(None, None, None)


class ImageSink(Sink):
    """Annotated images: one file for one image in, a folder of same-named files for a folder."""

    def __init__(self, path: Path, single: bool):
        self.path, self.single = path, single
        if single:
            if path.suffix.lower() not in IMAGE_OUTPUT_SUFFIXES:
                raise InputError(f"{path}: an image is written as "
                                     f"{', '.join(sorted(IMAGE_OUTPUT_SUFFIXES))}")
            check_replaceable(path)
            check_writable_folder(path.parent)
        else:
            make_folder(path, "output folder")

    def write(self, frame, result):
        canvas = render(frame.image, result.faces, result.classes)
        write_image(self.path if self.single else self.path / Path(frame.name).name, canvas)


class JsonLinesSink(Sink):
    """One JSON object per frame (``-``: standard output), written as each frame
    is done; with ``identities`` (an :class:`~fakeblock.app.identities.IdentityRecorder`),
    held until the run ends and written then, each face with its ``identity``.
    A value that is not a number (NaN) is refused, not written as invalid JSON."""

    def __init__(self, path: str, identities=None):
        self.path, self.identities, self.held = path, identities, []
        try:  # kept open across frames; close() closes it
            self.file = sys.stdout if path == "-" else open(path, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as e:
            raise InputError(f"{path}: cannot write the JSON file ({e.strerror})") from None

    def write(self, frame, result):
        # ms: finding and classifying the faces, drawing not included
        record = {"frame": frame.index, "source": frame.name, "ms": round(result.ms, 2), "faces": result.faces}
        if self.identities is not None:
            self.held.append(record)
            return
        self._write_line(record)

    def _write_line(self, record: dict):
        try:
            line = json.dumps(record, allow_nan=False) + "\n"
        except ValueError:
            raise InputError(f"{self.path}: frame {record.get('frame')} has a score that is not a number "
                                 "(a broken model or model card)") from None
        try:
            self.file.write(line)
            self.file.flush()
        except BrokenPipeError:
            raise  # the reader of standard output has gone (| head): the app stops quietly
        except OSError as e:
            raise InputError(f"{self.path}: cannot write ({e.strerror})") from None

    def close(self):
        if self.file is None:
            return
        for record in self.held:
            for face in record["faces"]:
                face["identity"] = self.identities.identities.get(face["track"])
            self._write_line(record)
        self.held = []
        file, self.file = self.file, None
        if file is not sys.stdout:
            try:
                file.close()
            except OSError as e:
                raise InputError(f"{self.path}: cannot write ({e.strerror})") from None

