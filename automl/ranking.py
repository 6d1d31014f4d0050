"""How trials are ordered, shared by the search (to pick the final model) and the report's leaderboard."""

from __future__ import annotations

import math


def rank_trials(trials, objective: str) -> list:
    """Trials with a score, best first. Accuracy ties (common on small validation sets) go to the
    lower validation loss at the trial's best epoch."""
    def key(trial):
        if not objective.endswith("accuracy"):
            return (-trial.score, 0.0)
        history = trial.history.get(objective, [])
        loss = trial.history.get("val_loss", [])
        epoch = history.index(max(history)) if history else 0
        return (trial.score, -loss[epoch] if epoch < len(loss) else -math.inf)
    scored = [t for t in trials if t.score is not None and math.isfinite(t.score)]
    return sorted(scored, key=key, reverse=True)
