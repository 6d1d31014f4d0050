"""--group-column: test metrics per group in the report and summary.json, with the largest gap flagged."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from automl.diagnose.groups import MIN_GROUP_EXAMPLES, group_report
from automl.errors import AutomlError
from helpers import make_image_folder


def test_the_gap_is_measured_between_groups_large_enough_to_compare():
    values = np.array(["A"] * 40 + ["B"] * 20 + ["C"] * 3)
    labels = np.zeros(63, int)
    predicted = np.r_[np.zeros(38), np.ones(2), np.zeros(10), np.ones(10), np.ones(3)].astype(int)
    report = group_report("site", values, labels, np.eye(2)[predicted], "classification")
    by_value = {g.value: g for g in report.groups}
    assert by_value["A"].metrics["accuracy"] == 0.95 and by_value["B"].metrics["accuracy"] == 0.5
    assert by_value["C"].examples == 3 < MIN_GROUP_EXAMPLES  # listed, not compared: C's 0 % is not the gap
    assert report.gap == pytest.approx(0.45) and report.flagged
    assert "'A'" in report.sentence and "'B'" in report.sentence and report.sentence.startswith("Warning")


def test_regression_groups_compare_mae():
    report = group_report("g", ["x"] * 20 + ["y"] * 20, np.zeros(40), np.r_[np.zeros(20), np.ones(20)], "regression")
    assert report.metric == "mae" and report.gap == 1.0 and report.flagged


def test_a_run_reports_groups_and_refuses_a_wrong_column(finished_table_run, config_for):
    from automl.pipeline import plan_run

    table, run_dir = finished_table_run
    summary = json.loads((run_dir / "summary.json").read_text())
    groups = summary["groups"]
    assert groups["column"] == "city" and {g["value"] for g in groups["groups"]} == {"Leeds", "York", "Hull"}
    assert sum(g["examples"] for g in groups["groups"]) == summary["split_sizes"]["test"]
    assert "between groups of 'city'" in groups["sentence"]
    assert "Groups of city" in (run_dir / "report.html").read_text()
    with pytest.raises(AutomlError, match="no such column"):
        plan_run(config_for(table, group_column="town"))
    with pytest.raises(AutomlError, match="needs --group-file"):
        plan_run(config_for(make_image_folder(run_dir.parent / "images"), group_column="city"))


def test_an_image_folder_takes_its_groups_from_a_group_file(tmp_path, config_for):
    from automl.ingest import load_dataset

    data = make_image_folder(tmp_path / "images", per_class=10)
    files = sorted(p.relative_to(data).as_posix() for p in data.rglob("*.png"))
    mapping = pd.DataFrame({"filename": files, "camera": ["old" if i % 2 else "new" for i in range(len(files))]})
    mapping.to_csv(tmp_path / "cameras.csv", index=False)
    dataset = load_dataset(config_for(data, group_column="camera", group_file=str(tmp_path / "cameras.csv")))
    assert dataset.groups.column == "camera" and len(dataset.groups.test_values) == dataset.test.size
    assert set(dataset.groups.test_values) <= {"old", "new"}
    with pytest.raises(AutomlError, match="no column 'site'"):
        load_dataset(config_for(data, group_column="site", group_file=str(tmp_path / "cameras.csv")))
