"""Diagnose stage function: predict every split with the final model, then judge it by its task."""

from __future__ import annotations

import dataclasses

from automl.diagnose.anomaly import diagnose_anomaly
from automl.diagnose.forecast import diagnose_forecast
from automl.diagnose.gallery import gallery_items, label_issue_items
from automl.diagnose.groups import group_report
from automl.diagnose.leaderboard_test import deep_against_simple, score_on_test
from automl.diagnose.multilabel import diagnose_multilabel
from automl.diagnose.predictions import predict_splits, sampled_train
from automl.diagnose.result import Diagnostics
from automl.diagnose.verdict import best_epoch_of, diagnose_classification, diagnose_regression
from automl.modalities.base import DIAGNOSIS_TRAIN_SAMPLE

# Likely label errors shown in the report (label_issues.csv holds them all).
LABEL_ISSUES_SHOWN = 12


def _labels(dataset) -> dict:
    return {name: split.labels for name, split in dataset.splits().items()}


def _classification(dataset, profile, outputs, best_epoch) -> Diagnostics:
    labels = _labels(dataset)
    diagnosis = diagnose_classification(profile.class_names, labels, outputs, best_epoch)
    return dataclasses.replace(diagnosis, gallery=gallery_items(dataset, labels["test"], outputs["test"]))


def _regression(dataset, profile, outputs, best_epoch) -> Diagnostics:
    return diagnose_regression(_labels(dataset), outputs, profile.target_mean, best_epoch)


def _multilabel(dataset, profile, outputs, best_epoch) -> Diagnostics:
    return diagnose_multilabel(profile.class_names, _labels(dataset), outputs, best_epoch)


def _forecast(dataset, profile, outputs, best_epoch) -> Diagnostics:
    return diagnose_forecast(dataset.forecast, outputs, best_epoch)


# How each task is judged: forecasts against naive forecasts on the same windows, the others by labels.
JUDGES = {"classification": _classification, "regression": _regression, "forecast": _forecast,
          "multilabel": _multilabel}


def diagnose(search, dataset, profile, batch_size: int) -> Diagnostics:
    """Metrics per split, baseline, verdict (and for classification the worst mistakes) of the final model.

    Args:
        search: The SearchResult; its model is the final model and its best trial gives the best epoch, and
            its simple models (if any) are compared with it on test.
        dataset, profile: What the model was trained on.
    """
    judged, sampled = dataset, ""
    if profile.task in ("classification", "regression", "multilabel"):  # forecasts need every window, in order
        judged, sampled = sampled_train(dataset, DIAGNOSIS_TRAIN_SAMPLE)
    outputs = predict_splits(search.model, judged, profile, batch_size)
    best_epoch = best_epoch_of(search.best_trial.history, search.objective)
    if profile.task == "anomaly":  # judged against the threshold the search set on validation errors
        diagnosis = diagnose_anomaly(dataset, outputs, best_epoch, search.anomaly_threshold)
    else:
        diagnosis = JUDGES[profile.task](judged, profile, outputs, best_epoch)
    if sampled:
        diagnosis = dataclasses.replace(diagnosis, verdict_reason=diagnosis.verdict_reason + sampled)
    facts = getattr(dataset, "groups", None)
    if facts is not None and profile.task in ("classification", "regression"):
        groups = group_report(facts.column, facts.test_values, dataset.test.labels, outputs["test"], profile.task)
        diagnosis = dataclasses.replace(diagnosis, groups=groups)
    if getattr(search, "cross_validation", None) is not None:
        folds = search.cross_validation
        diagnosis = dataclasses.replace(diagnosis, verdict_reason=(
            f"{diagnosis.verdict_reason} The final model was refit on train + validation, so its validation "
            "figures are not held out: " + (f"the {folds.folds}-fold cross-validation and the test split are."
                                            if folds.folds else "only the test split is.")))
    board = getattr(search, "leaderboard", None)
    if board is not None:  # the choice is made: now each row is scored on test, for information
        board = score_on_test(board, dataset, profile, batch_size, outputs["test"])
        diagnosis = dataclasses.replace(diagnosis, leaderboard=board, simple_verdict=deep_against_simple(board))
    check = getattr(search, "label_check", None)
    if check is not None:
        diagnosis = dataclasses.replace(diagnosis, label_check=check,
                                        label_issues=label_issue_items(dataset, check, LABEL_ISSUES_SHOWN))
    return diagnosis
