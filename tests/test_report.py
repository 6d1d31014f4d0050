"""Tests for the report stage: report.html is self-contained, escaped and complete; summary.json is faithful."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from automl.columns import ColumnInput, ColumnProfile
from automl.config import RunConfig
from automl.diagnostics import ClassMetrics, Diagnostics
from automl.export import ExportResult
from automl.ingest.dataset import SkippedFile
from automl.profiler import Guardrail, ImageInputs, Profile
from automl.report import ReportPaths, plots, write_report
from automl.search import SearchResult, TrialRecord
from automl.selector import Plan

EVIL_CLASS = "<script>alert(1)</script>"
EVIL_PATH = "cats/<img src=x onerror=alert(1)>.jpg"
SECTIONS = ("Data and guardrails", "Plan", "Leaderboard", "Learning curves", "Test metrics",
            "Confusion matrix", "Calibration", "Worst mistakes", "Verdict", "Export", "Inference latency", "Reproduce")
CLASSIFICATION_ONLY = ("Confusion matrix", "Calibration", "Worst mistakes")


def _history(epochs: int, metric: str) -> dict:
    return {"loss": [1.0 / (e + 1) for e in range(epochs)], "val_loss": [1.1 / (e + 1) + 0.01 * e for e in range(epochs)],
            metric: [0.5 + 0.04 * e for e in range(epochs)], f"val_{metric}": [0.48 + 0.035 * e for e in range(epochs)]}


def _trials(count: int, metric: str, higher_better: bool) -> tuple[TrialRecord, ...]:
    trials = []
    for i in range(count):
        score = 0.6 + 0.3 * ((i * 7) % count) / max(count, 1)
        trials.append(TrialRecord(
            trial_id=f"{i:04d}", hyperparameters={"units": 32 * (i % 4 + 1), "learning_rate": 10 ** -(2 + i % 3),
                                                  "tuner/epochs": 4, "tuner/initial_epoch": 0, "tuner/bracket": 1},
            score=score if higher_better else 1 - score, status="COMPLETED", epochs=4, params=1234 + i,
            seconds=1.234 * (i + 1), history=_history(4, metric)))
    trials.append(TrialRecord("failed", {"units": 8}, None, "FAILED", 0, 0, 0.1, {}))
    return tuple(trials)


def _search(count: int, metric: str, objective: str, higher_better: bool) -> SearchResult:
    trials = _trials(count, metric, higher_better)
    best = (max if higher_better else min)((t for t in trials if t.score is not None), key=lambda t: t.score)
    return SearchResult(model=None, best_trial_id=best.trial_id, best_hyperparameters=dict(best.hyperparameters),
                        trials=trials, objective=objective, tuner="hyperband", stopped_because="max_trials", seconds=42.25)


def _export(run_dir: Path) -> ExportResult:
    return ExportResult(run_dir / "model", run_dir / "model.keras", run_dir / "model" / "metadata.json",
                        3.2e-7, 64, 2_500_000)


def _classification(run_dir: Path, num_trials: int = 3, num_classes: int = 3):
    names = ("cats", "dogs", EVIL_CLASS) + tuple(f"class{i}" for i in range(num_classes - 3))
    config = RunConfig(data="data/pets", run_dir=str(run_dir), seed=7)
    profile = Profile(
        name="pets", modality="image", task="classification", class_names=names,
        split_sizes={"train": 70, "val": 15, "test": 15},
        class_counts={s: tuple(n for _ in names) for s, n in (("train", 20), ("val", 5), ("test", 5))},
        imbalance_ratio=1.0, class_weight=None, facts=(("Source", "data/pets"), ("Task", "classification")),
        guardrails=(Guardrail("Class balance", "Passed", "Balanced."), Guardrail("Image size", "Done", "Resized."),
                    Guardrail("Unreadable files", "Alerted", "60 files were skipped.")),
        skipped=(SkippedFile(EVIL_PATH, "not an image"),)
        + tuple(SkippedFile(f"dogs/bad{i}.jpg", "truncated") for i in range(59)),
        image_inputs=ImageInputs(32, 32, 3))
    plan = Plan("cnn", "Images → a CNN.", "classification", "Classification: 3 classes.", "hyperband", 10, 600.0, 20)
    result = _search(num_trials, "accuracy", "val_accuracy", higher_better=True)
    diagnosis = Diagnostics(
        task="classification", metrics={"train": {"accuracy": 0.99, "loss": 0.05}, "val": {"accuracy": 0.95, "loss": 0.2},
                                        "test": {"accuracy": 0.984, "loss": 0.1}},
        baseline={"accuracy": 0.34}, best_epoch=3, gap=0.04, verdict="ok", verdict_reason="Train and val are close.",
        fixes=(), confusion=tuple(tuple(5 if r == c else 0 for c in range(len(names))) for r in range(len(names))),
        per_class=tuple(ClassMetrics(n, 0.9, 0.8, 0.85, 5) for n in names))
    return config, profile, plan, result, diagnosis, _export(run_dir)


def _regression(run_dir: Path):
    config = RunConfig(data="data/houses.csv", run_dir=str(run_dir), target="price")
    columns = (ColumnProfile("area", "numeric", 0.1, 50, "feature"),
               ColumnProfile("id", "integer", 0.0, 40, "dropped", "ID-like"),
               ColumnProfile("<b>city</b>", "categorical", 0.0, 3, "feature"))
    profile = Profile(
        name="houses", modality="table", task="regression", class_names=(), split_sizes={"train": 28, "val": 6, "test": 6},
        class_counts={}, imbalance_ratio=1.0, class_weight=None, facts=(("Source", "data/houses.csv"),),
        guardrails=(Guardrail("Missing values", "Done", "Filled."),), columns=columns,
        column_inputs=(ColumnInput("area", "area", "numeric", 80.0, 4.0, 75.0),
                       ColumnInput("<b>city</b>", "b_city_b", "categorical", vocabulary=("Paris", "Lyon"))))
    plan = Plan("mlp", "A table → an MLP.", "regression", "Regression: numeric target.", "random", 5, None, 10)
    result = _search(3, "mae", "val_loss", higher_better=False)
    metrics = {s: {"mae": 1.5, "rmse": 2.0, "r2": 0.8} for s in ("train", "val", "test")}
    diagnosis = Diagnostics("regression", metrics, {"mae": 5.0, "rmse": 6.0, "r2": 0.0}, 2, 0.01, "underfitting",
                            "Train R² 0.400 is below 0.5.", ("Give the search more time or epochs.",))
    return config, profile, plan, result, diagnosis, _export(run_dir)


@pytest.fixture(scope="module")
def classification_report(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    inputs = _classification(run_dir)
    paths = write_report(run_dir, *inputs, "automl run data/pets --seed 7")
    return paths, paths.html.read_text(encoding="utf-8"), inputs


def test_writes_both_files_in_the_run_dir(classification_report):
    paths, _, inputs = classification_report
    assert isinstance(paths, ReportPaths)
    assert paths.html.name == "report.html" and paths.summary.name == "summary.json"
    assert paths.html.parent == Path(inputs[0].run_dir)


def test_html_has_every_section_in_order(classification_report):
    _, html, _ = classification_report
    headings = re.findall(r"<h2>(.*?)</h2>", html)
    assert headings == list(SECTIONS)
    assert "<h1>pets</h1>" in html and "98.40 %" in html


def test_html_is_self_contained(classification_report):
    _, html, _ = classification_report
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert html.count('src="data:image/png;base64,') == 2  # learning curves + confusion matrix


def test_user_strings_are_escaped(classification_report):
    _, html, _ = classification_report
    assert EVIL_CLASS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_guardrail_statuses_are_coloured(classification_report):
    _, html, _ = classification_report
    for css, status in (("passed", "Passed"), ("done", "Done"), ("alerted", "Alerted")):
        assert f'<span class="badge {css}">{status}</span>' in html


def test_skipped_files_are_capped(classification_report):
    _, html, _ = classification_report
    assert "and 10 more" in html
    assert "dogs/bad48.jpg" in html and "dogs/bad49.jpg" not in html


def test_leaderboard_hides_tuner_keys_and_marks_the_best(classification_report):
    _, html, (_, _, _, result, _, _) = classification_report
    leaderboard = html.split('<section id="leaderboard">')[1].split("</section>")[0]
    assert "tuner/" not in leaderboard and "learning_rate=" in leaderboard
    best_rows = re.findall(r'<tr class="best">.*?</tr>', leaderboard, re.S)
    assert len(best_rows) == 1 and f"<code>{result.best_trial_id}</code>" in best_rows[0]
    assert "★ best" in best_rows[0] and re.search(r'<td class="num">1 ★ best', best_rows[0])
    assert "trial limit" in leaderboard


def test_export_paths_are_relative_and_example_loads_serve(classification_report):
    _, html, _ = classification_report
    export = html.split('<section id="export">')[1]
    assert "<code>model</code>" in export and "<code>model.keras</code>" in export
    assert "tf.saved_model.load(&#39;model&#39;)" in export and ".serve(inputs)" in export
    assert "2.50 MB" in export and "automl run data/pets --seed 7" in html


def test_summary_json_matches_inputs(classification_report):
    paths, _, (config, profile, plan, result, diagnosis, export) = classification_report
    summary = json.loads(paths.summary.read_text(encoding="utf-8"))
    assert summary["metrics"]["test"]["accuracy"] == diagnosis.metrics["test"]["accuracy"]
    assert summary["task"] == "classification" and summary["family"] == "cnn" and summary["dataset"] == "pets"
    assert summary["best_trial_id"] == result.best_trial_id
    assert not any(k.startswith("tuner/") for k in summary["best_hyperparameters"])
    assert len(summary["trials"]) == len(result.trials)
    assert all(not k.startswith("tuner/") for t in summary["trials"] for k in t["hyperparameters"])
    assert summary["trials"][0]["history"]["val_accuracy"] == result.trials[0].history["val_accuracy"]
    assert summary["class_names"][2] == EVIL_CLASS and len(summary["skipped"]) == 60
    assert summary["config"]["seed"] == 7 and summary["command"].startswith("automl run")
    assert summary["export"]["size_bytes"] == 2_500_000 and summary["export"]["model_dir"].endswith("model")
    assert {"tensorflow", "keras", "keras_tuner", "numpy", "pandas", "python"} <= set(summary["versions"])
    assert [g["status"] for g in summary["guardrails"]] == ["Passed", "Done", "Alerted"]


def test_regression_report(tmp_path):
    paths = write_report(tmp_path, *_regression(tmp_path), "")
    html = paths.html.read_text(encoding="utf-8")
    headings = re.findall(r"<h2>(.*?)</h2>", html)
    assert headings == [s for s in SECTIONS if s not in CLASSIFICATION_ONLY]
    assert "Test MAE" in html and "Test R²" in html and "&lt;b&gt;city&lt;/b&gt;" in html and "<b>city" not in html
    assert "&#39;area&#39;: tf.constant([80.0])" in html  # float32 input needs a float literal
    assert "&#39;b_city_b&#39;: tf.constant([&#39;Paris&#39;])" in html and "outputs[&#39;prediction&#39;]" in html
    assert "ID-like" in html and "underfitting" in html
    summary = json.loads(paths.summary.read_text(encoding="utf-8"))
    assert summary["metrics"]["test"] == {"mae": 1.5, "rmse": 2.0, "r2": 0.8}
    assert summary["class_names"] == [] and summary["command"] == ""


def test_regression_leaderboard_ranks_lowest_loss_first(tmp_path):
    inputs = _regression(tmp_path)
    html = write_report(tmp_path, *inputs).html.read_text(encoding="utf-8")
    leaderboard = html.split('<section id="leaderboard">')[1]
    first_row = re.search(r"<td class=\"num\">1\b.*?</tr>", leaderboard, re.S).group(0)
    assert f"<code>{inputs[3].best_trial_id}</code>" in first_row


def test_reads_fingerprint_from_run_json(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"fingerprint": "abc123def"}))
    paths = write_report(tmp_path, *_classification(tmp_path), "automl run x")
    assert "abc123def" in paths.html.read_text(encoding="utf-8")
    assert json.loads(paths.summary.read_text())["fingerprint"] == "abc123def"


def test_large_search_and_many_classes_stay_small(tmp_path):
    paths = write_report(tmp_path, *_classification(tmp_path, num_trials=100, num_classes=60), "automl run x")
    html = paths.html.read_text(encoding="utf-8")
    assert paths.html.stat().st_size < 3_000_000
    assert html.count('<tr class="best">') == 1
    assert len(json.loads(paths.summary.read_text())["trials"]) == 101


def test_numpy_values_and_nan_become_plain_json(tmp_path):
    config, profile, plan, result, diagnosis, export = _classification(tmp_path)
    diagnosis = dataclasses.replace(diagnosis, metrics={s: {"accuracy": np.float32(0.5), "loss": np.float64("nan")}
                                                        for s in ("train", "val", "test")})
    nan_trial = dataclasses.replace(result.trials[0], score=float("nan"), hyperparameters={"units": np.int64(8)})
    result = dataclasses.replace(result, trials=(nan_trial,) + result.trials[1:])
    paths = write_report(tmp_path, config, profile, plan, result, diagnosis, export)
    summary = json.loads(paths.summary.read_text(), parse_constant=pytest.fail)  # NaN would call parse_constant
    assert summary["metrics"]["test"] == {"accuracy": 0.5, "loss": None}
    assert summary["trials"][0]["score"] is None and summary["trials"][0]["hyperparameters"] == {"units": 8}
    assert "50.00 %" in paths.html.read_text(encoding="utf-8")


def test_tex_like_class_names_plot_as_written():
    uri = plots.confusion_heatmap([[1, 0], [0, 1]], ["$\\notacommand{$", "50$ or $60"])
    assert uri.startswith("data:image/png;base64,")
    assert plots.learning_curves({}, 0) is None


def _measured(run_dir: Path, num_trials: int = 3):
    """The classification inputs plus measurements, calibration and a gallery, as a run would make them."""
    from automl.calibration import calibrate
    from automl.export_formats import FormatExport
    from automl.latency import Latency
    from automl.measure import Measurements, TrialCost
    from automl.report.gallery import GalleryItem, thumbnail

    config, profile, plan, result, diagnosis, export = _classification(run_dir, num_trials=num_trials)
    rng = np.random.default_rng(0)
    diagnosis = dataclasses.replace(diagnosis, calibration=calibrate(rng.integers(0, 3, 200), rng.dirichlet(np.ones(3), 200)))
    ranked = sorted(result.trials, key=lambda t: -(t.score or 0))
    costs = tuple(TrialCost(t.trial_id, 40_000 + i, 1.25 if i < 3 else None) for i, t in enumerate(ranked))
    gallery = tuple(GalleryItem(i, "cats", EVIL_CLASS, 0.9, image=thumbnail(rng.integers(0, 255, (224, 224, 3))))
                    for i in range(12))
    formats = (FormatExport("tflite-float32", run_dir / "formats" / "model-float32.tflite", 123_456, 3e-8, 1.0, 64, 1.5,
                            Latency(0.5, 0.7, 0.9, 100, 64, 5000.0)),
               FormatExport("onnx", None, 0, None, None, 0, 0.2, error="ValueError: no <LookupTable> kernel"))
    measurements = Measurements(Latency(2.0, 3.5, 4.25, 150, 64, 1234.5), costs, formats, gallery, 3.0)
    return (config, profile, plan, result, diagnosis, export), measurements


def test_new_sections_show_calibration_gallery_latency_and_formats(tmp_path):
    inputs, measurements = _measured(tmp_path)
    html = write_report(tmp_path, *inputs, "automl run x", measurements).html.read_text(encoding="utf-8")
    calibration = html.split('<section id="calibration">')[1].split("</section>")[0]
    assert "Expected calibration error" in calibration and 'src="data:image/png;base64,' in calibration
    mistakes = html.split('<section id="mistakes">')[1].split("</section>")[0]
    assert mistakes.count('<img src="data:image/png;base64,') == 12 and EVIL_CLASS not in mistakes
    latency = html.split('<section id="latency">')[1].split("</section>")[0]
    assert "2.00 ms" in latency and "3.50 ms" in latency and "4.25 ms" in latency and "1,234 examples/s" in latency
    export = html.split('<section id="export">')[1].split("</section>")[0]
    assert "formats/model-float32.tflite" in export and "3.00e-08" in export and "100.0 %" in export
    assert "not available:" in export and "&lt;LookupTable&gt;" in export
    leaderboard = html.split('<section id="leaderboard">')[1].split("</section>")[0]
    assert leaderboard.count("1.25 ms") == 3 and "40.0 kB" in leaderboard and "only (the top of the ranking)" in leaderboard
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["latency"]["p99_ms"] == 4.25 and 0 <= summary["calibration"]["ece"] <= 1
    assert summary["formats"][1]["error"].startswith("ValueError") and "image" not in summary["gallery"][0]


def test_thumbnails_are_downscaled_and_mistakes_ordered_by_confidence():
    import base64
    import io

    from PIL import Image

    from automl.report.gallery import THUMBNAIL_SIDE, thumbnail, worst_mistakes

    uri = thumbnail(np.zeros((500, 250, 1)))
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert max(image.size) == THUMBNAIL_SIDE and image.size[0] < image.size[1]
    probabilities = np.array([[0.9, 0.1], [0.3, 0.7], [0.05, 0.95], [0.6, 0.4]])
    assert worst_mistakes([0, 0, 0, 1], probabilities) == [2, 1, 3]


def test_calibration_of_a_perfectly_calibrated_and_an_overconfident_model():
    from automl.calibration import calibrate

    confident_right = calibrate([0, 1, 0, 1], np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]))
    assert confident_right.ece == 0.0 and confident_right.bins[-1].count == 4
    overconfident = calibrate([0, 1, 1, 0], np.array([[0.95, 0.05]] * 4))
    assert overconfident.ece == pytest.approx(0.45) and not overconfident.well_calibrated


def test_hundred_trial_report_renders_fast_and_small(tmp_path):
    import time

    inputs, measurements = _measured(tmp_path, num_trials=100)
    write_report(tmp_path, *inputs, "automl run x", measurements)  # warms Jinja and matplotlib
    start = time.perf_counter()
    paths = write_report(tmp_path, *inputs, "automl run x", measurements)
    seconds = time.perf_counter() - start
    html = paths.html.read_text(encoding="utf-8")
    assert len(re.findall(r'<div class="multiple( best)?">', html)) == 101 and html.count("<polyline") >= 200
    # Measured 1.75 s on 2 cores under a load average of about 5, most of it the three matplotlib figures
    # (cProfile); the limit leaves room for a shared machine.
    assert paths.html.stat().st_size < 3_000_000 and seconds < 2.5, (paths.html.stat().st_size, seconds)
