"""The simple model goes out with the deep one when the verdict prefers it: ONNX where skl2onnx converts
it and agrees with scikit-learn on the test split, else joblib with the reason; each file reloads and
predicts in a fresh process."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from automl.export.simple import SIMPLE_DIR, export_simple_model
from automl.ingest import load_dataset
from automl.profile import profile_dataset
from automl.search.simple import SimpleModels, fit_simple_models
from helpers import make_text_folder

# Loads the exported file in a fresh interpreter and prints its labels for the test inputs given as JSON.
ONNX_PREDICT = """
import json, sys
import numpy as np, onnxruntime
feeds = {k: np.array(v, dtype=np.float32 if t == "number" else object).reshape(-1, 1)
         for (k, v), t in zip(json.loads(sys.argv[2]).items(), json.loads(sys.argv[3]))}
session = onnxruntime.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
print(json.dumps(np.ravel(session.run(None, feeds)[0]).tolist()))
"""
JOBLIB_PREDICT = """
import json, sys
import joblib, pandas as pd
model = joblib.load(sys.argv[1])
inputs = json.loads(sys.argv[2])
inputs = pd.DataFrame(inputs) if isinstance(inputs, dict) else inputs
print(json.dumps(model.predict(inputs).tolist()))
"""


def _simple_and_profile(config):
    dataset = load_dataset(config)
    profile = profile_dataset(dataset)
    return fit_simple_models(dataset, profile), profile


def _only(simple: SimpleModels, name: str) -> SimpleModels:
    return dataclasses.replace(simple, models=tuple(m for m in simple.models if m.name == name))


def _diagnosis(simple, deep_accuracy: float):
    return SimpleNamespace(simple_models=simple, metrics={"test": {"accuracy": deep_accuracy}})


def test_a_better_linear_table_model_is_exported_as_onnx_that_reloads(table_csv, config_for, tmp_path):
    simple, profile = _simple_and_profile(config_for(table_csv))
    linear = _only(simple, "linear model")
    exported = export_simple_model(_diagnosis(linear, 0.5), profile, tmp_path)
    assert exported.format == "onnx" and exported.agreement >= 0.999 and exported.path.is_file()
    meta = json.loads((tmp_path / SIMPLE_DIR / "metadata.json").read_text())
    assert meta["format"] == "onnx" and meta["class_names"] == list(profile.class_names)
    assert set(meta["inputs"]) == set(linear.best.fitted.test_inputs.columns)
    frame = linear.best.fitted.test_inputs
    inputs = {c: [None if v != v else v for v in frame[c].tolist()] if meta["inputs"][c]["type"] == "number"
              else frame[c].astype(str).tolist() for c in frame.columns}
    kinds = [meta["inputs"][c]["type"] for c in inputs]
    out = subprocess.run([sys.executable, "-c", ONNX_PREDICT, str(exported.path), json.dumps(inputs),
                          json.dumps(kinds)], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == linear.best.fitted.model.predict(frame).tolist()
    assert "ONNX" in exported.sentence() and "linear model" in exported.sentence()


def test_a_model_skl2onnx_cannot_take_is_exported_with_joblib_and_the_reason(tmp_path, config_for):
    simple, profile = _simple_and_profile(config_for(make_text_folder(tmp_path / "texts", per_class=30)))
    exported = export_simple_model(_diagnosis(simple, simple.best.test_score - 0.2), profile, tmp_path / "run")
    assert exported.format == "joblib" and exported.path.name == "model.joblib"
    assert "not ONNX because" in exported.sentence() and exported.note
    texts = simple.best.fitted.test_inputs
    out = subprocess.run([sys.executable, "-c", JOBLIB_PREDICT, str(exported.path), json.dumps(texts)],
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == simple.best.fitted.model.predict(texts).tolist()
    meta = json.loads((tmp_path / "run" / SIMPLE_DIR / "metadata.json").read_text())
    assert meta["format"] == "joblib" and meta["why_not_onnx"] == exported.note


@pytest.mark.parametrize("deep_gain, written", [(+0.05, False), (0.0, True), (-0.05, True)])
def test_only_a_simple_model_as_good_or_better_is_exported(table_csv, config_for, tmp_path, deep_gain, written):
    simple, profile = _simple_and_profile(config_for(table_csv))
    exported = export_simple_model(_diagnosis(simple, simple.best.test_score + deep_gain), profile, tmp_path)
    assert (exported is not None) == written
    assert (tmp_path / SIMPLE_DIR).exists() == written


def test_a_run_read_back_from_disk_exports_nothing(table_csv, config_for, tmp_path):
    simple, profile = _simple_and_profile(config_for(table_csv))
    unfitted = dataclasses.replace(simple, models=tuple(dataclasses.replace(m, fitted=None) for m in simple.models))
    assert export_simple_model(_diagnosis(unfitted, 0.0), profile, tmp_path) is None
    assert not (tmp_path / SIMPLE_DIR).exists()
    assert np.isfinite(simple.best.test_score)
