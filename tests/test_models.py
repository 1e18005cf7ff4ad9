"""The networks' shapes, and saving and loading models."""

import numpy as np
import pytest

from fakeblock.core.errors import FakeBlockError
from fakeblock.core.networks import build_model, load_model, recalibrate_batchnorm


@pytest.mark.parametrize("arch, classes", [("default", 7), ("original", 7), ("default", 8), ("wide", 7)])
def test_shapes(arch, classes):
    model = build_model(arch, classes)
    assert model.input_shape == (None, 48, 48, 1)
    assert model.output_shape == (None, classes)
    scores = model.predict(np.zeros((3, 48, 48, 1), np.float32), verbose=0)
    np.testing.assert_allclose(scores.sum(axis=1), 1, rtol=1e-5)


def test_wide_network_is_the_default_twice_as_wide():
    default, wide = build_model("default", 7), build_model("wide", 7)
    assert [type(layer) for layer in wide.layers] == [type(layer) for layer in default.layers]
    assert wide.get_layer("stage4_conv2").filters == 2 * default.get_layer("stage4_conv2").filters == 512
    assert 3.9 < wide.count_params() / default.count_params() < 4.1  # about 29 MB saved: a teacher only


def test_original_network_is_the_original_layer_for_layer():
    model = build_model("original", 7, augment=False)

    def layers(kind):
        return [layer for layer in model.layers if layer.__class__.__name__ == kind]

    convs = [(conv.filters, conv.kernel_size) for conv in layers("Conv2D")]
    assert convs == [(64, (5, 5)), (64, (5, 5)), (128, (4, 4))]
    assert [(pool.pool_size, pool.strides) for pool in layers("MaxPooling2D")] == [((3, 3), (2, 2))] * 2
    assert [dropout.rate for dropout in layers("Dropout")] == [0.3]
    # 0.26 M parameters, as the original project's network
    assert model.count_params() == 1664 + 102464 + 131200 + (5 * 5 * 128) * 7 + 7


def test_augmentation_is_inactive_at_inference():
    model = build_model("default", 7, augment=True)
    faces = np.random.default_rng(0).uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    np.testing.assert_allclose(model.predict(faces, verbose=0), model.predict(faces, verbose=0))


def test_camera_augmentation_changes_training_faces_only():
    from fakeblock.core.networks import augmentation
    faces = np.random.default_rng(0).uniform(0, 255, (8, 48, 48, 1)).astype(np.float32)
    plain, camera = augmentation(1), augmentation(1, camera=True)
    np.testing.assert_array_equal(np.asarray(camera(faces, training=False)), faces)
    assert np.abs(np.asarray(camera(faces, training=True)) - faces).mean() > 1
    assert len(camera.layers) > len(plain.layers)
    model = build_model("default", 7, camera=True)
    assert "sensor_noise" in [layer.name for layer in model.layers]
    np.testing.assert_allclose(model.predict(faces, verbose=0), model.predict(faces, verbose=0))
    assert "sensor_noise" not in [layer.name for layer in build_model("default", 7).layers]


def test_recalibrated_batchnorm_statistics_are_those_of_the_plain_faces():
    from fakeblock.core.quiet_imports import import_keras
    keras = import_keras()

    model = build_model("default", 7, augment=True)
    faces = np.random.default_rng(2).uniform(0, 255, (300, 48, 48, 1)).astype(np.float32)
    assert recalibrate_batchnorm(model, faces, batch_size=128) == 10  # 8 conv + 2 dense layers
    convolved = keras.Model(model.input, model.get_layer("stage1_conv1").output).predict(faces, verbose=0)
    first = model.get_layer("stage1_bn1")
    np.testing.assert_allclose(first.moving_mean.numpy(), convolved.mean(axis=(0, 1, 2)), rtol=1e-4)
    np.testing.assert_allclose(first.moving_variance.numpy(), convolved.var(axis=(0, 1, 2)), rtol=1e-3)
    centred = keras.Model(model.input, first.output).predict(faces, verbose=0).mean(axis=(0, 1, 2))
    np.testing.assert_allclose(centred, first.beta.numpy(), atol=1e-3)


def test_recalibration_leaves_a_network_without_batchnorm_alone():
    model = build_model("original", 7)
    before = model.get_weights()
    assert recalibrate_batchnorm(model, np.zeros((8, 48, 48, 1), np.float32)) == 0
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_save_load_round_trip_gives_identical_predictions(tmp_path):
    from fakeblock.core.atomic import save_model

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
