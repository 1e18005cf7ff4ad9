"""Training runs over time: resume, restart, a second run, export, and a run killed mid-epoch."""

import json
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, run_script, synthetic_faces, write_fer_csv


def test_resume_without_a_run_and_restart_without_flag(tmp_path, small_csv):
    result = run_script("BuildTrainTestCNN.py", "--data", small_csv, "--resume",
                        "--work-dir", tmp_path / "runs", "--out", tmp_path)
    assert result.returncode == 2 and "no run to continue" in result.stderr
    (tmp_path / "runs" / "fer2013").mkdir(parents=True)
    (tmp_path / "runs" / "fer2013" / "config.json").write_text("{}")
    result = run_script("BuildTrainTestCNN.py", "--data", small_csv,
                        "--work-dir", tmp_path / "runs", "--out", tmp_path)
    assert result.returncode == 2 and "--resume" in result.stderr and "--fresh" in result.stderr


def test_training_twice_in_a_row_then_export_and_resume(tmp_path, small_csv):
    """A finished run does not block the next plain run; only an unfinished one asks."""
    flags = ["--data", small_csv, "--arch", "original", "--epochs", 1, "--work-dir", tmp_path / "runs",
             "--out", tmp_path / "model", "--cache-dir", tmp_path / "cache"]
    for attempt in (1, 2):
        result = run_script("BuildTrainTestCNN.py", *flags)
        assert result.returncode == 0, (attempt, result.stderr)
    result = run_script("BuildTrainTestCNN.py", *flags, "--export")
    assert result.returncode == 0 and "Exporting epoch 1" in result.stdout, result.stderr
    result = run_script("BuildTrainTestCNN.py", *flags, "--resume")
    assert result.returncode == 2 and "has finished: nothing to continue" in result.stderr


def test_training_whose_reader_goes_away_stops_in_one_line_keeping_its_epoch(tmp_path, small_csv):
    """``BuildTrainTestCNN.py | head -1``: one line, not a traceback, and what finished is kept."""
    runs = tmp_path / "runs"
    command = [sys.executable, str(ROOT / "BuildTrainTestCNN.py"), "--data", str(small_csv), "--arch", "original",
               "--epochs", "1", "--out", str(tmp_path / "model"), "--work-dir", str(runs)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().startswith("Training the original network")
    process.stdout.close()  # the reader ends; the next message finds no one
    stderr = process.stderr.read()
    assert process.wait() == 1 and "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "standard output" in errors[0] and "--resume" in errors[0]
    assert (runs / "fer2013-original-original" / "best.keras").exists()
    assert not (tmp_path / "model" / "fer2013-original-original.keras").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGKILL (POSIX)")
def test_killed_training_keeps_the_previous_model_and_resumes(tmp_path, trained_model):
    out = tmp_path / "model"
    out.mkdir()
    shipped = out / "fer2013-original-original.keras"  # the model a finished run replaces
    shipped.write_bytes(trained_model.read_bytes())
    before = shipped.read_bytes()
    images, labels = synthetic_faces(1400, seed=3)
    csv = write_fer_csv(tmp_path / "bigger.csv", images, labels,
                        ["Training"] * 1330 + ["PublicTest"] * 70)
    runs = tmp_path / "runs"
    command = [sys.executable, str(ROOT / "BuildTrainTestCNN.py"), "--data", str(csv), "--epochs", "6",
               "--arch", "original", "--out", str(out), "--work-dir", str(runs)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    run = runs / "fer2013-original-original"
    log = run / "history.csv"
    deadline = time.time() + 240
    while time.time() < deadline and not (log.exists() and len(log.read_text().splitlines()) >= 2):
        time.sleep(0.2)
    assert process.poll() is None, process.stdout.read()
    process.send_signal(signal.SIGKILL)  # mid-epoch 2: no chance to clean up
    process.wait()
    assert shipped.read_bytes() == before
    assert (run / "best.keras").exists()

    result = run_script("BuildTrainTestCNN.py", "--data", csv, "--arch", "original", "--resume",
                        "--out", out, "--work-dir", runs)
    assert result.returncode == 0, result.stderr
    history = log.read_text().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == ["0", "1", "2", "3", "4", "5"]
    assert shipped.read_bytes() != before
    card = json.loads((out / "fer2013-original-original.json").read_text())
    assert card["epochs_run"] == 6 and card["data"]["sizes"]["train"] == 1330
