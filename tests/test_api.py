"""The Python API's three verbs, and the package's layering."""

import ast

import cv2
import numpy as np
import pytest
from conftest import ROOT

import fakeblock
from fakeblock.core.errors import FakeBlockError

FACE_KEYS = {"box", "emotion", "confidence", "uncertain", "scores", "track"}


@pytest.fixture
def photo(tmp_path, astronaut_face):
    frame = np.full((300, 400, 3), 90, np.uint8)
    frame[60:210, 100:250] = astronaut_face
    path = tmp_path / "fotó.png"  # a non-ASCII name, as users' files have
    cv2.imencode(".png", frame)[1].tofile(str(path))
    return path, frame


def test_analyze_image_takes_a_path_or_an_array(photo, trained_model):
    path, frame = photo
    from_path = fakeblock.analyze_image(path, model=trained_model)
    from_array = fakeblock.analyze_image(frame, model=trained_model)
    assert len(from_path) == 1 and set(from_path[0]) == FACE_KEYS
    assert from_path[0]["box"] == from_array[0]["box"]
    assert from_path[0]["scores"] == pytest.approx(from_array[0]["scores"], abs=1e-4)
    x, y, w, h = from_path[0]["box"]
    assert abs(x + w / 2 - 175) < 25 and abs(y + h / 2 - 135) < 25
    assert fakeblock.analyze_image(np.full((200, 200, 3), 40, np.uint8), model=trained_model) == []


def test_analyze_image_errors_name_the_file(tmp_path, trained_model):
    with pytest.raises(FakeBlockError, match="missing.jpg: no such image file"):
        fakeblock.analyze_image(tmp_path / "missing.jpg", model=trained_model)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.raises(FakeBlockError, match="broken.jpg: not a readable image"):
        fakeblock.analyze_image(broken, model=trained_model)


def test_recognizer_follows_a_face_across_frames(astronaut_face, trained_model):
    recognize = fakeblock.Recognizer(trained_model)
    tracks = []
    for i in range(8):
        frame = np.full((480, 640, 3), 90, np.uint8)
        frame[150:300, 200 + 3 * i:350 + 3 * i] = astronaut_face
        faces = recognize(frame)
        assert len(faces) == 1 and set(faces[0]) == FACE_KEYS
        tracks.append(faces[0]["track"])
    assert len(set(tracks)) == 1
    assert recognize.classes == tuple(faces[0]["scores"])
    with pytest.raises(FakeBlockError, match="numpy array"):
        recognize("not a frame")


LAYERS = ("core", "app", "training")


def _imports_by_module() -> dict:
    """Each fakeblock module (``layer.name``) -> the fakeblock modules it imports."""
    modules = {}
    for path in (ROOT / "fakeblock").glob("*/*.py"):
        layer, name = path.parent.name, path.stem
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [node.module] if node.module else [alias.name for alias in node.names]
                imported.update(f"{layer}.{n}" for n in names)
            elif isinstance(node, ast.ImportFrom) and node.level == 2:
                imported.add(node.module)
        modules[f"{layer}.{name}"] = imported
    return modules


def test_every_module_lives_in_a_layer():
    loose = [p.name for p in (ROOT / "fakeblock").glob("*.py") if p.name != "__init__.py"]
    assert loose == []
    assert {p.parent.name for p in (ROOT / "fakeblock").glob("*/*.py")} >= set(LAYERS)


def test_the_core_imports_neither_app_nor_trainer_and_they_never_import_each_other():
    allowed = {"core": {"core"}, "app": {"core", "app"}, "training": {"core", "training"}}
    for name, imports in _imports_by_module().items():
        layer = name.split(".")[0]
        if layer in allowed:
            assert {i.split(".")[0] for i in imports} <= allowed[layer], (name, imports)


def test_no_import_circles():
    modules = _imports_by_module()

    def reaches(start, target, seen):
        for nxt in modules.get(start, ()):
            if nxt == target or (nxt not in seen and reaches(nxt, target, seen | {nxt})):
                return True
        return False
    assert [name for name in modules if reaches(name, name, {name})] == []


def test_the_wheel_holds_the_package_its_models_demo_and_command(tmp_path):
    """The wheel's contents; then its copy, run as pip's ``fakeblock`` script runs
    it, names itself and the extras a pip user installs."""
    import os
    import subprocess
    import sys
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, cwd=tmp_path)
    wheel = next(tmp_path.glob("fakeblock-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in ("fakeblock/app/api.py", "fakeblock/core/networks.py", "fakeblock/training/fitting.py",
                    "fakeblock/model/ferplus.keras", "fakeblock/model/ferplus.json",
                    "fakeblock/model/fer2013-joint.tflite", "fakeblock/demo/astronaut.jpg",
                    "fakeblock/model/face_landmarker.task", "fakeblock/model/NOTICE-mediapipe.md",
                    "fakeblock/model/LICENSE-mediapipe.txt",
                    "fakeblock/facedetector/face_detection_short_range.tflite",
                    "fakeblock/facedetector/face_detection_full_range.tflite"):
        assert shipped in names, shipped
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "fakeblock = fakeblock.app.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()

    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    script = tmp_path / "fakeblock"
    script.write_text("import sys\nfrom fakeblock.app.cli import main\nsys.exit(main())\n")
    shown = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(installed)}, cwd=tmp_path, check=False)
    assert shown.returncode == 0 and shown.stdout.startswith("usage: fakeblock "), shown.stdout[:200]
    assert '"fakeblock[identity]"' in shown.stdout and "requirements-" not in shown.stdout
    assert "ferplus" in shown.stdout
