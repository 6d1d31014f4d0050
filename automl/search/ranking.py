"""How trials are ordered, shared by the search (to pick the final model) and the report's leaderboard.

Scores that differ by less than a named tolerance are noise on a validation set of a few hundred
examples, so among the trials that close to the best, the one that does not overfit wins, then the
smaller one; everything else is ordered by score.
"""

from __future__ import annotations

import math

from automl.modalities.tasks import OVERFIT_ACCURACY_GAP, higher_is_better

# One point of validation accuracy: on 300 validation examples that is 3 examples, within the noise
# of one retraining with another seed.
ACCURACY_TOLERANCE = 0.01
# For loss objectives (regression): 2 % of the best validation loss.
LOSS_RELATIVE_TOLERANCE = 0.02


def _best_epoch(trial, objective: str) -> int | None:
    values = trial.history.get(objective) or []
    if not values:
        return None
    pick = max if higher_is_better(objective) else min
    return values.index(pick(values))


def trial_overfits(trial, objective: str) -> bool:
    """Train accuracy above validation accuracy by more than OVERFIT_ACCURACY_GAP at the trial's best
    epoch (the verdict's own rule). Only judged for accuracy objectives; loss objectives return False."""
    if not higher_is_better(objective):
        return False
    epoch, train = _best_epoch(trial, objective), trial.history.get(objective.removeprefix("val_")) or []
    if epoch is None or epoch >= len(train):
        return False
    return train[epoch] - trial.history[objective][epoch] > OVERFIT_ACCURACY_GAP


def _score_key(trial, objective: str):
    """Higher is better. Accuracy ties (common on small validation sets) go to the lower validation loss
    at the trial's best epoch."""
    if not higher_is_better(objective):
        return (-trial.score, 0.0)
    epoch, loss = _best_epoch(trial, objective), trial.history.get("val_loss", [])
    epoch = epoch or 0
    return (trial.score, -loss[epoch] if epoch < len(loss) else -math.inf)


def within_tolerance(trial, best, objective: str) -> bool:
    """Whether the trial's score is close enough to the best one's to count as a tie."""
    if higher_is_better(objective):
        return trial.score >= best.score - ACCURACY_TOLERANCE
    return trial.score <= best.score + LOSS_RELATIVE_TOLERANCE * abs(best.score)


def tolerance_text(objective: str) -> str:
    return (f"{ACCURACY_TOLERANCE:.0%} of validation {objective.removeprefix('val_').replace('_', ' ')}" if higher_is_better(objective)
            else f"{LOSS_RELATIVE_TOLERANCE:.0%} of the best {objective}")


def rank_trials(trials, objective: str) -> list:
    """Trials with a score, best first: among those within the tolerance of the best score, trials that
    do not overfit come first, then fewer parameters (unknown counts last); the rest follow by score."""
    scored = [t for t in trials if t.score is not None and math.isfinite(t.score)]
    by_score = sorted(scored, key=lambda t: _score_key(t, objective), reverse=True)
    if not by_score:
        return []
    near = [t for t in by_score if within_tolerance(t, by_score[0], objective)]
    order = {t.trial_id: i for i, t in enumerate(by_score)}
    near.sort(key=lambda t: (trial_overfits(t, objective), t.params if t.params > 0 else math.inf, order[t.trial_id]))
    return near + [t for t in by_score if t not in near]


def choice_note(trials, objective: str) -> str:
    """One sentence on why the top trial was chosen, naming the top scorer when it lost on the tie-break."""
    ranked = rank_trials(trials, objective)
    if not ranked:
        return ""
    top_scorer = max(ranked, key=lambda t: _score_key(t, objective))
    chosen = ranked[0]
    rule = (f"Trials within {tolerance_text(objective)} of the best score count as tied; among them the one that "
            "does not overfit comes first, then the one with fewer parameters.")
    if chosen.trial_id == top_scorer.trial_id:
        return rule
    reasons = []
    if trial_overfits(top_scorer, objective) and not trial_overfits(chosen, objective):
        reasons.append(f"trial {top_scorer.trial_id} overfits (train accuracy more than "
                       f"{OVERFIT_ACCURACY_GAP:.0%} above validation) and trial {chosen.trial_id} does not")
    if 0 < chosen.params < top_scorer.params or top_scorer.params <= 0 < chosen.params:
        reasons.append(f"trial {chosen.trial_id} has {chosen.params:,} parameters against {top_scorer.params:,}")
    return (f"{rule} Trial {chosen.trial_id} was chosen over trial {top_scorer.trial_id}, whose score is "
            f"higher by less than the tolerance: " + ("; ".join(reasons) or "it ranks first on the tie-break") + ".")


def rerank_by_balanced_accuracy(ranked: list, balanced: dict[str, float]) -> list:
    """The trials with a validation balanced accuracy (balanced: trial id → value) moved to the front in its
    order (ties keep the objective's order); the others follow as they were. Used when classes are
    imbalanced: accuracy then rewards predicting the large classes, balanced accuracy every class alike."""
    scored = [trial for trial in ranked if trial.trial_id in balanced]
    scored.sort(key=lambda trial: -balanced[trial.trial_id])  # stable: equal values keep the objective's order
    return [*scored, *(trial for trial in ranked if trial.trial_id not in balanced)]
