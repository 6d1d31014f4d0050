"""Diagnose stage, output: Diagnostics — per-split metrics, baseline, verdict, and what goes with them
(per-class metrics, calibration, the forecast comparison, the gallery of worst mistakes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from automl.diagnose.calibration import Calibration
from automl.diagnose.forecast_metrics import MethodScore
from automl.diagnose.gallery import GalleryItem
from automl.diagnose.groups import GroupReport
from automl.search.simple import SimpleModels

if TYPE_CHECKING:
    from automl.diagnose.anomaly import AnomalyReport
    from automl.search.label_issues import LabelCheck
    from automl.search.leaderboard import Leaderboard


@dataclass(frozen=True)
class ForecastComparison:
    """The test comparison and the test-stretch plot's data (first target only).

    Attributes:
        scores: Model, naive and seasonal-naive errors on the same test windows.
        scale: Per target, the in-sample seasonal-naive MAE that MASE divides by.
        times, actual: The plotted stretch (some context, then the test stretch) of the first target.
        test_start: Index into times where the test stretch begins.
        segments: Non-overlapping test forecasts of the first target: (index into times, values).
    """

    scores: tuple[MethodScore, ...]
    season: int
    horizon: int
    scale: tuple[float, ...]
    target: str
    test_windows: int
    times: tuple[str, ...]
    actual: tuple[float, ...]
    test_start: int
    segments: tuple[tuple[int, tuple[float, ...]], ...]


@dataclass(frozen=True)
class ClassMetrics:
    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class ConfusionPair:
    """One cell off the confusion matrix's diagonal: how often a true class was predicted as another."""

    true_class: str
    predicted_class: str
    count: int


@dataclass(frozen=True)
class Diagnostics:
    """What the final model achieves and what to do about it.

    Attributes:
        metrics: split → metric → value (accuracy and loss; or mae, rmse and r2).
        baseline: The same metrics for the majority class (or the training mean) on test.
        gap: Train minus validation accuracy (or R²).
        verdict: "ok", "overfitting" or "underfitting"; verdict_reason says which numbers decided it.
        confusion: Test confusion matrix, rows = true class (classification with at most
            confusion.FULL_CONFUSION_MAX_CLASSES classes; empty past that, where top_confusions summarise it).
        top_confusions: The most frequent test mistakes (true, predicted, count), most frequent first, at most
            confusion.TOP_CONFUSIONS (classification only; runs before it have none).
        calibration: Reliability of the test probabilities (classification only).
        forecast: Model vs naive vs seasonal-naive on the test windows, and the plot's data (forecasts only).
        gallery: The test examples the model got wrong most confidently (classification only).
        leaderboard: The search's leaderboard with every row's test score (after the choice, for information).
        simple_verdict: The sentence comparing the best deep model with the best simple model on test.
        simple_models: Runs before the leaderboard: their simple models (None for new runs).
        label_check: Likely label errors found with the best simple model (search.label_issues), if any.
        baseline_note: Plain words when the model does not beat the majority class on test ("" when it does).
        groups: Test metrics per group of --group-column, and the largest gap (diagnose.groups).
        label_issues: The training examples most likely mislabelled (given label as true_class, the out-of-fold
            model's class as predicted_class); all of them are in simple_models.label_check.
        thresholds: Per label, the probability from which it is predicted, tuned on validation (multi-label only).
    """

    task: str
    metrics: dict[str, dict[str, float]]
    baseline: dict[str, float]
    best_epoch: int
    gap: float
    verdict: str
    verdict_reason: str
    fixes: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...] = ()
    per_class: tuple[ClassMetrics, ...] = ()
    calibration: Calibration | None = None
    forecast: ForecastComparison | None = None
    gallery: tuple[GalleryItem, ...] = ()
    top_confusions: tuple[ConfusionPair, ...] = ()
    simple_models: SimpleModels | None = None
    simple_verdict: str = ""
    baseline_note: str = ""
    label_issues: tuple[GalleryItem, ...] = ()
    groups: GroupReport | None = None
    thresholds: tuple[float, ...] = ()
    anomaly: AnomalyReport | None = None
    leaderboard: Leaderboard | None = None
    label_check: LabelCheck | None = None  # anomaly detection: threshold, score distribution, IsolationForest
