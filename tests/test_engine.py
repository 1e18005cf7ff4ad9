"""The TensorFlow Lite engine: same scores as Keras, converted once and cached."""

import numpy as np
import pytest

from fakeblock.classify import EmotionClassifier


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "fakeblock" / "lite"


def test_lite_scores_match_keras_for_any_batch_size(trained_model):
    lite = EmotionClassifier(trained_model, engine="lite")
    keras = EmotionClassifier(trained_model, engine="keras")
    assert (lite.engine.name, keras.engine.name) == ("lite", "keras")
    faces = np.random.default_rng(0).uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    for n in (1, 4, 1, 2):  # the interpreter is resized between sizes
        np.testing.assert_allclose(lite.classify_batch(faces[:n]), keras.classify_batch(faces[:n]),
                                   atol=1e-5)


def test_conversion_is_cached_per_model_file(cache, trained_model):
    EmotionClassifier(trained_model, engine="lite")
    [converted] = cache.glob("*.tflite")
    stamp = converted.stat().st_mtime_ns
    EmotionClassifier(trained_model, engine="lite")
    assert [p.name for p in cache.iterdir()] == [converted.name]  # reused, no partial files
    assert converted.stat().st_mtime_ns == stamp


def test_unwritable_cache_still_runs_the_lite_engine(tmp_path, monkeypatch, trained_model):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    classifier = EmotionClassifier(trained_model, engine="lite")
    assert classifier.engine.name == "lite"
    assert classifier.classify_batch(np.zeros((1, 48, 48, 1), np.float32)).shape == (1, 7)
