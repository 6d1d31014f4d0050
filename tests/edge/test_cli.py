"""The CLI end to end on tiny generated data: exit codes, messages, and every artifact of a run."""

import json

import pandas as pd
import pytest

from automl.cli import main
from helpers import make_image_folder, write_image

# Cross-validation off: the module-scoped run below is set up before conftest's function-scoped switch,
# and its 5 folds + refit cost ~30 s that no test here is about.
TINY = ["--max-trials", "1", "--epochs", "2", "--batch-size", "8", "--time-budget", "none", "--tuner", "random",
        "--no-cross-validation"]


def _no_traceback(capsys):
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return out + err


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["plan", "--help"], ["predict", "--help"]])
def test_help_everywhere(argv, capsys):
    assert main(argv) == 0
    assert "usage: automl" in capsys.readouterr().out


@pytest.mark.parametrize("make, extra, message", [
    (lambda p: None, [], "No such file or folder"),
    (lambda p: p.mkdir(), [], "No training data found"),
    (lambda p: make_image_folder(p, classes=("dark",)), [], "Found 1 class"),
    (lambda p: make_image_folder(p, per_class=1), [], "has 1 readable image;"),
    (lambda p: pd.DataFrame({"a": range(20), "b": [0, 1] * 10}).to_csv(p.with_suffix(".csv"), index=False) or
     p.with_suffix(".csv"), ["--target", "zz"], "No column 'zz'"),
    (lambda p: make_image_folder(p), ["--max-trials", "0"], "expected 1 or more"),
    (lambda p: make_image_folder(p), ["--time-budget", "soon"], "Cannot read the duration"),
    (lambda p: make_image_folder(p), ["--pipeline", "nope"], "No pipeline preset"),
])
def test_bad_input_exits_1_with_one_clear_message(tmp_path, capsys, make, extra, message):
    data = tmp_path / "data"
    made = make(data)
    data = made if isinstance(made, type(data)) and made.suffix == ".csv" else data
    assert main(["run", str(data), "--output", str(tmp_path / "run"), *extra]) == 1
    assert message in _no_traceback(capsys)


def test_folder_of_only_corrupt_images_exits_1(tmp_path, capsys):
    for name in ("a", "b"):
        (tmp_path / "data" / name).mkdir(parents=True)
        (tmp_path / "data" / name / "x.png").write_bytes(b"\x89PNG broken")
    assert main(["plan", str(tmp_path / "data")]) == 1
    assert "could be decoded" in _no_traceback(capsys)


def test_unknown_preset_key_exits_1(tmp_path, capsys, image_folder):
    preset = tmp_path / "mine.toml"
    preset.write_text("epoch = 3\n")
    assert main(["run", str(image_folder), "--pipeline", str(preset)]) == 1
    assert "Did you mean 'epochs'?" in _no_traceback(capsys)


def test_plan_says_what_it_would_do_and_why(image_folder, capsys):
    assert main(["plan", str(image_folder)]) == 0
    out = capsys.readouterr().out
    assert "family cnn" in out and "Class balance" in out and "16×16" in out


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    data = make_image_folder(root / "data", per_class=10, sizes=((16, 16), (24, 20)), modes=("RGB", "L"))
    assert main(["run", str(data), "--output", str(root / "run"), *TINY]) == 0
    return root


def test_run_writes_report_summary_and_model(image_run, capsys):
    run_dir = image_run / "run"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["task"] == "classification" and summary["family"] == "cnn"
    assert 0 <= summary["metrics"]["test"]["accuracy"] <= 1 and len(summary["trials"]) == 1
    html = (run_dir / "report.html").read_text()
    assert "Leaderboard" in html and "data:image/png;base64" in html and "http://" not in html
    assert (run_dir / "model" / "saved_model.pb").exists() and (run_dir / "model.keras").exists()
    assert json.loads((run_dir / "model" / "class_names.json").read_text()) == ["bright", "dark"]


def test_a_finished_run_directory_is_not_silently_reused(image_run, capsys):
    assert main(["run", str(image_run / "data"), "--output", str(image_run / "run"), *TINY]) == 1
    assert "not empty" in _no_traceback(capsys)


