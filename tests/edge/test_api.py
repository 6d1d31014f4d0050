"""The Python API: automl.run with keyword settings, predict on raw inputs, the paths, a notebook summary;
and the CLI's --task (--quiet is tested with the imbalance run, tests/diagnose/test_imbalance.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import automl
from automl.cli import main


def test_run_takes_keyword_settings_and_predicts_raw_rows(table_csv, tmp_path):
    result = automl.run(table_csv, time_budget="none", max_trials=1, epochs=1, batch_size=8, tuner="random",
                        cross_validation=False, run_dir=str(tmp_path / "run"), pipeline="quick")
    assert isinstance(result, automl.Run)
    assert result.report_path.is_file() and (result.model_path / "saved_model.pb").is_file()
    assert 0 <= result.metrics["test"]["accuracy"] <= 1
    rows = pd.read_csv(table_csv).drop(columns="label").head(4)
    predicted = result.predict(rows)
    assert list(predicted.index) == list(rows.index) and set(predicted["predicted_class"]) <= {"yes", "no"}
    np.testing.assert_allclose(predicted[["probability_no", "probability_yes"]].sum(axis=1), 1, atol=1e-5)
    from_file = result.predict(table_csv)  # a path reads as `automl predict` reads it
    assert len(from_file) == 60 and (from_file["predicted_class"].head(4).to_list()
                                     == predicted["predicted_class"].to_list())
    page = result._repr_html_()
    assert "<table>" in page and result.result.plan.family in page and str(result.report_path) in page
    assert "verdict" in repr(result)


def test_unknown_settings_are_refused_with_the_nearest_key(table_csv):
    with pytest.raises(automl.ConfigError, match="Did you mean 'time_budget'"):
        automl.run(table_csv, time_budgett="2m")


def test_task_overrides_the_guess(tmp_path, capsys):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=320), "y": np.tile(np.arange(40), 8)})  # 40 integer classes
    frame.to_csv(tmp_path / "forty.csv", index=False)
    assert main(["plan", str(tmp_path / "forty.csv")]) == 0
    assert "Regression: the target is numeric with many distinct values" in capsys.readouterr().out
    assert main(["plan", str(tmp_path / "forty.csv"), "--task", "classification"]) == 0
    assert "Classification, as --task says." in capsys.readouterr().out
    text = pd.DataFrame({"x": rng.normal(size=30), "y": ["a", "b", "c"] * 10})
    text.to_csv(tmp_path / "text.csv", index=False)
    assert main(["plan", str(tmp_path / "text.csv"), "--task", "regression"]) == 1
    assert "--task regression needs a numeric target" in capsys.readouterr().err
