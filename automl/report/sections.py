"""Report stage, sections: turns the run's objects into the formatted rows the HTML template shows.

Values stay plain strings and numbers here; escaping is the template's job (autoescape is on).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from automl.diagnose.confusion import FULL_CONFUSION_MAX_CLASSES, top_confusions_of_matrix
from automl.modalities import modality_of, task_named
from automl.search import rank_trials
from automl.search.leaderboard import fmt_score, measure_label
from automl.search.linear_text import DESCRIPTION, MEMBER

# Longer lists are cut in the HTML (summary.json keeps them whole): a page of thousands of rows
# is not read, only scrolled.
MAX_SKIPPED_ROWS = 50
MAX_CLASS_ROWS = 200
TUNER_KEY_PREFIX = "tuner/"
GUARDRAIL_CSS = {"Passed": "passed", "Done": "done", "Alerted": "alerted"}
VERDICT_CSS = {"ok": "passed", "overfitting": "alerted", "underfitting": "alerted"}
STOPPED = {"max_trials": "it reached the trial limit ({max_trials} trials).",
           "time_budget": "the time budget ({budget}) ran out.",
           "search_complete": "the tuner had no more hyperparameter sets to try."}
PERCENT_METRICS = ("accuracy", "balanced_accuracy", "subset_accuracy")


def public_hyperparameters(values: dict) -> dict:
    """Drops Keras Tuner bookkeeping entries ("tuner/epochs", "tuner/trial_id", …)."""
    return {key: value for key, value in values.items() if not str(key).startswith(TUNER_KEY_PREFIX)}


def fmt_number(value, digits: int = 4) -> str:
    """Formats a number for people: '—' for missing, `digits` significant digits otherwise."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:.{digits}g}"


def fmt_metric(name: str, value) -> str:
    """Accuracy as '98.40 %', R² with 3 decimals, other metrics with 4 significant digits."""
    if value is None or not math.isfinite(float(value)):
        return "—"
    if name in PERCENT_METRICS:
        return f"{100 * float(value):.2f} %"
    if name == "r2":
        return f"{float(value):.3f}"
    # Losses and errors: 4 decimals reads well below 1000; past that decimals are noise.
    return f"{float(value):,.4f}" if abs(float(value)) < 1000 else f"{float(value):,.1f}"


def fmt_seconds(seconds) -> str:
    return "—" if seconds is None else f"{float(seconds):.1f} s"


def fmt_budget(seconds) -> str:
    return "no time limit" if not seconds else f"{float(seconds):g} s"


def metric_label(name: str) -> str:
    return {"accuracy": "Accuracy", "balanced_accuracy": "Balanced accuracy", "loss": "Loss", "mae": "MAE", "rmse": "RMSE", "r2": "R²", "mase": "MASE",
            "micro_f1": "Micro F1", "macro_f1": "Macro F1", "subset_accuracy": "Subset accuracy"}.get(name, name)


def headline(diagnosis) -> list[tuple[str, str]]:
    """The test numbers for the header: accuracy, or MAE, RMSE and R² for regression."""
    test = diagnosis.metrics.get("test", {})
    names = task_named(diagnosis.task).headline
    return [(f"Test {metric_label(n)}", fmt_metric(n, test[n])) for n in names if n in test]


def guardrail_rows(profile) -> list[dict]:
    return [{"name": g.name, "status": g.status, "css": GUARDRAIL_CSS.get(g.status, "unknown"),
             "message": g.message} for g in profile.guardrails]


def capped(items, limit: int) -> tuple[list, int]:
    """The first `limit` items and how many were left out."""
    items = list(items)
    return items[:limit], max(len(items) - limit, 0)


def column_rows(profile) -> list[dict]:
    return [{"name": c.name, "kind": c.kind, "missing": f"{100 * c.missing_fraction:.1f} %",
             "unique": f"{c.unique:,}", "role": c.role, "note": c.note} for c in profile.columns]


def class_count_table(profile) -> dict:
    """Rows of (class name, count per split) for classification; empty otherwise."""
    splits = [s for s in ("train", "val", "test") if s in profile.class_counts]
    rows = [(name, [profile.class_counts[s][i] for s in splits]) for i, name in enumerate(profile.class_names)]
    shown, more = capped(rows, MAX_CLASS_ROWS)
    return {"splits": splits, "rows": shown, "more": more}


def ranked_trials(result) -> list:
    """Trials best first, as the search ranked them; trials without a score go last, in their order."""
    scored = rank_trials(result.trials, result.objective)
    return scored + [trial for trial in result.trials if trial not in scored]


