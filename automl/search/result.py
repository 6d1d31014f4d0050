"""Search stage, output: every trial's record, the phases of a multi-phase search, and the best model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import keras

from automl.modalities.anomaly import AnomalyThreshold
from automl.search.ensemble import EnsembleChoice

if TYPE_CHECKING:
    from automl.search.crossval import CrossValidation
    from automl.search.label_issues import LabelCheck
    from automl.search.leaderboard import Leaderboard
    from automl.search.simple import SimpleModels


@dataclass(frozen=True)
class TrialRecord:
    trial_id: str
    hyperparameters: dict
    score: float | None
    status: str
    epochs: int
    params: int
    seconds: float
    history: dict[str, list[float]]


@dataclass(frozen=True)
class Phase:
    """One phase of a multi-phase search (transfer: head on cached features, then fine-tuning).

    Attributes:
        kept: Whether this phase's model is the one that went on (a fine-tune that does not improve
            validation is discarded).
    """

    name: str
    trials: int
    seconds: float
    val_score: float | None
    kept: bool
    note: str


@dataclass(frozen=True)
class SearchResult:
    """The best model and every trial.

    Attributes:
        objective: The metric trials are ranked by ("val_accuracy" or "val_loss").
        stopped_because: "max_trials", "time_budget" or "search_complete".
        first_trial_note: Why the first trial was not the family's default size ("" when it was).
        leaderboard: Every candidate (trials, simple models, their average) scored on the same validation, and
            the one chosen: `model` is that row's model (None for anomaly detection, which keeps its best trial).
        label_check: Likely label errors found with the best simple model (search.label_issues), if any.
        simple_models: Runs before the leaderboard: their simple models, scored apart (None for new runs).
        ensemble: Runs before the leaderboard: the trials averaged (new runs: the leaderboard's ensemble row).
        devices: What the trials trained on, and in which precision (search.devices).
        search_notes: What went wrong and was handled: a batch halved after running out of memory, a worker
            that died and the trial it lost.
        anomaly_threshold: Anomaly detection's threshold on the final model's reconstruction error (else None).
    """

    model: keras.Model
    best_trial_id: str
    best_hyperparameters: dict
    trials: tuple[TrialRecord, ...]
    objective: str
    tuner: str
    stopped_because: str
    seconds: float
    ensemble: EnsembleChoice | None = None
    phases: tuple[Phase, ...] = ()
    cross_validation: CrossValidation | None = None
    first_trial_note: str = ""
    simple_models: SimpleModels | None = None
    devices: str = ""
    search_notes: tuple[str, ...] = ()
    anomaly_threshold: AnomalyThreshold | None = None
    leaderboard: Leaderboard | None = None
    label_check: LabelCheck | None = None

    @property
    def best_trial(self) -> TrialRecord:
        return next(t for t in self.trials if t.trial_id == self.best_trial_id)
