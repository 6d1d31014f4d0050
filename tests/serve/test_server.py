"""`automl serve` against a running server (uvicorn on a free loopback port) with a real HTTP client: TF
Serving's predict format for an image and a table model, and a 4xx JSON error, never a 500, for each kind
of malformed request."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from helpers import Running
from PIL import Image

from automl.errors import DataError
from automl.predict import load_run_model
from automl.serve import ServeLimits, load_served_model


@pytest.fixture(scope="module")
def image_server(finished_image_run):
    data, run_dir = finished_image_run
    server = Running(run_dir)
    yield server, run_dir, data
    server.stop()


@pytest.fixture(scope="module")
def table_server(finished_table_run):
    table, run_dir = finished_table_run
    server = Running(run_dir, ServeLimits(max_body_bytes=2000, max_instances=5))
    yield server, run_dir, pd.read_csv(table)
    server.stop()


def _png(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def test_health_and_tf_serving_status(image_server):
    server, _, _ = image_server
    status, body = server.request("/healthz")
    assert status == 200 and body["status"] == "ok" and body["modality"] == "image"
    status, body = server.request("/v1/models/automl")
    assert status == 200 and body["model_version_status"][0]["state"] == "AVAILABLE"
    status, body = server.request("/v1/models/automl/metadata")
    assert status == 200 and body["metadata"]["class_names"] == ["bright", "dark"]


def test_image_bytes_and_pixels_predict_what_the_savedmodel_does(image_server):
    server, run_dir, data = image_server
    files = sorted(data.rglob("*.png"))[:3]
    status, body = server.request("/v1/models/automl:predict", {"instances": [{"b64": _png(f)} for f in files]})
    assert status == 200 and len(body["predictions"]) == 3
    model, meta = load_run_model(run_dir)
    size = meta["image_inputs"]
    pixels = [np.asarray(Image.open(f).convert("RGB")) for f in files]
    batch = tf.stack([tf.image.resize(p, (size["height"], size["width"]), antialias=True) for p in pixels])
    expected = model.serve(tf.cast(tf.clip_by_value(tf.round(batch), 0, 255), tf.uint8))["probabilities"].numpy()
    got = np.array([p["probabilities"] for p in body["predictions"]])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert [p["predicted_class"] for p in body["predictions"]] == [meta["class_names"][i] for i in expected.argmax(1)]
    # The same pixels as nested lists (what TF Serving takes for this signature) give the same answer.
    status, by_pixels = server.request("/v1/models/automl:predict", {"instances": [p.tolist() for p in pixels],
                                                                     "signature_name": "serve"})
    assert status == 200
    np.testing.assert_allclose(np.array([p["probabilities"] for p in by_pixels["predictions"]]), got, atol=1e-5)


def test_a_drifted_batch_gets_a_drift_header(image_server):
    server, _, data = image_server
    files = sorted(data.rglob("*.png"))
    status, _ = server.request("/v1/models/automl:predict", {"instances": [{"b64": _png(f)} for f in files]})
    assert status == 200 and "X-Automl-Drift" not in server.headers  # the training images themselves
    noise = np.random.default_rng(0).choice([0, 255], size=(25, 16, 16, 3))
    status, body = server.request("/v1/models/automl:predict", {"instances": noise.tolist()})
    assert status == 200 and len(body["predictions"]) == 25
    assert "contrast" in server.headers.get("X-Automl-Drift", "").split(",")


@pytest.mark.parametrize("body, status, words", [
    (b"{not json", 400, "not valid JSON"),
    ({"rows": []}, 400, '"instances"'),
    ({"instances": []}, 400, "non-empty"),
    ({"instances": [{"b64": "***"}]}, 400, "not valid base64"),
    ({"instances": [{"b64": base64.b64encode(b"not an image").decode()}]}, 400, "not an image automl can decode"),
    ({"instances": ["a string"]}, 400, "instances[0] must be"),
    ({"instances": [[[300, 0, 0]]]}, 400, "outside 0-255"),
    ({"instances": [[[1], [2]]], "signature_name": "other"}, 400, "No signature"),
])
def test_malformed_image_requests_get_a_clear_4xx(image_server, body, status, words):
    server, _, _ = image_server
    got, answer = server.request("/v1/models/automl:predict", body)
    assert got == status and words in answer["error"]


def test_wrong_routes_names_and_methods_are_4xx_json(image_server):
    server, _, _ = image_server
    assert server.request("/v1/models/other:predict", {"instances": [[[0]]]})[0] == 404
    assert server.request("/nothing")[0] == 404
    status, body = server.request("/v1/models/automl:predict")  # GET
    assert status == 405 and "POST" in body["error"]
    assert server.request("/healthz")[1]["errors"] >= 3


def test_table_rows_columns_and_limits(table_server):
    server, run_dir, frame = table_server
    rows = frame.drop(columns="label").head(3).to_dict("records")
    status, body = server.request("/v1/models/automl:predict", {"instances": rows})
    assert status == 200 and len(body["predictions"]) == 3
    assert all(abs(sum(p["probabilities"]) - 1) < 1e-5 for p in body["predictions"])
    columnar = {"inputs": {column: [row[column] for row in rows] for column in rows[0]}}
    assert server.request("/v1/models/automl:predict", columnar)[1] == body
    from automl.predict import (
        predict_frame,  # the same rows read from a file, as `automl predict` reads them
    )

    frame.drop(columns="label").head(3).to_csv(run_dir.parent / "three.csv", index=False)
    from_file, _ = predict_frame(*load_run_model(run_dir), run_dir.parent / "three.csv")
    np.testing.assert_allclose([p["probabilities"] for p in body["predictions"]],
                               from_file[[c for c in from_file.columns if c.startswith("probability_")]], atol=1e-6)
    status, answer = server.request("/v1/models/automl:predict", {"instances": [{"age": 30.0}]})
    assert status == 400 and "'income'" in answer["error"]
    status, answer = server.request("/v1/models/automl:predict", {"instances": rows * 2})  # 6 > --max-batch 5
    assert status == 400 and "at most 5" in answer["error"]
    status, answer = server.request("/v1/models/automl:predict",
                                    {"instances": [{"age": 30, "income": 1.0, "city": "x" * 3000}]})
    assert status == 413 and "at most 2000" in answer["error"]


def test_a_run_directory_without_a_model_is_refused_before_serving(tmp_path):
    with pytest.raises(DataError, match="no exported model"):
        load_served_model(tmp_path)


def test_serve_benchmark_adds_its_rows_to_the_report(finished_table_run, tmp_path):
    import shutil

    from automl.serve import benchmark_into_report

    run_dir = tmp_path / "run"
    shutil.copytree(finished_table_run[1], run_dir)  # the shared run stays as it was
    rows = benchmark_into_report(run_dir, concurrency=(1, 4), total=20)
    assert [row.clients for row in rows] == [1, 4] and all(row.error_rate == 0 for row in rows)
    assert all(row.requests_per_s > 0 and row.p50_ms <= row.p99_ms for row in rows) and rows[0].cold_start_s > 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [row["clients"] for row in summary["serving"]] == [1, 4]
    assert "automl serve --benchmark" in (run_dir / "report.html").read_text()