def _hp_text(values: dict) -> str:
    return ", ".join(f"{key}={fmt_number(value)}" for key, value in public_hyperparameters(values).items()) or "—"


def leaderboard_rows(result) -> list[dict]:
    rows = []
    for rank, trial in enumerate(ranked_trials(result), start=1):
        has_score = trial.score is not None and math.isfinite(trial.score)
        rows.append({"rank": rank if has_score else "—", "trial_id": trial.trial_id,
                     "hyperparameters": _hp_text(trial.hyperparameters),
                     "score": fmt_metric(result.objective.removeprefix("val_"), trial.score),
                     "status": trial.status, "epochs": trial.epochs, "params": fmt_number(trial.params),
                     "seconds": fmt_seconds(trial.seconds), "best": trial.trial_id == result.best_trial_id})
    return rows


def candidate_table(result, diagnosis) -> dict | None:
    """The one leaderboard (every candidate, best first, the shipped row marked), or None for runs without one."""
    board = getattr(diagnosis, "leaderboard", None) or getattr(result, "leaderboard", None)
    if board is None:
        return None
    label = measure_label(board.measure)
    rows = [{"rank": rank, "name": row.name, "kind": row.kind, "val": fmt_score(board.measure, row.val_score),
             "test": fmt_score(board.measure, row.test_score), "loss": f"{row.val_loss:.4f}",
             "seconds": fmt_seconds(row.seconds), "params": fmt_number(row.params) if row.params else "—",
             "note": row.note,
             "chosen": row.name == board.chosen} for rank, row in enumerate(board.rows, start=1)]
    sentence = (f"{len(board.rows)} candidates (trials, simple models in their exact Keras form, and their average) "
                f"scored on {board.scored_on} by {label}. The chosen one is the model in model/, model.keras, predict "
                f"and serve: {board.reason}")
    return {"rows": rows, "sentence": sentence, "restriction": board.restriction,
            "validation": f"Validation {label}" if board.scored_on == "validation" else f"Out-of-fold {label}",
            "test": f"Test {label}"}


def shipped_text(result) -> str:
    """What ships, for the summary line: the leaderboard's chosen row, or the family for older runs."""
    board = getattr(result.search, "leaderboard", None)
    if board is None:
        return result.plan.family
    chosen = board.chosen_row
    searched = f"{result.plan.family} searched" if chosen.kind == "simple" else result.plan.family
    return f"{chosen.name} ({searched}; best of {len(board.rows)} on the leaderboard)"


def stopped_sentence(result, plan) -> str:
    template = STOPPED.get(result.stopped_because, f"{result.stopped_because}.")
    return "The search stopped because " + template.format(max_trials=plan.max_trials,
                                                          budget=fmt_budget(plan.time_budget))


def metrics_table(diagnosis) -> dict:
    """Columns are metric names; rows are train, val, test and the test baseline."""
    names = list(dict.fromkeys(n for split in diagnosis.metrics.values() for n in split))
    rows = [(split, [fmt_metric(n, values.get(n)) for n in names]) for split, values in diagnosis.metrics.items()]
    label = f"baseline (test): {task_named(diagnosis.task).baseline_name}"
    rows.append((label, [fmt_metric(n, diagnosis.baseline.get(n)) for n in names]))
    return {"columns": [metric_label(n) for n in names], "rows": rows}


def per_class_rows(diagnosis) -> tuple[list[dict], int]:
    """Per-class rows in class order; past MAX_CLASS_ROWS classes, the MAX_CLASS_ROWS worst ones (lowest F1
    among classes with test examples, then the largest) — the ones worth reading — and how many were left out."""
    classes = list(diagnosis.per_class)
    if len(classes) > MAX_CLASS_ROWS:
        classes.sort(key=lambda c: (c.support == 0, c.f1, -c.support))
    rows = [{"name": c.name, "precision": f"{c.precision:.3f}", "recall": f"{c.recall:.3f}",
             "f1": f"{c.f1:.3f}", "support": c.support} for c in classes]
    return capped(rows, MAX_CLASS_ROWS)


def top_confusions(diagnosis, class_names) -> tuple:
    """The most frequent test confusions: kept by the diagnosis, or (a report state written before they
    were) counted from its full matrix."""
    kept = tuple(getattr(diagnosis, "top_confusions", ()) or ())
    if kept or not diagnosis.confusion:
        return kept
    return top_confusions_of_matrix(diagnosis.confusion, class_names)


