"""The networks' shapes, and saving and loading models."""

import numpy as np
import pytest

from fakeblock.errors import FakeBlockError
from fakeblock.models import build_model, load_model


@pytest.mark.parametrize("arch, classes", [("default", 7), ("original", 7), ("default", 8)])
def test_shapes(arch, classes):
    model = build_model(arch, classes)
    assert model.input_shape == (None, 48, 48, 1)
    assert model.output_shape == (None, classes)
    scores = model.predict(np.zeros((3, 48, 48, 1), np.float32), verbose=0)
    np.testing.assert_allclose(scores.sum(axis=1), 1, rtol=1e-5)


def test_original_network_is_the_original_layer_for_layer():
    model = build_model("original", 7, augment=False)
    convs = [(l.filters, l.kernel_size) for l in model.layers if l.__class__.__name__ == "Conv2D"]
    assert convs == [(64, (5, 5)), (64, (5, 5)), (128, (4, 4))]
    pools = [(l.pool_size, l.strides) for l in model.layers if l.__class__.__name__ == "MaxPooling2D"]
    assert pools == [((3, 3), (2, 2))] * 2
    assert [l.rate for l in model.layers if l.__class__.__name__ == "Dropout"] == [0.3]
    # 0.26 M parameters, as the original project's network
    assert model.count_params() == 1664 + 102464 + 131200 + (5 * 5 * 128) * 7 + 7


def test_augmentation_is_inactive_at_inference():
    model = build_model("default", 7, augment=True)
    faces = np.random.default_rng(0).uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    np.testing.assert_allclose(model.predict(faces, verbose=0), model.predict(faces, verbose=0))


def test_save_load_round_trip_gives_identical_predictions(tmp_path):
    from fakeblock.atomic import save_model

    model = build_model("default", 7)
    path = tmp_path / "m.keras"
    save_model(model, path)
    faces = np.random.default_rng(1).uniform(0, 255, (5, 48, 48, 1)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(faces, verbose=0),
                                  load_model(path).predict(faces, verbose=0))
    assert not list(tmp_path.glob(".*partial*"))


def test_missing_model_says_how_to_train(tmp_path):
    with pytest.raises(FakeBlockError, match="no such model.*BuildTrainTestCNN.py"):
        load_model(tmp_path / "none.keras")


def test_corrupt_model_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(FakeBlockError, match="broken.keras: cannot load the model"):
        load_model(path)
