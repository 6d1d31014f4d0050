"""Imbalance that cannot fool: balanced accuracy beside accuracy, the top trials re-ranked by it, and plain words
when a model does not beat always predicting the majority class."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from automl.diagnose import diagnose_classification
from automl.modalities.tasks import balanced_accuracy
from automl.search.ranking import rerank_by_balanced_accuracy
from automl.search.result import TrialRecord


def test_balanced_accuracy_is_the_mean_recall():
    truth = np.array([0] * 8 + [1] * 2)
    assert balanced_accuracy(truth, np.zeros(10, int)) == 0.5  # the majority class: 1 / classes
    assert balanced_accuracy(truth, truth) == 1.0
    assert balanced_accuracy(truth, np.array([0] * 6 + [1] * 2 + [1, 0])) == (6 / 8 + 1 / 2) / 2


def _probabilities(predicted, classes=2):
    return np.eye(classes)[predicted] * 0.9 + 0.05


def test_a_model_below_the_majority_baseline_says_so():
    labels = {split: np.array([0] * 9 + [1]) for split in ("train", "val", "test")}
    worse = np.array([0] * 7 + [1, 1, 0])  # 70 % against 90 % for always 0
    diagnosis = diagnose_classification(["a", "b"], labels, {s: _probabilities(worse) for s in labels}, 1)
    assert diagnosis.metrics["test"]["balanced_accuracy"] == (7 / 9 + 0) / 2
    assert diagnosis.baseline == {"accuracy": 0.9, "balanced_accuracy": 0.5}
    assert "no better than always predicting the majority class" in diagnosis.baseline_note
    assert "70.0%" in diagnosis.baseline_note and diagnosis.verdict_reason.startswith(diagnosis.baseline_note)
    better = labels["test"].copy()
    diagnosis = diagnose_classification(["a", "b"], labels, {s: _probabilities(better) for s in labels}, 1)
    assert diagnosis.baseline_note == ""


def _trial(trial_id: str) -> TrialRecord:
    return TrialRecord(trial_id, {}, 0.9, "COMPLETED", 1, 10, 1.0, {})


def test_reranking_moves_the_balanced_best_first_and_keeps_the_rest():
    ranked = [_trial(i) for i in ("a", "b", "c", "d")]
    order = rerank_by_balanced_accuracy(ranked, {"a": 0.55, "b": 0.80, "c": 0.80})
    assert [t.trial_id for t in order] == ["b", "c", "a", "d"]  # ties keep the objective's order


@pytest.mark.slow  # 12 s on 2 cores: a whole run; the re-ranking rule is tested above
def test_an_imbalanced_noise_table_is_reranked_and_called_what_it_is(tmp_path, config_for, capsys):
    from automl.cli import main

    rng = np.random.default_rng(0)
    labels = np.array(["common"] * 180 + ["rare"] * 40)  # 4.5:1, and the features carry no signal
    frame = pd.DataFrame({"a": rng.normal(size=220), "b": rng.normal(size=220), "label": rng.permutation(labels)})
    frame.to_csv(tmp_path / "noise.csv", index=False)
    run_dir = tmp_path / "run"
    assert main(["run", str(tmp_path / "noise.csv"), "-o", str(run_dir), "--max-trials", "2", "--epochs", "3",
                 "--time-budget", "none", "--tuner", "random", "--batch-size", "16", "--no-cross-validation",
                 "--quiet"]) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert "balanced_accuracy" in summary["metrics"]["test"]
    assert any("re-ranked by validation balanced accuracy" in note for note in summary["search_notes"])
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]  # --quiet: the summary line (and its warning)
    assert lines[0].startswith("✓") and len(lines) <= 2 and not any(line.startswith("▶") for line in lines)
    if summary["metrics"]["test"]["accuracy"] <= summary["baseline"]["accuracy"]:
        assert "no better than always predicting the majority class" in out
        assert summary["baseline_note"] in (run_dir / "report.html").read_text()
    else:  # chance put it above: the line must not claim otherwise
        assert "no better than" not in out
    assert "Balanced accuracy" in (run_dir / "report.html").read_text()
