"""More export formats and report regeneration on a finished run directory (a tiny real Keras model and
the report's state, without running a search)."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from automl.cli import main
from automl.errors import DataError
from automl.export.formats import PARITY_LIMITS, export_format
from automl.export.latency import measure_latency
from automl.export.measure import Measurements, load_samples, save_samples
from automl.report import rewrite_report, write_report
from automl.report.state import load_state
from helpers import EVIL_CLASS, _classification, write_run_report


def _image_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, None, 3), dtype="uint8", name="image")
    x = keras.layers.Resizing(12, 12)(keras.layers.Rescaling(1 / 255)(keras.ops.cast(inputs, "float32")))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, activation="relu")(x))
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A run directory as `automl run` leaves it: model.keras, kept samples and the report state."""
    run_dir = tmp_path_factory.mktemp("run")
    model = _image_model()
    model.save(run_dir / "model.keras")
    samples = np.random.default_rng(0).integers(0, 255, (8, 16, 16, 3)).astype(np.uint8)
    save_samples(samples, run_dir)
    write_run_report(run_dir, *_classification(run_dir), "automl run data/pets", Measurements())
    return run_dir, model, samples


def test_kept_samples_round_trip_without_pickle(finished_run, tmp_path):
    run_dir, _, samples = finished_run
    np.testing.assert_array_equal(load_samples(run_dir), samples)
    save_samples({"x": np.array([[1.5], [2.0]], np.float32), "colour": np.array([["red"], ["<b>"]], object)}, tmp_path)
    table = load_samples(tmp_path)
    assert table["colour"].numpy()[1, 0] == b"<b>" and table["x"].numpy()[0, 0] == 1.5


def test_report_state_round_trips(finished_run):
    run_dir, _, _ = finished_run
    state = load_state(run_dir)
    config, profile, plan, result, diagnosis, export = _classification(run_dir)
    assert state.profile == profile and state.plan == plan and state.diagnostics == diagnosis
    assert state.search.trials == result.trials and state.search.model is None
    assert state.export == export and state.config == config and state.command == "automl run data/pets"


def test_report_command_regenerates_without_retraining(finished_run, capsys):
    run_dir, _, _ = finished_run
    before = (run_dir / "report.html").read_text(encoding="utf-8")
    (run_dir / "report.html").unlink()
    (run_dir / "summary.json").unlink()
    assert main(["report", str(run_dir)]) == 0
    after = (run_dir / "report.html").read_text(encoding="utf-8")
    strip = lambda html: html.split("written", 1)[1].split("</p>", 1)[1]  # the time written differs
    assert strip(after) == strip(before)
    assert json.loads((run_dir / "summary.json").read_text())["class_names"][2] == EVIL_CLASS
    assert "report →" in capsys.readouterr().out


def test_report_command_on_a_folder_without_a_run_is_one_clear_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "No report_state.json" in error and "automl run" in error and "Traceback" not in error
    with pytest.raises(DataError, match="not part of automl"):
        (tmp_path / "report_state.json").write_text(json.dumps({"version": 2, "run": {"__type__": "os.system"}}))
        load_state(tmp_path)
    with pytest.raises(DataError, match="lacks part of the run"):
        (tmp_path / "report_state.json").write_text(json.dumps({"version": 1, "x": {"__type__": "os.system"}}))
        load_state(tmp_path)


def test_tflite_variants_match_the_keras_model(finished_run, tmp_path):
    _, model, samples = finished_run
    for fmt in ("tflite-float32", "tflite-float16", "tflite-int8-dynamic"):
        result = export_format(model, samples, tmp_path, fmt, time_it=False)
        assert result.error is None and result.path.is_file() and result.size_bytes > 0
        assert result.max_abs_diff <= PARITY_LIMITS[fmt] and result.top1_agreement >= 0.85 and result.samples == 8


def test_export_command_adds_onnx_to_the_report(finished_run, capsys):
    pytest.importorskip("tf2onnx")
    run_dir, _, _ = finished_run
    assert main(["export", str(run_dir), "--format", "onnx"]) == 0
    assert "✓ onnx" in capsys.readouterr().out
    onnx = next(f for f in json.loads((run_dir / "summary.json").read_text())["formats"] if f["format"] == "onnx")
    assert onnx["max_abs_diff"] < PARITY_LIMITS["onnx"] and onnx["top1_agreement"] == 1.0
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "formats/model.onnx" in html and "Other formats" in html


def test_a_failing_conversion_is_reported_not_raised(tmp_path, monkeypatch):
    import automl.export.formats as formats

    def unsupported(model, variant):
        raise RuntimeError("op Foo is neither a custom op nor a flex op\nmore detail")
    monkeypatch.setattr(formats, "_tflite_bytes", unsupported)
    result = export_format(_image_model(), np.zeros((2, 16, 16, 3), np.uint8), tmp_path, "tflite-float16", time_it=False)
    assert result.path is None and result.error == "RuntimeError: op Foo is neither a custom op nor a flex op"
    assert not result.within_limit
    with pytest.raises(ValueError, match="Unknown export format"):
        export_format(_image_model(), np.zeros((2, 16, 16, 3), np.uint8), tmp_path, "jpeg")


def test_latency_percentiles_are_ordered():
    latency = measure_latency(lambda x: np.tanh(x).sum(), np.ones((16, 8)), max_seconds=0.2)
    assert latency.p50_ms <= latency.p95_ms <= latency.p99_ms and latency.calls >= 3
    assert latency.batch_size == 16 and latency.throughput > 0
