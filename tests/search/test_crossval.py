"""Small data: a validation split too small to rank trials → the top trials are re-ranked by k-fold
cross-validation on train + validation and the winner is refit on both; the plan and report say so."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from automl.cli import main
from automl.ingest import load_dataset
from automl.profile import profile_dataset
from automl.search import search_models
from automl.search.crossval import fold_count
from automl.select import CROSS_VALIDATE_BELOW, choose_family, wants_cross_validation
from helpers import FAST_CLI_FLAGS


def _stages(config):
    dataset = load_dataset(config)
    profile = profile_dataset(dataset)
    return choose_family(profile, config), dataset, profile


@pytest.mark.cross_validation
def test_a_small_validation_split_is_cross_validated_and_the_winner_refit(table_csv, config_for, tmp_path):
    config = config_for(table_csv, cross_validation=True, max_trials=2, epochs=3)
    (tmp_path / "run").mkdir()
    plan, dataset, profile = _stages(config)
    assert "cross-validation" in plan.reason and f"only {dataset.val.size} examples" in plan.reason
    result = search_models(plan, dataset, profile, config)
    folds = result.cross_validation
    assert folds is not None and folds.folds >= 2
    assert folds.refit_examples == dataset.train.size + dataset.val.size
    assert folds.chosen in {t.trial_id for t in result.trials} and folds.chosen == result.best_trial_id
    for candidate in folds.candidates:
        assert len(candidate.scores) == folds.folds and all(0 <= s <= 1 for s in candidate.scores)
        assert 1 <= folds.refit_epochs <= 3
    chosen = next(c for c in folds.candidates if c.trial_id == folds.chosen)
    assert chosen.mean == max(c.mean for c in folds.candidates)
    assert result.ensemble is None
    assert result.model.predict(next(iter(dataset.test.data.batch(4)))[0], verbose=0).shape == (4, 2)


@pytest.mark.cross_validation
def test_the_report_shows_the_fold_scores_instead_of_one_validation_figure(table_csv, tmp_path, capsys):
    assert main(["run", str(table_csv), "-o", str(tmp_path / "run"), *FAST_CLI_FLAGS]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    folds = summary["cross_validation"]
    assert folds["folds"] >= 2 and len(folds["candidates"][0]["scores"]) == folds["folds"]
    assert "-fold cross-validation" in summary["final_model"] and "±" in summary["final_model"]
    assert "not held out" in summary["verdict_reason"]
    html = (tmp_path / "run" / "report.html").read_text()
    assert "-fold cross-validation" in html


@pytest.mark.cross_validation
def test_no_cross_validation_flag_ranks_on_validation(table_csv, tmp_path):
    assert main(["run", str(table_csv), "-o", str(tmp_path / "run"), *FAST_CLI_FLAGS, "--no-cross-validation"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["cross_validation"] is None and "cross-validation" not in summary["reason"]


@pytest.mark.parametrize("sizes, family, task, expected", [
    ({"train": 300, "val": 60}, "mlp", "classification", True),
    ({"train": 300, "val": 60}, "mlp", "regression", True),
    ({"train": 3000, "val": CROSS_VALIDATE_BELOW}, "mlp", "classification", False),  # validation ranks well
    ({"train": 9000, "val": 100}, "cnn", "classification", False),  # too big to hold in memory cheaply
    ({"train": 300, "val": 60}, "transfer", "classification", False),  # its own two-phase search
    ({"train": 300, "val": 60}, "series_cnn", "forecast", False),  # forecasts validate on recent windows
])
@pytest.mark.cross_validation
def test_when_cross_validation_is_chosen(sizes, family, task, expected):
    assert wants_cross_validation(sizes, family, task) is expected
    assert wants_cross_validation(sizes, family, task, enabled=False) is False


def test_fold_count_is_limited_by_the_smallest_class():
    assert fold_count(np.array([0] * 40 + [1] * 40), "classification") == 5
    assert fold_count(np.array([0] * 40 + [1] * 3), "classification") == 3
    assert fold_count(np.array([0] * 40 + [1] * 1), "classification") == 1  # < 2: not cross-validated
    assert fold_count(np.zeros(12), "regression") == 3


@pytest.mark.cross_validation
def test_no_time_for_the_folds_keeps_the_searchs_own_choice(table_csv, config_for, tmp_path, monkeypatch):
    """When not even one candidate's folds and refit fit the time left, the validation choice stands."""
    from automl.search import crossval, tuning
    config = config_for(table_csv, cross_validation=True, max_trials=1)
    (tmp_path / "run").mkdir()
    original = crossval.cross_validate
    calls = []

    def no_time_left(*args, **kwargs):
        args = list(args)
        args[6] = time.monotonic()  # the deadline: now
        calls.append(original(*args, **kwargs))
        return calls[-1]
    monkeypatch.setattr(tuning, "cross_validate", no_time_left)
    result = search_models(*_stages(config), config)
    assert calls == [None] and result.cross_validation is None and result.model is not None
