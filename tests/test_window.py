"""The window and its keys: driven with fake key codes (no display needed), and
once for real under Xvfb where it is installed."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import ROOT, write_video

from fakeblock.app import sinks

NO_KEY = -1


class FakeScreen:
    """Stands in for OpenCV's window functions; records what was shown."""

    def __init__(self, monkeypatch):
        self.sizes, self.shown, self.visible = [], [], 1.0
        monkeypatch.setattr(sinks, "display_available", lambda: True)
        monkeypatch.setattr(sinks, "opencv_has_gui", lambda: True)
        monkeypatch.setattr(sinks.cv2, "namedWindow", lambda *a: None)
        monkeypatch.setattr(sinks.cv2, "resizeWindow", lambda _, w, h: self.sizes.append((w, h)))
        monkeypatch.setattr(sinks.cv2, "imshow", lambda _, canvas: self.shown.append(canvas))
        monkeypatch.setattr(sinks.cv2, "getWindowProperty", lambda *a: self.visible)
        monkeypatch.setattr(sinks.cv2, "destroyWindow", lambda *a: None)


def scripted_keys(*keys):
    """A waitKey that returns these key codes in turn (then 'no key'), logging its waits."""
    pending = [ord(k) if isinstance(k, str) else k for k in keys]
    waits = []

    def wait_key(ms):
        waits.append(ms)
        return pending.pop(0) if pending else NO_KEY
    wait_key.waits = waits
    return wait_key


def draw(mirrored, mesh=False):
    """A 640x480 frame whose first pixels say whether it was drawn mirrored, and with the mesh."""
    canvas = np.zeros((480, 640, 3), np.uint8)
    canvas[0, 0] = 255 if mirrored else 0
    canvas[0, 1] = 255 if mesh else 0
    return canvas


@pytest.fixture
def screen(monkeypatch):
    return FakeScreen(monkeypatch)


def test_window_opens_at_the_frame_size_once(screen):
    window = sinks.Window(mirrored=False, wait_key=scripted_keys())
    assert window.show(draw) and window.show(draw)
    assert screen.sizes == [(640, 480)] and len(screen.shown) == 2


@pytest.mark.parametrize("key", ["q", 27])
def test_quit_keys_and_closing_the_window_stop(screen, key):
    assert not sinks.Window(False, wait_key=scripted_keys(key)).show(draw)
    screen.visible = 0.0
    assert not sinks.Window(False, wait_key=scripted_keys()).show(draw)


def test_no_key_plays_on_after_waiting_the_given_time(screen):
    keys = scripted_keys()
    assert sinks.Window(False, wait_key=keys).show(draw, wait_ms=33)
    assert keys.waits == [33]
    assert sinks.Window(False, wait_key=keys).show(draw, wait_ms=-5)  # late: no waiting
    assert keys.waits[-1] == 1


def test_snapshot_and_mirror_while_playing_play_on(screen, tmp_path):
    window = sinks.Window(False, wait_key=scripted_keys("s", "m"), snapshot_folder=tmp_path)
    assert window.show(draw)
    assert len(list(tmp_path.glob("fakeblock-*.png"))) == 1
    assert window.show(draw) and window.mirrored
    assert screen.shown[-1][0, 0, 0] == 255


def test_keys_while_paused_work_and_leave_it_paused(screen, tmp_path):
    keys = scripted_keys(" ", "s", NO_KEY, "m", NO_KEY, NO_KEY, " ")
    window = sinks.Window(False, wait_key=keys, snapshot_folder=tmp_path)
    assert window.show(draw)
    assert len(keys.waits) == 7  # still paused after the snapshot and the mirror
    assert len(list(tmp_path.glob("fakeblock-*.png"))) == 1
    assert window.mirrored and screen.shown[-1][0, 0, 0] == 255


def test_the_mesh_key_turns_the_mesh_on_and_off_also_while_paused(screen):
    window = sinks.Window(False, wait_key=scripted_keys("f"))
    assert window.show(draw) and window.mesh and screen.shown[-1][0, 1, 0] == 255
    keys = scripted_keys(" ", "f", NO_KEY, " ")
    window.wait_key = keys
    assert window.show(draw) and not window.mesh and screen.shown[-1][0, 1, 0] == 0


