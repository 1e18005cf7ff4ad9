"""What runs the model: the TF Lite copy training ships beside each model (no
TensorFlow in the app), a cached conversion for other models, or Keras."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from fakeblock.app.classify import EmotionClassifier
from fakeblock.core.errors import FakeBlockError
from fakeblock.core.modelfile import current_lite_copy, file_sha256, read_card


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "fakeblock" / "lite"


@pytest.fixture()
def bare_model(tmp_path, trained_model):
    """The tiny model's .keras alone: no card, no TF Lite copy (a model from elsewhere)."""
    path = tmp_path / "bare" / "model.keras"
    path.parent.mkdir()
    path.write_bytes(trained_model.read_bytes())
    return path


def test_training_ships_a_tflite_copy_that_scores_as_keras_does(trained_model):
    lite_file = trained_model.with_suffix(".tflite")
    assert current_lite_copy(trained_model, read_card(trained_model)) == lite_file
    card = json.loads(trained_model.with_suffix(".json").read_text())
    assert card["files"] == {"keras_sha256": file_sha256(trained_model), "tflite_sha256": file_sha256(lite_file)}
    lite = EmotionClassifier(trained_model, engine="lite")
    keras = EmotionClassifier(trained_model, engine="keras")
    assert (lite.engine.name, keras.engine.name) == ("lite", "keras")
    faces = np.random.default_rng(0).uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    for n in (1, 4, 1, 2):  # the interpreter is resized between sizes
        np.testing.assert_allclose(lite.classify_batch(faces[:n]), keras.classify_batch(faces[:n]),
                                   atol=0.03)  # its weights are 8-bit integers


def test_a_stale_copy_is_not_trusted(tmp_path, trained_model):
    for suffix in (".keras", ".json", ".tflite"):
        (tmp_path / f"m{suffix}").write_bytes(trained_model.with_suffix(suffix).read_bytes())
    (tmp_path / "m.tflite").write_bytes(b"an older model's copy")
    assert current_lite_copy(tmp_path / "m.keras", read_card(tmp_path / "m.keras")) is None
    assert EmotionClassifier(tmp_path / "m.keras").classify_batch(np.zeros((1, 48, 48, 1), np.float32)).shape == (1, 7)


def test_a_model_without_a_copy_is_converted_once_and_cached(cache, bare_model):
    EmotionClassifier(bare_model, engine="lite")
    [converted] = cache.glob("*.tflite")
    stamp = converted.stat().st_mtime_ns
    EmotionClassifier(bare_model, engine="lite")
    assert [p.name for p in cache.iterdir()] == [converted.name]  # reused, no partial files
    assert converted.stat().st_mtime_ns == stamp


def test_unwritable_cache_still_runs_the_lite_engine(tmp_path, monkeypatch, bare_model):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    classifier = EmotionClassifier(bare_model, engine="lite")
    assert classifier.engine.name == "lite"
    assert classifier.classify_batch(np.zeros((1, 48, 48, 1), np.float32)).shape == (1, 7)


def test_without_tensorflow_a_model_with_no_copy_says_what_to_install(cache, bare_model, monkeypatch):
    monkeypatch.setitem(sys.modules, "fakeblock.core.networks", None)  # as if Keras were not installed
    with pytest.raises(FakeBlockError, match="converting it needs TensorFlow: .*requirements-train.txt"):
        EmotionClassifier(bare_model, engine="lite")
    with pytest.raises(FakeBlockError, match="--engine keras needs TensorFlow"):
        EmotionClassifier(bare_model, engine="keras")


def test_the_app_never_imports_tensorflow_or_keras(tmp_path, trained_model, astronaut_face):
    import cv2
    photo = tmp_path / "face.png"
    cv2.imwrite(str(photo), astronaut_face)
    script = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); sys.argv = ['WebCam.py']\n"
              "from fakeblock.app.cli import main\n"
              f"code = main(['--source', {str(photo)!r}, '--headless', '--json', '-',"
              f" '--model', {str(trained_model)!r}])\n"
              "import fakeblock\n"
              "faces = fakeblock.analyze_image(" + repr(str(photo)) + ", model=" + repr(str(trained_model)) + ")\n"
              "print(code, len(faces), sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "0 1 []"


def test_training_without_tensorflow_says_what_to_install(monkeypatch, capsys):
    import BuildTrainTestCNN
    from fakeblock.core import quiet_imports
    monkeypatch.setattr(quiet_imports, "missing_training_packages", lambda: ["tensorflow", "keras"])
    assert BuildTrainTestCNN.main([]) == 2
    error = capsys.readouterr().err
    assert error.strip().splitlines() == ["error: training needs tensorflow, keras: "
                                          "python -m pip install -r requirements-train.txt"]


def test_training_needs_the_keras_backend_it_runs_on(monkeypatch):
    from fakeblock.core import quiet_imports
    present = {"keras", "sklearn", "jax"}
    monkeypatch.setattr(quiet_imports, "installed", lambda module: module in present)
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert quiet_imports.missing_training_packages() == []  # a GPU machine with JAX and no TensorFlow
    monkeypatch.delenv("KERAS_BACKEND")
    assert quiet_imports.missing_training_packages() == ["tensorflow"]


def test_a_model_trained_without_tensorflow_is_saved_without_its_lite_copy(monkeypatch, tmp_path, caplog):
    from fakeblock.core import quiet_imports
    from fakeblock.core.networks import build_model
    from fakeblock.training import saving
    monkeypatch.setattr(quiet_imports, "installed", lambda module: module != "tensorflow")
    path = tmp_path / "gpu.keras"
    saving.save_model_files(build_model("original", 7, augment=False), path, {"model": path.name})
    assert path.is_file() and not path.with_suffix(".tflite").exists()
    assert "files" not in json.loads(path.with_suffix(".json").read_text())
    assert "--calibrate-confidence --model" in caplog.text


def test_a_card_naming_other_classes_than_the_model_scores_is_a_clear_error(bare_model):
    bare_model.with_suffix(".json").write_text(json.dumps({"classes": ["happy", "sad"]}))
    with pytest.raises(FakeBlockError, match="lists 2 classes but the model has 7 outputs"):
        EmotionClassifier(bare_model)
