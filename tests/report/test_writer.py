"""Tests for the report stage: report.html is self-contained, escaped and complete; summary.json is faithful."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from automl.profile.columns import ColumnInput, ColumnProfile
from automl.config import RunConfig
from automl.diagnose import ClassMetrics, Diagnostics
from automl.export import ExportResult
from automl.ingest import SkippedFile
from automl.profile import Guardrail, ImageInputs, Profile
from automl.report import ReportPaths, plots
from automl.search import SearchResult, TrialRecord
from automl.select import Plan
from helpers import (EVIL_CLASS, EVIL_PATH, _classification, _export, _history, _regression, _search, _trials,
                     write_run_report)

SECTIONS = ("Data and guardrails", "Plan", "Leaderboard", "Learning curves", "Test metrics",
            "Confusion matrix", "Calibration", "Worst mistakes", "Likely label errors", "Verdict", "Export",
            "Inference latency", "Reproduce")
CLASSIFICATION_ONLY = ("Confusion matrix", "Calibration", "Worst mistakes", "Likely label errors")


@pytest.fixture(scope="module")
def classification_report(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    inputs = _classification(run_dir)
    paths = write_run_report(run_dir, *inputs, "automl run data/pets --seed 7")
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
    paths = write_run_report(tmp_path, *_regression(tmp_path), "")
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
    html = write_run_report(tmp_path, *inputs).html.read_text(encoding="utf-8")
    leaderboard = html.split('<section id="leaderboard">')[1]
    first_row = re.search(r"<td class=\"num\">1\b.*?</tr>", leaderboard, re.S).group(0)
    assert f"<code>{inputs[3].best_trial_id}</code>" in first_row


def test_reads_fingerprint_from_run_json(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"fingerprint": "abc123def"}))
    paths = write_run_report(tmp_path, *_classification(tmp_path), "automl run x")
    assert "abc123def" in paths.html.read_text(encoding="utf-8")
    assert json.loads(paths.summary.read_text())["fingerprint"] == "abc123def"


def test_large_search_and_many_classes_stay_small(tmp_path):
    paths = write_run_report(tmp_path, *_classification(tmp_path, num_trials=100, num_classes=60), "automl run x")
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
    paths = write_run_report(tmp_path, config, profile, plan, result, diagnosis, export)
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
    from automl.diagnose.calibration import calibrate
    from automl.export.formats import FormatExport
    from automl.export.latency import Latency
    from automl.export.measure import Measurements, TrialCost
    from automl.diagnose.gallery import GalleryItem
    from automl.modalities.thumbnails import thumbnail

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
    diagnosis = dataclasses.replace(diagnosis, gallery=gallery)
    measurements = Measurements(Latency(2.0, 3.5, 4.25, 150, 64, 1234.5), costs, formats, 3.0)
    return (config, profile, plan, result, diagnosis, export), measurements


def test_new_sections_show_calibration_gallery_latency_and_formats(tmp_path):
    inputs, measurements = _measured(tmp_path)
    html = write_run_report(tmp_path, *inputs, "automl run x", measurements).html.read_text(encoding="utf-8")
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

    from automl.diagnose.gallery import worst_mistakes
    from automl.modalities.thumbnails import THUMBNAIL_SIDE, thumbnail

    uri = thumbnail(np.zeros((500, 250, 1)))
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert max(image.size) == THUMBNAIL_SIDE and image.size[0] < image.size[1]
    probabilities = np.array([[0.9, 0.1], [0.3, 0.7], [0.05, 0.95], [0.6, 0.4]])
    assert worst_mistakes([0, 0, 0, 1], probabilities) == [2, 1, 3]


def test_calibration_of_a_perfectly_calibrated_and_an_overconfident_model():
    from automl.diagnose.calibration import calibrate

    confident_right = calibrate([0, 1, 0, 1], np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]))
    assert confident_right.ece == 0.0 and confident_right.bins[-1].count == 4
    overconfident = calibrate([0, 1, 1, 0], np.array([[0.95, 0.05]] * 4))
    assert overconfident.ece == pytest.approx(0.45) and not overconfident.well_calibrated


def test_hundred_trial_report_renders_fast_and_small(tmp_path):
    import time

    inputs, measurements = _measured(tmp_path, num_trials=100)
    write_run_report(tmp_path, *inputs, "automl run x", measurements)  # warms Jinja and matplotlib
    start = time.perf_counter()
    paths = write_run_report(tmp_path, *inputs, "automl run x", measurements)
    seconds = time.perf_counter() - start
    html = paths.html.read_text(encoding="utf-8")
    assert len(re.findall(r'<div class="multiple( best)?">', html)) == 101 and html.count("<polyline") >= 200
    # Measured 1.75 s on 2 cores under a load average of about 5, most of it the three matplotlib figures
    # (cProfile); the limit leaves room for a shared machine.
    assert paths.html.stat().st_size < 3_000_000 and seconds < 2.5, (paths.html.stat().st_size, seconds)