def test_predict_writes_classes_and_probabilities(image_run, tmp_path, capsys):
    out = tmp_path / "p.csv"
    assert main(["predict", str(image_run / "run"), str(image_run / "data"), "--output", str(out)]) == 0
    frame = pd.read_csv(out)
    assert len(frame) == 20 and set(frame["predicted_class"]) <= {"bright", "dark"}
    assert ((frame["probability_bright"] + frame["probability_dark"]) - 1).abs().max() < 1e-4


def test_resume_keeps_finished_trials_and_refuses_changed_data(image_run, capsys):
    run_dir = image_run / "run"
    before = json.loads((run_dir / "summary.json").read_text())
    assert main(["run", "--resume", str(run_dir), *TINY]) == 0
    after = json.loads((run_dir / "summary.json").read_text())
    assert [t["trial_id"] for t in after["trials"]] == [t["trial_id"] for t in before["trials"]]
    assert after["best_hyperparameters"] == before["best_hyperparameters"]
    assert main(["run", "--resume", str(run_dir), *TINY, "--epochs", "3"]) == 1
    assert "these differ: epochs 2 → 3" in " ".join(_no_traceback(capsys).split())
    extra = write_image(image_run / "data" / "dark" / "new.png", 40, seed=999)
    try:
        assert main(["run", "--resume", str(run_dir), *TINY]) == 1
        assert "The data changed since the run" in _no_traceback(capsys)
    finally:
        extra.unlink()


def test_table_run_and_predict_on_raw_columns(table_csv, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["run", str(table_csv), "--output", str(run_dir), *TINY]) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["family"] == "mlp" and summary["metrics"]["val"]["accuracy"] >= 0
    rows = pd.read_csv(table_csv).drop(columns=["label"]).head(7)
    rows.to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", str(run_dir), str(tmp_path / "new.csv")]) == 0
    frame = pd.read_csv(run_dir / "predictions.csv")
    assert len(frame) == 7 and set(frame["predicted_class"]) <= {"yes", "no"}


def test_predict_refuses_a_table_missing_columns(table_csv, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["run", str(table_csv), "--output", str(run_dir), *TINY]) == 0
    pd.DataFrame({"x1": [1.0]}).to_csv(tmp_path / "partial.csv", index=False)
    capsys.readouterr()
    assert main(["predict", str(run_dir), str(tmp_path / "partial.csv")]) == 1
    assert "lacks column(s) 'x2', 'colour'" in _no_traceback(capsys)


def test_regression_run(tmp_path, capsys):
    frame = pd.DataFrame({"x": [i / 10 for i in range(80)]})
    frame["y"] = frame["x"] * 3.3 + 0.25
    frame.to_csv(tmp_path / "r.csv", index=False)
    assert main(["run", str(tmp_path / "r.csv"), "--output", str(tmp_path / "run"), *TINY]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["task"] == "regression" and {"mae", "rmse", "r2"} <= set(summary["metrics"]["test"])


def test_default_run_directory_names():
    from pathlib import Path

    from automl.rundir import default_run_dir

    assert default_run_dir("example:digits").name.startswith("digits-")
    assert default_run_dir("tfds:mnist").name.startswith("mnist-")
    assert default_run_dir("data/photos/").name.startswith("photos-")
    assert default_run_dir("t.csv").parent == Path("reports")


@pytest.mark.slow  # two whole runs (30 s); the seeded split and first trial are tested on their own elsewhere
def test_the_same_seed_and_data_give_the_same_trials_and_metrics(table_csv, tmp_path, capsys):
    results = []
    for name in ("first", "second"):
        assert main(["run", str(table_csv), "--output", str(tmp_path / name), *TINY, "--max-trials", "2"]) == 0
        summary = json.loads((tmp_path / name / "summary.json").read_text())
        results.append(([(t["hyperparameters"], t["score"], t["history"]) for t in summary["trials"]],
                        summary["metrics"]))
    assert results[0] == results[1]
