"""BuildTrainTestCNN.py end to end: tiny training runs, their settings, evaluation, bad input."""

import json
import zipfile

import numpy as np
import pytest
from conftest import run_script, synthetic_faces, write_fer_csv


def batchnorm_statistics(model) -> list:
    from fakeblock.core.networks import batchnorm_layers
    return [v.numpy().copy() for layer in batchnorm_layers(model)
            for v in (layer.moving_mean, layer.moving_variance)]


def assert_measured_on_plain_training_faces(model_path, csv):
    """The saved BatchNorm statistics are those measured on the un-augmented calibration faces."""
    from fakeblock.core.networks import load_model, recalibrate_batchnorm
    from fakeblock.training.data import load_dataset
    from fakeblock.training.fitting import calibration_faces

    model = load_model(model_path)
    saved = batchnorm_statistics(model)
    recalibrate_batchnorm(model, calibration_faces(load_dataset(csv).split("Training"), 1337))
    for old, new in zip(saved, batchnorm_statistics(model), strict=True):
        np.testing.assert_allclose(old, new, rtol=1e-4, atol=1e-6)


def test_tiny_training_run_writes_model_card_and_plots(trained_model):
    out = trained_model.parent
    card = json.loads((out / "fer2013.json").read_text())
    assert card["classes"] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert card["architecture"] == "default" and card["epochs_run"] == 1
    assert card["data"]["sizes"] == {"train": 140, "validation": 70, "test": 70}
    assert len(card["data"]["sha256"]) == 64 and card["parameters"] > 100_000
    assert {"validation", "test"} <= set(card["metrics"])
    assert card["batchnorm_statistics"] == "measured on 4096 un-augmented training faces"
    for plot in ("fer2013-curves.png", "fer2013-confusion.png"):
        assert (out / plot).stat().st_size > 1000
    from fakeblock.core.networks import load_model
    model = load_model(trained_model)
    assert model.output_shape == (None, 7)
    with zipfile.ZipFile(trained_model) as archive:  # saved for inference: no optimizer state
        assert not json.loads(archive.read("config.json")).get("compile_config")


