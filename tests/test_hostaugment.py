"""--host-augmentation: OpenCV changes the training faces on the CPU, outside the model."""

import json

import numpy as np
from conftest import run_script, synthetic_faces
from test_train import assert_measured_on_plain_training_faces

from fakeblock.core.preprocess import images_to_batch
from fakeblock.training.hostaugment import AugmentedFaces, augment_faces


def faces(n: int) -> np.ndarray:
    return images_to_batch(synthetic_faces(n)[0])


def test_augmentation_is_seeded_in_range_and_changes_every_face():
    batch = faces(16)
    changed = augment_faces(batch, np.random.default_rng(1))
    assert changed.shape == batch.shape and changed.dtype == np.float32
    assert changed.min() >= 0 and changed.max() <= 255
    assert (np.abs(changed - batch).mean(axis=(1, 2, 3)) > 1).all()
    np.testing.assert_array_equal(changed, augment_faces(batch, np.random.default_rng(1)))
    assert np.abs(changed - augment_faces(batch, np.random.default_rng(2))).mean() > 1
    np.testing.assert_array_equal(batch, faces(16))  # the input is left as it was


def test_batches_cover_every_face_once_an_epoch_in_a_new_order():
    batch = faces(10)
    targets = np.eye(10, dtype=np.float32)  # row i marks face i
    data = AugmentedFaces(batch, targets, batch_size=4, seed=0)
    assert len(data) == 3

    def epoch():
        seen = np.concatenate([data[i][1] for i in range(len(data))])
        assert [data[i][0].shape for i in range(len(data))] == [(4, 48, 48, 1)] * 2 + [(2, 48, 48, 1)]
        np.testing.assert_array_equal(seen.sum(axis=0), np.ones(10))
        return seen.argmax(axis=1)

    first, first_batch = epoch(), data[0][0]
    np.testing.assert_array_equal(first_batch, data[0][0])  # the same batch, the same faces
    data.start_epoch(1)
    assert not np.array_equal(first, epoch())


class RecordedFaces(AugmentedFaces):
    """Notes which epoch each batch was served for."""

    def __getitem__(self, index):
        self.served.append(self.epoch)
        return super().__getitem__(index)


def test_a_resumed_run_goes_on_with_the_epochs_it_had_not_trained():
    from fakeblock.core.quiet_imports import import_keras
    keras = import_keras()
    data = RecordedFaces(faces(8), np.eye(2, dtype=np.float32)[[0, 1] * 4], batch_size=4, seed=0, workers=1)
    data.served = []
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    model.compile(loss="mse")
    model.fit(data, epochs=4, initial_epoch=2, callbacks=[data.follow_epochs()], verbose=0)  # as --resume after 2
    assert data.served[-4:] == [2, 2, 3, 3]  # before them, Keras reads a batch or two to learn the shapes


def test_training_with_host_augmentation(tmp_path, small_csv):
    result = run_script("BuildTrainTestCNN.py", "--data", small_csv, "--epochs", 1, "--host-augmentation",
                        "--out", tmp_path, "--work-dir", tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    assert "Augmenting the training faces on the CPU (OpenCV), outside the model" in result.stdout
    card = json.loads((tmp_path / "fer2013.json").read_text())
    assert card["settings"]["host_augmentation"] is True and card["epochs_run"] == 1
    from fakeblock.core.networks import load_model
    model = load_model(tmp_path / "fer2013.keras")
    assert "augmentation" not in [layer.name for layer in model.layers]
    assert_measured_on_plain_training_faces(tmp_path / "fer2013.keras", small_csv)


def test_host_augmentation_refuses_what_it_cannot_do(tmp_path, small_csv):
    for extra in (["--camera-augmentation"], ["--arch", "original"]):
        result = run_script("BuildTrainTestCNN.py", "--data", small_csv, "--host-augmentation", *extra,
                            "--out", tmp_path, "--work-dir", tmp_path / "runs")
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "--host-augmentation needs the improved recipe, without --camera-augmentation" in result.stderr


def test_host_augmentation_changes_faces_as_much_as_the_keras_layers():
    from fakeblock.core.networks import augmentation
    batch = faces(512)
    by_layers = np.asarray(augmentation(7)(batch, training=True))
    on_host = augment_faces(batch, np.random.default_rng(7))

    def change(augmented):
        """Mean absolute change, and the spread of the brightness shift."""
        return (np.abs(augmented - batch).mean(),
                (augmented.mean(axis=(1, 2, 3)) - batch.mean(axis=(1, 2, 3))).std())

    for host, layers in zip(change(on_host), change(by_layers), strict=True):
        assert 0.85 < host / layers < 1.15, (host, layers)
