"""The dataset loaders on good, gzipped, folder-layout and broken files."""

import gzip

import cv2
import numpy as np
import pytest
from conftest import SHARED_DATA, run_script, synthetic_faces, write_fer_csv
from hypothesis import given, settings
from hypothesis import strategies as st

from fakeblock.core.errors import FakeBlockError
from fakeblock.training.data import load_dataset, parse_pixels


def test_csv_loads_images_labels_and_splits(small_csv):
    data = load_dataset(small_csv)
    images, labels = synthetic_faces(280)
    assert data.images.dtype == np.uint8 and data.images.shape == (280, 48, 48)
    np.testing.assert_array_equal(data.images, images)
    np.testing.assert_array_equal(data.labels, labels)
    assert data.split_sizes() == {"Training": 140, "PublicTest": 70, "PrivateTest": 70}


def test_gzipped_csv_loads_the_same(small_csv, tmp_path):
    gz = tmp_path / "fer2013.csv.gz"
    gz.write_bytes(gzip.compress(small_csv.read_bytes()))
    np.testing.assert_array_equal(load_dataset(gz).images, load_dataset(small_csv).images)


def test_cache_is_used_and_invalidated_when_the_source_changes(tmp_path):
    images, labels = synthetic_faces(14)
    csv = write_fer_csv(tmp_path / "f.csv", images, labels, ["Training"] * 14)
    cache = tmp_path / "cache"
    load_dataset(csv, cache_dir=cache)
    assert len(list(cache.glob("*.npz"))) == 1
    write_fer_csv(csv, images[:7], labels[:7], ["Training"] * 7)
    assert len(load_dataset(csv, cache_dir=cache)) == 7
    assert len(list(cache.glob("*.npz"))) == 2


def test_image_folder_layout(tmp_path):
    images, labels = synthetic_faces(14)
    names = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    for i, (image, label) in enumerate(zip(images, labels)):
        split = "train" if i < 7 else "test"
        folder = tmp_path / split / names[label]
        folder.mkdir(parents=True, exist_ok=True)
        prefix = "PrivateTest_" if i == 13 else ""
        cv2.imwrite(str(folder / f"{prefix}im{i}.png"), image)
    data = load_dataset(tmp_path)
    assert data.split_sizes() == {"Training": 7, "PublicTest": 6, "PrivateTest": 1}
    assert sorted(data.labels.tolist()) == sorted(labels.tolist())


def _csv_with_row(tmp_path, row: str, header="emotion,pixels,Usage"):
    good = " ".join(["128"] * 2304)
    path = tmp_path / "broken.csv"
    path.write_text(f"{header}\n0,{good},Training\n{row}\n")
    return path


@pytest.mark.parametrize("row, message", [
    ("3," + " ".join(["1"] * 2303) + ",Training", "row 2: wrong pixel count: 2303 values"),
    ("3," + " ".join(["1"] * 2303) + " 256,Training", "row 2: bad pixel value: 256"),
    ("3," + " ".join(["1"] * 2303) + " x7,Training", "row 2: bad pixel value: 'x7'"),
    ("9," + " ".join(["1"] * 2304) + ",Training", "row 2: bad label: '9'"),
    ("happy," + " ".join(["1"] * 2304) + ",Training", "row 2: bad label: 'happy'"),
    ("3," + " ".join(["1"] * 2304) + ",Validation", "row 2: unknown Usage: 'Validation'"),
])
def test_bad_rows_name_the_file_row_and_problem(tmp_path, row, message):
    path = _csv_with_row(tmp_path, row)
    with pytest.raises(FakeBlockError) as error:
        load_dataset(path)
    assert str(path) in str(error.value) and message in str(error.value)
    assert "--skip-bad-rows" in str(error.value)


def test_skip_bad_rows_drops_and_reports_them(tmp_path):
    path = _csv_with_row(tmp_path, "9," + " ".join(["1"] * 2304) + ",Training")
    data = load_dataset(path, skip_bad_rows=True)
    assert len(data) == 1 and data.skipped == {"bad label": 1}


@pytest.mark.parametrize("content, message", [
    ("", "the file is empty"),
    ("emotion,Usage\n0,Training\n", "missing column(s) pixels"),
    ("\x00\x01\x02garbage\xff", "not a readable CSV file"),
    ("emotion,pixels,Usage\n", "no faces in the file"),
])
def test_broken_files(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(FakeBlockError, match="bad.csv") as error:
        load_dataset(path)
    assert message in str(error.value)


def test_truncated_gzip(tmp_path, small_csv):
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(gzip.compress(small_csv.read_bytes())[:5000])
    with pytest.raises(FakeBlockError, match="cut.csv.gz: not a readable CSV"):
        load_dataset(path)


def test_missing_file_says_where_to_get_the_data(tmp_path):
    with pytest.raises(FakeBlockError, match="no such file.*Kaggle"):
        load_dataset(tmp_path / "nothing.csv")


@settings(max_examples=60, deadline=None)  # most examples are 2,304-number rows: 150 took half a minute
@given(st.one_of(
    st.text(max_size=60),
    st.lists(st.integers(-5, 300), min_size=2300, max_size=2308).map(lambda v: " ".join(map(str, v))),
    st.lists(st.integers(0, 255), min_size=2304, max_size=2304).map(lambda v: " ".join(map(str, v))),
))
def test_pixel_parser_fuzz(text):
    """Any string parses to a valid 48x48 uint8 face or raises ValueError, nothing else."""
    try:
        face = parse_pixels(text)
    except ValueError:
        return
    assert face.shape == (48, 48) and face.dtype == np.uint8


@pytest.mark.skipif(not (SHARED_DATA / "fer2013.csv.gz").exists(),
                    reason="the real FER2013 CSV is not at ../shared/data/fer2013.csv.gz")
def test_real_fer2013_csv(tmp_path):
    data = load_dataset(SHARED_DATA / "fer2013.csv.gz", cache_dir=tmp_path)
    assert data.split_sizes() == {"Training": 28204, "PublicTest": 3565}
    assert set(np.unique(data.labels)) == set(range(7))


def test_left_out_rows_are_reported_to_the_user(tmp_path, trained_model):
    path = _csv_with_row(tmp_path, "9," + " ".join(["1"] * 2304) + ",Training")
    result = run_script("BuildTrainTestCNN.py", "--evaluate", "--data", path, "--skip-bad-rows",
                        "--model", trained_model, "--usage", "Training")
    assert result.returncode == 0, result.stderr
    assert "broken.csv: left out 1 faces (bad label: 1)" in result.stderr
