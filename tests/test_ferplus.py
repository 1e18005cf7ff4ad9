"""FER+ votes: the folder loader, both label modes, evaluation against the majority."""

import json

import cv2
import numpy as np
import pytest
from conftest import SHARED_DATA, run_script, synthetic_faces, write_fer_csv

from fakeblock.core.emotions import FERPLUS
from fakeblock.core.errors import FakeBlockError
from fakeblock.training.data import load_training_data

# Vote columns in file order: neutral, happiness, surprise, sadness, anger, disgust, fear,
# contempt, unknown, NF
VOTES_FOR = {  # FER2013 label -> ten votes with that emotion ahead
    0: [1, 0, 0, 0, 8, 1, 0, 0, 0, 0], 1: [0, 0, 0, 0, 2, 7, 0, 1, 0, 0],
    2: [0, 0, 2, 0, 0, 0, 8, 0, 0, 0], 3: [1, 9, 0, 0, 0, 0, 0, 0, 0, 0],
    4: [2, 0, 0, 8, 0, 0, 0, 0, 0, 0], 5: [0, 1, 9, 0, 0, 0, 0, 0, 0, 0],
    6: [9, 0, 0, 1, 0, 0, 0, 0, 0, 0],
}


def make_ferplus(root, n_train=70, n_valid=21, extra_rows=()):
    images, labels = synthetic_faces(n_train + n_valid)
    for folder, rows in (("FER2013Train", range(n_train)), ("FER2013Valid", range(n_train, n_train + n_valid))):
        (root / folder).mkdir(parents=True)
        lines = []
        for i in rows:
            name = f"fer{i:07d}.png"
            cv2.imwrite(str(root / folder / name), images[i])
            lines.append(f'{name},"(0, 0, 48, 48)",' + ",".join(map(str, VOTES_FOR[labels[i]])))
        if folder == "FER2013Train":
            lines.extend(extra_rows)
        (root / folder / "label.csv").write_text("\n".join(lines) + "\n")
    return root, labels


def test_folder_maps_votes_onto_fer2013_names(tmp_path):
    root, labels = make_ferplus(tmp_path)
    data = load_training_data(root, "ferplus")
    assert data.classes == FERPLUS and data.split_sizes() == {"Training": 70, "PublicTest": 21}
    np.testing.assert_array_equal(data.labels, labels)  # FER+ order puts each emotion where FER2013 does
    np.testing.assert_allclose(data.votes.sum(axis=1), 1)
    assert data.votes[1, FERPLUS.index("contempt")] == pytest.approx(0.1)


def test_not_a_face_rows_are_left_out_and_reported(tmp_path):
    cv2.imwrite(str(tmp_path / "nf.png"), np.zeros((48, 48), np.uint8))
    root, _ = make_ferplus(tmp_path / "fp", extra_rows=['../../nf.png,"(0, 0, 48, 48)",1,0,0,0,0,0,0,0,2,7'])
    data = load_training_data(root, "ferplus")
    assert len(data) == 91 and data.skipped == {"mostly unknown or not a face": 1}


@pytest.mark.parametrize("row, message", [
    ('missing.png,"(0, 0, 48, 48)",1,0,0,0,0,0,0,0,0,0', "label.csv row 71: unreadable image: missing.png"),
    ('fer0000000.png,"(0, 0, 48, 48)",1,x,0,0,0,0,0,0,0,0', "label.csv row 71: bad votes"),
])
def test_broken_label_csv(tmp_path, row, message):
    root, _ = make_ferplus(tmp_path, extra_rows=[row])
    with pytest.raises(FakeBlockError) as error:
        load_training_data(root, "ferplus")
    assert message in str(error.value)


def test_wrong_column_count_and_missing_folders(tmp_path):
    root, _ = make_ferplus(tmp_path / "a")
    (root / "FER2013Valid" / "label.csv").write_text("a,b,c\n")
    with pytest.raises(FakeBlockError, match="3 columns, expected 12"):
        load_training_data(root, "ferplus")
    with pytest.raises(FakeBlockError, match="not a FER\\+ folder"):
        load_training_data(tmp_path, "ferplus")


def test_fer2013_csv_joined_with_fer2013new(tmp_path):
    images, labels = synthetic_faces(14)
    csv = write_fer_csv(tmp_path / "fer2013.csv", images, labels, ["Training"] * 14)
    header = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
    rows = [f"Training,fer{i:07d}.png," + ",".join(map(str, VOTES_FOR[label])) for i, label in enumerate(labels)]
    (tmp_path / "fer2013new.csv").write_text("\n".join([header, *rows]) + "\n")
    data = load_training_data(csv, "ferplus")
    np.testing.assert_array_equal(data.labels, labels)
    (tmp_path / "fer2013new.csv").write_text("\n".join([header, *rows[:5]]) + "\n")
    with pytest.raises(FakeBlockError, match="5 rows"):
        load_training_data(csv, "ferplus")


