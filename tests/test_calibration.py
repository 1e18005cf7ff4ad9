"""Calibrated confidence: the curve, its measures, the card, every path that
scores faces, and the "uncertain" flag (--min-confidence)."""

import json

import cv2
import numpy as np
import pandas as pd
import pytest
from conftest import run_script
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fakeblock.core.calibration import LEVELS, calibrate, fit_confidence_curve, reliability
from fakeblock.core.errors import FakeBlockError


def overconfident_scores(n, seed):
    """Scores whose top class is right only as often as the square of its score."""
    rng = np.random.default_rng(seed)
    top = rng.uniform(0.5, 1.0, n)
    right = rng.random(n) < top ** 2
    labels = np.where(right, 0, 1 + rng.integers(0, 6, n))
    rest = rng.dirichlet(np.ones(6), n) * (1 - top)[:, None]
    return np.column_stack([top, rest]).astype(np.float32), labels


def test_ece_of_known_scores():
    scores = np.array([[0.9, 0.1]] * 10 + [[0.6, 0.4]] * 10)
    labels = np.array([0] * 9 + [1] + [0] * 3 + [1] * 7)  # 90 % right at 0.9, 30 % at 0.6
    measured = reliability(scores, labels)
    assert measured["ece"] == pytest.approx(0.5 * 0.0 + 0.5 * 0.3)
    assert measured["mean_confidence"] == pytest.approx(0.75)


def test_the_curve_fitted_on_one_sample_calibrates_another():
    fit_scores, fit_labels = overconfident_scores(4000, seed=1)
    scores, labels = overconfident_scores(4000, seed=2)
    curve = fit_confidence_curve(fit_scores, fit_scores.argmax(1) == fit_labels)
    before, after = reliability(scores, labels)["ece"], reliability(calibrate(scores, curve), labels)["ece"]
    assert before > 0.1 and after < 0.03


def test_calibrated_confidence_takes_a_few_values():
    fit_scores, fit_labels = overconfident_scores(4000, seed=1)
    curve = fit_confidence_curve(fit_scores, fit_scores.argmax(1) == fit_labels)
    assert (np.diff(curve["top_score"]) > 0).all() and (np.diff(curve["calibrated"]) >= 0).all()
    top = np.random.default_rng(2).uniform(0.5, 1.0, 4000)
    scores = np.column_stack([top] + [(1 - top) / 6] * 6)  # no close runner-up
    assert len(np.unique(calibrate(scores, curve).max(axis=1).round(5))) == LEVELS


def test_a_curve_fitted_on_faces_all_scored_alike_is_flat():
    scores = np.tile([[0.6, 0.3, 0.1]], (10, 1))
    curve = fit_confidence_curve(scores, np.arange(10) < 4)
    np.testing.assert_allclose(curve["calibrated"], 0.4)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, (20, 8), elements=st.floats(0.0009765625, 1.0, width=32)))
def test_calibration_keeps_the_top_class_and_sums_to_one(raw):
    scores = raw / raw.sum(axis=1, keepdims=True)
    fit_scores, fit_labels = overconfident_scores(500, seed=3)
    curve = fit_confidence_curve(np.column_stack([fit_scores, np.zeros(500)]), fit_scores.argmax(1) == fit_labels)
    calibrated = calibrate(scores, curve)
    np.testing.assert_array_equal(calibrated.argmax(axis=1), scores.argmax(axis=1))
    np.testing.assert_allclose(calibrated.sum(axis=1), 1, atol=1e-5)
    assert (calibrated >= 0).all() and calibrated.max() <= 0.99 + 1e-6


@pytest.fixture(scope="module")
def calibrated_model(tmp_path_factory, trained_model):
    """The tiny trained model, copied with its card (which training calibrated)."""
    folder = tmp_path_factory.mktemp("calibrated")
    for suffix in (".keras", ".json"):
        (folder / f"model{suffix}").write_bytes(trained_model.with_suffix(suffix).read_bytes())
    return folder / "model.keras"


