"""Run directories written by the version before the stage packages (report_state.json version 1, old
module names) still open with `automl report`, `automl export` and `automl predict`.

The fixtures under tests/fixtures/ were made by that version (commit 0d0d7b1) on tiny generated data:
run_v0_table is a whole run of a 60-row table; run_v0_image keeps the report state of an image run
whose gallery (then part of the measurements) must move to the diagnosis.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl.cli import main
from automl.report import load_state

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def old_run(tmp_path):
    run_dir = tmp_path / "old-run"
    shutil.copytree(FIXTURES / "run_v0_table", run_dir)
    return run_dir


def test_old_state_reads_as_one_run_with_its_types_renamed(old_run):
    run = load_state(old_run)
    assert run.profile.modality == "table" and run.plan.family == "mlp" and run.search.model is None
    assert type(run.profile).__module__ == "automl.profile.profiler"
    assert type(run.search).__module__ == "automl.search.result"
    assert run.diagnostics.metrics["test"]["accuracy"] > 0 and run.command.startswith("automl run")


def test_automl_report_rewrites_an_old_run(old_run, capsys):
    assert main(["report", str(old_run)]) == 0
    html = (old_run / "report.html").read_text(encoding="utf-8")
    summary = json.loads((old_run / "summary.json").read_text(encoding="utf-8"))
    assert "Leaderboard" in html and summary["family"] == "mlp" and summary["class_names"] == ["no", "yes"]
    assert json.loads((old_run / "report_state.json").read_text())["version"] == 2  # now saved the new way
    assert main(["report", str(old_run)]) == 0  # and the new state reads back


def test_an_old_image_runs_gallery_moves_to_the_diagnosis(tmp_path):
    shutil.copytree(FIXTURES / "run_v0_image", tmp_path / "run")
    run = load_state(tmp_path / "run")
    assert len(run.diagnostics.gallery) == 3 and run.diagnostics.gallery[0].image.startswith("data:image/png")
    assert main(["report", str(tmp_path / "run")]) == 0
    assert "Worst mistakes" in (tmp_path / "run" / "report.html").read_text(encoding="utf-8")


def test_automl_predict_reads_an_old_runs_model(old_run, tmp_path, capsys):
    rng = np.random.default_rng(3)
    rows = pd.DataFrame({"x1": rng.normal(size=5), "x2": rng.normal(size=5), "color": ["red", "blue"] * 2 + ["red"]})
    rows.to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", str(old_run), str(tmp_path / "new.csv"), "-o", str(tmp_path / "out.csv")]) == 0
    out = pd.read_csv(tmp_path / "out.csv")
    assert len(out) == 5 and set(out["predicted_class"]) <= {"no", "yes"}
    np.testing.assert_allclose(out[["probability_no", "probability_yes"]].sum(axis=1), 1.0, rtol=1e-5)


def test_automl_export_adds_a_format_to_an_old_run(old_run, capsys):
    assert main(["export", str(old_run), "--format", "onnx"]) == 0
    assert "onnx" in capsys.readouterr().out
    run = load_state(old_run)
    assert [f.format for f in run.measurements.formats] == ["onnx"]
