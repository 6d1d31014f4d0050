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
@pytest.mark.slow  # 43 s in CI; the refit and no-time paths stay in the default suite (run with -m slow)
def test_a_small_validation_split_is_cross_validated_refit_and_reported(table_csv, tmp_path, capsys):
    """One run (the slow part) checks the search, the plan, summary.json, the report and the console: the
    top trials re-ranked on k folds of train + validation, the best mean refit on both, the simple models
    fitted beside the search."""
    assert main(["run", str(table_csv), "-o", str(tmp_path / "run"), *FAST_CLI_FLAGS, "--max-trials", "2"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert "cross-validation" in summary["reason"] and "Validation holds only" in summary["reason"]
    folds = summary["cross_validation"]
    assert folds["folds"] >= 2 and folds["refit_examples"] == summary["split_sizes"]["train"] + summary["split_sizes"]["val"]
    assert folds["chosen"] == summary["best_trial_id"] and folds["chosen"] in {t["trial_id"] for t in summary["trials"]}
    means = {c["trial_id"]: np.mean(c["scores"]) for c in folds["candidates"]}
    assert all(len(c["scores"]) == folds["folds"] and all(0 <= s <= 1 for s in c["scores"]) for c in folds["candidates"])
    assert folds["chosen"] in means and folds["refit_epochs"] >= 1  # chosen by out-of-fold accuracy (crossval)
    assert summary["ensemble"] is None
    assert "-fold cross-validation" in summary["final_model"] and "±" in summary["final_model"]
    assert "not held out" in summary["verdict_reason"]
    html = (tmp_path / "run" / "report.html").read_text()
    assert "-fold cross-validation" in html and "Leaderboard: the model that ships" in html
    # The simple models were scored on the same folds as the trials, and the leaderboard chose among them all.
    board = summary["leaderboard"]
    assert board["scored_on"] == f"{folds['folds']}-fold out-of-fold predictions on train + validation"
    names = {row["name"] for row in board["rows"]}
    assert {"linear model", "gradient-boosted trees", f"trial {folds['chosen']}"} <= names
    assert board["chosen"] == board["rows"][0]["name"] and summary["simple_verdict"] in out
    assert not (tmp_path / "run" / "simple_model").exists()


@pytest.mark.cross_validation
def test_no_cross_validation_flag_ranks_on_validation(table_csv, capsys):
    assert main(["plan", str(table_csv)]) == 0
    assert "cross-validation" in " ".join(capsys.readouterr().out.split())
    assert main(["plan", str(table_csv), "--no-cross-validation"]) == 0
    assert "cross-validation" not in " ".join(capsys.readouterr().out.split())


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


@pytest.mark.cross_validation
def test_no_time_for_the_folds_refits_the_best_trial_alone(table_csv, config_for, tmp_path, monkeypatch):
    """When the folds do not fit but one fit does, the best trial on validation is refit on train +
    validation for its lowest-validation-loss epoch count, and the record says the folds were skipped."""
    from automl.search import crossval, tuning
    config = config_for(table_csv, cross_validation=True, max_trials=1)
    (tmp_path / "run").mkdir()
    original = crossval.cross_validate

    def time_for_one_fit(*args, **kwargs):
        args = list(args)
        args[6], args[7] = time.monotonic() + 1000, 400.0  # deadline, seconds a fit: 1 fits, k + 1 do not
        return original(*args, **kwargs)
    monkeypatch.setattr(tuning, "cross_validate", time_for_one_fit)
    plan, dataset, profile = _stages(config)
    result = search_models(plan, dataset, profile, config)
    record = result.cross_validation
    assert record is not None and record.folds == 0 and record.candidates == ()
    assert record.chosen == result.best_trial_id == result.trials[0].trial_id  # the one trial
    assert record.refit_examples == dataset.train.size + dataset.val.size
    val_loss = result.trials[0].history["val_loss"]
    assert record.refit_epochs == int(np.argmin(val_loss)) + 1
    assert "did not fit the time left" in record.sentence() and f"all {record.refit_examples}" in record.sentence()


def test_a_refit_for_held_out_speakers_trains_as_long_as_the_time_left_allows(monkeypatch):
    """Not the held-out voice's best-loss epoch (2 here): as many epochs as fit before the deadline at the chosen
    trial's own cost (1 s an epoch on train, 1.25 s on train + validation), up to the plan's 10, annealed over
    exactly those; no refit when fewer than its best-loss epoch count fit; elsewhere the best-loss epoch."""
    from types import SimpleNamespace

    from automl.search import crossval

    fits = []
    monkeypatch.setattr(crossval, "_refit", lambda tuner, hp, x, y, profile, config, epochs, anneal_over=None:
                        fits.append((epochs, anneal_over)) or "refit")
    trial = SimpleNamespace(trial_id="00", status="COMPLETED", history={"val_loss": [0.9, 0.5, 0.7]}, epochs=3,
                            seconds=3.0)
    tuner = SimpleNamespace(hypermodel=SimpleNamespace(plan=SimpleNamespace(epochs=10)),
                            oracle=SimpleNamespace(objective=SimpleNamespace(name="val_accuracy"),
                                                   get_trial=lambda trial_id: SimpleNamespace(hyperparameters=None)))
    pool_y = np.zeros(10)

    def refit(deadline, held_out_speakers=True, default_epoch=0.1):
        return crossval._refit_alone(tuner, [trial], None, pool_y, None, None, deadline, 0.0, time.monotonic(),
                                     held_out_speakers, default_epoch, pool_share=1.25)

    assert refit(None).model == "refit" and fits[-1] == (10, 10)
    assert refit(time.monotonic() + 6.0).record.refit_epochs == 3 and fits[-1] == (3, 3)  # int(6 / 1.25) - 1
    assert refit(time.monotonic() + 1000.0).record.refit_epochs == 10  # the plan's epochs at most
    assert refit(time.monotonic() + 3.0) is None and len(fits) == 3  # 1 epoch fits, the trial's best was 2
    # the dearer of the default model's estimate and the trial's measured cost: 2 s an epoch → 2.5 s on the pool
    assert refit(time.monotonic() + 11.0, default_epoch=2.0).record.refit_epochs == 3  # int(11 / 2.5) - 1
    assert refit(time.monotonic() + 1000.0, held_out_speakers=False).record.refit_epochs == 2 and fits[-1] == (2, None)