def test_quit_while_paused(screen):
    assert not sinks.Window(False, wait_key=scripted_keys(" ", NO_KEY, "q")).show(draw)


def test_no_display_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(sinks, "display_available", lambda: False)
    with pytest.raises(sinks.FakeBlockError, match="--headless"):
        sinks.Window(False)


XVFB_TOOLS = ("Xvfb", "xdotool", "xwininfo", "import")


@pytest.fixture(scope="module")
def xvfb():
    """A virtual X display for the module's tests; skips where Xvfb is not installed."""
    missing = [tool for tool in XVFB_TOOLS if not shutil.which(tool)]
    if not sys.platform.startswith("linux") or missing:
        pytest.skip(f"needs Linux with {', '.join(missing) or 'Xvfb'} "
                    "(apt-get install xvfb xdotool x11-utils imagemagick)")
    display = ":97"
    server = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    yield {**os.environ, "DISPLAY": display}
    server.terminate()
    server.wait()


def shown_windows(env) -> list[str]:
    """The ids of the app's windows now on the display."""
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", sinks.WINDOW_TITLE],
                           capture_output=True, text=True, env=env, check=False)
    return found.stdout.split()


def wait_for_window(env, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        windows = shown_windows(env)
        if windows:
            return windows[0]
        time.sleep(0.1)
    raise AssertionError("the window never appeared")


def window_size(env, window_id):
    info = subprocess.run(["xwininfo", "-id", window_id], capture_output=True, text=True, env=env,
                          check=True).stdout
    fields = dict(line.strip().split(":", 1) for line in info.splitlines() if ":" in line)
    return int(fields["Width"]), int(fields["Height"])


def painted(env, window_id, shot: Path) -> bool:
    """Whether the window shows a picture rather than an unpainted (black) canvas."""
    subprocess.run(["import", "-window", window_id, str(shot)], env=env, check=True)
    picture = cv2.imread(str(shot))
    return picture is not None and picture.mean() > 30


def start_until_painted(command, env, cwd: Path, tries=3):
    """Start the app and wait for its window to show a frame; returns (app, window id, time it appeared).

    Qt on a window-manager-less Xvfb now and then never paints a newly mapped window, whatever the
    program does: a bare OpenCV namedWindow/imshow/waitKey loop stayed black in 3 of 25 starts on a busy
    machine. So a start whose window shows nothing within two seconds is given up and tried afresh.
    """
    for _ in range(tries):
        app = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        window_id = wait_for_window(env)
        appeared = time.time()
        while time.time() < appeared + 2.0:
            if painted(env, window_id, cwd / "screen.png"):
                return app, window_id, appeared
            time.sleep(0.2)
        app.kill()
        app.communicate()
        gone_by = time.time() + 10  # the X server drops a dead client's window a moment later
        while shown_windows(env) and time.time() < gone_by:
            time.sleep(0.1)
    raise AssertionError(f"the window showed nothing in {tries} starts")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Xvfb is Linux's")
def test_real_window_shows_the_video_at_its_size_and_pace_and_q_quits(xvfb, tmp_path, trained_model,
                                                                      astronaut_face):
    clip = write_video(tmp_path / "clip.avi", 150, lambda i: [(astronaut_face, 200 + i, 150)])
    app, window_id, appeared = start_until_painted(
        [sys.executable, str(ROOT / "WebCam.py"), "--source", str(clip), "--model", str(trained_model)],
        env=xvfb, cwd=tmp_path)
    width, height = window_size(xvfb, window_id)
    assert width >= 640 and height >= 480
    time.sleep(1.5)
    assert app.poll() is None  # 150 frames at 30 fps: still playing
    quit_at = time.time()
    subprocess.run(["xdotool", "key", "--window", window_id, "q"], env=xvfb, check=True)
    _, stderr = app.communicate(timeout=60)
    assert app.returncode == 0, stderr
    assert "stopped by the user" in stderr and "Traceback" not in stderr
    frames = int(re.search(r"clip.avi: (\d+) frames", stderr).group(1))
    assert frames <= 30 * (quit_at - appeared) + 15  # its own frame rate, not flat out
