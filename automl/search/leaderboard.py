"""Search stage, the final choice: every candidate — each loaded trial, each simple model in its exact Keras
form, and the greedy average of them — scored on the same validation (or out-of-fold) outputs by one
measure. The top eligible row is the model that ships; the test split is scored later, for information.

AutoGluon's idea: the predictor *is* the leaderboard's choice. Rules only order what is tried first.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import keras
import numpy as np

from automl.modalities.tasks import balanced_accuracy
from automl.search.ensemble import average_models, select_members, validation_loss

# Measures by task: classes are judged by accuracy (balanced accuracy when classes are imbalanced, since
# accuracy then rewards predicting the large classes), label sets by macro ROC AUC, numbers by the task's loss.
LOSS_MEASURE = "mse"
KINDS = ("trial", "simple", "ensemble")
# --candidates: which rows may be chosen (the others are still fitted and shown).
CANDIDATE_SETS = {"all": KINDS, "deep": ("trial", "ensemble"), "simple": ("simple", "ensemble")}


@dataclass
class Candidate:
    """A live candidate: its model (raw inputs → outputs), its validation or out-of-fold outputs, and
    what it cost. Not stored: the report keeps its Row."""

    name: str
    kind: str
    model: keras.Model | None
    outputs: np.ndarray
    seconds: float
    params: int = 0
    members: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Row:
    """One line of the leaderboard. test_score is filled after the choice (diagnose), for information."""

    name: str
    kind: str
    val_score: float
    val_loss: float
    seconds: float
    params: int
    eligible: bool = True
    test_score: float | None = None
    members: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Leaderboard:
    """Every scored candidate, best first, and the one chosen.

    Attributes:
        measure: "accuracy", "balanced_accuracy", "auc" or "mse".
        scored_on: How the rows were scored ("validation" or "5-fold out-of-fold predictions on train + validation").
        chosen: The name of the row whose model ships.
        reason: One sentence: why that row.
        restriction: What --candidates or --family kept from being chosen, and whether it was better ("" if nothing).
    """

    measure: str
    scored_on: str
    rows: tuple[Row, ...]
    chosen: str
    reason: str
    restriction: str = ""
    models: dict = field(default_factory=dict, compare=False, repr=False)  # live: row name → model (not stored)

    @property
    def chosen_row(self) -> Row:
        return next(row for row in self.rows if row.name == self.chosen)


def measure_for(task: str, imbalanced: bool) -> str:
    if task == "classification":
        return "balanced_accuracy" if imbalanced else "accuracy"
    return "auc" if task == "multilabel" else LOSS_MEASURE


def higher_is_better(measure: str) -> bool:
    return measure != LOSS_MEASURE


def score(measure: str, task: str, labels: np.ndarray, outputs: np.ndarray) -> float:
    """The measure of outputs against labels (for "mse", the task's own validation loss)."""
    if measure == "accuracy":
        return float(np.mean(outputs.argmax(axis=-1) == labels))
    if measure == "balanced_accuracy":
        return balanced_accuracy(labels, outputs.argmax(axis=-1))
    if measure == "auc":
        from sklearn.metrics import roc_auc_score

        present = [j for j in range(labels.shape[1]) if 0 < labels[:, j].sum() < len(labels)]
        return float(roc_auc_score(labels[:, present], outputs[:, present], average="macro")) if present else 0.5
    return validation_loss(task, labels, outputs)


def _sort_key(row: Row, measure: str):
    """Best first: the measure, then the lower validation loss (a finer tie-break than counted accuracy),
    then the smaller model, then the cheaper fit."""
    value = row.val_score if higher_is_better(measure) else -row.val_score
    return (-value, row.val_loss, row.params if row.params > 0 else math.inf, row.seconds)


def rank(candidates: list[Candidate], labels: np.ndarray, task: str, measure: str, eligible_kinds=KINDS,
         max_members: int = 6, restricted_by: str = "", scored_on: str = "validation") -> Leaderboard:
    """Scores every candidate, adds the greedy average of the eligible ones where it lowers validation loss
    (Caruana et al. 2004, across kinds), and chooses the best eligible row.

    Args:
        candidates: Each with outputs on the same examples as labels.
        eligible_kinds: The kinds that may be chosen (--candidates, --family); the others are only shown.
        max_members: Most candidates the average may hold.
        restricted_by: The option that restricted eligibility (for the sentence), "" when none did.
        scored_on: What the outputs are: "validation", or the out-of-fold predictions of k folds.
    """
    live = {c.name: c for c in candidates}
    ensemble = _ensemble(candidates, labels, task, eligible_kinds, max_members)
    if ensemble is not None:
        live[ensemble.name] = ensemble
    rows = sorted((_row(c, labels, task, measure, eligible_kinds, restricted_by) for c in live.values()),
                  key=lambda row: _sort_key(row, measure))
    top = next(row for row in rows if row.eligible)
    chosen = _simplest_tied(top, rows, live, labels, measure)
    models = {name: c.model for name, c in live.items() if c.model is not None}
    where = "validation" if scored_on == "validation" else "out-of-fold"
    reason = _reason(chosen, rows, measure, where) if chosen is top else _tie_reason(chosen, top, measure, where)
    return Leaderboard(measure, scored_on, tuple(rows), chosen.name, reason,
                       _restriction(chosen, rows, measure, restricted_by, where, eligible_kinds), models)


# A row the top one beats on fewer than this many standard errors of a paired sign test counts as tied with it:
# on 15 validation series (ACSF1) a CNN right on 2 more of them than MiniRocket is not better, and scored 77 %
# against MiniRocket's 91 % on test; on breast_cancer's 455 out-of-fold rows, one row apart is not either.
TIE_STANDARD_ERRORS = 2.0


def paired_tie(a: np.ndarray, b: np.ndarray, labels: np.ndarray) -> bool:
    """Whether two classifiers' predictions differ by no more than noise: of the examples exactly one of them
    gets right, the difference between the two counts is within TIE_STANDARD_ERRORS · √(their total)."""
    right_a, right_b = a.argmax(axis=-1) == labels, b.argmax(axis=-1) == labels
    wins, losses = int(np.sum(right_a & ~right_b)), int(np.sum(right_b & ~right_a))
    return abs(wins - losses) <= TIE_STANDARD_ERRORS * math.sqrt(wins + losses)


def _simplest_tied(top: Row, rows: list[Row], live: dict, labels, measure: str) -> Row:
    """Among the eligible rows tied with the top one on a class measure, a simple model before a deep one, then
    the smaller deep one (the seeds: keep the complex model only when it earns its place). Between simple models
    the validation order stands: their sizes count n-gram vocabularies, not complexity (IMDB, round 17: TF-IDF
    shipped over the naive Bayes n-grams for its smaller vocabulary, 90.58 % against 91.47 % on test). Other
    measures: the top row."""
    if measure not in ("accuracy", "balanced_accuracy"):
        return top
    tied = [row for row in rows if row.eligible and
            (row is top or paired_tie(live[top.name].outputs, live[row.name].outputs, labels))]
    return min(tied, key=lambda row: (row.kind != "simple",
                                      0 if row.kind == "simple" else row.params if row.params > 0 else math.inf,
                                      rows.index(row)))


def _tie_reason(chosen: Row, top: Row, measure: str, where: str) -> str:
    label = measure_label(measure)
    return (f"{chosen.name}: {where} {label} {fmt_score(measure, chosen.val_score)}, tied with the top row "
            f"({top.name}, {fmt_score(measure, top.val_score)}): the difference is within "
            f"{TIE_STANDARD_ERRORS:g} standard errors of a paired sign test, and the simpler candidate ships.")


def _row(candidate: Candidate, labels, task: str, measure: str, eligible_kinds, restricted_by: str) -> Row:
    eligible = candidate.kind in eligible_kinds and candidate.model is not None
    note = candidate.note or ("" if eligible else f"shown, not eligible under {restricted_by}"
                              if candidate.kind not in eligible_kinds else "no model to ship")
    return Row(candidate.name, candidate.kind, score(measure, task, labels, candidate.outputs),
               validation_loss(task, labels, candidate.outputs), candidate.seconds, candidate.params, eligible,
               members=candidate.members, note=note)


def _ensemble(candidates: list[Candidate], labels, task: str, eligible_kinds, max_members: int) -> Candidate | None:
    """The greedy average of eligible candidates, best single one first, when it lowers validation loss."""
    pool = [c for c in candidates if c.kind in eligible_kinds and c.model is not None]
    if len(pool) < 2 or task == "anomaly":
        return None
    pool.sort(key=lambda c: validation_loss(task, labels, c.outputs))
    choice = select_members(task, labels, {c.name: c.outputs for c in pool}, max_members)
    if len(choice.members) < 2:
        return None
    members = [next(c for c in pool if c.name == name) for name in choice.members]
    model = average_models({_member_id(c): c.model for c in members})
    return Candidate("average of " + " + ".join(choice.members), "ensemble", model,
                     np.mean([c.outputs for c in members], axis=0), sum(c.seconds for c in members),
                     sum(c.params for c in members), tuple(choice.members))


def _member_id(candidate: Candidate) -> str:
    """A layer name for a member: trial ids are digits; simple models by their name in snake case."""
    name = candidate.name.removeprefix("trial ")
    return name if name.isdigit() else "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_")


