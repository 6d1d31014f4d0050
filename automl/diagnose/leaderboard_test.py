"""Diagnose stage, the leaderboard's test column: every row scored on the test split once, after the choice was
made on validation, for information only (the chosen row's score is the headline), and the honest yardstick
sentence: how the best deep model did against the best simple model on test."""

from __future__ import annotations

import dataclasses

import numpy as np

from automl.modalities.batching import batched
from automl.search.leaderboard import Leaderboard, fmt_score, higher_is_better, measure_label, score

# Within this many points of accuracy the deep model has not beaten the simple one (and the same share of
# the simple model's loss for numbers).
TIE_POINTS = 0.5


def score_on_test(board: Leaderboard, dataset, profile, batch_size: int, chosen_outputs: np.ndarray) -> Leaderboard:
    """The leaderboard with each row's test score (a row without a model of its own, such as a trial the folds
    scored but did not refit, has none). Averages are scored from their members' outputs."""
    test = batched(dataset.test, profile, batch_size, None)
    outputs = {board.chosen: chosen_outputs}
    for row in board.rows:
        model = board.models.get(row.name)
        if row.kind != "ensemble" and row.name not in outputs and model is not None:
            outputs[row.name] = model.predict(test, verbose=0)
    for row in board.rows:
        if row.kind == "ensemble" and row.name not in outputs and all(m in outputs for m in row.members):
            outputs[row.name] = np.mean([outputs[m] for m in row.members], axis=0)
    labels = dataset.test.labels
    rows = tuple(dataclasses.replace(row, test_score=score(board.measure, profile.task, labels, outputs[row.name]))
                 if row.name in outputs else row for row in board.rows)
    return dataclasses.replace(board, rows=rows)


def deep_against_simple(board: Leaderboard) -> str:
    """One sentence: what deep learning gained on test over the best simple model (both the best of their kind
    on validation); "" when the run had no simple model or no deep one."""
    deep = next((r for r in board.rows if r.kind == "trial" and r.test_score is not None), None)
    simple = next((r for r in board.rows if r.kind == "simple" and r.test_score is not None), None)
    if deep is None or simple is None:
        return ""
    label = measure_label(board.measure)
    test = fmt_score(board.measure, simple.test_score)
    where = f"{simple.name}: test {label} {test}, fitted in {simple.seconds:.1f}s"
    if higher_is_better(board.measure):
        gain = (deep.test_score - simple.test_score) * 100
        unit = f"points of test {label}"
    else:  # a loss: the gain is the share of the simple model's loss that the deep one removes
        gain = (simple.test_score - deep.test_score) / max(abs(simple.test_score), 1e-12) * 100
        unit = f"% of the simple model's test {label}"
    if gain > TIE_POINTS:
        return f"Deep learning gains {gain:+.1f} {unit} over the best simple model ({where})."
    if gain >= -TIE_POINTS:
        return f"A simple model is as good here ({where}; the best deep model differs by {gain:+.1f} {unit})."
    return f"A simple model is better here by {-gain:.1f} {unit} ({where}) than the best deep model ({deep.name})."
