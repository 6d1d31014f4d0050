"""Trial ranking: within the tolerance the trial that does not overfit wins, then the smaller one."""

from __future__ import annotations

from automl.search import TrialRecord, choice_note, rank_trials, trial_overfits
from automl.search.ranking import ACCURACY_TOLERANCE


def _trial(trial_id, score, params, train_accuracy):
    history = {"accuracy": [train_accuracy], "val_accuracy": [score], "loss": [0.1], "val_loss": [0.3]}
    return TrialRecord(trial_id, {}, score, "COMPLETED", 1, params, 1.0, history)


def test_ranking_prefers_the_trial_that_does_not_overfit_within_the_tolerance():
    overfit = _trial("big", 0.900, 100_000, train_accuracy=1.0)
    healthy = _trial("healthy", 0.900 - ACCURACY_TOLERANCE / 2, 200_000, train_accuracy=0.91)
    worse = _trial("worse", 0.85, 10, train_accuracy=0.85)
    assert trial_overfits(overfit, "val_accuracy") and not trial_overfits(healthy, "val_accuracy")
    assert [t.trial_id for t in rank_trials([overfit, worse, healthy], "val_accuracy")] == ["healthy", "big", "worse"]
    note = choice_note([overfit, worse, healthy], "val_accuracy")
    assert "Trial healthy was chosen over trial big" in note and "overfits" in note


def test_ranking_prefers_the_smaller_model_among_ties_and_keeps_score_order_beyond():
    large = _trial("large", 0.95, 500_000, train_accuracy=0.96)
    small = _trial("small", 0.945, 5_000, train_accuracy=0.95)
    far = _trial("far", 0.90, 100, train_accuracy=0.9)
    assert [t.trial_id for t in rank_trials([large, far, small], "val_accuracy")] == ["small", "large", "far"]
    assert "5,000 parameters against 500,000" in choice_note([large, far, small], "val_accuracy")
    alone = _trial("alone", 0.99, 900_000, train_accuracy=0.99)
    assert rank_trials([alone, small], "val_accuracy")[0].trial_id == "alone"  # 4.5 points is no tie