def public(board: Leaderboard) -> dict:
    """The leaderboard as summary.json gives it (without the live models)."""
    return {"measure": board.measure, "scored_on": board.scored_on, "chosen": board.chosen, "reason": board.reason,
            "restriction": board.restriction, "rows": [dataclasses.asdict(row) for row in board.rows]}


def measure_label(measure: str) -> str:
    return {"accuracy": "accuracy", "balanced_accuracy": "balanced accuracy", "auc": "macro ROC AUC",
            "mse": "mean squared error"}[measure]


def fmt_score(measure: str, value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.2%}" if measure in ("accuracy", "balanced_accuracy") else f"{value:.4g}"


def _reason(chosen: Row, rows: list[Row], measure: str, where: str) -> str:
    best = "highest" if higher_is_better(measure) else "lowest"
    tied = [r for r in rows if r.eligible and r is not chosen and r.val_score == chosen.val_score]
    tie = f", tied with {tied[0].name} and chosen for its lower log loss ({chosen.val_loss:.4f} against " \
          f"{tied[0].val_loss:.4f})" if tied and tied[0].val_loss > chosen.val_loss else ""
    among = "" if rows[0] is chosen else " among the rows with a model to ship"
    return (f"{chosen.name}: the {best} {where} {measure_label(measure)}{among}, "
            f"{fmt_score(measure, chosen.val_score)}{tie}.")


def _restriction(chosen: Row, rows: list[Row], measure: str, restricted_by: str, where: str,
                 eligible_kinds) -> str:
    """When the restriction kept a row ranked above the chosen one from shipping, says which and by how much."""
    better = next((row for row in rows[:rows.index(chosen)] if row.kind not in eligible_kinds), None)
    if better is None or not restricted_by:
        return ""
    return (f"{better.name} ({better.kind}) was better on {where} {measure_label(measure)} ("
            f"{fmt_score(measure, better.val_score)} against {fmt_score(measure, chosen.val_score)} for "
            f"{chosen.name}), but {restricted_by} kept it from being chosen.")