def test_training_calibrates_and_evaluate_reports_ece(tmp_path, small_csv, trained_model):
    card = json.loads(trained_model.with_suffix(".json").read_text())
    assert {"plain", "tta", "method", "fitted_on"} <= set(card["calibration"])
    assert {"ece", "mean_confidence"} <= set(card["metrics"]["validation"])
    assert trained_model.with_name(f"{trained_model.stem}-reliability.png").stat().st_size > 0
    report = tmp_path / "report.json"
    result = run_script("BuildTrainTestCNN.py", "--evaluate", "--data", small_csv, "--model", trained_model,
                        "--usage", "PrivateTest", "--report-json", report, "--cache-dir", tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    assert "ECE" in result.stdout and "mean confidence" in result.stdout
    metrics = json.loads(report.read_text())
    assert 0 <= metrics["ece"] <= 1 and 0 < metrics["mean_confidence"] <= 1
    assert (tmp_path / "report-reliability.png").stat().st_size > 0


def test_calibrate_confidence_rewrites_the_card_not_the_model(tmp_path, small_csv, calibrated_model):
    card_path = calibrated_model.with_suffix(".json")
    card = json.loads(card_path.read_text())
    del card["calibration"]
    card_path.write_text(json.dumps(card))
    model_bytes = calibrated_model.read_bytes()
    result = run_script("BuildTrainTestCNN.py", "--calibrate-confidence", "--data", small_csv,
                        "--model", calibrated_model, "--cache-dir", tmp_path / "cache", "--photo-rule", "0.3")
    assert result.returncode == 0, result.stderr
    card = json.loads(card_path.read_text())
    assert {"plain", "tta", "photo"} <= set(card["calibration"])
    rule = card["photo_rule"]
    assert rule["tta"] and rule["tau"] == 0.3 and len(rule["class_weights"]) == 7
    assert np.mean(rule["class_weights"]) == pytest.approx(1, abs=1e-4)
    assert calibrated_model.read_bytes() == model_bytes


def test_the_photo_rule_applies_to_photos_and_not_to_video_frames(tmp_path, calibrated_model, astronaut_face):
    import shutil

    from fakeblock.app.classify import EmotionClassifier
    for suffix in (".keras", ".tflite"):
        shutil.copy(calibrated_model.with_suffix(suffix), tmp_path / f"m{suffix}")
    card = json.loads(calibrated_model.with_suffix(".json").read_text())
    card["photo_rule"] = {"tta": True, "class_weights": [1, 1, 1, 1, 1, 1000, 1]}  # surprise above all
    (tmp_path / "m.json").write_text(json.dumps(card))
    batch = cv2.resize(cv2.cvtColor(astronaut_face, cv2.COLOR_BGR2GRAY), (48, 48)).astype(np.float32)[None, :, :, None]
    photo = EmotionClassifier(tmp_path / "m.keras", photos=True)
    video = EmotionClassifier(tmp_path / "m.keras")
    assert photo.tta and not video.tta
    assert photo.classify_batch(batch).argmax() == 5
    np.testing.assert_allclose(video.classify_batch(batch),
                               EmotionClassifier(calibrated_model).classify_batch(batch), atol=1e-6)
    card["photo_rule"]["class_weights"] = [1, 1, 1, -1, 1, 1, 1]
    (tmp_path / "m.json").write_text(json.dumps(card))
    with pytest.raises(FakeBlockError, match="one finite, positive weight per class"):
        EmotionClassifier(tmp_path / "m.keras", photos=True)


def test_the_app_reports_the_calibrated_scores(calibrated_model, astronaut_face):
    from fakeblock.app.classify import EmotionClassifier
    from fakeblock.core.calibration import card_curve
    from fakeblock.core.modelfile import read_card
    from fakeblock.core.networks import load_model

    batch = cv2.resize(cv2.cvtColor(astronaut_face, cv2.COLOR_BGR2GRAY), (48, 48)).astype(np.float32)[None, :, :, None]
    raw = np.asarray(load_model(calibrated_model).predict_on_batch(batch))
    expected = calibrate(raw, card_curve(read_card(calibrated_model), tta=False))
    for engine, tolerance in (("keras", 1e-5), ("lite", 0.03)):  # the TF Lite copy's weights are 8-bit
        np.testing.assert_allclose(EmotionClassifier(calibrated_model, engine=engine).classify_batch(batch),
                                   expected, atol=tolerance)


def run_photo(tmp_path, model, astronaut_face, *flags):
    tmp_path.mkdir()
    photo = tmp_path / "face.png"
    frame = np.full((300, 300, 3), 80, np.uint8)
    frame[70:220, 70:220] = astronaut_face
    cv2.imwrite(str(photo), frame)
    jsonl, summary = tmp_path / "f.jsonl", tmp_path / "summary"
    result = run_script("WebCam.py", "--source", photo, "--headless", "--json", jsonl, "--summary", summary,
                        "--output", tmp_path / "drawn.png", "--model", model, *flags)
    assert result.returncode == 0, result.stderr
    face = json.loads(jsonl.read_text())["faces"][0]
    return face, pd.read_csv(summary / "timeline.csv"), json.loads((summary / "summary.json").read_text())


def test_a_face_under_min_confidence_is_flagged_uncertain_and_one_above_is_not(tmp_path, calibrated_model,
                                                                              astronaut_face):
    face, _, _ = run_photo(tmp_path / "probe", calibrated_model, astronaut_face, "--min-confidence", "0")
    confidence = face["confidence"]
    above, timeline, summary = run_photo(tmp_path / "above", calibrated_model, astronaut_face,
                                         "--min-confidence", str(confidence - 0.005))
    below, timeline_below, summary_below = run_photo(tmp_path / "below", calibrated_model, astronaut_face,
                                                     "--min-confidence", str(confidence + 0.005))
    assert above["uncertain"] is False and below["uncertain"] is True
    assert above["emotion"] == below["emotion"]  # the best guess stays the emotion
    assert list(timeline["uncertain"]) == [False] and list(timeline_below["uncertain"]) == [True]
    assert summary["overall"]["uncertain_share"] == 0 and summary_below["overall"]["uncertain_share"] == 1
    drawn_above = cv2.imread(str(tmp_path / "above" / "drawn.png"))
    drawn_below = cv2.imread(str(tmp_path / "below" / "drawn.png"))
    assert not np.array_equal(drawn_above, drawn_below)  # drawn differently


def test_uncertain_face_is_drawn_gray_and_a_sure_one_in_its_colour():
    from fakeblock.app.overlay import render
    from fakeblock.core.emotions import COLORS_BGR
    frame = np.zeros((240, 320, 3), np.uint8)
    face = {"box": [100, 80, 60, 60], "emotion": "happy", "confidence": 0.41,
            "scores": {"happy": 0.41, "sad": 0.59}, "track": 1}
    unsure = render(frame, [{**face, "uncertain": True}], ("happy", "sad"))[110, 100]  # the box's left edge
    sure = render(frame, [{**face, "uncertain": False}], ("happy", "sad"))[110, 100]
    assert unsure[0] == unsure[1] == unsure[2] > 100
    assert tuple(sure) == COLORS_BGR["happy"]


def test_min_confidence_out_of_range_is_a_flag_error():
    result = run_script("WebCam.py", "--min-confidence", "1.5")
    assert result.returncode == 2 and "--min-confidence must be between 0 and 1" in result.stderr


def test_a_ferplus_model_is_calibrated_against_the_annotators_vote_share():
    from fakeblock.core.calibration import agreement
    scores = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3]])
    votes = np.array([[0.6, 0.4, 0.0], [0.1, 0.3, 0.6]])
    np.testing.assert_allclose(agreement(scores, np.array([0, 2])), [1.0, 0.0])  # against the label
    np.testing.assert_allclose(agreement(scores, np.array([0, 2]), votes), [0.6, 0.3])  # share who chose it
    no_votes = np.array([[0.6, 0.4, 0.0], [np.nan] * 3])
    np.testing.assert_allclose(agreement(scores, np.array([0, 1]), no_votes), [0.6, 1.0])  # no votes: the label
    measured = reliability(scores, np.array([0, 2]), votes=votes)
    assert measured["ece"] == pytest.approx((abs(0.7 - 0.6) + abs(0.5 - 0.3)) / 2)