@pytest.mark.parametrize("mode", ["majority", "probability"])
def test_tiny_training_in_each_label_mode(tmp_path, mode):
    root, _ = make_ferplus(tmp_path / "fp")
    result = run_script("BuildTrainTestCNN.py", "--labels", "ferplus", "--label-mode", mode,
                        "--data", root, "--arch", "original", "--recipe", "improved", "--epochs", 1,
                        "--out", tmp_path, "--work-dir", tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    card = json.loads((tmp_path / "ferplus-original-improved.json").read_text())
    assert card["classes"] == list(FERPLUS) and card["label_mode"] == mode
    assert "vote share" in card["calibration"]["method"]
    report = tmp_path / "report.json"
    result = run_script("BuildTrainTestCNN.py", "--evaluate", "--labels", "ferplus", "--data", root,
                        "--usage", "PublicTest", "--model", tmp_path / "ferplus-original-improved.keras",
                        "--report-json", report)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(report.read_text())
    assert metrics["n"] == 21 and len(metrics["confusion"]) == 8
    assert metrics["calibrated_against"] == "vote share"


@pytest.mark.skipif(not (SHARED_DATA / "ferplus" / "FER2013Valid").is_dir(),
                    reason="the FER+ folders are not at ../shared/data/ferplus")
def test_real_ferplus_valid_folder(tmp_path):
    valid_only = tmp_path / "ferplus"
    valid_only.mkdir()
    (valid_only / "FER2013Valid").symlink_to(SHARED_DATA / "ferplus" / "FER2013Valid")
    data = load_training_data(valid_only, "ferplus")
    assert 3300 < len(data) <= 3579 and data.skipped["mostly unknown or not a face"] > 0


def test_votes_join_fer2013_faces_by_their_pixels_and_blend_into_the_targets(tmp_path):
    from fakeblock.training.data import FaceDataset
    from fakeblock.training.targets import targets, voted_targets

    root, labels = make_ferplus(tmp_path / "fp")
    images, _ = synthetic_faces(91)
    unknown_face = np.full((1, 48, 48), 7, np.uint8)
    order = [5, 0, 3]  # FER2013 rows in another order than FER+'s, and one face FER+ lacks
    faces = FaceDataset(np.concatenate([images[order], unknown_face]), np.array([0, 1, 2, 3]),
                        np.array(["Training"] * 4))
    blended = voted_targets(targets(faces, "single"), faces, {"path": str(root), "weight": 0.5})
    for row, face in enumerate(order):
        votes = np.array(VOTES_FOR[labels[face]], float)[[4, 5, 6, 1, 3, 2, 0]]  # onto FER2013's order
        np.testing.assert_allclose(blended[row], 0.5 * np.eye(7)[row] + 0.5 * votes / votes.sum(), atol=1e-6)
    np.testing.assert_array_equal(blended[3], np.eye(7)[3])  # no FER+ votes: the label alone


def test_a_model_trained_with_votes_has_its_confidence_calibrated_against_their_share(tmp_path):
    root, labels = make_ferplus(tmp_path / "fp")
    images, _ = synthetic_faces(91)
    csv = write_fer_csv(tmp_path / "fer2013.csv", images, labels, ["Training"] * 70 + ["PublicTest"] * 21)
    common = ("--data", csv, "--cache-dir", tmp_path / "cache", "--out", tmp_path, "--work-dir", tmp_path / "runs")
    result = run_script("BuildTrainTestCNN.py", "--votes", root, "--arch", "original", "--recipe", "improved",
                        "--epochs", 1, "--name", "joint", *common)
    assert result.returncode == 0, result.stderr
    card = json.loads((tmp_path / "joint.json").read_text())
    assert "vote share" in card["calibration"]["method"]
    assert card["metrics"]["validation"]["calibrated_against"] == "vote share"
    assert card["metrics"]["validation"]["n"] == 21  # accuracy still against FER2013's labels, every face
    for flags, against in ((("--votes", root), "vote share"), ((), "label")):
        report = tmp_path / "report.json"
        result = run_script("BuildTrainTestCNN.py", "--evaluate", "--usage", "PublicTest", "--model",
                            tmp_path / "joint.keras", "--report-json", report, *flags, *common)
        assert result.returncode == 0, result.stderr
        assert json.loads(report.read_text())["calibrated_against"] == against


def test_votes_flag_checks_its_folder(tmp_path, small_csv):
    result = run_script("BuildTrainTestCNN.py", "--data", small_csv, "--votes", tmp_path,
                        "--work-dir", tmp_path / "runs", "--out", tmp_path)
    assert result.returncode == 2 and "not a FER+ folder" in result.stderr