def confusion_table(diagnosis, class_names) -> dict:
    """The confusion section's table, shown when the full matrix is not (past FULL_CONFUSION_MAX_CLASSES
    classes): the most frequent (true, predicted) pairs and their share of the test mistakes."""
    pairs = top_confusions(diagnosis, class_names)
    examples = sum(c.support for c in diagnosis.per_class)
    accuracy = diagnosis.metrics.get("test", {}).get("accuracy")
    mistakes = round(examples * (1 - accuracy)) if examples and accuracy is not None and math.isfinite(accuracy) else 0
    rows = [{"true": p.true_class, "predicted": p.predicted_class, "count": f"{p.count:,}",
             "share": f"{100 * p.count / mistakes:.1f} %" if mistakes else "—"} for p in pairs]
    covered = sum(p.count for p in pairs)
    return {"rows": rows, "classes": len(class_names), "limit": FULL_CONFUSION_MAX_CLASSES,
            "summarised": bool(diagnosis.per_class) and len(class_names) > FULL_CONFUSION_MAX_CLASSES,
            "mistakes": f"{mistakes:,}", "covered": f"{100 * covered / mistakes:.1f} %" if mistakes else "—"}


def confusion_summary(diagnosis, class_names) -> dict:
    """summary.json's confusion figures: the full matrix when it is kept (else null) and the most frequent
    confusions; both bounded (at most FULL_CONFUSION_MAX_CLASSES² and TOP_CONFUSIONS entries)."""
    matrix = diagnosis.confusion if len(diagnosis.confusion) <= FULL_CONFUSION_MAX_CLASSES else ()
    return {"confusion": [list(row) for row in matrix] or None,
            "top_confusions": [{"true_class": p.true_class, "predicted_class": p.predicted_class, "count": p.count}
                               for p in top_confusions(diagnosis, class_names)]}


def gap_text(diagnosis) -> str:
    return task_named(diagnosis.task).gap_text(diagnosis.gap)


def relative(path, run_dir: Path) -> str:
    """A path as seen from the run directory (where report.html lives)."""
    try:
        return Path(os.path.relpath(Path(path).resolve(), Path(run_dir).resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return str(path)


def load_example(profile, model_dir: str, tokenizer_ops: str | None = None) -> str:
    """Five lines of Python that load the SavedModel and call its `serve` endpoint on raw input (and the import
    that registers a text encoder's tokenizer ops, where the model has one)."""
    output = task_named(profile.task).outputs[-1]  # predicted_class, prediction or forecast
    registers = [f"import {tokenizer_ops}  # registers the ops of the tokenizer inside the model"] if tokenizer_ops else []
    return "\n".join(["import tensorflow as tf", *registers,
                      f"model = tf.saved_model.load({model_dir!r})  # from the run directory",
                      modality_of(profile).example_input(profile), "outputs = model.serve(inputs)",
                      f"print(outputs[{output!r}])"])


# Ensemble members built beside the search (not trials), as the report names them.
MEMBER_DESCRIPTIONS = {MEMBER: f"the {DESCRIPTION} fitted beside the search"}


def ensemble_sentence(result) -> str:
    """How the final model was formed: the leaderboard's choice (and the folds that scored it), or for runs
    before the leaderboard the best trial or an average of several."""
    board = getattr(result, "leaderboard", None)
    if board is not None:
        folds = result.cross_validation.sentence() + " " if getattr(result, "cross_validation", None) else ""
        return f"{folds}The final model is the leaderboard's choice, {board.reason}"
    if getattr(result, "cross_validation", None) is not None:
        return result.cross_validation.sentence()
    choice = result.ensemble
    if choice is None or len(choice.members) < 2:
        return f"The final model is trial {result.best_trial_id}'s best epoch."
    members = [f"trial {member}" if member.isdigit() else MEMBER_DESCRIPTIONS.get(member, member)
               for member in choice.members]
    return (f"The final model averages {', '.join(members)} (greedy ensemble selection on "
            f"validation loss: {choice.single_loss:.4f} for the best single trial → {choice.ensemble_loss:.4f}).")


def group_rows(diagnosis) -> dict | None:
    """The per-group table of --group-column (None without one): metric columns, one row per group."""
    report = getattr(diagnosis, "groups", None)
    if report is None:
        return None
    names = list(dict.fromkeys(name for group in report.groups for name in group.metrics))
    rows = [{"value": g.value, "examples": g.examples, "cells": [fmt_metric(n, g.metrics.get(n)) for n in names]}
            for g in report.groups]
    return {"column": report.column, "sentence": report.sentence, "names": [metric_label(n) for n in names],
            "rows": rows}
