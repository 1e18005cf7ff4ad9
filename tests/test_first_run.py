"""What a new user meets first: the README's commands and links, the installed
command, runs with no display, what a run reports, and the API's errors."""

import json
import logging
import os
import re
import shutil

import cv2
import numpy as np
import pytest
from conftest import ROOT, run_script, write_video

import fakeblock
from fakeblock.app.overlay import BAR_PANEL_WIDTH, bars_left_edge
from fakeblock.core.modelfile import shipped_models


@pytest.fixture
def two_faces(tmp_path, astronaut_face):
    """A photo of two people (the astronaut twice, side by side)."""
    frame = np.full((300, 520, 3), 90, np.uint8)
    frame[70:220, 40:190] = astronaut_face
    frame[70:220, 330:480] = astronaut_face
    path = tmp_path / "two.png"
    cv2.imwrite(str(path), frame)
    return path


def errors_in(stderr: str) -> list:
    return [line for line in stderr.splitlines() if "error:" in line]


# ------------------------------------------------------------------ the README

def markdown_files():
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "data" / "README.md"]


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{page.name}: {target} does not exist"


def test_usage_commands_need_the_virtual_environment_the_set_up_made():
    """After the set-up commands, every usage command runs as written: the README
    says to activate .venv, and no command calls the system's python3."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "source .venv/bin/activate" in readme and r".venv\Scripts\activate" in readme
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        commands = re.findall(r"`(python3? [^`]+)`", page.read_text(encoding="utf-8"))
        commands += re.findall(r"^(python3? .+)$", page.read_text(encoding="utf-8"), re.MULTILINE)
        plain = [c for c in commands if c.startswith("python3 ") and not c.startswith("python3 -m venv")]
        assert not plain, f"{page.name}: {plain[:3]} run outside the virtual environment"


# ------------------------------------------------------------------ the command

def test_shipped_models_are_chosen_by_name_and_a_wrong_name_lists_them(tmp_path):
    assert shipped_models()[0] == "fer2013-joint" and "ferplus" in shipped_models()
    out = tmp_path / "faces.jsonl"
    result = run_script("WebCam.py", "--source", "demo", "--headless", "--model", "ferplus", "--json", out)
    assert result.returncode == 0, result.stderr
    assert "contempt" in json.loads(out.read_text().splitlines()[0])["faces"][0]["scores"]
    wrong = run_script("WebCam.py", "--source", "demo", "--headless", "--model", "ferplsu")
    assert wrong.returncode == 2 and len(errors_in(wrong.stderr)) == 1, wrong.stderr
    assert all(name in wrong.stderr for name in shipped_models())


def test_with_no_display_a_run_that_saves_its_results_goes_without_a_window(tmp_path, two_faces,
                                                                           trained_model):
    out = tmp_path / "labelled.png"
    result = run_script("WebCam.py", "--source", two_faces, "--output", out, "--model", trained_model)
    assert result.returncode == 0, result.stderr
    assert "No display: running without a window; results go to --output" in result.stderr
    assert out.is_file()
    nowhere = run_script("WebCam.py", "--source", two_faces, "--model", trained_model)
    assert nowhere.returncode == 2 and "--summary FOLDER" in nowhere.stderr, nowhere.stderr


def test_a_headless_run_with_nothing_to_write_says_so(two_faces, trained_model):
    result = run_script("WebCam.py", "--source", two_faces, "--headless", "--model", trained_model)
    assert result.returncode == 0, result.stderr
    assert "nothing will be saved" in result.stderr


def test_a_photo_of_two_people_is_reported_as_two_faces(tmp_path, two_faces, trained_model):
    result = run_script("WebCam.py", "--source", two_faces, "--headless", "--model", trained_model,
                        "--json", tmp_path / "faces.jsonl")
    assert result.returncode == 0, result.stderr
    assert "two.png: 1 image, 2 faces" in result.stderr


def test_a_summary_that_names_a_file_says_it_is_not_a_folder(tmp_path, two_faces, trained_model):
    taken = tmp_path / "results"
    taken.write_text("mine")
    result = run_script("WebCam.py", "--source", two_faces, "--headless", "--summary", taken,
                        "--model", trained_model)
    assert result.returncode == 2 and "is a file, not a folder" in result.stderr, result.stderr
    assert taken.read_text() == "mine"


def test_a_video_whose_name_is_not_utf8_is_analysed(tmp_path, astronaut_face, trained_model):
    video = write_video(tmp_path / "clip.avi", 6, lambda i: [(astronaut_face, 100, 100)], size=(320, 320))
    odd = os.fsencode(tmp_path) + b"/caf\xe9.avi"
    shutil.move(video, odd)
    out = tmp_path / "faces.jsonl"
    result = run_script("WebCam.py", "--source", os.fsdecode(odd), "--headless", "--json", out,
                        "--model", trained_model)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert len(out.read_text().splitlines()) == 6
    assert "caf\ufffd.avi: 6 frames" in result.stderr
    assert not list(tmp_path.glob("fakeblock-video-*"))


@pytest.mark.parametrize("classes, says", [(["joy", "sad"], "'joy' in 'classes' is not one of the emotions"),
                                           ("happy", "not a valid model card")])
def test_a_card_whose_classes_are_not_emotions_is_refused_before_the_run(tmp_path, trained_model, classes,
                                                                         says):
    model = tmp_path / "odd.keras"
    shutil.copy(trained_model, model)
    card = json.loads(trained_model.with_suffix(".json").read_text())
    model.with_suffix(".json").write_text(json.dumps({**card, "classes": classes}))
    result = run_script("WebCam.py", "--source", "demo", "--headless", "--summary", tmp_path / "summary",
                        "--model", model)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert len(errors_in(result.stderr)) == 1 and says in result.stderr
    assert not (tmp_path / "summary" / "timeline.csv").exists()


def test_the_script_names_itself():
    assert run_script("WebCam.py", "--help").stdout.startswith("usage: WebCam.py ")


# ------------------------------------------------------------------ outputs

def test_the_score_panel_never_hides_another_face():
    width, panel_height = 640, 130
    main_face, other_on_the_left = (400, 60, 120, 120), (20, 60, 120, 120)
    # the main face is right of centre, so there is more room on its left, where the other face is
    assert bars_left_edge([main_face, other_on_the_left], width, panel_height) == width - BAR_PANEL_WIDTH - 10
    assert bars_left_edge([main_face], width, panel_height) == 10


def test_a_saved_video_has_no_live_frame_rate_burnt_in(tmp_path, astronaut_face, trained_model):
    from fakeblock.app.overlay import render

    frame = np.full((480, 640, 3), 90, np.uint8)
    live, saved = render(frame, [], ("happy",), fps=157.8), render(frame, [], ("happy",))
    assert (live[5:30, 5:120] != 90).any() and (saved == 90).all()
    video = write_video(tmp_path / "clip.avi", 4, lambda i: [], size=(640, 480))
    out = tmp_path / "labelled.avi"
    result = run_script("WebCam.py", "--source", video, "--headless", "--output", out, "--model", trained_model)
    assert result.returncode == 0, result.stderr
    ok, first = cv2.VideoCapture(str(out)).read()
    assert ok and np.abs(first[5:30, 5:120].astype(int) - 90).max() < 12  # codec noise, no text


# ------------------------------------------------------------------ the API

def test_the_api_exports_its_error_kinds(tmp_path, trained_model):
    assert issubclass(fakeblock.InputError, fakeblock.FakeBlockError)
    assert issubclass(fakeblock.ModelFileError, fakeblock.FakeBlockError)
    assert issubclass(fakeblock.MissingInstallError, ImportError)
    with pytest.raises(fakeblock.InputError, match="missing.jpg"):
        fakeblock.analyze_image(tmp_path / "missing.jpg", model=trained_model)
    with pytest.raises(fakeblock.ModelFileError, match="the shipped ones are"):
        fakeblock.Recognizer("no-such-model")
    with pytest.raises(TypeError):
        fakeblock.Recognizer(trained_model, smoth=3)  # a misspelt keyword is caught


def test_the_library_reports_through_logging_not_print(tmp_path, astronaut_face, trained_model, caplog,
                                                       capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), astronaut_face)
    (folder / "b.png").write_bytes(b"not a png")
    with caplog.at_level(logging.WARNING, logger="fakeblock"):
        timeline = fakeblock.analyze_video(folder, model=trained_model)
    assert len(timeline) == 1
    assert any("b.png" in record.getMessage() for record in caplog.records)
    assert capsys.readouterr().err == ""
