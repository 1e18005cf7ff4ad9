"""Where results go: the window, an annotated video or images, and JSON lines."""

import json
import os
import sys
import time
from pathlib import Path

import cv2

from ..core.errors import FakeBlockError

WINDOW_TITLE = "FakeBlock - emotions"


def display_available() -> bool:
    """False where a window cannot open (a Linux session with no X or Wayland display)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


#: Keys of the window and what they do.
KEYS = {ord("q"): "quit", 27: "quit", ord("s"): "snapshot", ord(" "): "pause", ord("m"): "mirror"}
PAUSED_POLL_MS = 50


def opencv_has_gui() -> bool:
    """False for OpenCV builds without a window backend (opencv-python-headless)."""
    build = cv2.getBuildInformation()
    gui = next((line.split(":", 1)[1].strip() for line in build.splitlines()
                if line.strip().startswith("GUI:")), "")
    return gui.upper() not in ("", "NONE")


class Window:
    """The live window and its keys: q/Esc quit, s snapshot, space pause, m mirror.

    The window opens at the size of the first frame it shows (and stays
    resizable). ``wait_key`` is OpenCV's ``waitKey`` unless a test drives the keys.
    """

    def __init__(self, mirrored: bool, wait_key=cv2.waitKey, snapshot_folder: Path = Path(".")):
        if not display_available():
            raise FakeBlockError("no display available to open a window; run with --headless "
                                 "(add --output PATH or --json PATH to keep the results)")
        if not opencv_has_gui():
            raise FakeBlockError("this OpenCV build cannot open windows (opencv-python-headless?); "
                                 "install opencv-python, or run with --headless")
        self.mirrored, self.wait_key, self.snapshot_folder = mirrored, wait_key, snapshot_folder
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
        """Show ``draw(mirrored)`` and handle the keys for up to ``wait_ms``; while
        paused, wait here (snapshot and mirror still work). Returns False when the
        user quits (a quit key, or the window closed with the mouse)."""
        canvas = draw(self.mirrored)
        self._display(canvas)
        paused = False
        while True:
            key = self.wait_key(PAUSED_POLL_MS if paused else max(1, wait_ms)) & 0xFF
            action = KEYS.get(key)
            if action == "quit" or self._closed():
                return False
            if action == "snapshot":
                print(f"Saved snapshot {save_snapshot(canvas, self.snapshot_folder)}", file=sys.stderr)
            elif action == "mirror":
                self.mirrored = not self.mirrored
                canvas = draw(self.mirrored)
                self._display(canvas)
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


def write_image(path: Path, image):
    """cv2.imwrite that raises a one-line error instead of returning False."""
    ok, encoded = cv2.imencode(path.suffix or ".png", image)
    if not ok:
        raise FakeBlockError(f"{path}: cannot encode an image of this type")
    try:
        encoded.tofile(str(path))
    except OSError as e:
        raise FakeBlockError(f"{path}: cannot write ({e.strerror})") from None


class VideoSink:
    """Annotated frames into a video file (.mp4, .avi, .mkv...)."""

    def __init__(self, path: Path, fps: float | None):
        self.path, self.fps, self.writer = path, fps or 30.0, None

    def write(self, canvas, name: str = ""):
        if self.writer is None:
            fourcc = cv2.VideoWriter_fourcc(*("MJPG" if self.path.suffix.lower() == ".avi" else "mp4v"))
            height, width = canvas.shape[:2]
            self.writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (width, height))
            if not self.writer.isOpened():
                raise FakeBlockError(f"{self.path}: cannot write a video there (try a .mp4 or .avi name)")
        self.writer.write(canvas)

    def close(self):
        if self.writer is not None:
            self.writer.release()


class ImageSink:
    """Annotated images: one file for one image in, a folder of same-named files for a folder."""

    def __init__(self, path: Path, single: bool):
        self.path, self.single = path, single
        if not single:
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise FakeBlockError(f"{path}: cannot create the output folder ({e.strerror})") from None

    def write(self, canvas, name: str):
        write_image(self.path if self.single else self.path / name, canvas)

    def close(self):
        pass


class JsonLinesSink:
    """One JSON object per frame (``-``: standard output)."""

    def __init__(self, path: str):
        self.path = path
        try:  # kept open across frames; close() closes it
            self.file = sys.stdout if path == "-" else open(path, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as e:
            raise FakeBlockError(f"{path}: cannot write the JSON file ({e.strerror})") from None

    def write(self, record: dict):
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()

    def close(self):
        if self.file is not sys.stdout:
            self.file.close()
