"""Likely label errors: a planted 5 % label flip on a separable set is found with precision ≥ 0.8, and a run's
report, summary.json and label_issues.csv carry what the check found."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from automl.report import rewrite_report
from automl.search.label_issues import check_labels


def test_a_planted_five_percent_flip_is_found():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 900)
    features = rng.normal(size=(900, 5)) + 3 * np.eye(3, 5)[truth]
    flipped = rng.choice(900, 45, replace=False)
    given = truth.copy()
    given[flipped] = (given[flipped] + rng.integers(1, 3, 45)) % 3
    check = check_labels(LogisticRegression(max_iter=1000), features, given, fit_seconds=0.01)
    found = {issue.index for issue in check.issues}
    precision, recall = len(found & set(flipped)) / len(found), len(found & set(flipped)) / len(flipped)
    assert precision >= 0.8 and recall >= 0.6, (precision, recall)
    top = check.issues[0]
    assert top.suggested == truth[top.index] and top.given_probability < 0.5
    assert check.examples == 900 and "5-fold" in check.method


def test_the_check_is_skipped_when_it_cannot_run():
    features, labels = np.zeros((6, 2)), np.array([0, 0, 0, 0, 0, 1])  # one example of class 1: no folds
    assert check_labels(LogisticRegression(), features, labels, 0.01) is None
    assert check_labels(LogisticRegression(), np.zeros((60, 2)), np.arange(60) % 2, fit_seconds=100) is None


def test_the_report_lists_them_and_the_csv_holds_them_all(finished_table_run):
    _, run_dir = finished_table_run
    summary = json.loads((run_dir / "summary.json").read_text())
    sentence = summary["label_check"]
    assert "training" in sentence and "confident learning (cleanlab)" in sentence
    html = (run_dir / "report.html").read_text()
    assert "Likely label errors" in html
    csv = run_dir / "label_issues.csv"
    if sentence.startswith("No training label"):
        assert not csv.exists()
    else:
        rows = pd.read_csv(csv)
        assert sentence.startswith(f"{len(rows)} of ") and set(rows.columns) >= {"train_index", "given_label",
                                                                                 "suggested_label"}
        assert set(rows["given_label"]) <= {"old", "young"} and (rows["given_label"] != rows["suggested_label"]).all()
        rewrite_report(run_dir)  # a report written again from the run's state keeps them
        assert "Likely label errors" in (run_dir / "report.html").read_text() and csv.exists()
