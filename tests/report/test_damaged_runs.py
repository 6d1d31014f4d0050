"""A damaged run directory is one clear message (what is damaged, how to recover) and exit 1, never a
traceback: a cut saved_model.pb, deleted model/variables, a broken metadata.json, a report_state.json from
another version or with parts missing, a cut or unsafe model.keras, cut parity samples, a broken run.json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import keras
import pytest

from automl.cli import main
from automl.rundir import LOCK

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _no_traceback(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    return captured.out + captured.err


@pytest.fixture
def run_dir(tmp_path):
    """A finished table run (report_state.json version 2) and a table of new rows beside it."""
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURES / "run_v0_table", run_dir)
    assert main(["report", str(run_dir)]) == 0
    (tmp_path / "new.csv").write_text("x1,x2,color\n1.0,0.5,red\n-2.0,0.1,blue\n")
    return run_dir


def _cut(path: Path, keep: float = 0.4) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def _predict(run_dir: Path, capsys) -> str:
    capsys.readouterr()
    assert main(["predict", str(run_dir), str(run_dir.parent / "new.csv"), "-o", str(run_dir.parent / "p.csv")]) == 1
    assert not (run_dir.parent / "p.csv").exists()
    return _no_traceback(capsys)


@pytest.mark.parametrize("damage", ["cut saved_model.pb", "empty saved_model.pb", "no variables", "cut variables"])
def test_a_damaged_saved_model_is_one_message_for_predict(run_dir, capsys, damage):
    model = run_dir / "model"
    if damage == "cut saved_model.pb":
        _cut(model / "saved_model.pb")
    elif damage == "empty saved_model.pb":
        (model / "saved_model.pb").write_bytes(b"")
    elif damage == "no variables":
        shutil.rmtree(model / "variables")
    else:
        _cut(next((model / "variables").glob("variables.data-*")), 0.1)
    text = _predict(run_dir, capsys)
    assert "is damaged" in text and "SavedModel in model/ cannot be loaded" in text and "automl run" in text


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"task": "classification"}', "\ud800"])
def test_a_damaged_metadata_json_is_one_message_for_predict(run_dir, capsys, content):
    (run_dir / "model" / "metadata.json").write_text(content, errors="surrogatepass")
    text = _predict(run_dir, capsys)
    assert "is damaged" in text and "metadata.json" in text


def test_metadata_naming_an_unknown_modality_is_one_message(run_dir, capsys):
    path = run_dir / "model" / "metadata.json"
    meta = json.loads(path.read_text())
    path.write_text(json.dumps({**meta, "modality": "smell"}))
    assert "'smell'" in _predict(run_dir, capsys)


def _edit_state(run_dir: Path, change) -> None:
    path = run_dir / "report_state.json"
    state = json.loads(path.read_text(encoding="utf-8"))
    change(state)
    path.write_text(json.dumps(state), encoding="utf-8")


@pytest.mark.parametrize("damage, expected", [
    (lambda s: s.update(version=3), "state version 3"),
    (lambda s: s.update(version="two"), "state version 'two'"),
    (lambda s: s["run"].pop("profile"), "damaged or incomplete"),
    (lambda s: s["run"]["plan"].pop("family"), "damaged or incomplete"),
    (lambda s: s["run"].update(profile=[1, 2]), "profile part is missing"),
    (lambda s: s["run"].update(diagnostics=None, export=7), "diagnostics, export parts are missing"),
    (lambda s: s["run"].update({"__type__": "automl.config.RunConfig"}), "damaged or incomplete"),
    (lambda s: s.pop("run"), "lacks part of the run"),
])
def test_a_damaged_report_state_is_one_message_for_report_and_export(run_dir, capsys, damage, expected):
    _edit_state(run_dir, damage)
    html = (run_dir / "report.html").read_bytes()
    capsys.readouterr()
    for args in (["report", str(run_dir)], ["export", str(run_dir), "--format", "tflite"]):
        assert main(args) == 1
        text = _no_traceback(capsys)
        assert expected in text and "report_state.json" in text and "automl run" in text, text
    assert (run_dir / "report.html").read_bytes() == html and not (run_dir / LOCK).exists()


def test_a_cut_report_state_is_one_message(run_dir, capsys):
    _cut(run_dir / "report_state.json", 0.5)
    capsys.readouterr()
    assert main(["report", str(run_dir)]) == 1
    assert "is not valid JSON" in _no_traceback(capsys)


def test_an_unsafe_model_keras_is_refused_by_export_as_one_message(run_dir, tmp_path, capsys):
    inputs = keras.Input((3,), name="x")
    outputs = keras.layers.Lambda(lambda t: t * 2)(inputs)  # a Python function stored in the file
    keras.Model(inputs, outputs).save(tmp_path / "lambda.keras")
    shutil.copy(tmp_path / "lambda.keras", run_dir / "model.keras")
    capsys.readouterr()
    assert main(["export", str(run_dir), "--format", "tflite"]) == 1
    text = _no_traceback(capsys)
    assert "safe mode refuses" in text and "model.keras" in text and "automl run" in text
    assert not (run_dir / "formats").exists() and not (run_dir / LOCK).exists()


def test_a_cut_model_keras_is_one_message_for_export(run_dir, capsys):
    _cut(run_dir / "model.keras")
    capsys.readouterr()
    assert main(["export", str(run_dir), "--format", "tflite"]) == 1
    text = _no_traceback(capsys)
    assert "model.keras' is damaged" in text and "automl run" in text


def test_cut_parity_samples_are_one_message_for_export(run_dir, capsys):
    _cut(run_dir / "parity_samples.npz", 0.5)
    capsys.readouterr()
    assert main(["export", str(run_dir), "--format", "tflite"]) == 1
    assert "parity_samples.npz' is damaged" in _no_traceback(capsys)


@pytest.mark.parametrize("content", ["{cut", '{"data": 7}', '{"data": "t.csv"}'])
def test_a_damaged_run_json_is_one_message_on_resume(run_dir, capsys, content):
    (run_dir / "run.json").write_text(content)
    capsys.readouterr()
    args = ["run", "--resume", str(run_dir), "--max-trials", "1", "--time-budget", "none"]
    if content == '{"data": "t.csv"}':  # readable data, but no fingerprint or settings to check against
        (run_dir.parent / "t.csv").write_text("x1,x2,color,label\n" + "1,2,red,yes\n-1,0,blue,no\n" * 10)
        args = ["run", str(run_dir.parent / "t.csv"), "--resume", str(run_dir), "--max-trials", "1",
                "--time-budget", "none"]
    assert main(args) == 1
    text = _no_traceback(capsys)
    assert "run.json' is damaged" in text and not (run_dir / LOCK).exists()