def test_original_network_with_the_original_recipe(tmp_path, small_csv):
    result = run_script("BuildTrainTestCNN.py", "--data", small_csv, "--arch", "original",
                        "--epochs", 1, "--out", tmp_path, "--work-dir", tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    card = json.loads((tmp_path / "fer2013-original-original.json").read_text())
    assert card["settings"]["optimizer"] == "sgd" and card["settings"]["loss"] == "mse"
    assert card["settings"]["batch_size"] == 50 and card["parameters"] == 257735
    assert card["batchnorm_statistics"] is None
    result = run_script("BuildTrainTestCNN.py", "--recalibrate", "--data", small_csv,
                        "--model", tmp_path / "fer2013-original-original.keras")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "fer2013-original-original.keras: the original network has no BatchNorm layers" in result.stderr


def test_training_measures_batchnorm_statistics_on_plain_faces(small_csv, trained_model):
    assert_measured_on_plain_training_faces(trained_model, small_csv)


def test_recalibrate_mends_an_older_model_and_its_card(tmp_path, small_csv, trained_model):
    from fakeblock.core.atomic import save_model
    from fakeblock.core.networks import batchnorm_layers, load_model

    older = load_model(trained_model)
    for layer in batchnorm_layers(older):  # as if measured on augmented faces
        layer.moving_mean.assign(layer.moving_mean + 0.5)
    save_model(older, tmp_path / "older.keras")
    card = json.loads(trained_model.with_suffix(".json").read_text())
    del card["batchnorm_statistics"], card["metrics"]
    (tmp_path / "older.json").write_text(json.dumps(card))
    result = run_script("BuildTrainTestCNN.py", "--recalibrate", "--data", small_csv,
                        "--model", tmp_path / "older.keras")
    assert result.returncode == 0, result.stderr
    assert "older.keras, recalibrated on validation: accuracy" in result.stdout
    for old, new in zip(batchnorm_statistics(load_model(trained_model)),
                        batchnorm_statistics(load_model(tmp_path / "older.keras")), strict=True):
        np.testing.assert_allclose(old, new, rtol=1e-4, atol=1e-6)
    card = json.loads((tmp_path / "older.json").read_text())
    assert card["batchnorm_statistics"] == "measured on 4096 un-augmented training faces"
    assert card["metrics"]["validation"]["n"] == 70 and card["epochs_run"] == 1
    assert (tmp_path / "older-confusion.png").stat().st_size > 1000


def test_init_from_starts_where_a_saved_model_left_off(tmp_path, small_csv, trained_model):
    result = run_script("BuildTrainTestCNN.py", "--data", small_csv, "--epochs", 1,
                        "--init-from", trained_model, "--learning-rate", 1e-9,
                        "--out", tmp_path, "--work-dir", tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    card = json.loads((tmp_path / "fer2013.json").read_text())
    assert card["initialised_from"]["model"] == trained_model.name
    assert card["initialised_from"]["epochs"] == 1 and card["settings"]["learning_rate"] == 1e-9
    from fakeblock.core.networks import load_model
    before, after = load_model(trained_model), load_model(tmp_path / "fer2013.keras")
    for old, new in zip(before.trainable_weights, after.trainable_weights):  # lr ~0: they stay
        np.testing.assert_allclose(old.numpy(), new.numpy(), atol=1e-4)


def test_teacher_targets_blend_labels_with_the_teachers_scores(small_csv, trained_model):
    from fakeblock.core.networks import load_model
    from fakeblock.training.data import load_dataset
    from fakeblock.training.evaluate import predict_scores
    from fakeblock.training.targets import distilled_targets, targets
    faces = load_dataset(small_csv).split("Training")
    teacher = {"model": trained_model.name, "path": str(trained_model)}
    blended = distilled_targets(targets(faces, "single"), faces.images, [teacher, teacher], 0.25, faces.classes)
    scores = predict_scores(load_model(trained_model), faces.images)
    np.testing.assert_allclose(blended, 0.75 * np.eye(7)[faces.labels] + 0.25 * scores, atol=1e-6)
    np.testing.assert_allclose(blended.sum(axis=1), 1, atol=1e-5)


def test_a_teacher_of_seven_classes_teaches_an_eight_class_student_by_name(small_csv, trained_model):
    from fakeblock.core.emotions import FERPLUS
    from fakeblock.core.networks import load_model
    from fakeblock.training.data import load_dataset
    from fakeblock.training.evaluate import predict_scores
    from fakeblock.training.targets import distilled_targets
    faces = load_dataset(small_csv).split("Training")
    teacher = {"model": trained_model.name, "path": str(trained_model), "classes": list(faces.classes)}
    student_targets = np.full((len(faces), 8), 1 / 8, np.float32)
    blended = distilled_targets(student_targets, faces.images, [teacher], 0.5, FERPLUS)
    scores = predict_scores(load_model(trained_model), faces.images)
    np.testing.assert_allclose(blended[:, :7], 0.5 / 8 + 0.5 * scores, atol=1e-6)  # FERPLUS = FER2013 + contempt
    np.testing.assert_allclose(blended[:, 7], 0.5 / 8, atol=1e-6)  # the teacher has no contempt


def test_training_with_a_teacher_records_it(tmp_path, small_csv, trained_model):
    result = run_script("BuildTrainTestCNN.py", "--data", small_csv, "--epochs", 1, "--arch", "original",
                        "--teacher", trained_model, "--out", tmp_path, "--work-dir", tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    card = json.loads((tmp_path / "fer2013-original-original.json").read_text())
    assert card["teachers"] == [trained_model.name] and card["settings"]["teacher_weight"] == 0.5


def test_camera_augmentation_is_recorded_and_refused_for_the_original_network(tmp_path, small_csv):
    from fakeblock.training.data import load_dataset
    from fakeblock.training.runs import new_config
    config = new_config(load_dataset(small_csv, cache_dir=tmp_path), camera=True)
    assert config.recipe_settings["camera"] is True  # the card's settings, and --resume, keep it
    result = run_script("BuildTrainTestCNN.py", "--data", small_csv, "--arch", "original", "--camera-augmentation",
                        "--out", tmp_path, "--work-dir", tmp_path / "runs")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--camera-augmentation needs the default network" in result.stderr


def test_logit_adjustment_charges_more_for_missing_a_rare_class(tmp_path, small_csv):
    import keras

    from fakeblock.training.data import load_dataset
    from fakeblock.training.losses import LogitAdjustedCrossentropy
    from fakeblock.training.runs import new_config
    plain = keras.losses.CategoricalCrossentropy()
    adjusted = LogitAdjustedCrossentropy([0.8, 0.2], 1.0)
    unsure = np.array([[0.5, 0.5]], np.float32)
    rare, common = np.array([[0.0, 1.0]], np.float32), np.array([[1.0, 0.0]], np.float32)
    assert float(adjusted(rare, unsure)) > float(plain(rare, unsure)) > float(adjusted(common, unsure))
    balanced = LogitAdjustedCrossentropy([0.5, 0.5], 1.0)
    assert float(balanced(rare, unsure)) == pytest.approx(float(plain(rare, unsure)))
    again = keras.losses.deserialize(keras.losses.serialize(adjusted))
    assert float(again(rare, unsure)) == pytest.approx(float(adjusted(rare, unsure)))
    from fakeblock.core.networks import build_model
    model = build_model("original", 7, augment=False)
    model.compile(loss=LogitAdjustedCrossentropy([1 / 7] * 7, 0.5))
    keras.models.clone_model(model)  # as the best-epoch checkpoint does
    config = new_config(load_dataset(small_csv, cache_dir=tmp_path), logit_adjustment=0.5)
    assert config.recipe_settings["logit_adjustment"] == 0.5  # the card's settings, and --resume, keep it


@pytest.mark.parametrize(("args", "message"), [
    (["--logit-adjustment", "-1"], "--logit-adjustment must be from 0 to 2"),
    (["--teacher-weight", "1.5"], "--teacher-weight must be above 0 and at most 1"),
    (["--teacher", "missing.keras"], "missing.keras"),
])
def test_bad_teacher_arguments(tmp_path, small_csv, args, message):
    result = run_script("BuildTrainTestCNN.py", "--data", small_csv, *args,
                        "--out", tmp_path, "--work-dir", tmp_path / "runs")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr


def test_init_from_a_model_of_other_classes_lends_all_but_its_classifier(tmp_path):
    from fakeblock.core.networks import CLASSIFIER, build_model
    from fakeblock.training.references import copy_weights
    eight = build_model("default", 8)
    eight.save(tmp_path / "ferplus.keras")
    seven = build_model("default", 7, seed=3)
    new_classifier = seven.get_layer(CLASSIFIER).get_weights()
    copy_weights(tmp_path / "ferplus.keras", seven)
    for mine, theirs in zip(seven.layers[:-1], eight.layers[:-1]):
        for a, b in zip(mine.get_weights(), theirs.get_weights()):
            np.testing.assert_array_equal(a, b)
    for a, b in zip(seven.get_layer(CLASSIFIER).get_weights(), new_classifier):
        np.testing.assert_array_equal(a, b)


def test_ema_saves_the_moving_average_of_the_weights(tmp_path, small_csv, trained_model):
    from fakeblock.core.networks import load_model
    start = load_model(trained_model).trainable_weights
    moved = {}
    for flags in ([], ["--ema"]):  # 2 steps at a high learning rate, from the same start
        out = tmp_path / (flags[0][2:] if flags else "plain")
        result = run_script("BuildTrainTestCNN.py", "--data", small_csv, "--epochs", 1, *flags,
                            "--init-from", trained_model, "--learning-rate", 0.05,
                            "--out", out, "--work-dir", out / "runs")
        assert result.returncode == 0, result.stderr
        assert json.loads((out / "fer2013.json").read_text())["settings"].get("ema", False) == bool(flags)
        moved[bool(flags)] = np.mean([np.abs(old.numpy() - new.numpy()).mean() for old, new in
                                      zip(start, load_model(out / "fer2013.keras").trainable_weights)])
    assert moved[True] < 0.9 * moved[False]  # the average lags behind the last step (same runs otherwise)
    assert_measured_on_plain_training_faces(tmp_path / "ema" / "fer2013.keras", small_csv)  # of the average


def test_init_from_a_model_of_another_network_is_refused(tmp_path, small_csv, trained_model):
    result = run_script("BuildTrainTestCNN.py", "--data", small_csv, "--arch", "original",
                        "--init-from", trained_model, "--out", tmp_path, "--work-dir", tmp_path / "runs")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "it is the default network, not --arch original" in result.stderr


def test_random_split_is_reproducible(tmp_path):
    images, labels = synthetic_faces(70)
    csv = write_fer_csv(tmp_path / "train-only.csv", images, labels, ["Training"] * 70)
    from fakeblock.training.data import load_dataset
    from fakeblock.training.runs import choose_splits
    data = load_dataset(csv)
    first, second = choose_splits(data, "random", 7), choose_splits(data, "random", 7)
    assert len(first[0]) == 56 and len(first[1]) == 14 and first[2] is None
    np.testing.assert_array_equal(first[1].images, second[1].images)


def test_evaluate_json_has_the_documented_keys_and_known_numbers(tmp_path):
    """A model that always answers 'happy', on faces of which 3 in 7 are happy."""
    from fakeblock.core.atomic import save_model
    from fakeblock.core.quiet_imports import import_keras
    keras = import_keras()
    faces = keras.Input((48, 48, 1))
    always_happy = keras.layers.Dense(7, activation="softmax", kernel_initializer="zeros",
                                      bias_initializer=keras.initializers.Constant(
                                          [0, 0, 0, 5, 0, 0, 0]))(keras.layers.Flatten()(faces))
    model_path = tmp_path / "happy.keras"
    save_model(keras.Model(faces, always_happy), model_path)
    images, _ = synthetic_faces(7)
    labels = np.array([3, 3, 3, 0, 4, 6, 6])
    csv = write_fer_csv(tmp_path / "known.csv", images, labels, ["PublicTest"] * 7)
    report = tmp_path / "report.json"
    result = run_script("BuildTrainTestCNN.py", "--evaluate", "--model", model_path, "--data", csv,
                        "--report-json", report)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(report.read_text())
    assert set(metrics) == {"accuracy", "macro_f1", "n", "per_class", "confusion", "ece",
                            "mean_confidence", "calibrated_against", "reliability"}
    assert metrics["calibrated_against"] == "label"  # FER2013 data: right or wrong; FER+: the vote share
    assert metrics["n"] == 7 and metrics["accuracy"] == pytest.approx(3 / 7)
    happy_score = np.exp(5) / (np.exp(5) + 6)  # no card, so no calibration: the raw top score
    assert metrics["mean_confidence"] == pytest.approx(happy_score, abs=1e-5)
    assert metrics["ece"] == pytest.approx(happy_score - 3 / 7, abs=1e-5)
    happy = metrics["per_class"]["happy"]
    assert happy == {"precision": pytest.approx(3 / 7), "recall": 1.0,
                     "f1": pytest.approx(0.6), "support": 3}
    assert metrics["macro_f1"] == pytest.approx(0.6 / 7)
    assert [row[3] for row in metrics["confusion"]] == [1, 0, 0, 3, 1, 0, 2]
    assert "accuracy 42.86%" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--data", "missing.csv"], "missing.csv: no such file or folder"),
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--evaluate", "--model", "nowhere.keras"], "nowhere.keras: no such model"),
])
def test_bad_arguments_give_one_line_errors(tmp_path, args, message):
    result = run_script("BuildTrainTestCNN.py", *args, "--work-dir", tmp_path, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
